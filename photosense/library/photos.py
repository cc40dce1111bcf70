"""The library's photos: finding them by id or path, and browsing them with filters."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import Path

from PIL import Image

from photosense.errors import FolderNotFoundError, PhotoNotFoundError
from photosense.indexing import normalise_root
from photosense.library.albums import find_album
from photosense.library.places import Places
from photosense.library.runtime import ModelRuntime
from photosense.media.decode import full_decode
from photosense.media.thumbnails import ThumbnailCache
from photosense.store.records import PhotoRecord

PhotoRef = int | str | os.PathLike[str]
"""A photo of the library: its id, or its path."""

VIEW_MAX_SIDE = 8192
"""A photo decoded for viewing is shrunk to this longest side (a panorama would fill memory)."""


def view_image(path: str | os.PathLike[str], max_side: int = VIEW_MAX_SIDE) -> Image.Image:
    """Any thread: the photo upright in RGB at full resolution (at most ``max_side`` on its
    longest side), for a viewer; ``ImageSkipped`` says why a file cannot be shown."""
    image = full_decode(Path(path))
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


class Photos:
    """Look photos up and list them, newest first, by folder, date, album, tag and place."""

    def __init__(self, runtime: ModelRuntime, places: Places | None = None) -> None:
        self._runtime = runtime
        self._store = runtime.store
        self.places = places or Places(runtime.store)

    def get(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """Records of the given photo ids (unknown ids are left out)."""
        return self._store.photos.get(ids)

    def ids(
        self,
        *,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        album: str | None = None,
        tag: str | None = None,
        min_rating: int | None = None,
        place: str | None = None,
        months: Collection[int] = (),
        has_text: bool = False,
    ) -> list[int]:
        """Every photo (inside ``folder``, taken in [after, before) and in ``months`` of any
        year, in ``album``, carrying ``tag``, rated at least ``min_rating`` stars, taken at
        ``place``, holding text read in it), newest first. A tag counts when accepted, or
        suggested above its threshold under the library's model (which loads for it); a place is
        a name or a path of names (see :mod:`photosense.library.places`)."""
        ids = self._store.photos.ids(
            folder=self._known_folder(folder) if folder is not None else None,
            after=after,
            before=before,
            album_id=find_album(self._store, album).id if album is not None else None,
            min_rating=min_rating,
            months=months,
        )
        if place is not None:
            at_place = self.places.photo_ids(place)
            ids = [photo_id for photo_id in ids if photo_id in at_place]
        if has_text:
            with_text = self._store.texts.photo_ids()
            ids = [photo_id for photo_id in ids if photo_id in with_text]
        if tag is None:
            return ids
        with self._runtime.lock:  # the tagger scores under the library's model
            tagged = self._runtime.tagger.photos_with(tag)
        return [photo_id for photo_id in ids if photo_id in tagged]

    def taken_dates(self, ids: Sequence[int]) -> dict[int, datetime]:
        """When each photo was taken, by id, as its metadata says; photos with no date in
        their metadata (ordered by their file's date) are left out."""
        return self._store.photos.taken_dates(ids)

    def _known_folder(self, folder: str | os.PathLike[str]) -> str:
        """``folder`` normalised; ``FolderNotFoundError`` unless it is, or is inside, one of
        the library's folders (a filter on anything else would silently match nothing)."""
        root = normalise_root(folder)
        for known in self._store.folders.all():
            if root == known.path or root.startswith(known.path.rstrip(os.sep) + os.sep):
                return root
        raise FolderNotFoundError(str(folder))

    def resolve(self, photo: PhotoRef) -> PhotoRecord:
        """The record of a photo given by id or path; ``PhotoNotFoundError`` when unknown."""
        if isinstance(photo, int):
            record = self._store.photos.get([photo]).get(photo)
            if record is None:
                raise PhotoNotFoundError(str(photo))
            return record
        record = self._store.photos.by_path(normalise_root(photo))
        if record is None:
            raise PhotoNotFoundError(str(photo), exists=os.path.exists(photo))
        return record

    def resolve_ids(self, photos: Sequence[PhotoRef]) -> list[int]:
        """Ids of photos given by id or path, in order; ``PhotoNotFoundError`` (naming the first
        unknown one) when any is not in the library."""
        by_path = self._store.photos.ids_for_paths(
            normalise_root(p) for p in photos if not isinstance(p, int)
        )
        known = self._store.photos.get([p for p in photos if isinstance(p, int)])
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
            first = unknown[0]
            raise PhotoNotFoundError(first, exists=os.path.exists(first), more=len(unknown) - 1)
        return ids

    def thumbnails(self) -> ThumbnailCache:
        """The thumbnail cache kept inside the library folder."""
        return ThumbnailCache.for_library(self._runtime.path)
