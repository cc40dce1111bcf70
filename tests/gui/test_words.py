"""The window's words for errors: built from the errors' fields, in menus and buttons."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.errors import (
    AlbumNotFoundError,
    Cancelled,
    ModelExistsError,
    ModelInUseError,
    ModelNotDownloadedError,
    NotEnoughDataError,
    NothingIndexedError,
    NoVectorError,
    PhotoNotFoundError,
    PhotosenseError,
    StoredModelMissingError,
    TagNotFoundError,
    UnknownModelError,
)
from photosense.gui.words import fallback_notice, user_message
from photosense.library import ModelFallback

ERRORS: list[PhotosenseError] = [
    PhotoNotFoundError("/photos/a.jpg", exists=True),
    NothingIndexedError("fake/colours-v1"),
    NoVectorError("/photos/a.jpg", "fake/colours-v1"),
    AlbumNotFoundError("Holiday"),
    TagNotFoundError("unicorn"),
    ModelInUseError("ViT-B-32", "active"),
    ModelExistsError("imported/mine"),
    StoredModelMissingError("imported/gone", Path("/models/imported/gone")),
    ModelNotDownloadedError("ViT-B-32", "ViT-B-32", repo="laion/x", filenames=("a.bin",)),
    NotEnoughDataError(3, 20),
    UnknownModelError("resnet-9000", "'auto', 'starter'"),
    Cancelled("cancelled"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_never_show_command_line_syntax_in_the_window(error: PhotosenseError) -> None:
    text = user_message(error)
    assert text and "`" not in text and "photosense " not in text and " --" not in text


def test_the_words_come_from_the_fields() -> None:
    assert "/photos/a.jpg" in user_message(PhotoNotFoundError("/photos/a.jpg"))
    assert "'Holiday'" in user_message(AlbumNotFoundError("Holiday"))
    assert "Download" in user_message(ModelNotDownloadedError("ViT-B-32", "ViT-B-32"))
    gone = ModelFallback("imported/gone", older_starter=False, reason="no files")
    assert "imported/gone" in fallback_notice(gone)
    older = ModelFallback("photosense-starter/v0", older_starter=True, reason="")
    assert "F5" in fallback_notice(older)
