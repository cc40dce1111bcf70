"""Albums: named, ordered sets of photos; deleting an album keeps its photos."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from photosense.errors import AlbumNotFoundError, PhotosenseError
from photosense.store.base import Part, chunks, find_named
from photosense.store.records import AlbumInfo
from photosense.store.schema import Album, AlbumPhoto

_ALBUMS_WITH_COUNTS = (
    select(Album, func.count(AlbumPhoto.photo_id))
    .outerjoin(AlbumPhoto, AlbumPhoto.album_id == Album.id)
    .group_by(Album.id)
)


def _album_info(album: Album, count: int) -> AlbumInfo:
    return AlbumInfo(album.id, album.name, album.description, int(count), album.created_at)


def _album_count(session: Session, album_id: int) -> int:
    query = select(func.count()).select_from(AlbumPhoto).where(AlbumPhoto.album_id == album_id)
    return int(session.scalar(query) or 0)


def _get_album(session: Session, album_id: int) -> Album:
    album = session.get(Album, album_id)
    if album is None:
        raise AlbumNotFoundError(f"album {album_id} does not exist")
    return album


def _check_album_name_free(session: Session, name: str, album_id: int | None) -> None:
    folded = name.casefold()
    for other in session.scalars(select(Album)):
        if other.id != album_id and other.name.casefold() == folded:
            raise PhotosenseError(f"an album named {other.name!r} already exists")


class Albums(Part):
    """Albums and the photos in them, in album order."""

    def all(self) -> list[AlbumInfo]:
        """Every album with its photo count, by name (ignoring case)."""
        with self._session() as session:
            infos = [_album_info(a, n) for a, n in session.execute(_ALBUMS_WITH_COUNTS)]
        return sorted(infos, key=lambda a: (a.name.casefold(), a.name))

    def named(self, name: str) -> AlbumInfo | None:
        """The album called ``name``: an exact match, else the one whose name differs only in
        case."""
        with self._session() as session:
            album = find_named(session, Album, name)
            return None if album is None else _album_info(album, _album_count(session, album.id))

    def create(self, name: str, description: str | None = None) -> AlbumInfo:
        """A new, empty album; a name already taken (ignoring case) is refused."""
        with self._session() as session:
            _check_album_name_free(session, name, None)
            album = Album(name=name, description=description, created_at=datetime.now())
            session.add(album)
            session.flush()
            return _album_info(album, 0)

    def update(
        self, album_id: int, *, name: str | None = None, description: str | None = None
    ) -> AlbumInfo:
        """Rename an album or change its description (a name taken by another is refused)."""
        with self._session() as session:
            album = _get_album(session, album_id)
            if name is not None:
                _check_album_name_free(session, name, album_id)
                album.name = name
            if description is not None:
                album.description = description or None
            session.flush()
            return _album_info(album, _album_count(session, album_id))

    def delete(self, album_id: int) -> int:
        """Delete an album (its photos stay in the library); returns how many it held."""
        with self._session() as session:
            album = _get_album(session, album_id)
            count = _album_count(session, album_id)
            session.delete(album)
            return count

    def add_photos(self, album_id: int, photo_ids: Sequence[int]) -> int:
        """Append photos to an album in the given order (those already in it stay where they
        are); returns how many were added."""
        with self._session() as session:
            _get_album(session, album_id)
            present = set(
                session.scalars(select(AlbumPhoto.photo_id).where(AlbumPhoto.album_id == album_id))
            )
            last = session.scalar(
                select(func.max(AlbumPhoto.position)).where(AlbumPhoto.album_id == album_id)
            )
            new = [p for p in dict.fromkeys(photo_ids) if p not in present]
            start = -1 if last is None else int(last)
            rows = [
                {"album_id": album_id, "photo_id": photo_id, "position": start + 1 + i}
                for i, photo_id in enumerate(new)
            ]
            if rows:
                session.execute(insert(cast(Table, AlbumPhoto.__table__)), rows)
            return len(rows)

    def remove_photos(self, album_id: int, photo_ids: Sequence[int]) -> int:
        """Take photos out of an album; returns how many were in it."""
        removed = 0
        with self._session() as session:
            _get_album(session, album_id)
            for chunk in chunks(list(dict.fromkeys(photo_ids))):
                result = session.execute(
                    delete(AlbumPhoto).where(
                        AlbumPhoto.album_id == album_id, AlbumPhoto.photo_id.in_(chunk)
                    )
                )
                removed += int(cast(Any, result).rowcount or 0)
        return removed

    def photo_ids(self, album_id: int) -> list[int]:
        """An album's photos in album order."""
        query = (
            select(AlbumPhoto.photo_id)
            .where(AlbumPhoto.album_id == album_id)
            .order_by(AlbumPhoto.position, AlbumPhoto.photo_id)
        )
        with self._session() as session:
            return list(session.scalars(query))

    def of_photo(self, photo_id: int) -> list[str]:
        """The names of the albums a photo is in, by name."""
        query = (
            select(Album.name)
            .join(AlbumPhoto, AlbumPhoto.album_id == Album.id)
            .where(AlbumPhoto.photo_id == photo_id)
        )
        with self._session() as session:
            names = list(session.scalars(query))
        return sorted(names, key=lambda n: (n.casefold(), n))
