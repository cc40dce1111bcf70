"""An index that answers while a better one is built: a base index plus exact scoring of the
vectors the base does not hold (yet).

While a graph is rebuilt in the background, searches use the previous index with the photos
that left the store removed from it (cheap tombstones) and the vectors written since it was
saved scored exactly beside it; with no previous index at all, every vector is scored exactly.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Sequence
from operator import itemgetter

import numpy as np

from photosense.arrays import Ids, Vectors
from photosense.vectors.index import ExactIndex, Neighbour, VectorIndex


class Overlaid:
    """``base`` for the vectors it holds, an exact ``overlay`` for the rest; the two never
    share an id (writes go to the overlay and take the id out of the base)."""

    kind = "overlaid"

    def __init__(self, base: VectorIndex, overlay: ExactIndex) -> None:
        self.base = base
        self.overlay = overlay
        self.model_id = base.model_id
        self.dim = base.dim
        self.base.remove(overlay.ids().tolist())

    def __len__(self) -> int:
        return len(self.base) + len(self.overlay)

    def add(self, ids: Ids, vectors: Vectors) -> None:
        self.base.remove(np.asarray(ids).tolist())
        self.overlay.add(ids, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        doomed = list(ids)
        self.base.remove(doomed)
        self.overlay.remove(doomed)

    def search(
        self,
        query: Vectors,
        k: int,
        allowed: Collection[int] | None = None,
        *,
        text: bool = False,
    ) -> list[Neighbour]:
        hits = self.base.search(query, k, allowed, text=text)
        hits += self.overlay.search(query, k, allowed)
        return heapq.nlargest(k, hits, key=itemgetter(1))

    def ids(self) -> Ids:
        return np.concatenate([self.base.ids(), self.overlay.ids()])

    def vectors_for(self, ids: Sequence[int] | Ids) -> Vectors:
        wanted = np.asarray(ids, np.int64).reshape(-1)
        out = np.empty((len(wanted), self.dim), np.float32)
        in_overlay = np.isin(wanted, self.overlay.ids())
        if in_overlay.any():
            out[in_overlay] = self.overlay.vectors_for(wanted[in_overlay])
        if (~in_overlay).any():
            out[~in_overlay] = self.base.vectors_for(wanted[~in_overlay])
        return out
