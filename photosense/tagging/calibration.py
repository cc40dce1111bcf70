"""Per-tag calibration and tag selection: the numbers behind "which tags does a photo get".

One global cutoff over raw cosine similarities fails both ways: some tags' text vectors sit
close to every photo (they would tag everything) while others never reach the cutoff (they
would tag nothing). So each tag is standardised on its own:

1. **Reference distribution.** A tag's scores over photos that are mostly *not* about it tell
   where its "nothing here" level and spread are: their median and scaled MAD (robust, so the
   few photos that do show the tag barely move them).
2. **Two sources, blended.** The library's own photos (the best reference once there are
   enough of them) and a background set of generic captions (always there, so a library of
   five photos is calibrated too). The background's scores are first shifted and scaled so
   their overall level matches the library's (text-to-text similarities run higher than
   image-to-text ones in CLIP-style models); then the two are mixed with weight
   ``n / (n + prior_photos)`` on the library.
3. **Families.** Kinds that rule each other out (dog breeds, bird species) are resolved
   first: a member's score counts for its parent ("dog"), and of the members only the best
   survives, and only when it leads the next one by ``lead``; otherwise they give way to the
   parent. One cat is not five breeds.
4. **Selection.** A photo gets a tag when the tag's z-score clears the threshold (a global
   default plus the tag's own feedback offset), is within ``margin`` of the photo's best tag
   (a weak tag next to a strong one is usually a near-miss), stands ``standout`` above the
   mean of the photo's ``crowd`` best tags (a photo the model cannot read scores a crowd of
   unrelated tags alike: it gets none), and is among the photo's ``max_per_photo`` best.

Everything here is numpy over plain arrays, chunked so 100k photos x 2k tags stays in bounded
memory; it knows nothing about the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from photosense.models.encoder import Vectors
from photosense.vectors.relevance import MAD_TO_SD, chance_level, robust

__all__ = [
    "Calibration",
    "Family",
    "Selection",
    "TaggingParams",
    "calibrate",
    "chance_level",
    "resolve_families",
    "select_tags",
    "standardise",
    "tag_blocks",
    "zscores",
]

STATS_SAMPLE = 5_000
"""Library photos (at most, evenly spaced) that a tag's reference statistics are taken over;
a median from 5,000 scores is within ~2% of a standard deviation of the full library's."""

SCALE_SHRINK = 0.5
"""Share of each tag's variance replaced by the typical tag's (see ``_shrink``)."""

CROWD_SHARE = 10
"""The standout test needs a vocabulary of at least this many crowds (see ``crowd``)."""

CHUNK = 8192
"""Photos scored at once: bounds memory at CHUNK x tags floats."""

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Family = tuple[int, Ints]
"""A family as columns of a score matrix: the parent's column and its members' columns."""


@dataclass(frozen=True)
class TaggingParams:
    """The knobs of tag selection; defaults were chosen on development splits only (the
    tuxpaint-stamps train split and a Fashion-MNIST subset disjoint from the one reported), see
    docs/tagging.md."""

    threshold: float = -1.0
    """z-score a tag must reach on a photo, counted from :func:`chance_level` of the
    vocabulary (before the tag's own feedback offset)."""
    margin: float = 0.75
    """A tag more than this many z below the photo's best tag is not suggested. The
    single-label development sets score best at 0.5; a little more room keeps a second true
    tag (a dog *and* a beach) that real photos have."""
    max_per_photo: int = 5
    """At most this many suggested tags per photo."""
    lead: float = 1.0
    """z by which a family's best member must lead the next one to be kept; otherwise the
    members give way to their parent."""
    standout: float = 1.75
    """z by which a tag must rise above the mean of the photo's ``crowd`` best tags."""
    crowd: int = 10
    """How many of a photo's best tags make its crowd; the standout test applies only to
    vocabularies of at least ten times this many tags (in a small one the best tags are no
    crowd but the few related classes: on 65 clip-art classes it cost F1)."""
    prior_photos: float = 50.0
    """How many library photos the background captions count as when blending."""

    min_cutoff: float = 1.0
    """The cutoff never drops below this z, however few tags there are."""

    def cutoff(self, tags: int) -> float:
        """The z cutoff for a vocabulary of ``tags`` tags (a tag's offset is added to it); on the
        development splits the best cutoff sat at the chance level minus 1 to 1.5 for both 10
        and 65 tags and both starter models."""
        return max(self.min_cutoff, self.threshold + chance_level(tags))

    def __post_init__(self) -> None:
        if self.max_per_photo < 1:
            raise ValueError("max_per_photo must be at least 1")
        if min(self.margin, self.prior_photos, self.lead, self.standout) < 0:
            raise ValueError("margin, prior_photos, lead and standout cannot be negative")
        if self.crowd < 1:
            raise ValueError("crowd must be at least 1")


@dataclass(frozen=True)
class Calibration:
    """Per-tag centre and scale that turn raw similarities into z-scores."""

    centre: Floats
    scale: Floats
    photos: int
    """Library photos the library part was estimated from (0: background only)."""


@dataclass(frozen=True)
class Selection:
    """Tags chosen for a block of photos: parallel arrays of photo row, tag column, z-score."""

    rows: Ints
    cols: Ints
    scores: Floats


def _global_level(scores: Floats) -> tuple[float, float]:
    """Median and MAD-based scale of every entry: the overall level of a score matrix."""
    flat = scores.ravel()
    centre = float(np.median(flat))
    return centre, float(MAD_TO_SD * np.median(np.abs(flat - centre)))


def _sample(vectors: Vectors, limit: int) -> Vectors:
    if len(vectors) <= limit:
        return vectors
    picks = np.linspace(0, len(vectors) - 1, limit).astype(np.int64)
    return vectors[picks]


def calibrate(
    tag_vectors: Vectors,
    library_vectors: Vectors,
    background_vectors: Vectors,
    prior_photos: float = TaggingParams.prior_photos,
) -> Calibration:
    """Estimate each tag's reference centre and scale (see the module docstring).

    ``library_vectors`` may be empty (background only); ``background_vectors`` must not be.
    """
    if len(background_vectors) == 0:
        raise ValueError("the background set is empty")
    background = tag_vectors @ background_vectors.T
    bg_centre, bg_scale = robust(background)
    photos = len(library_vectors)
    if photos == 0:
        return Calibration(bg_centre, _shrink(bg_scale), 0)
    library = tag_vectors @ _sample(library_vectors, STATS_SAMPLE).T
    lib_level, lib_spread = _global_level(library)
    bg_level, bg_spread = _global_level(background)
    # With one photo the library's spread is across tags only; keep the background's scale.
    ratio = lib_spread / bg_spread if photos > 1 and lib_spread > 0 and bg_spread > 0 else 1.0
    prior_centre = lib_level + (bg_centre - bg_level) * ratio
    prior_scale = bg_scale * ratio
    lib_centre, lib_scale = robust(library)
    weight = photos / (photos + prior_photos)
    centre = weight * lib_centre + (1 - weight) * prior_centre
    scale = np.sqrt(weight * lib_scale**2 + (1 - weight) * prior_scale**2)
    return Calibration(centre.astype(np.float32), _shrink(scale.astype(np.float32)), photos)


def _shrink(scale: Floats) -> Floats:
    """Pull each tag's scale halfway (in variance) to the median scale.

    A scale is estimated from a few hundred scores at best and a tag with a narrow spread
    would turn small wobbles into large z-scores; sharing half the variance steadies that
    (on the development splits it also ranked each photo's tags better than either extreme).
    """
    positive = scale[scale > 0]
    typical = float(np.median(positive)) if positive.size else 1.0
    shrunk: Floats = np.sqrt((1 - SCALE_SHRINK) * scale**2 + SCALE_SHRINK * typical**2)
    return np.maximum(shrunk, np.float32(1e-6)).astype(np.float32)


def standardise(scores: Floats, calibration: Calibration) -> Floats:
    """Raw similarities (photos x tags) to z-scores under ``calibration``."""
    return ((scores - calibration.centre) / calibration.scale).astype(np.float32)


def zscores(photo_vectors: Vectors, tag_vectors: Vectors, calibration: Calibration) -> Floats:
    """z-scores of photos (rows) for tags (columns): ``standardise(photos @ tags.T)``, with the
    division folded into the tag vectors so the big matrix is written once and shifted once."""
    scaled = (tag_vectors / calibration.scale[:, None]).astype(np.float32)
    z: Floats = photo_vectors @ scaled.T
    z -= calibration.centre / calibration.scale
    return z


def resolve_families(z: Floats, families: Sequence[Family], lead: float) -> Floats:
    """``z`` with each family resolved per photo (a copy; suppressed members become -inf).

    A member's score counts for the parent (its z is at least the best member's). Of the
    members, only the best keeps its score, and only when it leads the next member by ``lead``;
    otherwise every member is dropped and the parent stands for them.
    """
    out = z.copy()
    rows = np.arange(len(z))
    for parent, members in families:
        block = out[:, members]
        if len(members) == 1:
            out[:, parent] = np.maximum(out[:, parent], block[:, 0])
            continue
        top2 = np.argpartition(-block, 1, axis=1)[:, :2]
        first, second = block[rows, top2[:, 0]], block[rows, top2[:, 1]]
        swap = second > first
        best = np.where(swap, top2[:, 1], top2[:, 0])
        first, second = np.maximum(first, second), np.minimum(first, second)
        kept = np.full_like(block, -np.inf)
        clear = first - second >= lead
        kept[rows[clear], best[clear]] = first[clear]
        out[:, members] = kept
        out[:, parent] = np.maximum(out[:, parent], first)
    return out


def _crowd_level(z: Floats, crowd: int) -> Floats:
    """Per photo, the mean of its ``crowd`` best finite z-scores (suppressed tags left out)."""
    k = min(crowd, z.shape[1])
    best = -np.partition(-z, k - 1, axis=1)[:, :k]
    finite = np.isfinite(best)
    total = np.where(finite, best, 0).sum(axis=1)
    level: Floats = (total / np.maximum(finite.sum(axis=1), 1)).astype(np.float32)
    return level


def select_tags(
    z: Floats, thresholds: Floats, params: TaggingParams, families: Sequence[Family] = ()
) -> Selection:
    """Choose tags for each row of ``z`` (photos x tags, z-scores).

    ``thresholds`` holds one z cutoff per tag (the global cutoff plus the tag's offset).
    ``families`` are resolved first (:func:`resolve_families`). A tag must then clear its
    cutoff, come within ``params.margin`` of the photo's best tag and, in a vocabulary of at
    least ``10 * params.crowd`` tags, stand ``params.standout`` above the photo's crowd; of
    those, each photo keeps its ``params.max_per_photo`` best. Only the few candidates are
    sorted, so the cost is a few passes over ``z``.
    """
    if z.size == 0:
        empty = np.zeros(0, np.int64)
        return Selection(empty, empty.copy(), np.zeros(0, np.float32))
    if families:
        z = resolve_families(z, families, params.lead)
    floor = z.max(axis=1) - np.float32(params.margin)
    keep = z >= thresholds[None, :]
    keep &= z >= floor[:, None]
    if z.shape[1] >= CROWD_SHARE * params.crowd:
        keep &= z >= (_crowd_level(z, params.crowd) + np.float32(params.standout))[:, None]
    rows, cols = np.nonzero(keep)
    scores = z[rows, cols]
    order = np.lexsort((-scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    capped = rank < params.max_per_photo
    return Selection(rows[capped].astype(np.int64), cols[capped].astype(np.int64), scores[capped])


def tag_blocks(
    photo_vectors: Vectors,
    tag_vectors: Vectors,
    calibration: Calibration,
    thresholds: Floats,
    params: TaggingParams,
    chunk: int = CHUNK,
    families: Sequence[Family] = (),
) -> Iterator[tuple[int, Selection]]:
    """Score, standardise and select over photos in chunks; yields (first row, selection).

    Rows in each selection are relative to the chunk's first row.
    """
    for start in range(0, len(photo_vectors), chunk):
        z = zscores(photo_vectors[start : start + chunk], tag_vectors, calibration)
        yield start, select_tags(z, thresholds, params, families)
