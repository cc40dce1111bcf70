"""In-memory vector indexes over one model's photo vectors: exact (numpy) and HNSW (hnswlib).

Vectors are float32 and L2-normalised, so the inner product is the cosine similarity; labels are
the store's integer photo ids. Searches may run concurrently, but writes (``add``/``remove``) must
be serialised by the caller, as all writes to the library are.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
from collections.abc import Collection, Iterable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Protocol, runtime_checkable

import hnswlib
import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors
from photosense.vectors.served import GraphLost, ServedGraph
from photosense.vectors.table import VectorTable

log = logging.getLogger(__name__)

Neighbour = tuple[int, float]
"""A search result: (photo id, cosine similarity)."""

# Chosen with benchmarks/bench_search.py and bench_querygraph.py (512-d embedding-like vectors,
# 2 cores). ef_construction 200 instead of 100 doubles the build for the same recall once
# ef_search >= 40. M 32 instead of 16 costs ~30% more build (1M: 248 s against 190 s on a Xeon)
# and 6% more file, and leaves room for query links (.querylinks): with them, text-like queries
# reach recall@10 0.983 at 1M with ef 384 (1.4 ms), where an M 16 graph needs ef 1,619 (3.6 ms)
# for 0.977. ef_search=256 gives recall@10 0.998+ on image queries at 1M, at ~0.6-1 ms.
DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 100
DEFAULT_EF_SEARCH = 256


def text_ef(n: int, linked: bool = False) -> int:
    """ef of a text query over ``n`` vectors: 512 at 100k, growing with the square root of n.

    Text queries lie across the modality gap from every photo (best cosine ~0.3), where a graph
    built from photos routes worse, and their true neighbours spread over more of it as the
    library grows. Measured with benchmarks/bench_scale.py (synthetic CLIP-like 512-d vectors,
    M=16, ef_construction=100): recall@10 of text-like queries 0.997 at 100k with ef 512, and
    0.980 / 0.992 at 1M with ef 1536 / 2048, where ef 256 (enough for photo queries) gives 0.80
    (an M 32 graph: 0.990 at ef 1,619). ``linked``: the graph has query links, which need a
    much narrower walk (:data:`LINKED_TEXT_EF`).
    """
    wide = 512 * math.sqrt(n / 100_000)
    if linked:
        return int(min(4096, max(LINKED_MIN_EF, round(LINKED_TEXT_EF * wide))))
    return int(min(4096, max(DEFAULT_EF_SEARCH, round(wide))))


LINKED_TEXT_EF = 0.45
LINKED_MIN_EF = 128
"""A graph with query links (:mod:`.querylinks`) reaches the same text recall with a narrower
candidate list. Its own, calibrated on held-out text vectors when the links are placed
(:func:`.querylinks.calibrated_ef`), is used where there is one; this is the fallback (a model
with too few text vectors to hold some out, a graph linked before calibration). Measured with
benchmarks/bench_querygraph.py (synthetic CLIP-like 512-d vectors, M 32, training queries made
from 2,400 text vectors and their pairs, answered by the graph; 1,000 fresh text queries):
recall@10 0.980 at ef 610 and 0.986 at 763 at 1M (0.970 at 488: the 0.3 of earlier versions),
0.99 at ef 160 at 100k; this gives 729 at 1M and 230 at 100k."""

LINKS_OUTGROWN = 1.1
"""Photos added after the query links were placed get hnswlib's links only; once a graph holds
more than this many times the photos it was linked with, text queries search it as a plain
graph again (until the next rebuild links it anew)."""


EXACT_FILTER_FACTOR = 1.0
"""An ``allowed`` set of up to ``EXACT_FILTER_FACTOR * sqrt(ef * len(index))`` ids is scored
exactly; a larger one is searched by a filtered graph walk.

The walk visits about ``ef * n / len(allowed)`` nodes while exact scoring costs a fixed time per
allowed id, so the two cross near ``c * sqrt(ef * n)``. When exact scoring read vectors back from
hnswlib (~30 us an id), c was 0.18-0.31; scoring from the float16 table costs ~1.3-6 us an id,
and at 1M with ef 256, 10,000 allowed ids took 66 ms exact against 542 ms by the walk (at 100k,
64 ms against 69 ms: the crossing), measured with benchmarks/bench_scale.py, so c is now 1.
"""

_CHUNK = 65_536  # rows read back from hnswlib at a time, to bound memory in exact fallbacks


@runtime_checkable
class VectorIndex(Protocol):
    """Nearest-neighbour search over one model's vectors, keyed by photo id."""

    model_id: str
    dim: int

    def __len__(self) -> int:
        """Number of live (not deleted) vectors."""
        ...

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Insert or replace (upsert) one vector per id."""
        ...

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids; unknown ids are ignored."""
        ...

    def search(
        self,
        query: Vectors,
        k: int,
        allowed: Collection[int] | None = None,
        *,
        text: bool = False,
    ) -> list[Neighbour]:
        """Up to ``k`` (id, cosine) pairs, best first, optionally restricted to ``allowed`` ids;
        ``text`` says the query came from the text tower (an index may search it harder)."""
        ...

    def ids(self) -> Ids:
        """The live ids, in no particular order."""
        ...

    def vectors_for(self, ids: Sequence[int] | Ids) -> Vectors:
        """The stored vectors of these ids, one row each; ``KeyError`` for an unknown id."""
        ...


class ExactIndex:
    """Brute force over a numpy matrix: exact, cheap to update, and fast enough for small libraries.

    Also the ground truth for measuring the recall of :class:`HnswIndex`.
    """

    kind = "exact"

    def __init__(
        self, model_id: str, dim: int, ids: Ids | None = None, vectors: Vectors | None = None
    ) -> None:
        self.model_id = model_id
        self.dim = dim
        self._n = 0
        self._ids: Ids = np.empty(0, np.int64)
        self._matrix: Vectors = np.empty((0, dim), np.float32)
        self._rows: dict[int, int] = {}
        if ids is not None and vectors is not None:
            self.add(ids, vectors)

    def __len__(self) -> int:
        return self._n

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Upsert: rows of known ids are overwritten, new ids are appended."""
        ids, vectors = _as_batch(ids, vectors, self.dim)
        rows = np.fromiter((self._rows.get(i, -1) for i in ids.tolist()), np.int64, len(ids))
        known = rows >= 0
        self._matrix[rows[known]] = vectors[known]
        fresh_ids, fresh = ids[~known], vectors[~known]
        start, end = self._n, self._n + len(fresh_ids)
        if end > len(self._ids):  # doubling keeps many small adds linear overall
            self._grow(max(end, 2 * len(self._ids), 64))
        self._ids[start:end] = fresh_ids
        self._matrix[start:end] = fresh
        self._rows.update(zip(fresh_ids.tolist(), range(start, end), strict=True))
        self._n = end

    def _grow(self, capacity: int) -> None:
        ids, matrix = np.empty(capacity, np.int64), np.empty((capacity, self.dim), np.float32)
        ids[: self._n], matrix[: self._n] = self._ids[: self._n], self._matrix[: self._n]
        self._ids, self._matrix = ids, matrix

    def remove(self, ids: Iterable[int]) -> None:
        """Drop these ids and compact the matrix."""
        rows = [r for i in ids if (r := self._rows.get(int(i))) is not None]
        if not rows:
            return
        keep = np.ones(self._n, bool)
        keep[rows] = False
        self._n = int(keep.sum())
        self._ids[: self._n] = self._ids[: len(keep)][keep]
        self._matrix[: self._n] = self._matrix[: len(keep)][keep]
        self._rows = {i: r for r, i in enumerate(self._ids[: self._n].tolist())}

    def search(
        self,
        query: Vectors,
        k: int,
        allowed: Collection[int] | None = None,
        *,
        text: bool = False,
    ) -> list[Neighbour]:
        """Exact top-k by cosine, over all vectors or only the ``allowed`` ids (``text`` makes
        no difference: every search is exact)."""
        query = _as_query(query, self.dim)
        ids, matrix = self._ids[: self._n], self._matrix[: self._n]
        if allowed is None:
            return _top_k(ids, matrix, query, k)
        rows = np.flatnonzero(np.isin(ids, _as_ids(allowed)))
        if 2 * len(rows) < len(ids):  # gathering the allowed rows is cheaper than scoring all
            return _top_k(ids[rows], matrix[rows], query, k)
        return _best(ids[rows], _scores(matrix, query)[rows], k)

    def ids(self) -> Ids:
        return self._ids[: self._n].copy()

    def vectors_for(self, ids: Sequence[int] | Ids) -> Vectors:
        return self._matrix[[self._rows[int(i)] for i in ids]].reshape(-1, self.dim)

    def save(self, path: Path) -> None:
        """Write ids and vectors as an uncompressed .npz (no pickles) to exactly ``path``."""
        with path.open("wb") as file:
            np.savez(file, ids=self._ids[: self._n], vectors=self._matrix[: self._n])

    @classmethod
    def load(cls, path: Path, model_id: str, dim: int) -> ExactIndex:
        """Read an index written by :meth:`save`; raises on anything malformed."""
        with np.load(path, allow_pickle=False) as data:
            ids, vectors = data["ids"], data["vectors"]
        if ids.dtype != np.int64 or vectors.dtype != np.float32 or vectors.shape != (len(ids), dim):
            raise ValueError(f"{path.name}: unexpected arrays {ids.shape} {vectors.shape}")
        return cls(model_id, dim, ids, vectors)


class HnswIndex:
    """Approximate search through an hnswlib HNSW graph (inner-product space).

    Capacity doubles as needed; removed ids become tombstones whose slots new ids reuse
    (hnswlib's ``replace_deleted``), so churn does not grow the graph. Beside the graph, a
    float16 :class:`VectorTable` holds the live vectors: it knows which ids are live (hnswlib
    cannot list its non-deleted labels) and scores a set of ids exactly (hnswlib reads vectors
    back one Python float at a time).

    Text queries (``text=True``) lie across the modality gap from every photo, where the graph,
    built from photos, routes worse: they search with a wider candidate list, ``ef_text``
    (default: :attr:`text_search_ef`, the one calibrated for its query links or
    :func:`text_ef` of the index's size).

    A graph loaded with ``served=True`` lives in a helper process (:mod:`.served`): hnswlib
    holds the GIL while it loads a file, which would freeze a window for seconds at a million
    photos. If that helper dies, searches are answered exactly from the table (:attr:`lost`).
    """

    kind = "hnsw"

    def __init__(
        self,
        model_id: str,
        dim: int,
        *,
        M: int = DEFAULT_M,  # noqa: N803 - hnswlib's and the literature's name
        ef_construction: int = DEFAULT_EF_CONSTRUCTION,
        ef_search: int = DEFAULT_EF_SEARCH,
        ef_text: int | None = None,
        capacity: int = 1024,
        num_threads: int = -1,
    ) -> None:
        graph = hnswlib.Index(space="ip", dim=dim)
        graph.init_index(
            max_elements=max(capacity, 1),
            M=M,
            ef_construction=ef_construction,
            allow_replace_deleted=True,
        )
        self._setup(model_id, graph, VectorTable(dim, capacity), ef_search, ef_text, num_threads)

    def _setup(
        self,
        model_id: str,
        graph: hnswlib.Index | ServedGraph,
        table: VectorTable,
        ef_search: int,
        ef_text: int | None,
        num_threads: int,
    ) -> None:
        self.model_id = model_id
        self.dim: int = graph.dim
        self.num_threads = num_threads
        self._graph = graph
        self._table = table
        self.ef_search = ef_search
        self.ef_text = ef_text
        self.linked_size = 0
        """Photos in the graph when its query links were placed (0: it has none)."""
        self.calibrated_ef = 0
        """The text ef measured for its query links (:func:`.querylinks.calibrated_ef`; 0:
        none, :func:`text_ef` gives it)."""
        # hnswlib's ef belongs to the graph, not to a query: a search that needs another ef
        # sets it and searches under this lock, so concurrent searches never see each other's.
        self._ef_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        path: Path,
        model_id: str,
        dim: int,
        deleted: Iterable[int] = (),
        *,
        ef_search: int = DEFAULT_EF_SEARCH,
        ef_text: int | None = None,
        num_threads: int = -1,
        served: bool = False,
        linked_size: int = 0,
        calibrated_ef: int = 0,
    ) -> HnswIndex:
        """Read a graph written by :meth:`save` (and its vector table beside it, see
        :func:`table_path`); ``deleted`` are its tombstoned labels. ``served``: the graph is
        loaded by, and searched in, a helper process (see :mod:`.served`). ``linked_size``:
        the file has query links, placed when it held that many photos; ``calibrated_ef``:
        the text ef measured for them."""
        graph: hnswlib.Index | ServedGraph
        if served:
            graph = ServedGraph(path, dim)
        else:
            graph = hnswlib.Index(space="ip", dim=dim)
            graph.load_index(str(path), allow_replace_deleted=True)  # capacity is in the file
        try:
            table = _table_of(graph, path, dim, deleted)
        except BaseException:
            if isinstance(graph, ServedGraph):
                graph.close()
            raise
        index = cls.__new__(cls)
        index._setup(model_id, graph, table, ef_search, ef_text, num_threads)
        index.linked_size, index.calibrated_ef = linked_size, calibrated_ef
        return index

    def save(self, path: Path) -> None:
        """Write the graph to exactly ``path`` (hnswlib's own format) and the vector table to
        :func:`table_path` of it."""
        self._graph.save_index(str(path))
        self._table.save(table_path(path))

    def __len__(self) -> int:
        return len(self._table)

    @property
    def graph(self) -> hnswlib.Index | ServedGraph:
        """The underlying hnswlib index (or its helper process's stand-in), for benchmarks and
        diagnostics; do not modify it."""
        return self._graph

    @property
    def served(self) -> bool:
        """Whether the graph lives in a helper process."""
        return isinstance(self._graph, ServedGraph)

    @property
    def lost(self) -> bool:
        """Whether the helper process holding the graph is gone: searches are then exact, and
        changes cannot be applied (reload the index from its file and catch it up)."""
        return isinstance(self._graph, ServedGraph) and not self._graph.alive

    def close(self) -> None:
        """Release the graph's helper process, if it has one; the index is unusable after."""
        if isinstance(self._graph, ServedGraph):
            self._graph.close()

    @property
    def ef_search(self) -> int:
        """Candidate list size of a photo-like search; hnswlib widens it to k when k is larger."""
        return self._ef

    @ef_search.setter
    def ef_search(self, ef: int) -> None:
        self._ef = ef
        self._graph.set_ef(ef)

    @property
    def capacity(self) -> int:
        """Slots allocated in the graph; grows by doubling."""
        return int(self._graph.max_elements)

    @property
    def degree(self) -> int:
        """hnswlib's M of the graph (a graph saved before M was 32 keeps its 16)."""
        return int(self._graph.M)

    @property
    def linked(self) -> bool:
        """Whether text queries can count on query links (see :data:`LINKS_OUTGROWN`)."""
        return 0 < len(self._table) <= LINKS_OUTGROWN * self.linked_size

    @property
    def text_search_ef(self) -> int:
        """ef of a text query: the one calibrated for the graph's query links, widened by the
        square root of its growth since they were placed (as :func:`text_ef` grows with the
        library); else :func:`text_ef`."""
        n = len(self._table)
        if self.linked and self.calibrated_ef:
            grown = math.sqrt(max(1.0, n / self.linked_size))
            return int(min(4096, round(self.calibrated_ef * grown)))
        return text_ef(n, self.linked)

    def nearest_labels(self, queries: Vectors, k: int, ef: int) -> npt.NDArray[np.int64]:
        """Each query's ``k`` nearest ids by a walk with candidate list ``ef`` (nearest first),
        for placing and calibrating query links."""
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.dim)
        k = min(k, len(self._table))
        if k <= 0:
            return np.full((len(queries), 0), -1, np.int64)
        with self._ef_lock:
            self._graph.set_ef(max(k, ef))
            try:
                labels, _ = self._graph.knn_query(queries, k=k, num_threads=self.num_threads)
            finally:
                self._graph.set_ef(self._ef)
        return np.asarray(labels, np.int64)

    def exact_labels(self, queries: Vectors, k: int) -> npt.NDArray[np.int64]:
        """Each query's ``k`` nearest ids by exact scoring of every live vector (nearest first,
        -1 past the index's size), against which a walk is calibrated."""
        return self._table.nearest(queries, k)

    def deleted_ids(self) -> Ids:
        """Tombstoned labels still in the graph (they must be saved beside it)."""
        if self._graph.element_count == len(self._table):
            return np.empty(0, np.int64)
        return np.setdiff1d(np.asarray(self._graph.get_ids_list(), np.int64), self._table.ids())

    def add(self, ids: Ids, vectors: Vectors) -> None:
        """Upsert: live ids are updated in place, tombstones revived, new ids fill free slots."""
        ids, vectors = _as_batch(ids, vectors, self.dim)
        live = self._table.contains(ids)
        update = live.copy()
        if self._graph.element_count > len(self._table):  # tombstones: some "new" ids may be dead
            for i in np.flatnonzero(~live):
                try:
                    self._graph.unmark_deleted(int(ids[i]))
                    update[i] = True
                except RuntimeError:  # not in the graph at all: really new
                    pass
        if update.any():
            self._graph.add_items(vectors[update], ids[update], num_threads=self.num_threads)
        fresh = ~update
        if fresh.any():
            free = self._graph.element_count - len(self._table) - int((update & ~live).sum())
            needed = self._graph.element_count + max(0, int(fresh.sum()) - free)
            if needed > self.capacity:
                self._graph.resize_index(max(needed, 2 * self.capacity))
            self._graph.add_items(
                vectors[fresh], ids[fresh], num_threads=self.num_threads, replace_deleted=True
            )
        self._table.upsert(ids, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        """Tombstone these ids (``mark_deleted``); their slots are reused by later adds."""
        doomed = np.unique(np.fromiter(ids, np.int64))
        doomed = doomed[self._table.contains(doomed)]
        for label in doomed.tolist():
            self._graph.mark_deleted(label)
        self._table.remove(doomed)

    def search(
        self,
        query: Vectors,
        k: int,
        allowed: Collection[int] | None = None,
        *,
        text: bool = False,
    ) -> list[Neighbour]:
        """Top-k through the graph; a small ``allowed`` set is scored exactly instead.

        A filtered graph walk has to visit about ``ef / selectivity`` nodes, so for a small
        allowed set scoring its vectors from the table is faster, and exact.
        """
        query = _as_query(query, self.dim)
        k = min(k, len(self._table))
        if k <= 0:
            return []
        ef = (self.ef_text or self.text_search_ef) if text else self._ef
        if allowed is None:
            return self._knn(query, k, None, ef) or self._exact(self._table.ids(), query, k)
        if len(allowed) <= EXACT_FILTER_FACTOR * math.sqrt(ef * len(self._table)):
            return self._exact(self._known(allowed), query, k)
        wanted = allowed if isinstance(allowed, set | frozenset) else set(allowed)
        return self._knn(query, k, wanted.__contains__, ef) or self._exact(
            self._known(allowed), query, k
        )

    def _knn(self, query: Vectors, k: int, keep: _Filter | None, ef: int) -> list[Neighbour]:
        """Graph search; ``[]`` when hnswlib cannot find ``k`` matches (it never returns fewer)."""
        try:
            if ef == self._ef:
                labels, distances = self._graph.knn_query(query, k=k, num_threads=1, filter=keep)
            else:
                with self._ef_lock:
                    self._graph.set_ef(ef)
                    try:
                        labels, distances = self._graph.knn_query(
                            query, k=k, num_threads=1, filter=keep
                        )
                    finally:
                        self._graph.set_ef(self._ef)
        except GraphLost as exc:
            log.warning("the %s search index is lost (%s); searching exactly", self.model_id, exc)
            return []
        except RuntimeError:
            log.debug("graph search found fewer than %d hits; scoring exactly", k)
            return []
        ids, scores = labels[0].astype(np.int64), 1.0 - distances[0]
        return list(zip(ids.tolist(), scores.tolist(), strict=True))

    def _known(self, allowed: Collection[int]) -> Ids:
        ids = np.unique(_as_ids(allowed))
        return ids[self._table.contains(ids)]

    def _exact(self, ids: Ids, query: Vectors, k: int) -> list[Neighbour]:
        """Exact top-k over these live ids, scored from the table in bounded chunks."""
        best: list[Neighbour] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            hits = _best(chunk, self._table.scores(chunk, query), k)
            best = heapq.nlargest(k, best + hits, key=itemgetter(1))
        return best

    def ids(self) -> Ids:
        return self._table.ids().copy()

    def vectors_for(self, ids: Sequence[int] | Ids) -> Vectors:
        """The table's vectors of these ids (float16 kept, float32 returned)."""
        return self._table.get(np.asarray(ids, np.int64).reshape(-1))


def _table_of(
    graph: hnswlib.Index | ServedGraph, path: Path, dim: int, deleted: Iterable[int]
) -> VectorTable:
    """The vector table saved beside the graph at ``path``; for a graph written before tables
    existed, its vectors read back from the graph (once: the next save writes the table)."""
    vectors = table_path(path)
    if vectors.is_file():
        return VectorTable.load(vectors, dim)
    labels = np.asarray(graph.get_ids_list(), np.int64)
    live = np.setdiff1d(labels, np.fromiter(deleted, np.int64))
    log.info("reading %d vectors back from %s (once)", len(live), path.name)
    table = VectorTable(dim, len(live))
    for start in range(0, len(live), _CHUNK):
        chunk = live[start : start + _CHUNK]
        table.upsert(chunk, np.asarray(graph.get_items(chunk), np.float32))
    return table


def table_path(graph_path: Path) -> Path:
    """Where an HNSW graph file keeps its vector table: beside it, same name plus a suffix."""
    return graph_path.with_name(graph_path.name + ".vectors.npz")


class _Filter(Protocol):
    def __call__(self, label: int, /) -> bool: ...


def _as_batch(ids: Ids, vectors: Vectors, dim: int) -> tuple[Ids, Vectors]:
    """Validated int64 ids and contiguous float32 rows; a repeated id keeps its last vector."""
    ids = np.asarray(ids, np.int64).reshape(-1)
    vectors = np.ascontiguousarray(vectors, np.float32)
    if vectors.shape != (len(ids), dim):
        raise ValueError(f"expected vectors of shape ({len(ids)}, {dim}), got {vectors.shape}")
    if len(ids) and ids.min() < 0:
        raise ValueError("photo ids must be non-negative")
    unique, last = np.unique(ids[::-1], return_index=True)
    if len(unique) < len(ids):
        keep = len(ids) - 1 - last
        ids, vectors = ids[keep], vectors[keep]
    return ids, vectors


def _as_query(query: Vectors, dim: int) -> Vectors:
    query = np.ascontiguousarray(query, np.float32)
    if query.shape != (dim,):
        raise ValueError(f"expected a query of shape ({dim},), got {query.shape}")
    return query


def _as_ids(ids: Collection[int]) -> Ids:
    if isinstance(ids, np.ndarray):
        return ids.astype(np.int64, copy=False).reshape(-1)
    return np.fromiter(ids, np.int64, len(ids))


def _scores(matrix: Vectors, query: Vectors) -> Vectors:
    # einsum runs one SIMD loop on this thread; BLAS gemv wakes its thread pool, which costs
    # ~8 ms per query on a busy two-core machine (measured) and buys nothing: the product is
    # memory-bound.
    scores: Vectors = np.einsum("ij,j->i", matrix, query)
    return scores


def _top_k(ids: Ids, matrix: Vectors, query: Vectors, k: int) -> list[Neighbour]:
    """Exact top-k of ``matrix @ query``."""
    if k <= 0 or not len(ids):
        return []
    return _best(ids, _scores(matrix, query), k)


def _best(ids: Ids, scores: Vectors, k: int) -> list[Neighbour]:
    if k <= 0 or not len(scores):
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    return list(zip(ids[top].tolist(), scores[top].tolist(), strict=True))
