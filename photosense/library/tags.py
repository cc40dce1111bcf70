"""Tags: zero-shot suggestions, the user's decisions, the vocabulary (``photosense tag|tags``)."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Generator, Sequence

import numpy as np
import numpy.typing as npt

from photosense.errors import PhotosenseError, TagNotFoundError
from photosense.library.photos import PhotoRef, Photos
from photosense.library.runtime import ModelRuntime
from photosense.progress import CancelToken, Progress
from photosense.store.records import TagRecord
from photosense.tagging.service import ExportReport, PhotoTagInfo, TagInfo, TagReport, TagVocabulary

log = logging.getLogger(__name__)


class Tags:
    """Suggest, confirm and reject tags; edit the vocabulary; export tags to XMP sidecars."""

    def __init__(self, runtime: ModelRuntime, photos: Photos) -> None:
        self._runtime = runtime
        self._photos = photos
        self._vocabulary = TagVocabulary(runtime.store)  # listing tags needs no model

    def list(self, *, min_photos: int = 0) -> builtins.list[TagInfo]:
        """Tags by name with thresholds and counts (no model is loaded for it).

        ``TagInfo.photos`` counts the photos a tag counts on now: confirmed, or suggested by
        the answering model above the tag's threshold. ``min_photos=1`` lists only the tags a
        user can browse by; the default (0) lists the whole vocabulary.
        """
        with self._runtime.lock:
            model_id = self._runtime.answering_model_id
            return self._vocabulary.tags(model_id, min_photos=min_photos)

    def suggest(
        self, *, retag: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TagReport]:
        """Suggest tags for photos not tagged under the current vocabulary and model, and read
        their files' keywords; ``retag`` redoes every photo (decisions are kept)."""
        runtime = self._runtime
        with runtime.lock:
            runtime.index()
        return (yield from runtime.stepwise(runtime.tagger.tag(retag=retag, cancel=cancel)))

    def tag_committed(
        self, photo_ids: builtins.list[int], vectors: npt.NDArray[np.float32]
    ) -> None:
        """Indexing hook: tag a committed batch; a tagging problem never stops indexing."""
        try:
            self._runtime.tagger.tag_new(photo_ids, vectors)
        except PhotosenseError as exc:
            log.warning("could not tag %d new photos: %s", len(photo_ids), exc)

    def of_photo(self, photo: PhotoRef) -> builtins.list[PhotoTagInfo]:
        """A photo's tags (suggested, accepted, rejected), best first."""
        record = self._photos.resolve(photo)
        with self._runtime.lock:
            return self._runtime.tagger.photo_tags([record.id])[record.id]

    def photos_with(self, tag: str) -> set[int]:
        """The photos that carry ``tag``: accepted, or suggested above its threshold."""
        with self._runtime.lock:
            return self._runtime.tagger.photos_with(tag)

    def accept(self, photo: PhotoRef, tag: str) -> TagRecord:
        """Confirm ``tag`` on a photo (a tag not in the vocabulary yet is added to it first); it
        nudges the tag's threshold down a little."""
        record = self._photos.resolve(photo)
        runtime = self._runtime
        with runtime.lock:
            index = runtime.indexes.get(runtime.encoder.model_id)
            try:
                vector = index.vectors_for([record.id])[0] if index is not None else None
            except KeyError:
                vector = None
            try:
                return runtime.tagger.accept(record.id, tag, vector)
            except TagNotFoundError:  # a new word: it joins the vocabulary, then the photo
                runtime.tagger.add(tag, ())
                return runtime.tagger.accept(record.id, tag, vector)

    def reject(self, photo: PhotoRef, tag: str) -> TagRecord:
        """Mark ``tag`` wrong on a photo: it never comes back there and, if it had been
        suggested, the tag's threshold rises for the whole library."""
        record = self._photos.resolve(photo)
        with self._runtime.lock:
            return self._runtime.tagger.reject(record.id, tag)

    def add(self, name: str, prompts: Sequence[str] = ()) -> TagRecord:
        """Add a tag to the vocabulary, or give an existing tag its own prompts."""
        with self._runtime.lock:
            return self._runtime.tagger.add(name, prompts)

    def rename(self, old: str, new: str) -> TagRecord:
        with self._runtime.lock:
            return self._runtime.tagger.rename(old, new)

    def remove(self, name: str) -> TagRecord:
        with self._runtime.lock:
            return self._runtime.tagger.remove(name)

    def export_xmp(
        self, *, include_suggested: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ExportReport]:
        """Write tags into XMP sidecars next to the photos (the photos are never modified)."""
        runtime = self._runtime
        job = runtime.tagger.export_xmp(include_suggested=include_suggested, cancel=cancel)
        return (yield from runtime.stepwise(job))
