"""The loaded vector indexes of a library, one per model, kept in step with the store.

The store is the truth and the index files are a cache (:mod:`photosense.vectors.store`); this
is the in-memory side: which index is loaded, whether it is still current, and patching it in
place when photos come and go.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors
from photosense.vectors.index import VectorIndex
from photosense.vectors.store import (
    build_index,
    index_path,
    load_index,
    maybe_upgrade,
    meta_path,
    read_meta,
    save_index,
)

log = logging.getLogger(__name__)


class VectorSource(Protocol):
    """What the cache reads from the store: each model's dimension, generation and vectors."""

    def dim(self, model_id: str) -> int | None: ...

    def generation(self, model_id: str) -> int: ...

    def load(self, model_id: str) -> tuple[Ids, Vectors]: ...


class SearchIndexes:
    """One vector index per model, loaded from its file or rebuilt from the store.

    The store is the truth: an index file that is missing, corrupt, for another model or older
    than the store's generation counter for that model is rebuilt from the stored vectors.
    """

    def __init__(self, source: VectorSource, index_dir: Path) -> None:
        self.source = source
        self.index_dir = index_dir
        self._indexes: dict[str, tuple[VectorIndex, int]] = {}

    def get(self, model_id: str) -> VectorIndex | None:
        """The index of ``model_id``, or None when the library has no vectors for it."""
        dim = self.source.dim(model_id)
        if dim is None:
            return None
        generation = self.source.generation(model_id)
        cached = self._indexes.get(model_id)
        if cached is not None and cached[1] == generation:
            return cached[0]
        index = load_index(self.index_dir, model_id, dim, generation)
        if index is None:
            log.info("rebuilding the %s index from the library database", model_id)
            ids, vectors = self.source.load(model_id)
            index = build_index(model_id, dim, ids, vectors)
            self._save(index, generation)
        self._indexes[model_id] = (index, generation)
        return index

    def state(self, model_id: str) -> str:
        """'current', 'stale' or 'missing': whether the index file on disk matches the store.

        Reads only the small meta file; a damaged data file is caught when it is loaded.
        """
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
        if removed:
            index.remove(removed)
        if upserted:
            ids = np.fromiter((i for i, _ in upserted), dtype=np.int64, count=len(upserted))
            index.add(ids, np.stack([v for _, v in upserted]))
        self._indexes[model_id] = (maybe_upgrade(index), generation)

    def remove_photos(self, ids: Sequence[int]) -> None:
        """Take photos the store no longer has (a deletion bumps every model's generation) out
        of every loaded index, in place: rebuilding a large library's index takes minutes.
        Indexes not loaded are stale on disk and rebuilt from the store when next needed, and
        so is a loaded one that another process wrote to meanwhile (more than this deletion's
        one step of generation)."""
        for model_id, (_index, generation) in list(self._indexes.items()):
            current = self.source.generation(model_id)
            if current == generation + 1:
                self.apply(model_id, [], ids, current)
            else:
                del self._indexes[model_id]

    def drop(self, model_id: str) -> None:
        """Forget a model's index and delete its files (its vectors left the store)."""
        self._indexes.pop(model_id, None)
        for path in (index_path(self.index_dir, model_id), meta_path(self.index_dir, model_id)):
            path.unlink(missing_ok=True)

    def save(self, model_id: str) -> None:
        cached = self._indexes.get(model_id)
        if cached is not None:
            self._save(*cached)

    def _save(self, index: VectorIndex, generation: int) -> None:
        """Write an index file; a full or failing disk is logged, not raised: the file is a
        cache, and a missing or stale one is rebuilt from the store next time."""
        try:
            save_index(index, self.index_dir, generation)
        except OSError as exc:
            log.warning(
                "could not save the %s search index (%s); it will be rebuilt next time",
                index.model_id,
                exc,
            )

    def save_all(self) -> None:
        for model_id in list(self._indexes):
            self.save(model_id)
