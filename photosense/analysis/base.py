"""What an analysis (faces, text) provides to the runner, and what the runner hands back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from PIL import Image

from photosense.errors import PhotosenseError
from photosense.store.records import AnalysisMark

R = TypeVar("R")


class AnalysisFailed(PhotosenseError):
    """An analysis could not look at one photo; ``reason`` says why (kept with the photo)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """One photo's analysis: its ``result``, or the ``failure`` that stopped it; ``fingerprint``
    is the content hash of the file that was analysed."""

    result: R | None
    failure: str | None
    fingerprint: str


class Analyser(Protocol[R]):
    """One kind of analysis. ``analyse`` runs on worker threads (so it must be thread-safe and
    bound its own time per photo); ``save`` runs on the runner's thread and writes a batch."""

    @property
    def kind(self) -> str:
        """Key of its marks in the ``analyses`` table ("faces", "text")."""
        ...

    @property
    def version(self) -> str:
        """Model and settings of its results: photos analysed by another version are redone."""
        ...

    @property
    def max_side(self) -> int:
        """The longest side, in pixels, it wants the photo decoded at."""
        ...

    def analyse(self, image: Image.Image) -> R:
        """Look at one upright RGB photo; raise :class:`AnalysisFailed` for a clear failure."""
        ...

    def found(self, result: R) -> int:
        """How many items (faces, lines of text) ``result`` holds."""
        ...

    def save(self, outcomes: Mapping[int, Outcome[R]]) -> None:
        """Write the outcomes of a batch (photo id -> outcome) in one transaction, replacing the
        photos' earlier rows and marking them analysed (see :func:`marks`)."""
        ...


def marks(analyser: Analyser[R], outcomes: Mapping[int, Outcome[R]]) -> dict[int, AnalysisMark]:
    """The marks to record for ``outcomes`` (``store.analyses.mark_analysed`` takes them)."""
    return {
        photo_id: AnalysisMark(
            outcome.fingerprint,
            0 if outcome.result is None else analyser.found(outcome.result),
            outcome.failure,
        )
        for photo_id, outcome in outcomes.items()
    }
