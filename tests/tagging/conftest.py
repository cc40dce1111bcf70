"""Fixtures for tagging: a colour vocabulary the fake encoder understands, and photos of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from photosense.tagging import service
from photosense.tagging.vocabulary import VocabularyEntry
from tests.conftest import save_photo

COLOUR_TAGS = ("red", "green", "blue", "yellow", "grey")

BACKGROUND = (
    "a red car",
    "a green field",
    "a blue sky",
    "a yellow flower",
    "a grey wall",
    "a white room",
    "a black cat",
    "an orange",
    "a purple dress",
    "a cyan pool",
    "a magenta sign",
    "a red and blue flag",
)
"""Background captions made of colour words, so the fake encoder gives them image-like vectors."""

PHOTOS = {
    "red.jpg": (220, 30, 30),
    "crimson.jpg": (200, 40, 60),
    "scarlet.jpg": (230, 50, 40),
    "green.jpg": (30, 200, 40),
    "blue.jpg": (30, 40, 220),
    "yellow.jpg": (240, 220, 30),
    "grey.jpg": (128, 128, 128),
    "brown.jpg": (150, 90, 60),
}


@pytest.fixture
def colour_vocabulary(monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """Libraries opened in this test get the colour tags and captions instead of the defaults."""
    entries = [VocabularyEntry(name, "colours") for name in COLOUR_TAGS]
    monkeypatch.setattr(service, "default_vocabulary", lambda: entries)
    monkeypatch.setattr(service, "background_captions", lambda: list(BACKGROUND))
    return COLOUR_TAGS


@pytest.fixture
def colour_photos(tmp_path: Path) -> Path:
    """A folder with one photo per entry of ``PHOTOS``."""
    root = tmp_path / "Colours"
    for name, rgb in PHOTOS.items():
        save_photo(root / name, rgb)
    return root


def open_library(directory: Path, encoder: FakeEncoder | None = None) -> Library:
    """A library in ``directory`` over the fake encoder (a fresh one unless given)."""
    model = encoder or FakeEncoder()
    return Library(Store.open(directory), directory, lambda _spec: model)


@pytest.fixture
def tagged_library(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> Iterator[Library]:
    """The colour photos indexed (and so tagged) in a fake-encoder library."""
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([colour_photos]))
    yield library
    library.close()


def names(library: Library, photo: Path, *, shown_only: bool = True) -> list[str]:
    """The tags that count on a photo (or every row with ``shown_only=False``)."""
    return [r.tag for r in library.tags.of_photo(photo) if r.shown or not shown_only]
