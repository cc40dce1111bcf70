"""Albums: named, ordered sets of photos (``photosense albums``)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

from photosense.errors import AlbumNotFoundError, PhotosenseError
from photosense.store.records import AlbumInfo
from photosense.store.repository import Store

if TYPE_CHECKING:
    from photosense.library.photos import PhotoRef, Photos


def album_name(name: str) -> str:
    """``name`` with its whitespace tidied; an empty name is refused."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise PhotosenseError("an album needs a name")
    return cleaned


def find_album(store: Store, name: str) -> AlbumInfo:
    """The album called ``name`` (ignoring case when that is unambiguous), or
    ``AlbumNotFoundError``."""
    album = store.albums.named(" ".join(name.split()))
    if album is None:
        raise AlbumNotFoundError(name)
    return album


class Albums:
    """Make, rename and fill albums; their photos stay in the library when they go."""

    def __init__(self, store: Store, photos: Photos) -> None:
        self._store = store
        self._photos = photos

    def list(self) -> builtins.list[AlbumInfo]:
        """Every album with its photo count, by name."""
        return self._store.albums.all()

    def get(self, name: str) -> AlbumInfo:
        """The album called ``name`` (see :func:`find_album`)."""
        return find_album(self._store, name)

    def create(self, name: str, description: str | None = None) -> AlbumInfo:
        """A new, empty album; an empty name, or one taken (ignoring case), is refused."""
        text = " ".join((description or "").split()) or None
        return self._store.albums.create(album_name(name), text)

    def rename(self, old: str, new: str) -> AlbumInfo:
        """Rename an album (changing only the case of its name is allowed)."""
        return self._store.albums.update(self.get(old).id, name=album_name(new))

    def delete(self, name: str) -> int:
        """Delete an album; its photos stay in the library. Returns how many it held."""
        return self._store.albums.delete(self.get(name).id)

    def add(self, name: str, photos: Sequence[PhotoRef]) -> int:
        """Append photos (ids or paths) to an album in the given order; returns how many were
        new to it. When any photo is not in the library, nothing is added."""
        album = self.get(name)
        return self._store.albums.add_photos(album.id, self._photos.resolve_ids(photos))

    def remove(self, name: str, photos: Sequence[PhotoRef]) -> int:
        """Take photos out of an album (they stay in the library); returns how many were in
        it."""
        album = self.get(name)
        return self._store.albums.remove_photos(album.id, self._photos.resolve_ids(photos))

    def photo_ids(self, name: str) -> builtins.list[int]:
        """An album's photos, in album order."""
        return self._store.albums.photo_ids(self.get(name).id)

    def of_photo(self, photo: PhotoRef) -> builtins.list[str]:
        """The names of the albums a photo is in."""
        return self._store.albums.of_photo(self._photos.resolve(photo).id)
