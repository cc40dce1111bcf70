"""The loaded vector indexes of a library, one per model, kept in step with the store.

The store is the truth and the index files are a cache (:mod:`photosense.vectors.store`); this
is the in-memory side: which index is loaded, whether it is still current, and patching it in
place when photos come and go.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors
from photosense.vectors.index import DEFAULT_M, ExactIndex, HnswIndex, VectorIndex, table_path
from photosense.vectors.overlay import Overlaid
from photosense.vectors.querylinks import (
    ANSWER_EF,
    CALIBRATION_K,
    MIN_HELD_OUT,
    MIN_WORDS,
    TOP,
    calibrated_ef,
    queries_for,
    split_words,
    training_queries,
)
from photosense.vectors.served import GraphLost
from photosense.vectors.store import (
    EXACT_THRESHOLD,
    build_index,
    index_path,
    load_index,
    load_stale,
    maybe_upgrade,
    meta_path,
    read_meta,
    record_text_ef,
    save_index,
)

log = logging.getLogger(__name__)

R = TypeVar("R")


PATCH_LIMIT = 1_000
"""An index file behind the store by up to this many written vectors is patched in place.
Adding a vector to a 1M graph costs ~0.7 ms of one core, replacing one about three times that
(hnswlib repairs its neighbours' links; measured with benchmarks/bench_scale.py), so 1,000 is
about two seconds at most. Further behind, or with no usable file, the graph is rebuilt in the
background while searches use the previous index plus exact scoring of what changed
(:class:`Overlaid`)."""


class VectorSource(Protocol):
    """What the cache reads from the store: each model's dimension, generation and vectors."""

    def dim(self, model_id: str) -> int | None: ...

    def generation(self, model_id: str) -> int: ...

    def load(self, model_id: str) -> tuple[Ids, Vectors]: ...

    def changes(self, model_id: str, since: int | None) -> tuple[Ids, Vectors]: ...

    def ids(self, model_id: str) -> Ids: ...


class _Rebuild:
    """A graph being built from a snapshot of the store on a thread of its own."""

    def __init__(self, indexes: SearchIndexes, model_id: str, dim: int, generation: int) -> None:
        self.model_id, self.dim, self.generation = model_id, dim, generation
        self.result: VectorIndex | None = None
        self.cancel = threading.Event()
        self.done = threading.Event()
        self._indexes = indexes
        self.thread = threading.Thread(
            target=self._run, name=f"index rebuild {model_id}", daemon=True
        )

    def _run(self) -> None:
        try:
            ids, vectors = self._indexes.source.load(self.model_id)
            index = HnswIndex(self.model_id, self.dim, capacity=len(ids))
            for start in range(0, len(ids), _BUILD_CHUNK):
                if self.cancel.is_set():
                    return
                index.add(ids[start : start + _BUILD_CHUNK], vectors[start : start + _BUILD_CHUNK])
            count = len(ids)
            del ids, vectors
            # its own copy: nobody searches it yet
            result = self._indexes._finish(index, self.generation, self.cancel)
            if self.cancel.is_set():
                _close(result)
                return
            self.result = result
            log.info("rebuilt the %s index (%d vectors) in the background", self.model_id, count)
        except Exception:
            log.exception("rebuilding the %s index failed; searches stay exact", self.model_id)
        finally:
            self.done.set()


_BUILD_CHUNK = 20_000

LINK_CHUNK = 5_000
"""Training queries answered between two of :meth:`SearchIndexes.link_steps`' yields: about
seven seconds of one core at a million photos."""


def _result(steps: Generator[object, None, R]) -> R:
    """What a generator returns, its yields passed over."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: R = done.value
            return result


def _graph_of(index: VectorIndex) -> HnswIndex | None:
    """The HNSW index behind ``index`` (itself, or the one an overlay serves on), if any."""
    base = index.base if isinstance(index, Overlaid) else index
    return base if isinstance(base, HnswIndex) else None


def _lost(index: VectorIndex) -> bool:
    """Whether ``index`` lost its graph's helper process."""
    graph = _graph_of(index)
    return graph is not None and graph.lost


def _close(index: VectorIndex) -> None:
    """Release the graph helper process behind ``index``, if it has one."""
    if (graph := _graph_of(index)) is not None:
        graph.close()


class SearchIndexes:
    """One vector index per model, loaded from its file, patched, or rebuilt from the store.

    The store is the truth. An index file behind the store catches up with it: ids the store
    no longer has are removed and the vectors written since its generation are added, in place
    when they are few; otherwise, and when there is no usable file, the graph is rebuilt on a
    background thread and searches meanwhile use the previous index plus exact scoring of the
    changed vectors, so no search waits for a rebuild. Callers serialise the calls (the
    library's model lock); :meth:`close` stops a rebuild in flight.

    ``words``: see :attr:`words`.

    ``served``: graph files load into helper processes (:mod:`.served`), so loading one never
    holds this process's GIL (a window stays responsive). A helper that dies is noticed on the
    next call: its index is dropped and loaded again from its file, caught up with the store.
    """

    def __init__(
        self,
        source: VectorSource,
        index_dir: Path,
        *,
        background: bool = True,
        served: bool = False,
        words: Callable[[str], Vectors | None] | None = None,
    ) -> None:
        self.source = source
        self.index_dir = index_dir
        self.background = background
        self.served = served
        self.words = words
        """A model's own text vectors (its tag vocabulary), to place query links from when a
        graph is built; None or too few: plain graphs."""
        self._indexes: dict[str, tuple[VectorIndex, int]] = {}
        self._rebuilds: dict[str, _Rebuild] = {}
        # What each index file holds, where known (loaded from it, or written to it): an index
        # unchanged since is not written again (gigabytes at a million photos).
        self._on_disk: dict[str, tuple[VectorIndex, int]] = {}

    def get(self, model_id: str) -> VectorIndex | None:
        """The index of ``model_id``, or None when the library has no vectors for it."""
        dim = self.source.dim(model_id)
        if dim is None:
            return None
        generation = self.source.generation(model_id)
        self._take_rebuilt(model_id)
        cached = self._indexes.get(model_id)
        if cached is not None and _lost(cached[0]):
            log.warning("the %s search index was lost; loading it again", model_id)
            self._forget(model_id)
            cached = None
        if cached is not None and cached[1] == generation:
            return cached[0]
        served = self.served
        if cached is not None:
            index, at = cached
        elif (
            current := load_index(self.index_dir, model_id, dim, generation, served=served)
        ) is not None:
            index, at = current, generation
            self._on_disk[model_id] = (index, generation)
        elif (
            stale := load_stale(self.index_dir, model_id, dim, generation, served=served)
        ) is not None:
            index, at = stale
        else:
            return self._rebuild(model_id, dim, generation, None)
        if at != generation:
            caught_up = self._catch_up(model_id, index, at, generation)
            if caught_up is None:
                fresh = at > generation  # newer than the store: nothing of it can be trusted
                return self._rebuild(model_id, dim, generation, None if fresh else (index, at))
            index = caught_up
        self._indexes[model_id] = (index, generation)
        return index

    def _catch_up(
        self, model_id: str, index: VectorIndex, at: int, generation: int
    ) -> VectorIndex | None:
        """``index`` (built at generation ``at``) patched to the store's state, or None when
        too much changed to patch it in place."""
        if at > generation:
            return None  # newer than the store (a restored database): trust the store
        ids, vectors = self.source.changes(model_id, since=at)
        if len(ids) > PATCH_LIMIT and self.background and not isinstance(index, Overlaid):
            return None
        gone = np.setdiff1d(index.ids(), self.source.ids(model_id), assume_unique=True)
        log.info(
            "catching the %s index up: %d removed, %d written since generation %d",
            model_id,
            len(gone),
            len(ids),
            at,
        )
        index.remove(gone.tolist())
        if len(ids):
            index.add(ids, vectors)
        return maybe_upgrade(index)

    def _rebuild(
        self,
        model_id: str,
        dim: int,
        generation: int,
        previous: tuple[VectorIndex, int] | None,
    ) -> VectorIndex:
        """Start building the graph from the store and answer meanwhile: the ``previous``
        index (and its generation) without the photos the store lost, plus the vectors written
        since it scored exactly; with none, exact search over every vector."""
        serving: VectorIndex
        if previous is None:
            ids, vectors = self.source.load(model_id)
            if len(ids) < EXACT_THRESHOLD or not self.background:  # built in a moment
                index = self._finish(build_index(model_id, dim, ids, vectors), generation)
                self._indexes[model_id] = (index, generation)
                return index
            serving = Overlaid(ExactIndex(model_id, dim), ExactIndex(model_id, dim, ids, vectors))
        else:
            base, at = previous
            gone = np.setdiff1d(base.ids(), self.source.ids(model_id), assume_unique=True)
            base.remove(gone.tolist())
            changed_ids, changed = self.source.changes(model_id, since=at)
            serving = Overlaid(base, ExactIndex(model_id, dim, changed_ids, changed))
        self._indexes[model_id] = (serving, generation)
        if model_id not in self._rebuilds:
            rebuild = _Rebuild(self, model_id, dim, generation)
            self._rebuilds[model_id] = rebuild
            log.info("rebuilding the %s index in the background", model_id)
            rebuild.thread.start()
        return serving

    def _take_rebuilt(self, model_id: str) -> None:
        """Swap in a graph that finished building; it catches up on the next :meth:`get`."""
        rebuild = self._rebuilds.get(model_id)
        if rebuild is None or not rebuild.done.is_set():
            return
        del self._rebuilds[model_id]
        rebuild.thread.join()
        if rebuild.result is not None:
            previous = self._indexes.get(model_id)
            self._indexes[model_id] = (rebuild.result, rebuild.generation)
            if previous is not None:
                _close(previous[0])  # the index that served meanwhile: its helper, if any

    def _forget(self, model_id: str) -> None:
        """Drop the loaded index of ``model_id`` (the next :meth:`get` loads its file again)
        and release a graph helper process it holds."""
        cached = self._indexes.pop(model_id, None)
        on_disk = self._on_disk.pop(model_id, None)
        for entry in (cached, on_disk):
            if entry is not None:
                _close(entry[0])

    def rebuilding(self, model_id: str) -> bool:
        """Whether a background rebuild of ``model_id``'s graph is in flight."""
        rebuild = self._rebuilds.get(model_id)
        return rebuild is not None and not rebuild.done.is_set()

    def wait(self, model_id: str, timeout: float | None = None) -> bool:
        """Wait for a rebuild in flight (tests, benchmarks, closing); True once none is."""
        rebuild = self._rebuilds.get(model_id)
        return rebuild is None or rebuild.done.wait(timeout)

    def close(self) -> None:
        """Stop rebuilds in flight (the next open starts again from the files)."""
        for rebuild in self._rebuilds.values():
            rebuild.cancel.set()
        for rebuild in self._rebuilds.values():
            rebuild.thread.join()
        self._rebuilds.clear()
        for model_id in list(self._indexes) + list(self._on_disk):
            self._forget(model_id)

    def state(self, model_id: str) -> str:
        """'current', 'stale' or 'missing': whether the index file on disk matches the store;
        'rebuilding' while its graph is rebuilt in the background (searches go on meanwhile).

        Reads only the small meta file; a damaged data file is caught when it is loaded.
        """
        if self.rebuilding(model_id):
            return "rebuilding"
        dim = self.source.dim(model_id)
        meta = read_meta(self.index_dir, model_id)
        if dim is None or meta is None:
            return "missing"
        generation = self.source.generation(model_id)
        if (meta.model_id, meta.dim, meta.generation) == (model_id, dim, generation):
            return "current"
        return "stale"

    def apply(
        self,
        model_id: str,
        upserted: Sequence[tuple[int, npt.NDArray[np.float32]]],
        removed: Sequence[int],
        generation: int,
    ) -> None:
        """Mirror one committed batch into the in-memory index."""
        index = self._indexes[model_id][0]
        try:
            if removed:
                index.remove(removed)
            if upserted:
                ids = np.fromiter((i for i, _ in upserted), dtype=np.int64, count=len(upserted))
                index.add(ids, np.stack([v for _, v in upserted]))
        except GraphLost:  # the next get() loads the file again and catches up with the store
            log.warning("the %s search index was lost; it will be loaded again", model_id)
            self._forget(model_id)
            return
        self._indexes[model_id] = (maybe_upgrade(index), generation)

    def remove_photos(self, ids: Sequence[int]) -> None:
        """Take photos the store no longer has (a deletion bumps every model's generation) out
        of every loaded index, in place. A loaded index that another process wrote to meanwhile
        (more than this deletion's one step of generation) keeps its older generation and
        catches up on its next use; index files not loaded catch up when next loaded."""
        for model_id, (index, generation) in list(self._indexes.items()):
            current = self.source.generation(model_id)
            try:
                index.remove(ids)
            except GraphLost:
                self._forget(model_id)
                continue
            self._indexes[model_id] = (index, current if current == generation + 1 else generation)

    def drop(self, model_id: str) -> None:
        """Forget a model's index and delete its files (its vectors left the store)."""
        self._forget(model_id)
        data = index_path(self.index_dir, model_id)
        for path in (data, table_path(data), meta_path(self.index_dir, model_id)):
            path.unlink(missing_ok=True)

    def save(self, model_id: str) -> None:
        """Write a loaded index to its file; one serving a rebuild is not (the rebuilt graph
        writes itself)."""
        cached = self._indexes.get(model_id)
        if cached is None or isinstance(cached[0], Overlaid):
            return
        on_disk = self._on_disk.get(model_id)
        if on_disk is not None and on_disk[0] is cached[0] and on_disk[1] == cached[1]:
            return  # the file holds it already
        self._save(*cached)

    def _finish(
        self, index: VectorIndex, generation: int, cancel: threading.Event | None = None
    ) -> VectorIndex:
        """Save a freshly built index. A graph gets query links in its file first (when the
        model has text vectors of its own to make training queries from, see
        :mod:`.querylinks`) and is loaded back from it, served as this cache serves graphs."""
        words = self._words(index) if isinstance(index, HnswIndex) else None
        if words is None or not isinstance(index, HnswIndex):
            self._save(index, generation)
            return index
        top = _result(self._answers(index, words, None if cancel is None else cancel.is_set))
        if top is None:
            self._save(index, generation)
            return index
        return self._linked(index, generation, top, words)

    def link_steps(
        self, model_id: str, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[tuple[int, int]]:
        """Place query links in the loaded graph of ``model_id`` when they are due: it has none,
        or has grown past :data:`.index.LINKS_OUTGROWN` since (a graph that grew photo by photo
        from the exact index never had any). Answers the training queries a chunk at a time,
        yielding (answered, total) between chunks, where a caller may let searches in; then
        saves the graph with its links and loads it back. Nothing when the graph is not
        loaded, not due, or the model has too few text vectors of its own. A graph of an
        older, smaller degree is rebuilt in the background instead (linked as it is built)."""
        due = self._due(model_id)
        words = None if due is None else self._words(due[0])
        if due is None or words is None:
            return
        index, generation = due
        if index.degree < DEFAULT_M:
            # text_ef(linked=True) was measured on M 32 graphs (an M 16 one with links gave
            # 0.955 at 1M with ef 512): a graph saved before is rebuilt instead, in the
            # background, and linked as it is built; searches meanwhile use it as it is
            if self.background:
                log.info("rebuilding the %s graph (M %d) to link it", model_id, index.degree)
                self._rebuild(model_id, index.dim, generation, (index, generation))
            return
        top = yield from self._answers(index, words, cancelled)
        if top is None or self._indexes.get(model_id) != (index, generation) or index.lost:
            return  # cancelled, lost or changed meanwhile: the next run links it
        linked = self._linked(index, generation, top, words)
        if linked is not index:
            self._indexes[model_id] = (linked, generation)
            _close(index)

    def wants_words(self, model_id: str) -> bool:
        """Whether the loaded graph of ``model_id`` is due for query links but its model has
        no text vectors of its own to make them from (a library that is not auto-tagged)."""
        due = self._due(model_id)
        if due is None or len(due[0]) < EXACT_THRESHOLD:
            return False
        return self.words is not None and self._words(due[0]) is None

    def _due(self, model_id: str) -> tuple[HnswIndex, int] | None:
        """The loaded graph of ``model_id`` and its generation, when it lacks query links."""
        cached = self._indexes.get(model_id)
        if cached is None:
            return None
        index, generation = cached
        if not isinstance(index, HnswIndex) or index.linked or index.lost:
            return None
        return index, generation

    def _answers(
        self, index: HnswIndex, words: Vectors, cancelled: Callable[[], bool] | None
    ) -> Generator[tuple[int, int], None, npt.NDArray[np.int64] | None]:
        """The nearest photos of the training queries made from ``words``, answered through
        ``index`` :data:`LINK_CHUNK` at a time, yielding (answered, total) after each; None
        when cancelled or when the graph's helper was lost."""
        queries = self._training_queries(index, words)
        tops = []
        for start in range(0, len(queries), LINK_CHUNK):
            if cancelled is not None and cancelled():
                return None
            try:
                tops.append(
                    index.nearest_labels(queries[start : start + LINK_CHUNK], TOP, ANSWER_EF)
                )
            except GraphLost:  # the next get() loads the file again; the next run links it
                log.warning(
                    "the %s search index was lost while it was being linked", index.model_id
                )
                return None
            yield min(start + LINK_CHUNK, len(queries)), len(queries)
        return np.vstack(tops)

    def _training_queries(self, index: VectorIndex, words: Vectors) -> Vectors:
        """Training queries for ``index`` made from its model's own text vectors (``words``,
        from :meth:`_words`)."""
        queries = training_queries(split_words(words)[0], queries_for(len(index)))
        log.info(
            "placing query links in the %s index: %d training queries from %d text vectors",
            index.model_id,
            len(queries),
            len(words),
        )
        return queries

    def _words(self, index: VectorIndex) -> Vectors | None:
        """The model's own text vectors for ``index``, when it is big enough for a graph and
        they are enough (:data:`.querylinks.MIN_WORDS`) and of its dimension."""
        if self.words is None or len(index) < EXACT_THRESHOLD:
            return None
        try:
            words = self.words(index.model_id)
        except Exception:
            log.exception("no query links for the %s index", index.model_id)
            return None
        if words is None or len(words) < MIN_WORDS or words.shape[1] != index.dim:
            return None
        return words

    def _linked(
        self, index: HnswIndex, generation: int, top: npt.NDArray[np.int64], words: Vectors
    ) -> VectorIndex:
        """``index`` saved with query links placed from ``top`` and loaded back from its file,
        served as this cache serves graphs, with its text ef calibrated on the held-out part
        of ``words``; ``index`` itself when that fails."""
        if not self._save(index, generation, query_top=top):
            return index
        model_id, dim = index.model_id, index.dim
        linked = load_index(self.index_dir, model_id, dim, generation, served=self.served)
        if linked is None:
            return index  # the file was written but cannot be read back: keep the one built
        self._on_disk[model_id] = (linked, generation)
        if isinstance(linked, HnswIndex) and linked.linked:
            self._calibrate(linked, split_words(words)[1])
        return linked

    def _calibrate(self, index: HnswIndex, held: Vectors) -> None:
        """Measure the text ef that finds :data:`.querylinks.TEXT_RECALL` of the held-out text
        vectors' nearest photos through the graph's links, and record it in its meta."""
        k = min(CALIBRATION_K, len(index))
        if len(held) < MIN_HELD_OUT or k <= 0:
            return
        truth = index.exact_labels(held, k)
        kth = np.einsum("qd,qd->q", held, index.vectors_for(truth[:, -1]))

        def scores(ef: int) -> Vectors:
            found = index.nearest_labels(held, k, ef)
            vectors = index.vectors_for(found.ravel()).reshape(*found.shape, -1)
            found_scores: Vectors = np.einsum("qd,qkd->qk", held, vectors)
            return found_scores

        try:
            ef = calibrated_ef(scores, kth)
        except GraphLost:
            return  # the next get() loads the file again, with the fallback ef
        log.info("%s index: text queries search with ef %d (calibrated)", index.model_id, ef)
        index.calibrated_ef = ef
        try:
            record_text_ef(self.index_dir, index.model_id, ef)
        except OSError as exc:
            log.warning("could not record the %s index's text ef (%s)", index.model_id, exc)

    def _save(
        self,
        index: VectorIndex,
        generation: int,
        query_top: npt.NDArray[np.int64] | None = None,
    ) -> bool:
        """Write an index file; a full or failing disk is logged, not raised: the file is a
        cache, and a missing or stale one is rebuilt from the store next time."""
        try:
            save_index(index, self.index_dir, generation, query_top=query_top)
            self._on_disk[index.model_id] = (index, generation)
        except OSError as exc:
            log.warning(
                "could not save the %s search index (%s); it will be rebuilt next time",
                index.model_id,
                exc,
            )
            return False
        return True

    def save_all(self) -> None:
        for model_id in list(self._indexes):
            self.save(model_id)
