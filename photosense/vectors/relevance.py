"""Which search hits are good matches: a hit must stand out from the query's own scores.

A raw cosine similarity means different things for different models and different queries (one
query sits close to every photo, another to none), so no fixed score says "this matches". As
tags are (:mod:`photosense.tagging.calibration`), each query is standardised on its own:

1. **Reference.** A fixed sample of the library's vectors (all of them up to
   :data:`REFERENCE_SAMPLE`). The query's scores over it give its "nothing here" level and
   spread: their median and MAD-based scale, robust to the few photos that do match.
2. **Steadier scale.** A query's spread from a small library is noisy and a narrow one turns
   small wobbles into large z-scores, so half its variance is replaced by the library's typical
   spread: the median spread of generic captions' scores over the same sample (text queries).
3. **Cutoff.** A hit is a good match when its z-score clears ``threshold`` plus
   :func:`chance_level` of the library's size n, about the best z-score one of n unrelated
   photos reaches by luck: without it a larger library would claim more good matches for a
   query that has none.

Good matches are always the best-scoring hits (the z-score is monotone in the score for one
query), so a search's results split into its first ``good`` hits and "more results".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors

__all__ = [
    "REFERENCE_SAMPLE",
    "Reference",
    "RelevanceCalibration",
    "RelevanceParams",
    "calibrate",
    "chance_level",
    "good_count",
    "needs_refresh",
    "reference_ids",
    "robust",
    "typical_scale",
    "zscores",
]

REFERENCE_SAMPLE = 2_000
"""Library photos (at most) whose scores stand for the whole library; a median and MAD from
2,000 scores are within a few percent of a standard deviation of the full library's."""

MAD_TO_SD = 1.4826
"""Scales a median absolute deviation to a standard deviation for normally spread scores."""

REFRESH_GROWTH = 0.05
"""The reference is redrawn once the library's size has changed by this share."""

_MIN_SCALE = 1e-6

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class RelevanceParams:
    """The cutoff, in z above the chance level, for text queries; chosen on the tuxpaint-stamps
    train split with the starter and checked on the other sets (benchmarks/bench_relevance.py,
    docs/search.md)."""

    threshold: float = 1.5
    """z a good match reaches above :func:`chance_level` of the library's size: the smallest
    cutoff whose good matches were at least 80% right for the dev split's caption queries."""
    shrink: float = 0.5
    """Share of a query's variance replaced by the library's typical one."""
    knee: float = 0.5
    """A hit must also stand out at least this share as far as the best hit does: a photo far
    weaker than the best match is not a good match beside it."""


@dataclass(frozen=True)
class RelevanceCalibration:
    """What a library's good-match cutoff was calibrated with under one model: its size then
    and the typical spread of generic captions' scores over its photos. Small and stored with
    the library, so reading it needs no model."""

    model_id: str
    photos: int
    """Photos in the library when it was calibrated (the chance level counts them)."""
    typical_scale: float


@dataclass(frozen=True)
class Reference:
    """A calibration with the sample of library vectors each query is scored against."""

    calibration: RelevanceCalibration
    vectors: Vectors

    @property
    def photos(self) -> int:
        return self.calibration.photos


def chance_level(n: int) -> float:
    """About the best z-score one of ``n`` unrelated candidates (photos for a query, tags for a
    photo) reaches by luck: the expected maximum of n standard normal scores grows like
    sqrt(2 ln n), so a cutoff counted from this level is right for any n."""
    return math.sqrt(2 * math.log(max(n, 2)))


def reference_ids(ids: Ids, limit: int = REFERENCE_SAMPLE) -> Ids:
    """A sample of ``limit`` photo ids that stays put as a library grows: the ids ordered by a
    fixed hash, first ``limit`` kept (so new photos join it only at their share)."""
    if len(ids) <= limit:
        return np.sort(ids)
    keys = (ids.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
    return np.sort(ids[np.argsort(keys, kind="stable")[:limit]])


def robust(scores: Floats) -> tuple[Floats, Floats]:
    """Per-row median and MAD-based scale (robust: the few rows' entries that stand out barely
    move them)."""
    centre = np.median(scores, axis=1)
    deviation = np.abs(scores - centre[:, None])
    spread = MAD_TO_SD * np.median(deviation, axis=1)
    return centre.astype(np.float32), spread.astype(np.float32)


def typical_scale(sample: Vectors, background: Vectors) -> float:
    """The median spread of generic captions' scores over a sample of library vectors: how
    widely an ordinary text's scores vary across this library under this model."""
    if len(background) == 0 or len(sample) < 2:
        return 0.0
    return float(np.median(robust(background @ sample.T)[1]))


def calibrate(model_id: str, sample: Vectors, photos: int, background: Vectors) -> Reference:
    """The reference of a library of ``photos`` photos from a sample of its vectors (see
    :func:`reference_ids`) and the generic captions' vectors."""
    calibration = RelevanceCalibration(model_id, photos, typical_scale(sample, background))
    return Reference(calibration, sample.astype(np.float32, copy=False))


def needs_refresh(calibration: RelevanceCalibration | None, model_id: str, photos: int) -> bool:
    """Whether ``calibration`` no longer stands for a library of ``photos`` under ``model_id``:
    another model, or a size that has moved by more than :data:`REFRESH_GROWTH`."""
    if calibration is None or calibration.model_id != model_id:
        return True
    return abs(photos - calibration.photos) > REFRESH_GROWTH * max(calibration.photos, 1)


def zscores(
    scores: Floats,
    query: Vectors,
    reference: Reference,
    shrink: float,
) -> Floats:
    """``scores`` of ``query`` standardised by its scores over the reference sample."""
    if len(reference.vectors) == 0:
        return np.zeros(len(scores), np.float32)
    centre, spread = robust((reference.vectors @ query.reshape(-1))[None, :])
    typical = reference.calibration.typical_scale
    variance = (1 - shrink) * float(spread[0]) ** 2 + shrink * typical**2
    scale = max(math.sqrt(variance), _MIN_SCALE)
    z: Floats = (np.asarray(scores, np.float32) - centre[0]) / np.float32(scale)
    return z.astype(np.float32)


def good_count(
    scores: Floats, query: Vectors, reference: Reference, params: RelevanceParams
) -> int:
    """How many of ``scores`` (best first) are good matches for ``query``."""
    if len(scores) == 0:
        return 0
    z = zscores(scores, query, reference, params.shrink)
    cutoff = max(params.threshold + chance_level(reference.photos), params.knee * float(z.max()))
    return int(np.count_nonzero(z >= cutoff))
