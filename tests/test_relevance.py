"""Honest relevance through the library: good matches first, "no good match" when none."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.conftest import save_photo


def index(library: Library, *paths: Path) -> None:
    run_to_end(library.folders.index(list(paths)))


def names(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [Path(h.photo.path).name for h in hits]


def test_a_colour_in_the_library_has_good_matches_and_one_absent_has_none(
    fake_library: Library, photo_dir: Path
) -> None:
    index(fake_library, photo_dir)

    red = fake_library.search.text("a red car")
    assert red.good == 1 and names(red.good_hits) == ["red.jpg"]
    assert len(red.more_hits) == 3 and not red.no_good_match
    assert red.hits[0].score > red.hits[1].score  # still best first, scores kept

    for absent in ("magenta", "cyan", "a dog"):
        results = fake_library.search.text(absent)
        assert results.good == 0 and results.no_good_match, absent
        assert len(results.hits) == 4  # the closest photos are still there, below


def test_the_split_is_stable_when_the_library_grows_by_unrelated_photos(
    fake_library: Library, photo_dir: Path, tmp_path: Path
) -> None:
    index(fake_library, photo_dir)
    before = fake_library.search.text("red")
    assert names(before.good_hits) == ["red.jpg"]

    # Greys: to the colour model, photos of nothing in particular (as near to every colour
    # word as to any other), like the ordinary photos of a real library to most queries.
    more = tmp_path / "More"
    for n in range(12):
        level = 112 + 3 * n
        save_photo(more / f"grey-{n}.jpg", (level, level + n % 3, level - n % 2))
    index(fake_library, more)

    after = fake_library.search.text("red", limit=30)
    assert names(after.good_hits) == ["red.jpg"]
    assert len(after.hits) == 16
    for absent in ("magenta", "cyan"):
        assert fake_library.search.text(absent).good == 0, absent


def test_photos_like_a_photo_are_not_judged(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    results = fake_library.search.similar(photo_dir / "red.jpg")
    assert results.good is None and not results.no_good_match
    assert results.good_hits == results.hits and results.more_hits == []


def test_the_calibration_is_kept_with_the_library_and_read_with_no_model(
    tmp_path: Path, photo_dir: Path
) -> None:
    directory = tmp_path / "library"
    library = Library(Store.open(directory), directory, lambda _spec: FakeEncoder())
    assert library.search.calibration() is None
    index(library, photo_dir)
    library.search.text("red")
    stored = library.search.calibration()
    library.close()
    assert stored is not None and stored.photos == 4

    def no_model(spec: str) -> FakeEncoder:
        raise AssertionError(f"a model was loaded: {spec}")

    reopened = Library(Store.open(directory), directory, no_model)
    try:
        reopened.status()
        assert reopened.search.calibration() == stored
    finally:
        reopened.close()


def test_searches_calibrate_once_and_reuse_it(
    fake_library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generic captions are scored over the library once, not on every search."""
    index(fake_library, photo_dir)
    fake_library.search.text("red")
    encoder = fake_library.models.current()
    assert isinstance(encoder, FakeEncoder)
    texts = encoder.texts_encoded
    for query in ("green", "blue", "magenta"):
        fake_library.search.text(query)
    assert encoder.texts_encoded == texts + 3  # the three queries, nothing else
