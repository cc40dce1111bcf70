"""Searching by colour: colour words in a query put the photos of that colour first among the
model's hits, a query of colours alone lists them, and ``colour=`` filters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

import photosense.library.search as search_module
from photosense.analysis.colours import KIND, ColoursAnalyser
from photosense.enums import ReadingKind
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    """Four photos under the fake colour encoder, their colours named at indexing: to the fake
    model "red" is nearest the orange photo; only the grey one with a red patch is red."""
    root = tmp_path / "Pictures"
    root.mkdir()
    Image.new("RGB", (100, 100), (255, 128, 0)).save(root / "orange.png")
    patch = Image.new("RGB", (100, 100), (128, 128, 128))
    ImageDraw.Draw(patch).rectangle((0, 0, 99, 29), fill=(230, 0, 0))  # 30% red
    patch.save(root / "red-patch.png")
    Image.new("RGB", (100, 100), (20, 40, 230)).save(root / "blue.png")
    Image.new("RGB", (100, 100), (20, 200, 40)).save(root / "green.png")
    directory = tmp_path / "library"
    store = Store.open(directory)
    with Library(
        store, directory, lambda _spec: FakeEncoder(), analysers={KIND: ColoursAnalyser}
    ) as library:
        run_to_end(library.folders.index([root]))
        yield library


def names(results: object) -> list[str]:
    return [Path(h.photo.path).name for h in results.hits]  # type: ignore[attr-defined]


def test_the_colour_in_a_query_decides_the_order(library: Library) -> None:
    literal = library.search.text("a red car", literal=True)
    assert names(literal)[:2] == ["orange.png", "red-patch.png"]  # the model alone

    read = library.search.text("a red car")
    assert names(read)[:2] == ["red-patch.png", "orange.png"]
    assert read.good == literal.good  # the colour picks which photos are good, not how many
    assert read.reading is not None
    assert read.reading.query == "a red car"  # the model still reads the colour
    assert read.reading.colours == ("red",)
    assert [(p.kind, p.meaning) for p in read.reading.parts] == [(ReadingKind.COLOUR, "red")]
    assert sorted(names(read)) == sorted(names(literal))  # no photo is hidden


def test_the_colour_reorders_the_same_pool_whatever_the_limit(
    library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "POOL", 1)  # only the model's best hit is re-ordered
    for limit in (1, 4):
        assert names(library.search.text("a red car", limit=limit))[:1] == ["orange.png"]
    monkeypatch.setattr(search_module, "POOL", 2)
    first = names(library.search.text("a red car", limit=2))
    assert names(library.search.text("a red car", limit=4))[:2] == first


def test_a_query_of_colours_alone_lists_the_photos_of_that_colour(library: Library) -> None:
    results = library.search.text("blue photos")
    assert names(results) == ["blue.png"]
    assert not results.scored
    assert results.reading is not None and results.reading.colours == ("blue",)


def test_a_query_of_colours_alone_can_be_listed_newest_first(
    library: Library, tmp_path: Path
) -> None:
    more = tmp_path / "Pictures" / "older"
    more.mkdir()
    Image.new("RGB", (100, 100), (20, 40, 230)).save(more / "blue-2017.png")
    half = Image.new("RGB", (100, 100), (128, 128, 128))
    ImageDraw.Draw(half).rectangle((0, 0, 99, 19), fill=(20, 40, 230))  # 20% blue
    half.save(more / "half-blue-2023.png")
    os.utime(more / "blue-2017.png", (1_500_000_000, 1_500_000_000))
    os.utime(more / "half-blue-2023.png", (1_700_000_000, 1_700_000_000))
    run_to_end(library.folders.index([more]))
    by_amount = names(library.search.text("blue photos"))
    assert sorted(by_amount[:2]) == ["blue-2017.png", "blue.png"]
    assert by_amount[2] == "half-blue-2023.png"
    by_date = library.search.text("blue photos", sort="date")
    assert names(by_date) == ["blue.png", "half-blue-2023.png", "blue-2017.png"]


def test_the_colour_filter_keeps_only_photos_of_that_colour(library: Library) -> None:
    assert names(library.search.text("something", colour="green")) == ["green.png"]
    assert names(library.search.text("a car", colour="Red")) == ["red-patch.png"]


def test_no_colour_is_read_before_colours_are_named(tmp_path: Path) -> None:
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: FakeEncoder()) as library:
        root = tmp_path / "Pictures"
        root.mkdir()
        Image.new("RGB", (64, 64), (230, 0, 0)).save(root / "red.png")
        run_to_end(library.folders.index([root]))
        results = library.search.text("red photos")
    assert results.reading is not None
    assert (results.reading.query, results.reading.colours) == ("red photos", ())
    assert names(results) == ["red.png"]


def test_the_command_line_reads_colours_and_filters_by_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from photosense.library import analysis
    from photosense.library import library as library_module
    from tests.cli_run import run, run_json

    monkeypatch.setattr(analysis, "FACTORIES", {KIND: ColoursAnalyser})
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())
    root = tmp_path / "Pictures"
    root.mkdir()
    Image.new("RGB", (64, 64), (255, 128, 0)).save(root / "orange.png")
    Image.new("RGB", (64, 64), (20, 40, 230)).save(root / "blue.png")
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", root, "--json")

    doc = run_json(capsys, "--library", lib, "search", "an orange car", "--json")
    assert doc["reading"]["colours"] == ["orange"]
    assert doc["reading"]["parts"] == [{"kind": "colour", "words": "orange", "meaning": "orange"}]
    code, out, _ = run(capsys, "--library", lib, "search", "an orange car")
    assert code == 0
    assert out.splitlines()[0].startswith("read as: “an orange car” · colour orange")
    assert out.splitlines()[1].startswith("photos of that colour come first")

    doc = run_json(capsys, "--library", lib, "search", "a car", "--colour", "blue", "--json")
    assert [Path(r["path"]).name for r in doc["results"]] == ["blue.png"]
    doc = run_json(capsys, "--library", lib, "search", "a car", "--color", "Orange", "--json")
    assert [Path(r["path"]).name for r in doc["results"]] == ["orange.png"]
    code, _, err = run(capsys, "--library", lib, "search", "a car", "--colour", "teal")
    assert code != 0 and "unknown colour 'teal'" in err


def test_the_colours_command_shows_names_and_counts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from photosense.library import analysis
    from photosense.library import library as library_module
    from tests.cli_run import run, run_json

    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())
    root = tmp_path / "Pictures"
    root.mkdir()
    Image.new("RGB", (64, 64), (20, 40, 230)).save(root / "blue.png")
    Image.linear_gradient("L").save(root / "grey.png")
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", root, "--json")  # no colour analysis yet
    code, out, _ = run(capsys, "--library", lib, "colours", "show", root / "blue.png")
    assert "no colours named" in out

    monkeypatch.setattr(analysis, "FACTORIES", {KIND: ColoursAnalyser})
    doc = run_json(capsys, "--library", lib, "colours", "status", "--json")
    assert (doc["named"], doc["pending"]) == (0, 2)
    doc = run_json(capsys, "--library", lib, "colours", "name", "--json")
    assert (doc["named"], doc["failed"], doc["pending"]) == (2, 0, 0)
    doc = run_json(capsys, "--library", lib, "colours", "show", root / "grey.png", "--json")
    assert doc["black_and_white"] is True
    code, out, _ = run(capsys, "--library", lib, "colours", "show", root / "blue.png")
    assert (code, out) == (0, "  100%  blue\n")
    doc = run_json(capsys, "--library", lib, "colours", "name", "--again", "--json")
    assert doc["named"] == 2
    code, out, _ = run(capsys, "--library", lib, "colours", "status")
    assert "black and white photos: 1" in out
