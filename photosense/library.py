"""The library: the one door through which the CLI and the GUI index, search and inspect.

A :class:`Library` is one folder holding the database and the index files. Its collaborators
(the store, the encoder factory) are passed in, so tests use an in-memory store and a fake
encoder; :meth:`Library.open` wires up the real ones.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from photosense.enums import CaptionSource
from photosense.errors import (
    AlbumNotFoundError,
    LibraryError,
    ModelError,
    NotIndexedError,
    PhotosenseError,
)
from photosense.evaluation import ALL as ALL_SPLITS
from photosense.evaluation import general_set, load_dataset
from photosense.indexing import Indexer, IndexReport, SearchIndexes, check_roots, normalise_root
from photosense.learn.metrics import class_text_vectors
from photosense.learn.records import FineTuneSettings, storage_error
from photosense.learn.records import TrainingPair as FineTunePair
from photosense.media.captions import caption_files, clean_caption, read_caption, read_caption_csv
from photosense.media.scan import is_supported
from photosense.media.xmp import XmpError, write_description
from photosense.models.device import batch_size_for, select_device
from photosense.models.encoder import Encoder
from photosense.models.inventory import (
    ModelInfo,
    list_models,
    model_id_of,
    other_info,
    remove_files,
)
from photosense.models.local import (
    ADAPTER_ARCH,
    LocalModel,
    is_adapted_id,
    list_local,
    model_folder,
    write_model,
)
from photosense.models.registry import STARTER_ID, load_encoder
from photosense.paths import DATABASE_NAME, INDEX_DIR_NAME, cache_dir, default_library_dir
from photosense.progress import CancelToken, Progress
from photosense.store.records import AlbumInfo as AlbumInfo  # the GUI and CLI take them here
from photosense.store.records import CaptionInfo as CaptionInfo
from photosense.store.records import (
    FolderRecord,
    PhotoRecord,
    SkippedRecord,
    TagRecord,
)
from photosense.store.repository import Store
from photosense.tagging.service import (
    ExportReport,
    PhotoTagInfo,
    Tagger,
    TagInfo,
    TagReport,
    TagVocabulary,
)
from photosense.tagging.vectors import CACHE_DIR_NAME, TagVectorCache
from photosense.vectors import VectorIndex

if TYPE_CHECKING:
    from photosense.learn.finetune import FineTuneResult

log = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
"""Setting: the model whose vectors answer searches."""
PENDING_MODEL_KEY = "pending_model"
"""Setting: the model being switched to; it becomes active once it has embedded the library."""
AUTO_TAG_KEY = "tagging.auto"
"""Setting: tag new photos as they are indexed (default true)."""
SORTS = ("score", "date")

CAPTION_BATCH = 256
"""Photos whose files' captions are read per transaction."""

EncoderFactory = Callable[[str], Encoder]

GENERAL_LIMIT = 1000
"""Photos per general-knowledge set: enough to see a 2-point change, quick to encode."""
PhotoRef = int | str | os.PathLike[str]
"""A photo of the library: its id, or its path."""
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


@dataclass(frozen=True)
class CaptionImport:
    """What importing a caption CSV did.

    ``imported`` captions are new, ``updated`` replaced an earlier one; ``kept`` counts rows
    left alone because the photo has a caption the user wrote. ``unmatched`` are the (absolute)
    paths not in the library, ``problems`` the rows left out, as ``line N: reason``.
    """

    imported: int
    updated: int
    unmatched: list[str]
    problems: list[str]
    kept: int = 0


@dataclass(frozen=True)
class TrainingPair:
    """A photo and a text for fine-tuning. ``source`` is where the text came from (user, file,
    sidecar, csv, or ``album`` for an album's title standing in for a caption); ``group`` is
    the album the pair came through (None when all captions were asked for)."""

    photo_id: int
    path: str
    text: str
    source: CaptionSource
    group: str | None


def _album_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise PhotosenseError("an album needs a name")
    return cleaned


def _refuse_photo_folder(directory: Path) -> None:
    """A new library never starts inside a photo folder: photosense writes nothing there."""
    if (directory / DATABASE_NAME).exists():
        return
    try:
        with os.scandir(directory) as entries:
            photos = any(is_supported(Path(e.name)) and e.is_file() for e in entries)
    except OSError:
        return  # a new folder; anything else is Store.open's to report
    if photos:
        raise LibraryError(
            f"{directory} holds photos and no photosense library; photosense never writes "
            "into photo folders, so keep the library in a folder of its own"
        )


def _older_starter(model_id: str) -> bool:
    """Whether ``model_id`` is another version of the starter (its vectors cannot be reused)."""
    family = STARTER_ID.split("/", 1)[0] + "/"
    return model_id.startswith(family) and model_id != STARTER_ID


def _with_fine_tuned(factory: EncoderFactory) -> EncoderFactory:
    """``factory``, except that a fine-tuned model loads its base through ``factory`` itself."""

    def load(spec: str) -> Encoder:
        if is_adapted_id(spec):
            from photosense.models.adapted import load_adapted

            return load_adapted(spec, factory)
        return factory(spec)

    return load


class Library:
    """Index folders and search them. Close it (or use ``with``) to release the database."""

    def __init__(
        self,
        store: Store,
        library_dir: Path,
        encoder_factory: EncoderFactory,
        model: str = "auto",
        *,
        factory_for_device: Callable[[str], EncoderFactory] | None = None,
    ) -> None:
        self.store = store
        self.path = library_dir
        self.indexes = SearchIndexes(store, library_dir / INDEX_DIR_NAME)
        self._encoder_factory = _with_fine_tuned(encoder_factory)
        self._factory_for_device = factory_for_device
        self._model_spec = model
        self._encoder: Encoder | None = None
        self.model_fallback: str | None = None
        """Why the starter answers instead of the library's model (its files are missing)."""
        self._tagger: Tagger | None = None
        self._tag_vocabulary = TagVocabulary(store)  # listing tags needs no model
        # Guards the lazily loaded model and the in-memory indexes: a search from one thread
        # runs between the batches of an indexing run on another.
        self.lock = threading.RLock()

    @classmethod
    def open(
        cls, library_dir: Path | None = None, *, model: str = "auto", device: str = "auto"
    ) -> Library:
        """Open (creating if needed) the library in ``library_dir`` or the default folder."""
        directory = library_dir or default_library_dir()
        _refuse_photo_folder(directory)
        store = Store.open(directory)

        def factory_for(chosen: str) -> EncoderFactory:
            return lambda spec: load_encoder(spec, device=chosen)

        return cls(store, directory, factory_for(device), model, factory_for_device=factory_for)

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
        active = self.store.settings.get(ACTIVE_MODEL_KEY)
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

    def set_device(self, device: str) -> None:
        """Run models on ``device`` ("auto", "cpu", "cuda", "mps") from now on, without
        reopening: the loaded model is let go and loads there when next needed (a job already
        running finishes with the one it has). ``ModelError`` when the device is not there,
        before anything changes."""
        if self._factory_for_device is None:
            raise ModelError("this library was given a fixed model loader; reopen it instead")
        select_device(device)
        with self.lock:
            self._encoder_factory = _with_fine_tuned(self._factory_for_device(device))
            self._encoder, self._tagger, self.model_fallback = None, None, None

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
            self.store.vectors.ensure_model(encoder.model_id, encoder.dim)  # a dim clash fails here
            active = self.store.settings.get(ACTIVE_MODEL_KEY)
            if active is None or active == encoder.model_id:
                self._activate(encoder)
                return SwitchReport(encoder.model_id, True, None)
            self.store.settings.set(PENDING_MODEL_KEY, encoder.model_id)
        return (yield from self._switch(encoder, cancel, workers, batch_size))

    def _switch(
        self,
        encoder: Encoder,
        cancel: CancelToken | None,
        workers: int | None,
        batch_size: int | None,
    ) -> Generator[Progress, None, SwitchReport]:
        """Embed every known folder with the pending ``encoder``; activate it once complete."""
        roots = [folder.path for folder in self.store.folders.all()]
        report = None
        if roots:
            size = batch_size or batch_size_for(encoder)
            indexer = Indexer(self.store, encoder, self.indexes, workers=workers, batch_size=size)
            report = yield from self._stepwise_locked(indexer.run(roots, cancel))
            if report.cancelled:
                return SwitchReport(encoder.model_id, False, report)
        if self.store.settings.get(AUTO_TAG_KEY, True) is not False:
            # Suggestions are per model: make the new model's before it answers, so photos do
            # not show "no tags" after the switch (decided tags are the user's and stay).
            tagged = yield from self._stepwise_locked(self._tagger_for(encoder).tag(cancel=cancel))
            if tagged.cancelled:
                return SwitchReport(encoder.model_id, False, report)
        with self.lock:
            if self.store.settings.get(PENDING_MODEL_KEY) != encoder.model_id:
                return SwitchReport(encoder.model_id, False, report)  # superseded meanwhile
            self._activate(encoder)
        log.info("switched the library to %s", encoder.model_id)
        return SwitchReport(encoder.model_id, True, report)

    def _activate(self, encoder: Encoder) -> None:
        self.store.settings.set(ACTIVE_MODEL_KEY, encoder.model_id)
        self.store.settings.set(PENDING_MODEL_KEY, None)
        if self._model_spec == "auto":
            self._encoder, self.model_fallback = encoder, None

    def _continue_switch(
        self, cancel: CancelToken | None, workers: int | None, batch_size: int | None
    ) -> Generator[Progress, None, None]:
        """After indexing: carry on a pending switch (new photos need its vectors too)."""
        pending = self.store.settings.get(PENDING_MODEL_KEY)
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
        active = str(self.store.settings.get(ACTIVE_MODEL_KEY) or STARTER_ID)
        pending_setting = self.store.settings.get(PENDING_MODEL_KEY)
        pending = str(pending_setting) if pending_setting else None
        vectors = {m_id: count for m_id, _, _, count in self.store.vectors.models()}
        photos, _ = self.store.photos.counts()
        return ModelSwitch(active, pending, vectors.get(pending or active, 0), photos)

    def models(self) -> list[LibraryModel]:
        """Every model on this machine plus any this library holds vectors of, marked."""
        state = self.model_progress()
        counts = {m_id: (dim, count) for m_id, dim, _, count in self.store.vectors.models()}
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
        known = spec in (state.active, state.pending) or self.store.vectors.dim(spec) is not None
        model_id = spec if known else model_id_of(spec)
        if model_id in (state.active, state.pending):
            role = (
                "this library's active model"
                if model_id == state.active
                else "the model this library is being switched to"
            )
            raise ModelError(
                f"{model_id} is {role}; switch to another first (`photosense models use ID`)"
            )
        freed = 0
        with self.lock:
            known_here = self.store.vectors.dim(model_id) is not None
            if files:
                try:
                    freed = remove_files(spec)
                except ModelError:
                    if not (vectors and known_here):
                        raise
            removed = 0
            if vectors and known_here:
                removed = self.store.vectors.delete_model(model_id)
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
        carried on afterwards, so new photos get the pending model's vectors too. Captions in
        new or changed files are read at the end (:meth:`read_file_captions`).
        """
        known = [f.path for f in self.store.folders.all()]
        roots = check_roots([os.fspath(p) for p in paths], known) if paths else known
        if not roots:
            raise PhotosenseError("no folders to index yet: give one or more folders")
        encoder = self.encoder
        if self.store.settings.get(ACTIVE_MODEL_KEY) is None:
            self.store.settings.set(ACTIVE_MODEL_KEY, encoder.model_id)
        tagging = self.store.settings.get(AUTO_TAG_KEY, True) is not False
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
            yield from self.read_file_captions(cancel)
            active = self.store.settings.get(ACTIVE_MODEL_KEY)
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
            removed = self.store.folders.remove(normalise_root(path))
            self.indexes.remove_photos(removed)
            self.indexes.save_all()
            return len(removed)

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
        album: str | None = None,
    ) -> SearchResults:
        """Photos that match ``text``, best first (or newest first with ``sort="date"``).

        ``tag`` keeps only photos that carry that tag (accepted, or suggested above its
        threshold; a rejected tag never matches); ``album`` only the photos of that album.
        """
        if not text.strip():
            raise PhotosenseError("the search text is empty")
        with self.lock:
            only = self.tagger.photos_with(tag) if tag is not None else None
            if album is not None:
                in_album = set(self.album_photo_ids(album))
                only = in_album if only is None else only & in_album
            query = self.encoder.encode_texts([text])[0]
            return self._search(
                text, query, limit, min_score, folder, after, before, sort, None, only
            )

    def similar(self, photo: str | os.PathLike[str], *, limit: int = 20) -> SearchResults:
        """Photos that look like ``photo`` (a path inside the library)."""
        path = normalise_root(photo)
        record = self.store.photos.by_path(path)
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

    def prepare_search(self) -> str:
        """Load the model and its vector index now (seconds on a large library), so that the
        first search does not wait for them; returns the model id. The app calls this in the
        background once its window is up."""
        with self.lock:
            model_id = self.encoder.model_id
            self.indexes.get(model_id)
            return model_id

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
        records = self.store.photos.get([i for i, _ in found])
        hits = [Hit(records[i], s) for i, s in found if i in records]
        if sort == "date":
            hits.sort(key=lambda h: h.photo.taken_at, reverse=True)
        return SearchResults(label, self.encoder.model_id, hits)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> LibraryStatus:
        """Counts, folders, models and index state, without loading any model."""
        photos, skipped = self.store.photos.counts()
        per_folder = self.store.photos.counts_by_folder()
        folders = [
            FolderStatus(f.path, f.online, per_folder.get(f.id, 0), f.last_scan_at)
            for f in self.store.folders.all()
        ]
        active = self.model_spec
        models = [
            ModelStatus(m_id, dim, vectors, self.indexes.state(m_id), m_id == active)
            for m_id, dim, _, vectors in self.store.vectors.models()
        ]
        return LibraryStatus(str(self.path), photos, skipped, folders, models, active)

    def photo_ids(
        self,
        *,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        album: str | None = None,
    ) -> list[int]:
        """Every photo (inside ``folder``, taken in [after, before), in ``album``), newest
        first."""
        return self.store.photos.ids(
            folder=normalise_root(folder) if folder is not None else None,
            after=after,
            before=before,
            album_id=self.album(album).id if album is not None else None,
        )

    def photos(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """Records of the given photo ids (unknown ids are left out)."""
        return self.store.photos.get(ids)

    def folders(self) -> list[FolderRecord]:
        return self.store.folders.all()

    def skipped(self) -> list[SkippedRecord]:
        return self.store.photos.skipped()

    # -- tags -------------------------------------------------------------------------------

    @property
    def tagger(self) -> Tagger:
        """Auto-tagging under the library's model (its tag vectors are cached in the library)."""
        with self.lock:
            if self._tagger is None or self._tagger.encoder is not self.encoder:
                self._tagger = self._tagger_for(self.encoder)
            return self._tagger

    def _tagger_for(self, encoder: Encoder) -> Tagger:
        cache = TagVectorCache(self.path / CACHE_DIR_NAME, class_text_vectors)
        return Tagger(self.store, encoder, cache)

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
        """The vocabulary with thresholds and counts (no model is loaded for it)."""
        with self.lock:
            return self._tag_vocabulary.tags()

    def _photo(self, photo: PhotoRef) -> PhotoRecord:
        """The record of a photo given by id or path; ``NotIndexedError`` when unknown."""
        if isinstance(photo, int):
            record = self.store.photos.get([photo]).get(photo)
            if record is None:
                raise NotIndexedError(f"there is no photo {photo} in the library")
            return record
        record = self.store.photos.by_path(normalise_root(photo))
        if record is None:
            raise NotIndexedError(f"{photo} is not in the library: index its folder first")
        return record

    def _photo_ids(self, photos: Sequence[PhotoRef]) -> list[int]:
        """Ids of photos given by id or path, in order; ``NotIndexedError`` (naming the first
        unknown one) when any is not in the library."""
        by_path = self.store.photos.ids_for_paths(
            normalise_root(p) for p in photos if not isinstance(p, int)
        )
        known = self.store.photos.get([p for p in photos if isinstance(p, int)])
        ids: list[int] = []
        unknown: list[str] = []
        for photo in photos:
            if isinstance(photo, int):
                found = photo if photo in known else None
            else:
                found = by_path.get(normalise_root(photo))
            if found is None:
                unknown.append(str(photo))
            else:
                ids.append(found)
        if unknown:
            more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
            raise NotIndexedError(
                f"{unknown[0]}{more} is not in the library: index its folder first"
            )
        return ids

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

    # -- albums -----------------------------------------------------------------------------

    def albums(self) -> list[AlbumInfo]:
        """Every album with its photo count, by name."""
        return self.store.albums.all()

    def album(self, name: str) -> AlbumInfo:
        """The album called ``name`` (ignoring case when that is unambiguous), or
        ``AlbumNotFoundError``."""
        album = self.store.albums.named(" ".join(name.split()))
        if album is None:
            raise AlbumNotFoundError(
                f"no album named {name!r}: see `photosense albums list`, or make it with "
                f"`photosense albums create {name!r}`"
            )
        return album

    def create_album(self, name: str, description: str | None = None) -> AlbumInfo:
        """A new, empty album; an empty name, or one taken (ignoring case), is refused."""
        text = " ".join((description or "").split()) or None
        return self.store.albums.create(_album_name(name), text)

    def rename_album(self, old: str, new: str) -> AlbumInfo:
        """Rename an album (changing only the case of its name is allowed)."""
        return self.store.albums.update(self.album(old).id, name=_album_name(new))

    def delete_album(self, name: str) -> int:
        """Delete an album; its photos stay in the library. Returns how many it held."""
        return self.store.albums.delete(self.album(name).id)

    def add_to_album(self, name: str, photos: Sequence[PhotoRef]) -> int:
        """Append photos (ids or paths) to an album in the given order; returns how many were
        new to it. When any photo is not in the library, nothing is added."""
        album = self.album(name)
        return self.store.albums.add_photos(album.id, self._photo_ids(photos))

    def remove_from_album(self, name: str, photos: Sequence[PhotoRef]) -> int:
        """Take photos out of an album (they stay in the library); returns how many were in
        it."""
        album = self.album(name)
        return self.store.albums.remove_photos(album.id, self._photo_ids(photos))

    def album_photo_ids(self, name: str) -> list[int]:
        """An album's photos, in album order."""
        return self.store.albums.photo_ids(self.album(name).id)

    def photo_albums(self, photo: PhotoRef) -> list[str]:
        """The names of the albums a photo is in."""
        return self.store.albums.of_photo(self._photo(photo).id)

    # -- captions ---------------------------------------------------------------------------

    def caption(self, photo: PhotoRef) -> CaptionInfo | None:
        """A photo's caption, or None."""
        photo_id = self._photo(photo).id
        return self.store.captions.get([photo_id]).get(photo_id)

    def captions(self, *, album: str | None = None) -> dict[int, CaptionInfo]:
        """Every caption (or those of an album's photos), by photo id."""
        album_id = self.album(album).id if album is not None else None
        return self.store.captions.get(album_id=album_id)

    def set_caption(
        self, photo: PhotoRef, text: str, *, sidecar: bool = False
    ) -> CaptionInfo | None:
        """Write a photo's caption as the user's own (blank text removes it); imports and
        files never replace it. ``sidecar`` also writes it as ``dc:description`` into the
        photo's XMP sidecar, keeping the sidecar's other fields; the photo is never touched.
        """
        record = self._photo(photo)
        cleaned = clean_caption(text)
        if cleaned:
            info: CaptionInfo | None = self.store.captions.set(
                record.id, cleaned, CaptionSource.USER
            )
        else:
            self.store.captions.remove(record.id)
            info = None
        if sidecar:
            try:
                write_description(Path(record.path), cleaned or None)
            except (OSError, XmpError) as exc:
                raise PhotosenseError(
                    f"the caption is saved in the library, but the XMP sidecar of "
                    f"{record.path} could not be written: {exc}"
                ) from exc
        return info

    def remove_caption(self, photo: PhotoRef) -> bool:
        """Delete a photo's caption; returns whether it had one. A caption read from the
        file does not come back until the file (or its sidecar) changes."""
        return self.store.captions.remove(self._photo(photo).id)

    def import_captions(
        self, csv_path: str | os.PathLike[str], *, overwrite: bool = False
    ) -> CaptionImport:
        """Import a ``path,caption`` CSV (UTF-8 with a header; paths absolute or relative to
        the CSV's folder) in one transaction.

        A file that cannot be read as a whole raises ``PhotosenseError`` and imports nothing;
        bad rows and paths not in the library are reported. A caption the user wrote is kept
        unless ``overwrite``.
        """
        parsed = read_caption_csv(Path(csv_path))
        ids = self.store.photos.ids_for_paths(row.path for row in parsed.rows)
        unmatched = [row.path for row in parsed.rows if row.path not in ids]
        found = {ids[row.path]: row.text for row in parsed.rows if row.path in ids}
        added, changed, kept = self.store.captions.import_many(
            found, source=CaptionSource.CSV, overwrite=overwrite
        )
        log.info("imported %d captions from %s (%d updated)", added, csv_path, changed)
        return CaptionImport(added, changed, unmatched, parsed.problems, kept)

    def read_file_captions(
        self, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, int]:
        """Read the captions already in the photos' files and sidecars (XMP ``dc:description``,
        IPTC caption, EXIF ImageDescription, ``.txt`` sidecars; see
        :mod:`photosense.media.captions`). Returns how many captions were added, changed or
        removed.

        Only photos whose file or sidecars changed since they were last read are read again;
        photos on offline drives wait. A caption the user wrote or imported from a CSV is never
        replaced.
        """
        cancel = cancel or CancelToken()
        yield Progress(0, None, "looking for captions")
        states = self.store.captions.read_states()
        files = caption_files((i, path, size, mtime) for i, path, size, mtime, _ in states)
        todo = [
            (i, path)
            for i, path, _, _, read in states
            if i in files and files[i].fingerprint != read
        ]
        changed = 0
        for start in range(0, len(todo), CAPTION_BATCH):
            if cancel.cancelled:
                break
            chunk = todo[start : start + CAPTION_BATCH]
            found: dict[int, tuple[str, CaptionSource] | None] = {}
            for photo_id, path in chunk:
                caption = read_caption(Path(path), files[photo_id].sidecars)
                found[photo_id] = None if caption is None else (caption.text, caption.source)
            marks = {photo_id: files[photo_id].fingerprint for photo_id, _ in chunk}
            changed += self.store.captions.record_from_files(found, marks)
            yield Progress(start + len(chunk), len(todo), "reading captions")
        if todo:
            log.info("read the captions of %d photos: %d changed", len(todo), changed)
        return changed

    # -- training data ----------------------------------------------------------------------

    def training_pairs(
        self, albums: Sequence[str] | None = None, *, album_titles: bool = True
    ) -> list[TrainingPair]:
        """Image–text pairs for fine-tuning, one per photo.

        With ``albums=None``: every captioned photo, by id. With albums: their photos in album
        order (a photo in several counts once, for the first album given); a photo without a
        caption gets its album's title as a weak caption (source ``album``) when
        ``album_titles``. Photos on offline drives or whose files are gone are left out.
        """
        chosen: dict[int, str | None] = {}
        if albums is None:
            captions = self.store.captions.get()
            chosen = dict.fromkeys(sorted(captions))
        else:
            for album in [self.album(name) for name in albums]:
                for photo_id in self.store.albums.photo_ids(album.id):
                    chosen.setdefault(photo_id, album.name)
            captions = self.store.captions.get(list(chosen))
        online = {folder.id for folder in self.store.folders.all() if folder.online}
        records = self.store.photos.get(list(chosen))
        pairs: list[TrainingPair] = []
        for photo_id, group in chosen.items():
            record = records.get(photo_id)
            if record is None or record.folder_id not in online or not os.path.isfile(record.path):
                continue
            caption = captions.get(photo_id)
            if caption is not None:
                pairs.append(
                    TrainingPair(photo_id, record.path, caption.text, caption.source, group)
                )
            elif group is not None and album_titles:
                pairs.append(TrainingPair(photo_id, record.path, group, CaptionSource.ALBUM, group))
        return pairs

    # -- fine-tuning ------------------------------------------------------------------------

    def finetune(
        self,
        *,
        albums: Sequence[str] | None = None,
        captions: str | os.PathLike[str] | None = None,
        split: str | None = None,
        settings: FineTuneSettings | None = None,
        general: Sequence[str | os.PathLike[str]] = (),
        general_limit: int = GENERAL_LIMIT,
        name: str | None = None,
        cancel: CancelToken | None = None,
        workers: int | None = None,
    ) -> Generator[Progress, None, FineTuneReport]:
        """Fine-tune the active model on captioned photos; store the result as a new model.

        The pairs come from ``albums`` and/or a ``captions`` file (a ``path,caption`` CSV, or
        a data set folder with ``split``); with neither, from every captioned photo of the
        library. ``general`` names labelled data set folders scored before and after (up to
        ``general_limit`` photos each). The new model (``fine-tuned/NAME``) is stored but not
        activated: ``use_model`` does that (the report says whether it ``improved``). A killed
        or cancelled run resumes when started again with the same data and settings.
        """
        from photosense.learn.finetune import fine_tune
        from photosense.models.adapted import AdaptedEncoder

        pairs = self.finetune_pairs(albums=albums, captions=captions, split=split)
        checks = [general_set(Path(folder), general_limit) for folder in general]
        encoder = self.encoder
        base = encoder.base if isinstance(encoder, AdaptedEncoder) else encoder
        yield Progress(0, None, f"fine-tuning {base.model_id} on {len(pairs)} pairs")
        result = yield from fine_tune(
            base,
            pairs,
            settings,
            cancel,
            general=checks,
            work_dir=cache_dir() / "finetune",
            batch_size=batch_size_for(base),
            workers=workers,
        )
        model_id = _fine_tuned_id(name, base.model_id, result.fingerprint)
        try:
            write_model(
                model_id,
                result.heads.state_dict(),
                architecture=ADAPTER_ARCH,
                embedding_size=base.dim,
                image_size=base.image_size,
                base=base.model_id,
                source="fine-tuning",
                extra={"adapter": result.heads.shape, **result.record()},
            )
        except OSError as exc:
            raise storage_error("the fine-tuned model", model_folder(model_id), exc) from exc
        log.info("fine-tuned %s as %s in %.0f s", base.model_id, model_id, result.seconds)
        return FineTuneReport(model_id, result)

    def finetune_pairs(
        self,
        *,
        albums: Sequence[str] | None = None,
        captions: str | os.PathLike[str] | None = None,
        split: str | None = None,
    ) -> list[FineTunePair]:
        """The image-text pairs ``finetune`` would train on (see there), each pair once."""
        found: list[FineTunePair] = []
        if albums or captions is None:
            found += [
                FineTunePair(p.path, Path(p.path), p.text, p.source)
                for p in self.training_pairs(albums or None)
            ]
        if captions is not None:
            found += _file_pairs(Path(captions), split)
        return list(dict.fromkeys(found))

    def fine_tuned_models(self) -> list[LocalModel]:
        """Fine-tuned models on this machine, newest first, with their records."""
        models = [m for m in list_local() if m.architecture == ADAPTER_ARCH]
        return sorted(models, key=lambda m: m.created_at, reverse=True)


@dataclass(frozen=True)
class FineTuneReport:
    """A stored fine-tuned model and its numbers; ``improved`` decides automatic activation."""

    model_id: str
    result: FineTuneResult

    @property
    def improved(self) -> bool:
        return self.result.improved

    def as_dict(self, activated: bool) -> dict[str, object]:
        """The JSON shape `photosense finetune --json` prints."""
        r = self.result
        keys = ("t2i_r1", "t2i_r5", "t2i_r10")

        def mean(values: dict[str, float]) -> float | None:
            return round(float(np.mean(list(values.values()))), 6) if values else None

        return {
            "model": self.model_id,
            "base": r.base,
            "pairs": r.pairs,
            "seconds": round(r.seconds, 1),
            "heldout": {
                "before": {k: r.heldout_before[k] for k in keys},
                "after": {k: r.heldout_after[k] for k in keys},
                "pairs": r.heldout_pairs,
            },
            "general": {
                "before": mean(r.general_before),
                "after": mean(r.general_after),
                "sets": {
                    name: {"before": r.general_before[name], "after": r.general_after[name]}
                    for name in r.general_before
                },
            },
            "alpha": r.alpha,
            "epochs": r.epochs_run,
            "best_epoch": r.best_epoch,
            "improved": r.improved,
            "activated": activated,
        }


def _file_pairs(path: Path, split: str | None) -> list[FineTunePair]:
    """Pairs from a ``path,caption`` CSV, or from a data set folder's captions (``split``)."""
    if path.is_dir():
        dataset = load_dataset(path, split or ALL_SPLITS)
        return [
            FineTunePair(str(dataset.folder / p), dataset.folder / p, text, CaptionSource.DATASET)
            for p, text in dataset.captions
        ]
    if split is not None:
        raise PhotosenseError("--split applies to a data set folder, not to a CSV file")
    parsed = read_caption_csv(path)
    for problem in parsed.problems:
        log.warning("%s: %s", path, problem)
    return [
        FineTunePair(row.path, Path(row.path), row.text, CaptionSource.CSV) for row in parsed.rows
    ]


def _fine_tuned_id(name: str | None, base: str, fingerprint: str) -> str:
    """``fine-tuned/NAME``; by default the base's name and the data's fingerprint, made unique."""
    stem = name or re.sub(r"[^A-Za-z0-9._-]+", "-", base.split("/")[-1]).strip("-.")
    stem = stem if name else f"{stem}-{fingerprint[:8]}"
    candidate = f"fine-tuned/{stem}"
    number = 2
    while model_folder(candidate).exists():
        if name:
            raise ModelError(f"a model called {candidate} already exists; choose another name")
        candidate, number = f"fine-tuned/{stem}-{number}", number + 1
    model_folder(candidate)  # raises ModelError for a name the models folder cannot hold
    return candidate
