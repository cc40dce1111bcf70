"""Pairs of photos whose vectors are nearly the same: candidates for near-duplicates.

Every photo's nearest neighbours are asked of the model's index in batches (hnswlib answers a
batch in one call, on every core); pairs scoring at least ``min_score`` are kept once each.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable

import numpy as np

from photosense.progress import CancelToken, Progress
from photosense.vectors.index import HnswIndex, VectorIndex

BATCH = 2048
NEIGHBOURS = 8
"""Neighbours looked at per photo: a burst longer than this still joins up through its
members' neighbours, each checked against the group's keeper (library.duplicates)."""

Pair = tuple[int, int, float]


def near_pairs(
    index: VectorIndex,
    min_score: float,
    *,
    neighbours: int = NEIGHBOURS,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, list[Pair]]:
    """(smaller id, larger id, cosine) for every pair of photos among each other's
    ``neighbours`` nearest that score at least ``min_score``, best first."""
    cancel = cancel or CancelToken()
    ids = np.sort(index.ids())
    k = min(neighbours + 1, len(ids))
    found: dict[tuple[int, int], float] = {}
    yield Progress(0, len(ids), "comparing photos")
    for start in range(0, len(ids), BATCH):
        cancel.raise_if_cancelled()
        chunk = ids[start : start + BATCH]
        vectors = index.vectors_for(chunk)
        rows: Iterable[tuple[list[int], list[float]]]
        try:
            if not isinstance(index, HnswIndex):
                raise RuntimeError("not a graph")
            labels, distances = index.graph.knn_query(vectors, k=k)
            rows = zip(labels.astype(np.int64).tolist(), (1.0 - distances).tolist(), strict=True)
        except RuntimeError:  # another kind of index, or too few photos for the graph
            rows = (
                ([i for i, _ in hits], [s for _, s in hits])
                for hits in (index.search(vector, k) for vector in vectors)
            )
        for photo, (others, scores) in zip(chunk.tolist(), rows, strict=True):
            for other, score in zip(others, scores, strict=True):
                if other != photo and score >= min_score:
                    key = (min(photo, other), max(photo, other))
                    found[key] = max(found.get(key, -1.0), float(score))
        yield Progress(min(start + BATCH, len(ids)), len(ids), "comparing photos")
    return sorted(((a, b, s) for (a, b), s in found.items()), key=lambda p: -p[2])
