"""The text analysis: lines read become boxes in fractions, saved with their marks, re-read
only when the file changes; the reader's own limits are kept as the photo's outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from photosense.analysis.base import Outcome
from photosense.analysis.text import TextAnalyser, TextReading
from photosense.models.ocr import OcrLine, OcrResult, OcrSettings
from photosense.store.records import TextLine
from photosense.store.repository import Store
from tests.store.conftest import add_photos


class FakeReader:
    """Reads the same lines on every image; counts its calls."""

    settings = OcrSettings()

    def __init__(self, lines: list[OcrLine], limited: str | None = None) -> None:
        self.lines = lines
        self.limited = limited
        self.calls = 0

    def read(self, image: Image.Image) -> OcrResult:
        self.calls += 1
        return OcrResult(self.lines, image.width, image.height, limited=self.limited)


def test_lines_become_boxes_as_fractions_of_the_photo() -> None:
    reader = FakeReader([OcrLine("EXIT", 0.97, 50, 20, 150, 60)], limited="time")
    with Store.in_memory() as store:
        analyser = TextAnalyser(store, reader)  # type: ignore[arg-type]
        reading = analyser.analyse(Image.new("RGB", (200, 100)))
    assert reading.limited == "time"
    (line,) = reading.lines
    assert line.text == "EXIT" and line.confidence == 0.97
    assert (line.x, line.y, line.w, line.h) == pytest.approx((0.25, 0.2, 0.5, 0.4))
    assert analyser.found(reading) == 1


def test_save_writes_text_and_marks_and_skips_removed_photos() -> None:
    with Store.in_memory() as store:
        a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
        analyser = TextAnalyser(store, FakeReader([]))  # type: ignore[arg-type]
        line = TextLine("OPEN", 0.9, 0.1, 0.1, 0.2, 0.1)
        analyser.save(
            {
                a: Outcome(TextReading([line], "lines"), None, "h:/p/a.jpg"),
                b: Outcome(None, "the file is damaged", "h:/p/b.jpg"),
                999: Outcome(TextReading([line]), None, "gone"),
            }
        )
        assert store.texts.lines(a) == [line]
        assert store.texts.limited(a) == "lines"
        assert store.texts.read_state("text", a) == (True, None)
        assert store.texts.read_state("text", b) == (True, "the file is damaged")
        assert store.texts.photo_ids() == {a}
        counts = store.analyses.counts("text", analyser.version)
        assert (counts.analysed, counts.failed, counts.found_photos) == (2, 1, 1)


def test_the_version_names_the_model_and_settings() -> None:
    with Store.in_memory() as store:
        first = TextAnalyser(store, FakeReader([]))  # type: ignore[arg-type]
        other = FakeReader([])
        other.settings = OcrSettings(det_side=640)  # type: ignore[misc]
        second = TextAnalyser(store, other)  # type: ignore[arg-type]
    assert first.version != second.version
    assert "ppocrv5" in first.version


def test_reading_a_photo_file_end_to_end(tmp_path: Path) -> None:
    """The real reader on a rendered sign (model files ship in the wheel)."""
    from PIL import ImageDraw, ImageFont

    image = Image.new("RGB", (640, 240), "white")
    font = ImageFont.load_default(64)
    ImageDraw.Draw(image).text((40, 80), "MAIN STREET", fill="black", font=font)
    with Store.in_memory() as store:
        reading = TextAnalyser(store).analyse(image)
    text = " ".join(line.text for line in reading.lines)
    assert "MAIN" in text.upper() and "STREET" in text.upper()
    (line,) = [line for line in reading.lines if "MAIN" in line.text.upper()]
    assert 0.0 < line.x < 0.2 and 0.2 < line.y < 0.5
