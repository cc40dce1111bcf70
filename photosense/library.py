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

from photosense.errors import ModelError, NotIndexedError, PhotosenseError
from photosense.indexing import Indexer, IndexReport, SearchIndexes, check_roots, normalise_root
from photosense.learn.metrics import class_text_vectors
from photosense.models.device import batch_size_for
from photosense.models.encoder import Encoder
from photosense.models.inventory import (
    ModelInfo,
    list_models,
    model_id_of,
    other_info,
    remove_files,
)
from photosense.models.registry import STARTER_ID, load_encoder
from photosense.paths import INDEX_DIR_NAME, default_library_dir
from photosense.progress import CancelToken, Progress
from photosense.store.repository import FolderRecord, PhotoRecord, SkippedRecord, Store, TagRecord
from photosense.tagging.service import ExportReport, PhotoTagInfo, Tagger, TagInfo, TagReport
from photosense.tagging.vectors import CACHE_DIR_NAME, TagVectorCache
from photosense.vectors import VectorIndex

log = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
"""Setting: the model whose vectors answer searches."""
PENDING_MODEL_KEY = "pending_model"
"""Setting: the model being switched to; it becomes active once it has embedded the library."""
AUTO_TAG_KEY = "tagging.auto"
"""Setting: tag new photos as they are indexed (default true)."""
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
class ModelSwitch:
    """Where a change of model stands: ``active`` answers searches, ``pending`` is on its way.

    ``done`` of ``total`` photos have a vector under ``pending`` (under ``active`` when nothing
    is pending); photos on offline drives are counted but wait for their drive.
    """

    active: str
    pending: str | None
    done: int
    total: int


@dataclass(frozen=True)
class SwitchReport:
    """What ``use_model`` did: the re-embedding run (None when none was needed)."""

    model_id: str
    activated: bool
    index: IndexReport | None


@dataclass(frozen=True)
class LibraryModel:
    """A model on this machine (or only in this library) and what the library holds of it."""

    info: ModelInfo
    active: bool
    pending: bool
    vectors: int


@dataclass(frozen=True)
class RemovedModel:
    model_id: str
    bytes_freed: int
    vectors_removed: int


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


def _older_starter(model_id: str) -> bool:
    """Whether ``model_id`` is another version of the starter (its vectors cannot be reused)."""
    family = STARTER_ID.split("/", 1)[0] + "/"
    return model_id.startswith(family) and model_id != STARTER_ID


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
        self.model_fallback: str | None = None
        """Why the starter answers instead of the library's model (its files are missing)."""
        self._tagger: Tagger | None = None
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
        """The model, loaded on first use (loading takes seconds; status needs none of it).

        Under ``auto``, an active model whose files are gone falls back to the starter (see
        ``model_fallback``); searches then use the starter's own vectors, never mixing.
        """
        with self.lock:
            if self._encoder is None:
                spec = self.model_spec
                try:
                    self._encoder = self._encoder_factory(spec)
                except ModelError as exc:
                    if self._model_spec != "auto" or spec == STARTER_ID:
                        raise
                    self.model_fallback = (
                        "the library was indexed with an older version of the starter model; "
                        "`photosense index` embeds it with the current one"
                        if _older_starter(spec)
                        else f"the library's model {spec} is not available, so the offline "
                        f"starter model answers until it is back: {exc}"
                    )
                    log.info("%s", self.model_fallback)
                    self._encoder = self._encoder_factory(STARTER_ID)
                log.info("model %s loaded", self._encoder.model_id)
            return self._encoder

    def use_model(
        self,
        spec: str,
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
    ) -> Generator[Progress, None, SwitchReport]:
        """Switch the library to ``spec``: re-embed every known folder with it, then activate it.

        The model loads first, so a missing download fails at once with how to get it. It is
        recorded as pending and every photo without its vector gets one; searches keep using
        the active model meanwhile. Cancelled or killed, the switch resumes where it stopped
        (call this again, or ``index``). Choosing the active model drops a pending switch.
        """
        yield Progress(0, None, f"loading {spec}")
        encoder = self._encoder_factory(spec)  # seconds: searches go on meanwhile
        with self.lock:
            self.store.ensure_model(encoder.model_id, encoder.dim)  # a dim clash fails here
            active = self.store.get_setting(ACTIVE_MODEL_KEY)
            if active is None or active == encoder.model_id:
                self._activate(encoder)
                return SwitchReport(encoder.model_id, True, None)
            self.store.set_setting(PENDING_MODEL_KEY, encoder.model_id)
        return (yield from self._switch(encoder, cancel, workers, batch_size))

    def _switch(
        self,
        encoder: Encoder,
        cancel: CancelToken | None,
        workers: int | None,
        batch_size: int | None,
    ) -> Generator[Progress, None, SwitchReport]:
        """Embed every known folder with the pending ``encoder``; activate it once complete."""
        roots = [folder.path for folder in self.store.folders()]
        report = None
        if roots:
            size = batch_size or batch_size_for(encoder)
            indexer = Indexer(self.store, encoder, self.indexes, workers=workers, batch_size=size)
            report = yield from self._stepwise_locked(indexer.run(roots, cancel))
            if report.cancelled:
                return SwitchReport(encoder.model_id, False, report)
        with self.lock:
            if self.store.get_setting(PENDING_MODEL_KEY) != encoder.model_id:
                return SwitchReport(encoder.model_id, False, report)  # superseded meanwhile
            self._activate(encoder)
        log.info("switched the library to %s", encoder.model_id)
        return SwitchReport(encoder.model_id, True, report)

    def _activate(self, encoder: Encoder) -> None:
        self.store.set_setting(ACTIVE_MODEL_KEY, encoder.model_id)
        self.store.set_setting(PENDING_MODEL_KEY, None)
        if self._model_spec == "auto":
            self._encoder, self.model_fallback = encoder, None

    def _continue_switch(
        self, cancel: CancelToken | None, workers: int | None, batch_size: int | None
    ) -> Generator[Progress, None, None]:
        """After indexing: carry on a pending switch (new photos need its vectors too)."""
        pending = self.store.get_setting(PENDING_MODEL_KEY)
        if not pending or self._model_spec != "auto":
            return
        try:
            encoder = self._encoder_factory(str(pending))
        except ModelError as exc:
            log.warning("cannot carry on switching to %s: %s", pending, exc)
            return
        yield from self._switch(encoder, cancel, workers, batch_size)

    def model_progress(self) -> ModelSwitch:
        """The active model, the pending one, and how far the pending one has got."""
        active = str(self.store.get_setting(ACTIVE_MODEL_KEY) or STARTER_ID)
        pending_setting = self.store.get_setting(PENDING_MODEL_KEY)
        pending = str(pending_setting) if pending_setting else None
        vectors = {m_id: count for m_id, _, _, count in self.store.model_counts()}
        photos, _ = self.store.counts()
        return ModelSwitch(active, pending, vectors.get(pending or active, 0), photos)

    def models(self) -> list[LibraryModel]:
        """Every model on this machine plus any this library holds vectors of, marked."""
        state = self.model_progress()
        counts = {m_id: (dim, count) for m_id, dim, _, count in self.store.model_counts()}
        infos = list_models()
        known = {info.model_id for info in infos}
        infos += [other_info(m_id, dim) for m_id, (dim, _) in counts.items() if m_id not in known]
        return [
            LibraryModel(
                info,
                info.model_id == state.active,
                info.model_id == state.pending,
                counts.get(info.model_id, (0, 0))[1],
            )
            for info in infos
        ]

    def remove_model(self, spec: str, *, files: bool = True, vectors: bool = False) -> RemovedModel:
        """Delete a model's files and/or this library's vectors of it; never the active one.

        ``files`` removes a stored model's folder or a download from the Hugging Face cache;
        ``vectors`` forgets its vectors and index here (a later switch re-embeds).
        """
        state = self.model_progress()
        known = spec in (state.active, state.pending) or self.store.model_dim(spec) is not None
        model_id = spec if known else model_id_of(spec)
        if model_id in (state.active, state.pending):
            role = "active" if model_id == state.active else "being switched to"
            raise ModelError(
                f"{model_id} is this library's {role} model; switch to another first "
                "(`photosense models use ID`)"
            )
        freed = 0
        with self.lock:
            known_here = self.store.model_dim(model_id) is not None
            if files:
                try:
                    freed = remove_files(spec)
                except ModelError:
                    if not (vectors and known_here):
                        raise
            removed = 0
            if vectors and known_here:
                removed = self.store.delete_model(model_id)
                self.indexes.drop(model_id)
        return RemovedModel(model_id, freed, removed)

    # -- indexing ---------------------------------------------------------------------------

    def index(
        self,
        paths: Iterable[str | os.PathLike[str]] = (),
        cancel: CancelToken | None = None,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
    ) -> Generator[Progress, None, IndexReport]:
        """Index ``paths`` (or rescan every registered folder when none are given).

        ``batch_size`` defaults to what suits the model's device. A pending model switch is
        carried on afterwards, so new photos get the pending model's vectors too.
        """
        known = [f.path for f in self.store.folders()]
        roots = check_roots([os.fspath(p) for p in paths], known) if paths else known
        if not roots:
            raise PhotosenseError("no folders to index yet: give one or more folders")
        encoder = self.encoder
        if self.store.get_setting(ACTIVE_MODEL_KEY) is None:
            self.store.set_setting(ACTIVE_MODEL_KEY, encoder.model_id)
        tagging = self.store.get_setting(AUTO_TAG_KEY, True) is not False
        if tagging:
            yield Progress(0, None, "preparing tags")
            with self.lock:
                self.tagger.prepare()
        indexer = Indexer(
            self.store,
            encoder,
            self.indexes,
            workers=workers,
            batch_size=batch_size or batch_size_for(encoder),
            on_committed=self._tag_committed if tagging else None,
        )
        report = yield from self._stepwise_locked(indexer.run(roots, cancel))
        if tagging and not report.cancelled:
            # Batches were tagged as they came, against a calibration that moved as the library
            # grew; this settles every photo on the final one (a no-op when nothing moved).
            yield from self._stepwise_locked(self.tagger.tag(cancel=cancel))
        if not report.cancelled:
            active = self.store.get_setting(ACTIVE_MODEL_KEY)
            if encoder.model_id == STARTER_ID and _older_starter(str(active)):
                state = self.model_progress()
                if not paths or state.done >= state.total:  # every photo has a current vector
                    with self.lock:
                        self._activate(encoder)
            yield from self._continue_switch(cancel, workers, batch_size)
        return report

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
        tag: str | None = None,
    ) -> SearchResults:
        """Photos that match ``text``, best first (or newest first with ``sort="date"``).

        ``tag`` keeps only photos that carry that tag (accepted, or suggested above its
        threshold; a rejected tag never matches).
        """
        if not text.strip():
            raise PhotosenseError("the search text is empty")
        with self.lock:
            tagged = self.tagger.photos_with(tag) if tag is not None else None
            query = self.encoder.encode_texts([text])[0]
            return self._search(
                text, query, limit, min_score, folder, after, before, sort, None, tagged
            )

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
        only: set[int] | None = None,
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
        if only is not None:
            allowed = set(only) if allowed is None else allowed & only
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

    # -- tags -------------------------------------------------------------------------------

    @property
    def tagger(self) -> Tagger:
        """Auto-tagging under the library's model (its tag vectors are cached in the library)."""
        with self.lock:
            if self._tagger is None or self._tagger.encoder is not self.encoder:
                cache = TagVectorCache(self.path / CACHE_DIR_NAME, class_text_vectors)
                self._tagger = Tagger(self.store, self.encoder, cache)
            return self._tagger

    def _tag_committed(self, photo_ids: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Indexing hook: tag a committed batch; a tagging problem never stops indexing."""
        try:
            self.tagger.tag_new(photo_ids, vectors)
        except PhotosenseError as exc:
            log.warning("could not tag %d new photos: %s", len(photo_ids), exc)

    def tag(
        self, *, retag: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TagReport]:
        """Suggest tags for photos not tagged under the current vocabulary and model, and read
        their files' keywords; ``retag`` redoes every photo (decisions are kept)."""
        with self.lock:
            self._index()
        return (yield from self._stepwise_locked(self.tagger.tag(retag=retag, cancel=cancel)))

    def tags(self) -> list[TagInfo]:
        """The vocabulary with thresholds and counts."""
        with self.lock:
            return self.tagger.tags()

    def _photo(self, photo: str | os.PathLike[str]) -> PhotoRecord:
        record = self.store.photo_by_path(normalise_root(photo))
        if record is None:
            raise NotIndexedError(f"{photo} is not in the library: index its folder first")
        return record

    def photo_tags(self, photo: str | os.PathLike[str]) -> list[PhotoTagInfo]:
        """A photo's tags (suggested, accepted, rejected), best first."""
        record = self._photo(photo)
        with self.lock:
            return self.tagger.photo_tags([record.id])[record.id]

    def accept_tag(self, photo: str | os.PathLike[str], tag: str) -> TagRecord:
        """Confirm (or add) ``tag`` on a photo; it nudges the tag's threshold down a little."""
        record = self._photo(photo)
        with self.lock:
            index = self.indexes.get(self.encoder.model_id)
            try:
                vector = index.vectors_for([record.id])[0] if index is not None else None
            except KeyError:
                vector = None
            return self.tagger.accept(record.id, tag, vector)

    def reject_tag(self, photo: str | os.PathLike[str], tag: str) -> TagRecord:
        """Mark ``tag`` wrong on a photo: it never comes back there and, if it had been
        suggested, the tag's threshold rises for the whole library."""
        record = self._photo(photo)
        with self.lock:
            return self.tagger.reject(record.id, tag)

    def add_tag(self, name: str, prompts: Sequence[str] = ()) -> TagRecord:
        """Add a tag to the vocabulary, or give an existing tag its own prompts."""
        with self.lock:
            return self.tagger.add(name, prompts)

    def rename_tag(self, old: str, new: str) -> TagRecord:
        with self.lock:
            return self.tagger.rename(old, new)

    def remove_tag(self, name: str) -> TagRecord:
        with self.lock:
            return self.tagger.remove(name)

    def export_xmp(
        self, *, include_suggested: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ExportReport]:
        """Write tags into XMP sidecars next to the photos (the photos are never modified)."""
        job = self.tagger.export_xmp(include_suggested=include_suggested, cancel=cancel)
        return (yield from self._stepwise_locked(job))
