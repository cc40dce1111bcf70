"""The library: the one door through which the CLI and the GUI index, search and inspect.

A :class:`Library` is one folder holding the database and the index files. Its collaborators
(the store, the encoder factory) are passed in, so tests use an in-memory store and a fake
encoder; :meth:`Library.open` wires up the real ones.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from photosense.errors import NotIndexedError, PhotosenseError
from photosense.indexing import Indexer, IndexReport, SearchIndexes, check_roots, normalise_root
from photosense.models.encoder import Encoder
from photosense.models.registry import STARTER_ID, load_encoder
from photosense.paths import INDEX_DIR_NAME, default_library_dir
from photosense.progress import CancelToken, Progress
from photosense.store.repository import FolderRecord, PhotoRecord, SkippedRecord, Store
from photosense.vectors import VectorIndex

log = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
SORTS = ("score", "date")

EncoderFactory = Callable[[str], Encoder]
T = TypeVar("T")


@dataclass(frozen=True)
class Hit:
    photo: PhotoRecord
    score: float


@dataclass(frozen=True)
class SearchResults:
    query: str
    model_id: str
    hits: list[Hit]


@dataclass(frozen=True)
class ModelStatus:
    id: str
    dim: int
    vectors: int
    index: str  # current | stale | missing
    active: bool


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


class Library:
    """Index folders and search them. Close it (or use ``with``) to release the database."""

    def __init__(
        self,
        store: Store,
        library_dir: Path,
        encoder_factory: EncoderFactory,
        model: str = "auto",
    ) -> None:
        self.store = store
        self.path = library_dir
        self.indexes = SearchIndexes(store, library_dir / INDEX_DIR_NAME)
        self._encoder_factory = encoder_factory
        self._model_spec = model
        self._encoder: Encoder | None = None
        # Guards the lazily loaded model and the in-memory indexes: a search from one thread
        # runs between the batches of an indexing run on another.
        self.lock = threading.RLock()

    @classmethod
    def open(
        cls, library_dir: Path | None = None, *, model: str = "auto", device: str = "auto"
    ) -> Library:
        """Open (creating if needed) the library in ``library_dir`` or the default folder."""
        directory = library_dir or default_library_dir()
        store = Store.open(directory)
        return cls(store, directory, lambda spec: load_encoder(spec, device=device), model)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- models -----------------------------------------------------------------------------

    @property
    def model_spec(self) -> str:
        """The model this library answers with: an explicit choice, else the active model."""
        if self._model_spec != "auto":
            return self._model_spec
        active = self.store.get_setting(ACTIVE_MODEL_KEY)
        return str(active) if active else STARTER_ID

    @property
    def encoder(self) -> Encoder:
        """The model, loaded on first use (loading takes seconds; status needs none of it)."""
        with self.lock:
            if self._encoder is None:
                self._encoder = self._encoder_factory(self.model_spec)
                log.info("model %s loaded", self._encoder.model_id)
            return self._encoder

    # -- indexing ---------------------------------------------------------------------------

    def index(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        batch_size: int = 32,
    ) -> Generator[Progress, None, IndexReport]:
        """Index ``paths`` (or rescan every registered folder when none are given)."""
        known = [f.path for f in self.store.folders()]
        roots = check_roots([os.fspath(p) for p in paths], known) if paths else known
        if not roots:
            raise PhotosenseError("no folders to index yet: give one or more folders")
        encoder = self.encoder
        if self.store.get_setting(ACTIVE_MODEL_KEY) is None:
            self.store.set_setting(ACTIVE_MODEL_KEY, encoder.model_id)
        indexer = Indexer(self.store, encoder, self.indexes, workers=workers, batch_size=batch_size)
        return (yield from self._stepwise_locked(indexer.run(roots, cancel)))

    def _stepwise_locked(self, job: Generator[Progress, None, T]) -> Generator[Progress, None, T]:
        """Run each step of ``job`` under the library lock, releasing it between steps."""
        while True:
            with self.lock:
                try:
                    progress = next(job)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
            yield progress

    def remove_folder(self, path: str | os.PathLike[str]) -> int:
        """Forget a folder and what was indexed under it (the files are not touched)."""
        with self.lock:
            removed = self.store.remove_folder(normalise_root(path))
            self.indexes.forget()
            return removed

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        limit: int = 20,
        min_score: float | None = None,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        sort: str = "score",
    ) -> SearchResults:
        """Photos that match ``text``, best first (or newest first with ``sort="date"``)."""
        if not text.strip():
            raise PhotosenseError("the search text is empty")
        with self.lock:
            query = self.encoder.encode_texts([text])[0]
            return self._search(text, query, limit, min_score, folder, after, before, sort, None)

    def similar(self, photo: str | os.PathLike[str], *, limit: int = 20) -> SearchResults:
        """Photos that look like ``photo`` (a path inside the library)."""
        path = normalise_root(photo)
        record = self.store.photo_by_path(path)
        if record is None:
            raise NotIndexedError(f"{photo} is not in the library: index its folder first")
        with self.lock:
            index = self._index()
            try:
                query = index.vectors_for([record.id])[0]
            except KeyError:
                raise NotIndexedError(
                    f"{photo} has no vector for model {self.encoder.model_id} yet: run "
                    "`photosense index` to finish indexing"
                ) from None
            return self._search(path, query, limit, None, None, None, None, "score", record.id)

    def _index(self) -> VectorIndex:
        model_id = self.encoder.model_id
        index = self.indexes.get(model_id)
        if index is None or len(index) == 0:
            raise NotIndexedError(
                f"no photos are indexed with model {model_id} yet: run `photosense index FOLDER`"
            )
        return index

    def _search(
        self,
        label: str,
        query: npt.NDArray[np.float32],
        limit: int,
        min_score: float | None,
        folder: str | os.PathLike[str] | None,
        after: datetime | None,
        before: datetime | None,
        sort: str,
        exclude: int | None,
    ) -> SearchResults:
        if sort not in SORTS:
            raise PhotosenseError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        if limit < 1:
            raise PhotosenseError("the limit must be at least 1")
        index = self._index()
        allowed: set[int] | None = None
        if folder is not None or after is not None or before is not None:
            allowed = set(self.photo_ids(folder=folder, after=after, before=before))
            if exclude is not None:
                allowed.discard(exclude)
        found = index.search(query, limit + (exclude is not None), allowed)
        found = [(i, s) for i, s in found if i != exclude][:limit]
        if min_score is not None:
            found = [(i, s) for i, s in found if s >= min_score]
        records = self.store.photos([i for i, _ in found])
        hits = [Hit(records[i], s) for i, s in found if i in records]
        if sort == "date":
            hits.sort(key=lambda h: h.photo.taken_at, reverse=True)
        return SearchResults(label, self.encoder.model_id, hits)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> LibraryStatus:
        """Counts, folders, models and index state, without loading any model."""
        photos, skipped = self.store.counts()
        per_folder = self.store.photo_counts_by_folder()
        folders = [
            FolderStatus(f.path, f.online, per_folder.get(f.id, 0), f.last_scan_at)
            for f in self.store.folders()
        ]
        active = self.model_spec
        models = [
            ModelStatus(m_id, dim, vectors, self.indexes.state(m_id), m_id == active)
            for m_id, dim, _, vectors in self.store.model_counts()
        ]
        return LibraryStatus(str(self.path), photos, skipped, folders, models, active)

    def photo_ids(
        self,
        *,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
    ) -> list[int]:
        """Every photo (inside ``folder``, taken in [after, before)), newest first."""
        return self.store.photo_ids(
            folder=normalise_root(folder) if folder is not None else None,
            after=after,
            before=before,
        )

    def photos(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """Records of the given photo ids (unknown ids are left out)."""
        return self.store.photos(ids)

    def folders(self) -> list[FolderRecord]:
        return self.store.folders()

    def skipped(self) -> list[SkippedRecord]:
        return self.store.skipped()
