"""The library's model at run time: which one answers, loaded lazily, on which device.

:class:`ModelRuntime` owns what the capabilities share: the lock that serialises the model and
the in-memory vector indexes, the lazily loaded encoder, the cached tagger and the index cache.
Every capability (search, tags, models, fine-tuning…) reaches the model through it alone.
Searches ask it for a text encoder, which may be a light one for queries (the starter's and
open_clip models' run without torch); indexing, tagging and fine-tuning use the full encoder.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from photosense.errors import Cancelled, ModelError, NothingIndexedError
from photosense.learn.metrics import class_text_vectors
from photosense.library.records import ModelFallback
from photosense.models.device import select_device
from photosense.models.encoder import Encoder, Preparable, TextEncoder
from photosense.models.local import is_adapted_id
from photosense.models.registry import STARTER_ID
from photosense.paths import INDEX_DIR_NAME
from photosense.progress import CancelToken, Progress, locked_steps
from photosense.store.repository import Store
from photosense.tagging.service import Tagger
from photosense.tagging.vectors import CACHE_DIR_NAME, TagVectorCache
from photosense.vectors import VectorIndex
from photosense.vectors.cache import SearchIndexes

log = logging.getLogger(__name__)

ACTIVE_MODEL_KEY = "active_model"
"""Setting: the model whose vectors answer searches."""
PENDING_MODEL_KEY = "pending_model"
"""Setting: the model being switched to; it becomes active once it has embedded the library."""
AUTO_TAG_KEY = "tagging.auto"
"""Setting: tag new photos as they are indexed (default true)."""

LINKING = "linking photos for text search"
"""The progress message while query links are placed in a big library's search graph."""

EncoderFactory = Callable[[str], Encoder]
QueryEncoderFactory = Callable[[str], TextEncoder | None]
"""A light text encoder for search queries under a model spec, or None where there is none."""
T = TypeVar("T")


def older_starter(model_id: str) -> bool:
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


class ModelRuntime:
    """The model a library answers with, its lock, its tagger and its vector indexes."""

    def __init__(
        self,
        store: Store,
        library_dir: Path,
        encoder_factory: EncoderFactory,
        model: str = "auto",
        *,
        factory_for_device: Callable[[str], EncoderFactory] | None = None,
        query_factory: QueryEncoderFactory | None = None,
        served_indexes: bool = False,
    ) -> None:
        self.store = store
        self.path = library_dir
        self.indexes = SearchIndexes(
            store.vectors,
            library_dir / INDEX_DIR_NAME,
            served=served_indexes,
            words=self.text_vectors().stored,  # the tag vocabulary's vectors: query links
        )
        self._encoder_factory = _with_fine_tuned(encoder_factory)
        self._factory_for_device = factory_for_device
        self.requested = model
        """The model asked for when opening: ``auto`` follows the library's active model."""
        self._encoder: Encoder | None = None
        self.fallback: ModelFallback | None = None
        """Why the starter answers instead of the library's model (its files are missing)."""
        self._tagger: Tagger | None = None
        self._query_factory = query_factory
        self._query: TextEncoder | None = None
        self._query_asked = False
        # Guards the lazily loaded model and the in-memory indexes: a search from one thread
        # runs between the batches of an indexing run on another.
        self.lock = threading.RLock()

    @property
    def spec(self) -> str:
        """The model this library answers with: an explicit choice, else the active model."""
        if self.requested != "auto":
            return self.requested
        active = self.store.settings.get(ACTIVE_MODEL_KEY)
        return str(active) if active else STARTER_ID

    @property
    def answering_model_id(self) -> str:
        """The id of the model that answers: the loaded one, else its spec (loads nothing)."""
        with self.lock:
            return self._encoder.model_id if self._encoder is not None else self.spec

    @property
    def encoder(self) -> Encoder:
        """The model, loaded on first use (loading takes seconds; status needs none of it).

        Under ``auto``, an active model whose files are gone falls back to the starter (see
        ``fallback``); searches then use the starter's own vectors, never mixing.
        """
        with self.lock:
            if self._encoder is None:
                spec = self.spec
                try:
                    self._encoder = self._encoder_factory(spec)
                except ModelError as exc:
                    if self.requested != "auto" or spec == STARTER_ID:
                        raise
                    self.fallback = ModelFallback(spec, older_starter(spec), str(exc))
                    log.info("the starter answers instead of %s: %s", spec, exc)
                    self._encoder = self._encoder_factory(STARTER_ID)
                log.info("model %s loaded", self._encoder.model_id)
            return self._encoder

    def loader_elsewhere(self, model_id: str) -> Callable[[], Encoder]:
        """A loader of ``model_id`` to run in another process (a cluster's worker, which gets
        it pickled): the library's own loader, on the best device there."""
        factory = self._encoder_factory
        if self._factory_for_device is not None:
            factory = _with_fine_tuned(self._factory_for_device("auto"))
        return functools.partial(factory, model_id)

    def load(self, spec: str) -> Encoder:
        """Another model, loaded on the library's device (not made the answering one)."""
        return self._encoder_factory(spec)

    def set_device(self, device: str) -> None:
        """Run models on ``device`` from now on; the loaded model loads there when next used."""
        if self._factory_for_device is None:
            raise ModelError("this library was given a fixed model loader; reopen it instead")
        select_device(device)
        with self.lock:
            self._encoder_factory = _with_fine_tuned(self._factory_for_device(device))
            self._encoder, self._tagger, self.fallback = None, None, None

    def activate(self, encoder: Encoder) -> None:
        """Make ``encoder`` the library's active model (and the answering one under auto)."""
        self.store.settings.set(ACTIVE_MODEL_KEY, encoder.model_id)
        self.store.settings.set(PENDING_MODEL_KEY, None)
        if self.requested == "auto":
            self._encoder, self.fallback = encoder, None
            self._query, self._query_asked = None, False

    @property
    def tagger(self) -> Tagger:
        """Auto-tagging under the library's model (its tag vectors are cached in the library)."""
        with self.lock:
            if self._tagger is None or self._tagger.encoder is not self.encoder:
                self._tagger = self.tagger_for(self.encoder)
            return self._tagger

    def tagger_for(self, encoder: Encoder) -> Tagger:
        return Tagger(self.store, encoder, self.text_vectors())

    def text_vectors(self) -> TagVectorCache:
        """The library's cache of prompt vectors (tags, generic captions), one file per model."""
        return TagVectorCache(self.path / CACHE_DIR_NAME, class_text_vectors)

    @property
    def auto_tagging(self) -> bool:
        return self.store.settings.get(AUTO_TAG_KEY, True) is not False

    @property
    def text_encoder(self) -> TextEncoder:
        """What searches embed their text with: the model's light query encoder (no torch)
        while the full model is not loaded and it has one, else the model itself."""
        with self.lock:
            if self._encoder is None and not self._query_asked:
                self._query_asked = True
                if self._query_factory is not None:
                    self._query = self._query_factory(self.spec)
            if self._encoder is None and self._query is not None:
                return self._query
            return self.encoder

    def encode_query(self, text: str) -> tuple[str, npt.NDArray[np.float32]]:
        """``text``'s vector and the id of the model it belongs to. If the light encoder fails,
        the full model answers (a search never fails for the sake of speed)."""
        with self.lock:
            encoder = self.text_encoder
            try:
                if isinstance(encoder, Preparable) and encoder.needs_preparing():
                    encoder.prepare(lambda: self.encoder)  # an export may use the full model
                return encoder.model_id, encoder.encode_texts([text])[0]
            except Exception as exc:  # onnxruntime and its export raise their own types
                if encoder is not self._query:
                    raise
                log.warning("the full model embeds queries: the light one failed: %s", exc)
                self._query = None
            return self.encoder.model_id, self.encoder.encode_texts([text])[0]

    def prepare_queries(self) -> Generator[Progress, None, None]:
        """Do the light query encoder's one-time work now (its ONNX export, from the full
        model where it needs it: loaded already after indexing), so the first search after
        indexing does not pay it; nothing when there is none to do."""
        if self._query_factory is None:
            return
        query = self._query_factory(self.spec)
        if isinstance(query, Preparable) and query.needs_preparing():
            yield Progress(0, None, "preparing search")
            try:
                query.prepare(lambda: self.encoder)
            except Exception as exc:  # the first query tries again, or the full model answers
                log.warning("could not prepare the query encoder: %s", exc)

    def link_queries(self, cancel: CancelToken | None = None) -> Generator[Progress, None, None]:
        """Place query links in the answering model's search graph when they are due (see
        ``SearchIndexes.link_steps``): after an indexing run, whose graph grew photo by photo.
        Nothing when the graph is not loaded. A library that is not auto-tagged has no tag
        vectors yet: the vocabulary is embedded for the links (once per model; no photo is
        tagged)."""
        with self.lock:
            model_id = self.answering_model_id
            wants_words = self.indexes.wants_words(model_id)
        if wants_words:
            yield Progress(0, None, "preparing tags")
            try:
                self.tagger.prepare(cancel)
            except Cancelled:
                return
        steps = self.indexes.link_steps(model_id, lambda: cancel is not None and cancel.cancelled)
        for done, total in steps:
            yield Progress(done, total, LINKING)

    def indexed_model(self) -> str:
        """The answering model's id, known without loading it where the light query encoder
        knows it; ``NothingIndexedError``, decided from the store, when it has no vectors."""
        with self.lock:
            model_id = self.text_encoder.model_id
            vectors = {m_id: count for m_id, _, _, count in self.store.vectors.models()}
            if not vectors.get(model_id):
                raise NothingIndexedError(model_id)
            return model_id

    def index(self, model_id: str | None = None) -> VectorIndex:
        """The vector index of ``model_id`` (default: the answering model, loaded);
        ``NothingIndexedError`` when it holds nothing."""
        if model_id is None:
            model_id = self.encoder.model_id
        index = self.indexes.get(model_id)
        if index is None or len(index) == 0:
            raise NothingIndexedError(model_id)
        return index

    def stepwise(self, job: Generator[Progress, None, T]) -> Generator[Progress, None, T]:
        """Run each step of ``job`` under the lock, releasing it between steps (so a search
        from another thread gets in between the batches of a long run)."""
        return (yield from locked_steps(job, self.lock))
