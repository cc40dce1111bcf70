"""The text analysis: each photo's text read (:mod:`photosense.models.ocr`) and stored with
its boxes, for word search, the detail pane and the XMP sidecar."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image

from photosense.analysis.base import Outcome, marks
from photosense.media.regions import Box
from photosense.models.ocr import OcrEngine, OcrSettings, model_dir
from photosense.store.records import TextLine
from photosense.store.repository import Store

KIND = "text"
MAX_SIDE = 1600
"""The longest side a photo is read at: the detector sees less (``OcrSettings.det_side``), the
recogniser reads its boxes cut from this size, where small print is still legible."""


@dataclass(frozen=True)
class TextReading:
    """What reading one photo found: its lines, top to bottom, and why it stopped early, if it
    did (``"lines"``: more boxes than the reader takes; ``"time"``: its time limit)."""

    lines: list[TextLine]
    limited: str | None = None


class TextAnalyser:
    """Reads the text in photos; one per library, shared by the runner's worker threads."""

    kind = KIND
    max_side = MAX_SIDE

    def __init__(self, store: Store, engine: OcrEngine | None = None) -> None:
        self._store = store
        if engine is None:
            model_dir()  # the model files are there (ModelError, said once, if not)
        self._engine = engine or shared_engine()

    @property
    def version(self) -> str:
        return f"{self._engine.settings.key()}@{MAX_SIDE}"

    @property
    def settings(self) -> OcrSettings:
        return self._engine.settings

    def analyse(self, image: Image.Image) -> TextReading:
        result = self._engine.read(image)
        lines = [
            TextLine(
                line.text,
                line.confidence,
                *_fractions(
                    Box.from_pixels(
                        line.left, line.top, line.right, line.bottom, result.width, result.height
                    )
                ),
            )
            for line in result.lines
        ]
        return TextReading(lines, result.limited)

    def found(self, result: TextReading) -> int:
        return len(result.lines)

    def save(self, outcomes: Mapping[int, Outcome[TextReading]]) -> None:
        readings = {
            photo_id: ([], None) if o.result is None else (o.result.lines, o.result.limited)
            for photo_id, o in outcomes.items()
        }
        self._store.texts.save_analysed(KIND, self.version, marks(self, outcomes), readings)


@functools.cache
def shared_engine() -> OcrEngine:
    """The reader with the default settings, loaded once per process whatever the library."""
    return OcrEngine()


def _fractions(box: Box) -> tuple[float, float, float, float]:
    return box.x, box.y, box.w, box.h
