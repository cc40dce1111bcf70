"""Search: photos by a description, or by likeness to a photo (``photosense search|similar``)."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import numpy.typing as npt

from photosense.errors import NoVectorError, PhotosenseError
from photosense.library.photos import Photos
from photosense.library.reading import normalise_query
from photosense.library.records import Hit, SearchResults
from photosense.library.runtime import ModelRuntime

SORTS = ("score", "date")


class Search:
    """Ask the library's model; filters narrow the candidates before the vector search."""

    def __init__(self, runtime: ModelRuntime, photos: Photos) -> None:
        self._runtime = runtime
        self._photos = photos

    def text(
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
        runtime = self._runtime
        with runtime.lock:
            runtime.indexed_model()  # nothing to search: said before any model loads
            only = runtime.tagger.photos_with(tag) if tag is not None else None
            if album is not None:
                in_album = set(self._photos.ids(album=album))
                only = in_album if only is None else only & in_album
            model_id, query = runtime.encode_query(normalise_query(text))  # "ｃａｔ": "cat"
            return self._search(
                text, model_id, query, limit, min_score, folder, after, before, sort, None, only
            )

    def similar(self, photo: str | os.PathLike[str], *, limit: int = 20) -> SearchResults:
        """Photos that look like ``photo`` (a path inside the library): its stored vector is
        the query, so no text model loads (nor any model, for the starter)."""
        record = self._photos.resolve(photo)
        path = record.path
        runtime = self._runtime
        with runtime.lock:
            model_id = runtime.indexed_model()
            try:
                query = runtime.index(model_id).vectors_for([record.id])[0]
            except KeyError:
                raise NoVectorError(str(photo), model_id) from None
            return self._search(
                path, model_id, query, limit, None, None, None, None, "score", record.id
            )

    def prepare(self) -> str:
        """Load the model and its vector index now (seconds on a large library), so that the
        first search does not wait for them; returns the model id. The app calls this in the
        background once its window is up."""
        with self._runtime.lock:
            model_id = self._runtime.encoder.model_id
            self._runtime.indexes.get(model_id)
            return model_id

    def _search(
        self,
        label: str,
        model_id: str,
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
        index = self._runtime.index(model_id)
        allowed: set[int] | None = None
        if folder is not None or after is not None or before is not None:
            allowed = set(self._photos.ids(folder=folder, after=after, before=before))
            if exclude is not None:
                allowed.discard(exclude)
        if only is not None:
            allowed = set(only) if allowed is None else allowed & only
        found = index.search(query, limit + (exclude is not None), allowed)
        found = [(i, s) for i, s in found if i != exclude][:limit]
        if min_score is not None:
            found = [(i, s) for i, s in found if s >= min_score]
        records = self._photos.get([i for i, _ in found])
        hits = [Hit(records[i], s) for i, s in found if i in records]
        if sort == "date":
            hits.sort(key=lambda h: h.photo.taken_at, reverse=True)
        return SearchResults(label, model_id, hits)
