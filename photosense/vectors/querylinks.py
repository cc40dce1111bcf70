"""Links that follow text queries in an HNSW graph built from photos (RoarGraph-style).

A text query lies across the modality gap from every photo: its true neighbours are spread over
photos that a graph built from photo-to-photo distances does not link to each other, so a walk
needs a wide candidate list to find them (:func:`photosense.vectors.index.text_ef`). RoarGraph
(Chen et al., VLDB 2024) links the photos that are near the same text query. Here a plain
hnswlib graph keeps its upper layers and the first :data:`KEEP` of each photo's level-0 links
(the ones its heuristic chose first); the other slots go to query links: each training query's
nearest photo is linked to its other top photos, and they back to it, the most frequent first.

A graph gets its links when it is built in full (:class:`.cache.SearchIndexes`), and one that
grew photo by photo from the exact index gets them at the end of an indexing run
(:meth:`.cache.SearchIndexes.link_steps`).

A library does not know its users' queries, but it has text vectors of its own model: the tag
vocabulary (a few thousand prompts), embedded when photos are tagged. :func:`training_queries`
makes the training set from them and from unit sums of pairs of them (a phrase naming two
things lies near the sum of their vectors). Every tenth text vector is held out of them: once the
links are placed, the graph's text ef is calibrated on those (:func:`calibrated_ef`: the
narrowest candidate list that finds :data:`TEXT_RECALL` of their exact nearest photos, with
a margin for how few they are), so a
library whose text queries the links serve well searches narrowly, and one they serve less
well searches as widely as it must. Measured with benchmarks/bench_querygraph.py.

The links are written into a graph file that hnswlib saved (:func:`link_file`), in place: the
level-0 block is a fixed-size record per element, so no hnswlib internals are rebuilt, and
nothing runs under the GIL for long (loading a graph through hnswlib holds it for seconds at a
million photos; its pickling state is slower still).
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from photosense.arrays import Vectors

log = logging.getLogger(__name__)


KEEP = 16
"""hnswlib links a photo keeps at level 0 (the first, which its heuristic chose first; at most
half its ``2 * M`` slots); the other slots go to query links. Measured at 1M with M 32: 16 kept
of 64 slots gives text recall 0.983 at ef 384 (benchmarks/bench_querygraph.py)."""

TOP = 16
"""Photos of each training query that are linked (its nearest to the others)."""

QUERIES_PER_PHOTO = 0.2
MAX_QUERIES = 200_000
"""Training queries for a graph of n photos: ``QUERIES_PER_PHOTO * n``, at most this many.
Answering them through the new graph (:data:`ANSWER_EF`) costs about a millisecond and a half
each on one core at a million photos."""

ANSWER_EF = 512
"""Candidate list of the walk that answers the training queries through the new graph: their
neighbours need not be exact (measured: answered so at 1M, 0.92 recall@10, the links serve as
well as exact ones), and a wide walk would double a rebuild's time."""

MIN_WORDS = 100
"""Fewer text vectors than this (a library without a tag vocabulary): no query links."""

HELD_OUT = 10
"""Every this-many-th text vector is kept out of the training queries: no link is made for it,
so a walk's recall on these is what a query the links were not made for meets
(:func:`calibrated_ef`)."""
MIN_HELD_OUT = 50
"""Fewer held-out text vectors than this (a model with under 500): the graph's text ef is not
calibrated, and :func:`.index.text_ef` gives it."""
TEXT_RECALL = 0.98
"""Recall@10 that text queries over a linked graph should reach on average."""
CONFIDENCE = 2.0
"""The calibrated ef is the narrowest at which the held-out text vectors show
:data:`TEXT_RECALL` with this many standard errors to spare (:func:`recall_bound`): a few hundred
of them estimate the mean recall to about ±0.004. Measured with benchmarks/bench_querygraph.py
--calibration (synthetic CLIP-like vectors, 240 held out of 2,400, 1,000 fresh text queries):
the held-out vectors' recall is within 0.01 of fresh queries' at the same ef, mostly a little
above (1M: 0.986 against 0.980 at ef 610, 0.989 against 0.986 at 763)."""
CALIBRATION_K = 10
EF_STEPS = tuple(round(128 * 1.125**i) for i in range(30))
"""The candidate lists a calibration tries: from 128 (photo queries use 256), an eighth wider
each step, to ~3,900."""

# hnswlib's saveIndex header (hnswalg.h): offsetLevel0_, max_elements_, cur_element_count,
# size_data_per_element_, label_offset_, offsetData_ (size_t), maxlevel_ (int),
# enterpoint_node_ (tableint), maxM_, maxM0_, M_ (size_t), mult_ (double), ef_construction_
# (size_t); then cur_element_count records of size_data_per_element_ bytes: the level-0 link
# list (a 4-byte header whose low 16 bits are its length, then maxM0_ uint32 internal ids),
# the vector, the 8-byte label.
_HEADER = struct.Struct("<6Qii3QdQ")


def training_queries(words: Vectors, n: int, seed: int = 0) -> Vectors:
    """``n`` training queries from a model's own text vectors: the vectors themselves, then
    unit sums of random pairs of them."""
    words = np.asarray(words, np.float32)
    if n <= len(words):
        return words[:n].copy()
    rng = np.random.default_rng(seed)
    pairs = rng.integers(0, len(words), (n - len(words), 2))
    sums = words[pairs[:, 0]] + words[pairs[:, 1]]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    sums /= np.maximum(norms, 1e-12)
    return np.vstack([words, sums]).astype(np.float32)


def split_words(words: Vectors) -> tuple[Vectors, Vectors]:
    """``words`` cut into the text vectors that make training queries and the held-out ones
    (every :data:`HELD_OUT`-th) that calibrate the walk."""
    held = np.arange(0, len(words), HELD_OUT)
    return np.delete(words, held, axis=0), words[held]


def calibrated_ef(
    walk: Callable[[int], Vectors],
    kth: Vectors,
    steps: Sequence[int] | None = None,
    target: float = TEXT_RECALL,
) -> int:
    """The narrowest of ``steps`` (default :data:`EF_STEPS`) at which ``walk(ef)`` (the exact
    scores of the photos a walk finds for each query, a row each) finds ``target`` of each
    query's top ``k`` (``kth``: its k-th best exact score) by :func:`recall_bound`; the widest
    when none does."""
    steps = EF_STEPS if steps is None else steps
    for ef in steps:
        if recall_bound(walk(ef), kth) >= target:
            return int(ef)
    return int(steps[-1])


def recall_bound(found: Vectors, kth: Vectors, confidence: float = CONFIDENCE) -> float:
    """The queries' mean recall@k less ``confidence`` standard errors of that mean. ``found``:
    the exact scores of the k photos a walk found for each query; a photo counts when it scores
    at least the query's k-th best (``kth``, less :data:`TIE`), so copies of one photo, which
    score alike, count alike whichever of them a walk finds."""
    recalls = (found >= kth[:, None] - TIE).mean(axis=1)
    if len(recalls) < 2:
        return float(recalls.mean()) if len(recalls) else 1.0
    error = recalls.std(ddof=1) / math.sqrt(len(recalls))
    return float(recalls.mean() - confidence * error)


TIE = 1e-4
"""Scores this close count as equal (both sides are scored from the same float16 table)."""


def queries_for(count: int) -> int:
    """How many training queries a graph of ``count`` photos gets."""
    return int(min(MAX_QUERIES, math.ceil(QUERIES_PER_PHOTO * count)))


def link_file(path: Path, top: npt.NDArray[np.int64], keep: int | None = None) -> int:
    """Give query links to the graph hnswlib saved at ``path``, in place.

    ``top``: each training query's photo labels, nearest first (a row may end in -1s). Each
    photo keeps its first ``keep`` level-0 links; its free slots take its query links (most
    frequent first), then its other hnswlib links as room allows; ``keep`` defaults to
    :data:`KEEP` (at most half the slots). Returns the query links placed."""
    with path.open("rb") as file:
        fields = _HEADER.unpack(file.read(_HEADER.size))
    offset0, _, count, stride, label_offset, _, _, _, _, max_m0 = fields[:10]
    if offset0 != 0 or count == 0:
        return 0
    records = np.memmap(path, np.uint8, mode="r+", offset=_HEADER.size, shape=(count, stride))
    try:
        labels = records[:, label_offset : label_offset + 8].copy().view(np.uint64).ravel()
        lists = records[:, : 4 * (max_m0 + 1)].copy().view(np.uint32)
        internal = _internal_ids(labels, top)
        placed = relink(lists, internal, min(KEEP, max_m0 // 2) if keep is None else keep)
        records[:, : 4 * (max_m0 + 1)] = lists.view(np.uint8)
    finally:
        # unmapped without flush(): mmap's msync holds the GIL for the whole file (a second at
        # a million photos); the caller fsyncs the file (store.save_index) with the GIL free
        del records
    log.info("placed %d query links in %s (%d photos)", placed, path.name, count)
    return placed


def _internal_ids(
    labels: npt.NDArray[np.uint64], top: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """``top``'s labels as internal ids (rows of the level-0 block); unknown labels -1."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order].astype(np.int64)
    flat = top.ravel()
    at = np.clip(np.searchsorted(ordered, flat), 0, len(ordered) - 1)
    found = (ordered[at] == flat) & (flat >= 0)
    return np.where(found, order[at], -1).reshape(top.shape)


def relink(lists: npt.NDArray[np.uint32], top: npt.NDArray[np.int64], keep: int) -> int:
    """Rewrite level-0 link lists in place: ``lists`` holds one row per element, its header
    (length in the low 16 bits) then its ``max_M0`` links; ``top`` the internal ids of each
    training query's nearest elements, nearest first (-1 for none). Returns links placed.

    The work goes in parts of about :data:`_PART` links, each a few tens of milliseconds:
    numpy's sorts hold the GIL, and a window's thread must not wait on one for long."""
    count, width = lists.shape
    max_m0 = width - 1
    if max_m0 - keep <= 0 or top.shape[1] < 2:
        return 0
    first = np.repeat(top[:, 0], top.shape[1] - 1)
    other = top[:, 1:].ravel()
    valid = (first >= 0) & (other >= 0) & (first != other)
    src = np.concatenate([first[valid], other[valid]])
    dst = np.concatenate([other[valid], first[valid]])
    if not len(src):
        return 0
    parts = min(4096, -(-len(src) // _PART))
    part = (src * parts // count).astype(np.uint16)
    order = np.argsort(part, kind="stable")  # a radix sort on 16-bit keys: linear
    src, dst = src[order], dst[order]
    bounds = np.searchsorted(part[order], np.arange(parts + 1))
    return sum(
        _relink_part(lists, src[lo:hi], dst[lo:hi], keep)
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        if hi > lo
    )


_PART = 200_000


def _relink_part(
    lists: npt.NDArray[np.uint32], src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64], keep: int
) -> int:
    """:func:`relink` for the query links ``src -> dst`` of some photos (all of each one's)."""
    count, width = lists.shape
    max_m0 = width - 1
    pairs, times = np.unique(src * count + dst, return_counts=True)
    src, dst = pairs // count, pairs % count
    order = np.lexsort((-times, src))  # each photo's query links, most frequent first
    src, dst = src[order], dst[order]
    starts = np.flatnonzero(np.r_[True, src[1:] != src[:-1]])
    rank = np.arange(len(src)) - np.repeat(starts, np.diff(np.r_[starts, len(src)]))
    # up to a full list each: those a photo keeps already do not take a slot
    src, dst, rank = src[rank < max_m0], dst[rank < max_m0], rank[rank < max_m0]
    nodes = src[np.r_[True, src[1:] != src[:-1]]]
    placed = 0
    for start in range(0, len(nodes), 10_000):  # bounds the temporary matrices and sorts
        chunk = nodes[start : start + 10_000]
        mine = (src >= chunk[0]) & (src <= chunk[-1])
        linked = np.full((len(chunk), max_m0), -1, np.int64)
        linked[np.searchsorted(chunk, src[mine]), rank[mine]] = dst[mine]
        header = lists[chunk, 0]
        own = lists[chunk, 1:].astype(np.int64)
        own[np.arange(max_m0) >= (header & 0xFFFF)[:, None].astype(np.int64)] = -1
        candidates = np.hstack([own[:, :keep], linked, own[:, keep:]])
        gone = _repeats(candidates) | (candidates < 0)
        firsts = np.argsort(gone, axis=1, kind="stable")[:, :max_m0]
        kept = np.take_along_axis(candidates, firsts, 1)
        sizes = np.minimum((~gone).sum(axis=1), max_m0)
        from_queries = np.zeros_like(gone)
        from_queries[:, keep : keep + max_m0] = True
        placed += int(
            np.take_along_axis(from_queries & ~gone, firsts, 1)[
                np.arange(max_m0) < sizes[:, None]
            ].sum()
        )
        lists[chunk, 1:] = np.where(kept < 0, 0, kept).astype(np.uint32)
        lists[chunk, 0] = (header & np.uint32(0xFFFF0000)) | sizes.astype(np.uint32)
    return placed


def _repeats(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Where a value already appeared earlier in its row."""
    order = np.argsort(rows, axis=1, kind="stable")  # equal values keep their row order
    ordered = np.take_along_axis(rows, order, 1)
    again = np.zeros(rows.shape, bool)
    again[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    out = np.empty_like(again)
    np.put_along_axis(out, order, again, 1)
    return out
