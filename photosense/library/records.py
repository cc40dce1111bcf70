"""What the library's use cases hand back: frozen records both fronts read and render."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from photosense.enums import MatchReason
from photosense.indexing import IndexReport
from photosense.learn.records import LIBRARY_KEEP_LIMIT
from photosense.models.inventory import ModelInfo
from photosense.places.query import QueryReading
from photosense.store.records import PhotoRecord

if TYPE_CHECKING:
    from photosense.learn.finetune import FineTuneResult


@dataclass(frozen=True)
class ModelFallback:
    """Why the starter answers instead of the library's model ``model_id``: its files are not
    on this machine (``reason`` says what loading it said), or the library was indexed with an
    ``older_starter`` version whose vectors the current starter cannot read."""

    model_id: str
    older_starter: bool
    reason: str


@dataclass(frozen=True)
class Hit:
    """A search result. ``matched`` says why: the words read in the photo (``text``, and
    ``words`` holds its lines that matched), the model's sense of it (``meaning``), or both."""

    photo: PhotoRecord
    score: float
    matched: MatchReason = MatchReason.MEANING
    words: str | None = None


@dataclass(frozen=True)
class SearchResults:
    """A search's hits. For a text search the first ``good`` are good matches (calibrated for
    the library and its model, see :mod:`photosense.vectors.relevance`) and the rest are "more
    results" below them; ``good == 0`` with hits means no good match, only the closest photos.
    ``good`` is None where hits are not judged (photos like a photo: one list by likeness)."""

    query: str
    model_id: str
    hits: list[Hit]
    good: int | None = None
    reading: QueryReading | None = None
    """How a text query was read: its dates and places as filters, the rest searched by
    meaning (None for photos like a photo). When nothing is left to search by meaning, the
    hits are the photos the filters keep, newest first, not scored."""

    @property
    def scored(self) -> bool:
        """False when the hits were listed by the query's filters alone, not by meaning."""
        return self.reading is None or bool(self.reading.query)

    @property
    def no_good_match(self) -> bool:
        """A judged search found hits but none of them is a good match."""
        return self.good == 0 and bool(self.hits)

    @property
    def good_hits(self) -> list[Hit]:
        """The good matches (every hit when the search is not judged)."""
        return self.hits if self.good is None else self.hits[: self.good]

    @property
    def more_hits(self) -> list[Hit]:
        """The hits below the good matches (none when the search is not judged)."""
        return [] if self.good is None else self.hits[self.good :]


@dataclass(frozen=True)
class ModelStatus:
    id: str
    dim: int
    vectors: int
    index: str  # current | stale | missing | rebuilding
    active: bool


@dataclass(frozen=True)
class ModelSwitch:
    """Where a change of model stands: ``active`` answers searches, ``pending`` is on its way.

    ``done`` of ``total`` photos have a vector under ``pending`` (under ``active`` when nothing
    is pending); photos on offline drives are counted but wait for their drive.
    """

    active: str
    pending: str | None
    done: int
    total: int


@dataclass(frozen=True)
class SwitchReport:
    """What ``models.use`` did: the re-embedding run (None when none was needed)."""

    model_id: str
    activated: bool
    index: IndexReport | None


@dataclass(frozen=True)
class LibraryModel:
    """A model on this machine (or only in this library) and what the library holds of it."""

    info: ModelInfo
    active: bool
    pending: bool
    vectors: int


@dataclass(frozen=True)
class RemovedModel:
    model_id: str
    bytes_freed: int
    vectors_removed: int


@dataclass(frozen=True)
class FolderStatus:
    path: str
    online: bool
    photos: int
    last_scan_at: datetime | None


@dataclass(frozen=True)
class LibraryStatus:
    path: str
    photos: int
    skipped: int
    folders: list[FolderStatus]
    models: list[ModelStatus]
    active_model: str


@dataclass(frozen=True)
class CaptionImport:
    """What importing a caption CSV did.

    ``imported`` captions are new, ``updated`` replaced an earlier one; ``kept`` counts rows
    left alone because the photo has a caption the user wrote. ``unmatched`` are the (absolute)
    paths not in the library, ``problems`` the rows left out, as ``line N: reason``.
    """

    imported: int
    updated: int
    unmatched: list[str]
    problems: list[str]
    kept: int = 0


@dataclass(frozen=True)
class FineTuneReport:
    """A stored fine-tuned model and its numbers; ``improved`` decides automatic activation."""

    model_id: str
    result: FineTuneResult

    @property
    def improved(self) -> bool:
        return self.result.improved

    def as_dict(self, activated: bool) -> dict[str, object]:
        """The JSON shape `photosense finetune --json` prints."""
        r = self.result
        keys = ("t2i_r1", "t2i_r5", "t2i_r10")

        def mean(values: dict[str, float]) -> float | None:
            return round(float(np.mean(list(values.values()))), 6) if values else None

        return {
            "model": self.model_id,
            "base": r.base,
            "pairs": r.pairs,
            "seconds": round(r.seconds, 1),
            "heldout": {
                "before": {k: r.heldout_before[k] for k in keys},
                "after": {k: r.heldout_after[k] for k in keys},
                "pairs": r.heldout_pairs,
            },
            "general": {
                "before": mean(r.general_before),
                "after": mean(r.general_after),
                "sets": {
                    name: {"before": r.general_before[name], "after": r.general_after[name]}
                    for name in r.general_before
                },
            },
            "library": None
            if r.library is None
            else {**asdict(r.library), "kept": r.library.kept, "limit": LIBRARY_KEEP_LIMIT},
            "alpha": r.alpha,
            "epochs": r.epochs_run,
            "best_epoch": r.best_epoch,
            "verdict": r.verdict.value,
            "improved": r.improved,
            "activated": activated,
        }
