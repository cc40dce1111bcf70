"""Text in photos through the library and the command line: read at indexing, found by its
words beside the model's hits (and why each matched), shown, filtered on, written to sidecars."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from photosense.analysis.text import TextAnalyser
from photosense.enums import MatchReason
from photosense.library import Library
from photosense.library import analysis as analysis_module
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.xmp import sidecar_path, user_comment_from_xmp
from photosense.models.fake import FakeEncoder
from photosense.models.ocr import OcrLine, OcrResult, OcrSettings
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.cli_run import run, run_json
from tests.conftest import save_photo
from tests.test_captions import cli_library

SIGNS = {
    "blue": ["BLUE LAGOON", "Café & Bar"],
    "red": ["STOP"],
    "green": ["Main Street", "Hardware Store"],
}


class ColourReader:
    """Reads the sign of a photo's colour (``SIGNS``), one line per 20% of its height; a grey
    or white photo has no text."""

    settings = OcrSettings()

    def __init__(self) -> None:
        self.calls = 0

    def read(self, image: Image.Image) -> OcrResult:
        self.calls += 1
        r, g, b = ImageStat.Stat(image.convert("RGB")).mean
        colour = "red" if r > max(g, b) else "green" if g > max(r, b) else "blue"
        if max(r, g, b) - min(r, g, b) < 30:
            colour = "grey"
        w, h = image.size
        lines = [
            OcrLine(text, 0.9, 0.1 * w, (0.2 * i + 0.1) * h, 0.8 * w, (0.2 * i + 0.2) * h)
            for i, text in enumerate(SIGNS.get(colour, []))
        ]
        return OcrResult(lines, w, h)


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> ColourReader:
    """Every library of the test reads text with the colour reader."""
    fake = ColourReader()
    monkeypatch.setitem(analysis_module.FACTORIES, "text", lambda store: TextAnalyser(store, fake))  # type: ignore[arg-type]
    return fake


@pytest.fixture
def signs(tmp_path: Path) -> Path:
    root = tmp_path / "signs"
    for colour in ("red", "green", "blue"):
        save_photo(root / f"{colour}.jpg", colour)
    save_photo(root / "yellow.jpg", "yellow")  # reads as red or green: has text too
    return root


@pytest.fixture
def lib(tmp_path: Path, reader: ColourReader, signs: Path) -> Iterator[Library]:
    directory = tmp_path / "library"
    library = Library(Store.open(directory), directory, lambda _spec: FakeEncoder())
    library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(library.folders.index([signs]))
    yield library
    library.close()


def test_indexing_reads_the_text_with_its_boxes(lib: Library, signs: Path) -> None:
    found = lib.text.of_photo(signs / "green.jpg")
    assert found.read and found.failure is None
    assert found.text == "Main Street\nHardware Store"
    first = found.lines[0]
    assert (round(first.x, 2), round(first.y, 2), round(first.w, 2)) == (0.1, 0.1, 0.7)
    status = lib.text.status()
    assert (status.read, status.pending, status.photos_with_text) == (4, 0, 4)
    assert status.enabled


def test_a_photo_is_read_once_until_its_file_changes(
    lib: Library, reader: ColourReader, signs: Path
) -> None:
    calls = reader.calls
    run_to_end(lib.folders.index([signs]))
    assert reader.calls == calls
    save_photo(signs / "red.jpg", "blue", size=(80, 60))
    os.utime(signs / "red.jpg", (1_800_000_000, 1_800_000_000))
    run_to_end(lib.folders.index([signs]))
    assert reader.calls == calls + 1
    assert lib.text.of_photo(signs / "red.jpg").text == "BLUE LAGOON\nCafé & Bar"
    assert lib.text.reread() == 4
    run_to_end(lib.text.read())
    assert reader.calls == calls + 5


def test_search_finds_words_and_says_why(lib: Library, signs: Path) -> None:
    results = lib.search.text("cafe")
    first = results.hits[0]
    assert Path(first.photo.path).name == "blue.jpg"
    assert first.matched == MatchReason.TEXT
    assert first.words == "Café & Bar"
    assert results.good is not None and results.good >= 1
    # The model finds red photos; the red one also holds the word.
    both = lib.search.text("red stop sign").hits[0]
    assert (Path(both.photo.path).name, both.matched) == ("red.jpg", MatchReason.BOTH)
    meaning = lib.search.text("green").hits[0]
    assert (Path(meaning.photo.path).name, meaning.matched) == ("green.jpg", MatchReason.MEANING)
    assert meaning.words is None
    blue = lib.search.text("blue").hits[0]  # the look, and "BLUE LAGOON"
    assert (Path(blue.photo.path).name, blue.matched) == ("blue.jpg", MatchReason.BOTH)


def test_a_description_finds_the_sign(lib: Library) -> None:
    hits = lib.search.text("the photo that says Main Street").hits  # all of its words
    assert Path(hits[0].photo.path).name == "green.jpg"
    assert hits[0].matched == MatchReason.TEXT
    # Half the words, and the look of the rest ("green"): the fake model sees that part.
    described = lib.search.text("the green sign on Main Street", literal=True)
    assert Path(described.good_hits[0].photo.path).name == "green.jpg"
    assert described.good_hits[0].matched == MatchReason.BOTH
    store = lib.search.text("the hardware store")
    assert Path(store.hits[0].photo.path).name == "green.jpg"
    assert store.good == 1
    # Two of its three words, and the model sees no receipt: listed, not a good match.
    receipt = lib.search.text("receipt from the hardware store")
    assert "green.jpg" in {Path(h.photo.path).name for h in receipt.hits}
    assert receipt.good == 0


def test_part_of_the_words_is_good_only_if_the_photo_looks_it(
    tmp_path: Path, reader: ColourReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "a red flower" is not a blue drum with "RED" painted on it, though its text holds half
    the query's words, nor is a red photo whose sign says STOP "green stop"."""
    monkeypatch.setitem(SIGNS, "blue", ["RED"])
    root = tmp_path / "photos"
    for name, colour in [("drum", "blue"), ("a", "red"), ("b", "red"), ("c", "green")]:
        save_photo(root / f"{name}.jpg", colour)
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: FakeEncoder()) as library:
        library.store.settings.set(AUTO_TAG_KEY, False)
        run_to_end(library.folders.index([root]))
        flower = library.search.text("a red flower", literal=True)
        drum = next(h for h in flower.hits if Path(h.photo.path).name == "drum.jpg")
        assert drum.matched == MatchReason.TEXT
        good = {Path(h.photo.path).name for h in flower.good_hits}
        assert "drum.jpg" not in good
        assert [Path(h.photo.path).name for h in flower.hits][-1] == "drum.jpg"  # not lifted
        stop = library.search.text("green stop", literal=True)  # "STOP" on a red photo
        assert "a.jpg" not in {Path(h.photo.path).name for h in stop.good_hits}


def test_quoted_words_are_exact(lib: Library) -> None:
    exact = lib.search.text('"blue lagoon"')
    assert [Path(h.photo.path).name for h in exact.hits] == ["blue.jpg"]
    assert exact.good == 1
    assert lib.search.text('"lagoon blue"').hits == []
    assert lib.search.text('"streets"').hits == []  # "street" is there, not "streets"
    assert [Path(h.photo.path).name for h in lib.search.text("streets").hits][:1] == ["green.jpg"]


def test_has_text_filter(lib: Library, signs: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    save_photo(plain / "white.jpg", (250, 250, 250))
    lib.text.set_enabled(False)
    run_to_end(lib.folders.index([plain]))
    assert not lib.text.of_photo(plain / "white.jpg").read
    with_text = set(lib.photos.ids(has_text=True))
    assert len(with_text) == 4 and len(lib.photos.ids()) == 5
    found = lib.search.text("white", has_text=True, limit=10).hits
    assert {h.photo.id for h in found} <= with_text


def test_export_writes_the_text_into_sidecars_only(lib: Library, signs: Path) -> None:
    photo = signs / "blue.jpg"
    before = photo.read_bytes()
    report = run_to_end(lib.text.export_xmp())
    assert len(report.written) == 4 and not report.failed
    sidecar = sidecar_path(photo)
    assert user_comment_from_xmp(sidecar.read_bytes()) == "BLUE LAGOON\nCafé & Bar"
    assert photo.read_bytes() == before


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_lib(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    reader: ColourReader,
    signs: Path,
) -> Path:
    return cli_library(capsys, monkeypatch, tmp_path / "cli-lib", signs)


def test_cli_show_status_and_search(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, signs: Path
) -> None:
    code, out, _ = run(capsys, "--library", cli_lib, "text", "show", signs / "green.jpg")
    assert code == 0 and out.splitlines() == ["Main Street", "Hardware Store"]
    shown = run_json(capsys, "--library", cli_lib, "text", "show", signs / "red.jpg", "--json")
    assert shown["text"] == "STOP" and shown["read"] is True
    assert set(shown["lines"][0]["box"]) == {"x", "y", "w", "h"}
    status = run_json(capsys, "--library", cli_lib, "text", "status", "--json")
    assert status["photos_with_text"] == 4
    document = run_json(capsys, "--library", cli_lib, "search", "hardware", "--json")
    first = document["results"][0]
    assert Path(first["path"]).name == "green.jpg"
    assert (first["matched"], first["words"]) == ("text", "Hardware Store")
    code, out, _ = run(capsys, "--library", cli_lib, "search", "hardware")
    assert "green.jpg  [text: “Hardware Store”]" in out


def test_cli_export_and_auto(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, signs: Path
) -> None:
    exported = run_json(capsys, "--library", cli_lib, "text", "export-xmp", "--json")
    assert len(exported["written"]) == 4
    code, out, _ = run(capsys, "--library", cli_lib, "text", "auto", "off")
    assert code == 0 and "off" in out
    status = run_json(capsys, "--library", cli_lib, "text", "status", "--json")
    assert status["enabled"] is False
