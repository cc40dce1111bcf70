"""A compact copy of an index's vectors for exact scoring: float16 rows looked up by photo id.

hnswlib keeps its own float32 copy of every vector, but reading vectors back from it builds a
Python float per value (~40 us per 512-d vector), so scoring 1,000 allowed photos took tens of
milliseconds. This table keeps the same vectors as float16 (half the bytes; cosines move by
~1e-4) in one matrix, so scoring a set of ids is a gather and one product (~1 ms per 1,000 ids).
Rows are kept in slot order (appended, or reusing freed slots); a sorted id array maps ids to
slots, so lookups are ``searchsorted`` and nothing per id lives in a Python dict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors

STORAGE = np.float16
_CHUNK = 1 << 16
"""Rows widened to float32 at a time by :meth:`VectorTable.nearest` (16 MiB at 64-d, 128 MiB
at 512-d)."""


class VectorTable:
    """Vectors keyed by photo id, stored as float16; ``scores`` and ``get`` return float32."""

    def __init__(self, dim: int, capacity: int = 0) -> None:
        self.dim = dim
        self._matrix: npt.NDArray[np.float16] = np.empty((capacity, dim), STORAGE)
        self._slot_ids: Ids = np.full(capacity, -1, np.int64)  # id in each slot, -1 when free
        self._used = 0  # slots [0, used) have been handed out; some may be free again
        self._free: list[int] = []
        self._ids: Ids = np.empty(0, np.int64)  # live ids, sorted
        self._slots: Ids = np.empty(0, np.int64)  # the slot of each id in ``_ids``

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> Ids:
        """The live ids, sorted (a view: do not modify)."""
        return self._ids

    def contains(self, ids: Ids) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` are in the table."""
        return _positions(self._ids, ids) >= 0

    def upsert(self, ids: Ids, vectors: Vectors) -> None:
        """Write one row per id: known ids are overwritten, new ones take free slots."""
        # The last of repeated ids wins, as it would writing them one by one.
        ids, last = np.unique(ids[::-1], return_index=True)
        vectors = vectors[::-1][last]
        at = _positions(self._ids, ids)
        known = at >= 0
        self._matrix[self._slots[at[known]]] = vectors[known]
        fresh_ids, fresh = ids[~known], vectors[~known]
        if not len(fresh_ids):
            return
        reused = [self._free.pop() for _ in range(min(len(self._free), len(fresh_ids)))]
        start = self._used
        self._used += len(fresh_ids) - len(reused)
        if self._used > len(self._slot_ids):
            self._grow(max(self._used, 2 * len(self._slot_ids), 64))
        slots = np.concatenate(
            [np.asarray(reused, np.int64), np.arange(start, self._used, dtype=np.int64)]
        )
        self._matrix[slots] = fresh
        self._slot_ids[slots] = fresh_ids
        where = np.searchsorted(self._ids, fresh_ids)  # fresh_ids are sorted (np.unique)
        self._ids = np.insert(self._ids, where, fresh_ids)
        self._slots = np.insert(self._slots, where, slots)

    def remove(self, ids: Ids) -> None:
        """Forget these ids; unknown ones are ignored."""
        at = _positions(self._ids, np.unique(ids))
        at = at[at >= 0]
        if not len(at):
            return
        slots = self._slots[at]
        self._slot_ids[slots] = -1
        self._free.extend(slots.tolist())
        self._ids = np.delete(self._ids, at)
        self._slots = np.delete(self._slots, at)

    def get(self, ids: Ids) -> Vectors:
        """The vectors of these ids, as float32; ``KeyError`` names the first unknown id."""
        at = _positions(self._ids, ids)
        if len(at) and at.min() < 0:
            raise KeyError(int(ids[int(np.argmin(at))]))
        return self._matrix[self._slots[at]].astype(np.float32)

    def scores(self, ids: Ids, query: Vectors) -> Vectors:
        """Cosine of ``query`` with each of these (known) ids' vectors."""
        scores: Vectors = np.einsum("ij,j->i", self.get(ids), query)
        return scores

    def nearest(self, queries: Vectors, k: int) -> Ids:
        """Each query's ``k`` nearest ids by exact cosine over every live row, nearest first
        (-1 past the table's size). The rows are widened to float32 a chunk at a time."""
        queries = np.asarray(queries, np.float32).reshape(-1, self.dim)
        k_kept = min(k, len(self._ids))
        best = np.full((len(queries), k_kept), -np.inf, np.float32)
        where = np.full((len(queries), k_kept), -1, np.int64)  # positions in ``_ids``
        for start in range(0, len(self._ids), _CHUNK):
            rows = self._matrix[self._slots[start : start + _CHUNK]].astype(np.float32)
            chunk = queries @ rows.T
            top = np.argpartition(-chunk, min(k_kept, len(rows)) - 1, axis=1)[:, :k_kept]
            scores = np.hstack([best, np.take_along_axis(chunk, top, 1)])
            at = np.hstack([where, top + start])
            keep = np.argpartition(-scores, k_kept - 1, axis=1)[:, :k_kept]
            best, where = np.take_along_axis(scores, keep, 1), np.take_along_axis(at, keep, 1)
        order = np.argsort(-best, axis=1, kind="stable")
        ids = self._ids[np.take_along_axis(where, order, 1)]
        return np.hstack([ids, np.full((len(queries), k - k_kept), -1, np.int64)])

    def _grow(self, capacity: int) -> None:
        matrix = np.empty((capacity, self.dim), STORAGE)
        slot_ids = np.full(capacity, -1, np.int64)
        matrix[: len(self._matrix)] = self._matrix
        slot_ids[: len(self._slot_ids)] = self._slot_ids
        self._matrix, self._slot_ids = matrix, slot_ids

    def save(self, path: Path) -> None:
        """Write the live rows to exactly ``path`` as an uncompressed .npz (no pickles)."""
        slots = self._slots
        with path.open("wb") as file:
            np.savez(file, ids=self._ids, vectors=self._matrix[slots])

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorTable:
        """Read a table written by :meth:`save`; raises on anything malformed."""
        with np.load(path, allow_pickle=False) as data:
            ids, vectors = data["ids"], data["vectors"]
        if ids.dtype != np.int64 or vectors.dtype != STORAGE or vectors.shape != (len(ids), dim):
            raise ValueError(f"{path.name}: unexpected arrays {ids.shape} {vectors.shape}")
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise ValueError(f"{path.name}: ids are not sorted and unique")
        table = cls(dim)
        table._matrix, table._slot_ids, table._used = vectors, ids.copy(), len(ids)
        table._ids, table._slots = ids, np.arange(len(ids), dtype=np.int64)
        return table


def _positions(sorted_ids: Ids, ids: Ids) -> Ids:
    """Index of each of ``ids`` in ``sorted_ids``, or -1 where it is absent."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    if not len(sorted_ids):
        return np.full(len(ids), -1, np.int64)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[at] == ids, at, -1)
