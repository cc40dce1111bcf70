"""Tag families through the library: one cat is one cat, not five breeds (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photosense.library import Library
from photosense.progress import run_to_end
from photosense.tagging import service
from photosense.tagging.vocabulary import TagFamily, VocabularyEntry
from tests.conftest import save_photo
from tests.tagging.conftest import BACKGROUND, PHOTOS, names, open_library

BREEDS = ("tabby cat", "persian cat", "siamese cat", "ginger cat")
VOCABULARY = [
    # The fake encoder reads colour words only: every breed of this "cat" is an orange thing,
    # as the starter sees every breed in a cat photo, and the parent is a vaguer warm colour.
    VocabularyEntry("cat", "pets", ("a red or orange or yellow thing",)),
    VocabularyEntry("tabby cat", "cat breeds", ("orange",)),
    VocabularyEntry("persian cat", "cat breeds", ("red and yellow",)),
    VocabularyEntry("siamese cat", "cat breeds", ("an orange one",)),
    VocabularyEntry("ginger cat", "cat breeds", ("yellow and red",)),
    VocabularyEntry("green", "colours"),
    VocabularyEntry("blue", "colours"),
    VocabularyEntry("grey", "colours"),
]


def _library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, families: list[TagFamily]) -> Library:
    monkeypatch.setattr(service, "default_vocabulary", lambda: VOCABULARY)
    monkeypatch.setattr(service, "background_captions", lambda: list(BACKGROUND))
    monkeypatch.setattr(service, "default_families", lambda: families)
    root = tmp_path / "photos"
    for name, rgb in PHOTOS.items():
        save_photo(root / name, rgb)
    save_photo(root / "cat.jpg", (250, 128, 10))
    library = open_library(tmp_path / f"library-{len(families)}")
    run_to_end(library.folders.index([root]))
    return library


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return tmp_path / "photos"


@pytest.fixture
def family_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Library]:
    library = _library(tmp_path, monkeypatch, [TagFamily("cat", BREEDS)])
    yield library
    library.close()


def test_one_cat_is_not_four_breeds(family_library: Library, photos: Path) -> None:
    assert names(family_library, photos / "cat.jpg") == ["cat"]


def test_without_the_family_the_cat_gets_every_breed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, photos: Path
) -> None:
    library = _library(tmp_path, monkeypatch, [])
    try:
        assert set(BREEDS) <= set(names(library, photos / "cat.jpg"))
    finally:
        library.close()


def test_the_listing_counts_the_parent_not_the_breeds(family_library: Library) -> None:
    listed = {t.name: t.photos for t in family_library.tags.list(min_photos=1)}

    assert listed.get("cat", 0) >= 1
    assert not set(BREEDS) & set(listed)
