"""The colour analysis: each photo's colours named at indexing and stored for search, again when
its file changes; photos that fail lose none of the others'."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from photosense.analysis.base import Outcome
from photosense.analysis.colours import KIND, ColoursAnalyser
from photosense.colours.naming import PhotoColours
from photosense.errors import PhotosenseError
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.conftest import save_photo
from tests.store.conftest import add_photos


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    directory = tmp_path / "library"
    store = Store.open(directory)
    with Library(
        store, directory, lambda _spec: FakeEncoder(), analysers={KIND: ColoursAnalyser}
    ) as library:
        yield library


def test_save_writes_colours_and_marks_and_skips_removed_photos() -> None:
    with Store.in_memory() as store:
        a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
        analyser = ColoursAnalyser(store)
        analyser.save(
            {
                a: Outcome(PhotoColours({"grey": 0.7, "white": 0.3}, True), None, "h:/p/a.jpg"),
                b: Outcome(None, "the file is damaged", "h:/p/b.jpg"),
                999: Outcome(PhotoColours({"red": 1.0}), None, "gone"),
            }
        )
        assert store.colours.of_photos([a, b, 999]) == {
            a: {"black and white": 1.0, "grey": 0.7, "white": 0.3}
        }
        assert store.colours.with_colour("white", 0.2) == {a: 0.3}
        assert store.colours.with_colour("white", 0.5) == {}
        counts = store.analyses.counts(KIND, analyser.version)
        assert (counts.analysed, counts.failed, counts.found_photos) == (2, 1, 1)


def test_indexing_names_the_colours_of_each_photo(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    red = save_photo(root / "red.jpg", "red")
    save_photo(root / "blue.jpg", "blue")
    grey = root / "grey.png"
    Image.linear_gradient("L").resize((96, 64)).save(grey)
    (root / "broken.jpg").write_bytes(b"not a photo")
    run_to_end(library.folders.index([root]))

    records = library.photos.get(library.photos.ids()).values()
    ids = {Path(p.path).name: p.id for p in records}
    assert library.colours.of_photo(ids["red.jpg"]).share("red") > 0.9
    assert library.colours.of_photo(ids["grey.png"]).black_and_white
    assert set(library.colours.photo_ids(["blue"])) == {ids["blue.jpg"]}
    assert set(library.colours.photo_ids(["black and white"])) == {ids["grey.png"]}
    status = library.colours.status()
    assert (status.enabled, status.named, status.pending) == (True, 3, 0)

    # A changed file is named again.
    image = Image.new("RGB", (96, 64), (40, 170, 60))
    ImageDraw.Draw(image).rectangle((0, 0, 20, 20), fill=(40, 60, 200))
    image.save(red, "JPEG")
    run_to_end(library.folders.index([root]))
    assert library.colours.of_photo(ids["red.jpg"]).share("red") == 0.0
    assert library.colours.of_photo(ids["red.jpg"]).share("green") > 0.8


def test_an_unknown_colour_is_refused_with_the_known_ones(library: Library) -> None:
    with pytest.raises(PhotosenseError, match="unknown colour 'teal'.*purple"):
        library.colours.photo_ids(["teal"])
    assert library.colours.photo_ids(["Gray"]) == {}
