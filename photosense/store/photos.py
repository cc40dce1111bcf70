"""Photos (one row per image file) and the files that could not be used (skipped)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import Integer, delete, func, select

from photosense.store.base import Part, bump_all_models, chunks, in_album, under
from photosense.store.records import PhotoFields, PhotoRecord, PhotoState, SkippedRecord
from photosense.store.schema import Photo, Skipped

WHOLE_TABLE_ABOVE = 5000
"""Past this many ids one scan of the table beats thousands of ``IN (...)`` queries."""


def photo_columns(fields: PhotoFields) -> dict[str, object]:
    """A photo row's columns from what was read of its file; a photo with no date taken
    in its metadata is dated by its file's modification time."""
    taken = fields.taken_at
    return {
        "path": fields.path,
        "size": fields.size,
        "mtime_ns": fields.mtime_ns,
        "content_hash": fields.content_hash,
        "width": fields.width,
        "height": fields.height,
        "format": fields.format,
        "taken_at": taken or datetime.fromtimestamp(fields.mtime_ns / 1e9),
        "taken_at_exif": taken is not None,
        "camera_make": fields.camera_make,
        "camera_model": fields.camera_model,
        "latitude": fields.latitude,
        "longitude": fields.longitude,
    }


def _record(photo: Photo) -> PhotoRecord:
    return PhotoRecord(
        id=photo.id,
        path=photo.path,
        folder_id=photo.folder_id,
        size=photo.size,
        mtime_ns=photo.mtime_ns,
        content_hash=photo.content_hash,
        width=photo.width,
        height=photo.height,
        format=photo.format,
        taken_at=photo.taken_at,
        taken_at_exif=photo.taken_at_exif,
        camera_make=photo.camera_make,
        camera_model=photo.camera_model,
        latitude=photo.latitude,
        longitude=photo.longitude,
        rating=photo.rating,
        rotation=photo.rotation,
    )


def _skipped_record(row: Skipped) -> SkippedRecord:
    return SkippedRecord(row.path, row.kind, row.reason, row.size, row.mtime_ns)


class Photos(Part):
    """Reading photos and skipped files; they are written by ``Vectors.commit_batch``, as
    they are found (a photo's vector may come in a later batch)."""

    def get(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        """The photos with the given ids (ids not in the library are left out)."""
        found: dict[int, PhotoRecord] = {}
        with self._session() as session:
            for chunk in chunks(list(ids)):
                for photo in session.scalars(select(Photo).where(Photo.id.in_(chunk))):
                    found[photo.id] = _record(photo)
        return found

    def by_path(self, path: str) -> PhotoRecord | None:
        """The photo at ``path``, if it is in the library."""
        with self._session() as session:
            photo = session.scalar(select(Photo).where(Photo.path == path))
            return None if photo is None else _record(photo)

    def ids(
        self,
        *,
        folder: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        album_id: int | None = None,
        min_rating: int | None = None,
        months: Collection[int] = (),
    ) -> list[int]:
        """Ids of photos inside ``folder``, taken in [after, before) (and in one of ``months``
        of any year, when given), in the album and rated at least ``min_rating`` stars, newest
        first."""
        query = select(Photo.id).order_by(Photo.taken_at.desc(), Photo.id.desc())
        if folder is not None:
            query = query.where(under(Photo.path, folder))
        if album_id is not None:
            query = query.where(in_album(Photo.id, album_id))
        if after is not None:
            query = query.where(Photo.taken_at >= after)
        if before is not None:
            query = query.where(Photo.taken_at < before)
        if min_rating is not None:
            query = query.where(Photo.rating >= min_rating)
        if months:
            month = func.cast(func.strftime("%m", Photo.taken_at), Integer)
            query = query.where(month.in_(sorted(set(months))))
        with self._session() as session:
            return list(session.scalars(query))

    def taken_dates(self, ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these photos was taken, by id, as its metadata says; a photo dated by
        its file (no date in its metadata) is left out. Many ids read the table once."""
        query = select(Photo.id, Photo.taken_at).where(Photo.taken_at_exif.is_(True))
        found: dict[int, datetime] = {}
        with self._session() as session:
            if len(ids) > WHOLE_TABLE_ABOVE:
                wanted = set(ids)
                found.update((i, t) for i, t in session.execute(query) if i in wanted)
            else:
                for chunk in chunks(list(ids)):
                    rows = session.execute(query.where(Photo.id.in_(chunk)))
                    found.update((i, t) for i, t in rows)
        return found

    def ids_for_paths(self, paths: Iterable[str]) -> dict[str, int]:
        """Path -> photo id for the given paths that are in the library."""
        found: dict[str, int] = {}
        with self._session() as session:
            for chunk in chunks(list(dict.fromkeys(paths))):
                rows = session.execute(select(Photo.path, Photo.id).where(Photo.path.in_(chunk)))
                found.update({path: photo_id for path, photo_id in rows})
        return found

    def counts(self) -> tuple[int, int]:
        """(photos, skipped files) in the whole library."""
        with self._session() as session:
            photos = session.scalar(select(func.count()).select_from(Photo)) or 0
            skipped = session.scalar(select(func.count()).select_from(Skipped)) or 0
        return int(photos), int(skipped)

    def counts_by_folder(self) -> dict[int, int]:
        """Folder id -> how many photos it holds (folders with none are left out)."""
        with self._session() as session:
            rows = session.execute(select(Photo.folder_id, func.count()).group_by(Photo.folder_id))
            return {int(k): int(v) for k, v in rows.all()}

    def states(self, folder_id: int) -> dict[str, PhotoState]:
        """Path -> what a rescan of the folder compares each file against."""
        with self._session() as session:
            rows = session.execute(
                select(Photo.path, Photo.id, Photo.size, Photo.mtime_ns, Photo.content_hash).where(
                    Photo.folder_id == folder_id
                )
            )
            return {row[0]: PhotoState(row[1], row[2], row[3], row[4]) for row in rows}

    def skipped(self, folder_ids: Iterable[int] | None = None) -> list[SkippedRecord]:
        """Files that could not be used, with why (of the given folders, or all), by path."""
        query = select(Skipped).order_by(Skipped.path)
        if folder_ids is not None:
            query = query.where(Skipped.folder_id.in_(list(folder_ids)))
        with self._session() as session:
            return [_skipped_record(s) for s in session.scalars(query)]

    def skipped_states(self, folder_id: int) -> dict[str, SkippedRecord]:
        """Path -> the folder's skipped files, so a rescan tries only those that changed."""
        with self._session() as session:
            rows = session.scalars(select(Skipped).where(Skipped.folder_id == folder_id))
            return {s.path: _skipped_record(s) for s in rows}

    def forget_skipped(self, paths: Collection[str]) -> None:
        """Drop the skipped rows of ``paths`` (files that were fixed or went away)."""
        with self._session() as session:
            for chunk in chunks(list(paths)):
                session.execute(delete(Skipped).where(Skipped.path.in_(chunk)))

    def forget(self, photo_ids: Collection[int]) -> list[int]:
        """Drop these photos from the library (their files were moved away, e.g. to the
        trash); returns the ids that were there. Every model's vector index is now stale."""
        gone: list[int] = []
        with self._session() as session:
            for chunk in chunks(list(dict.fromkeys(photo_ids))):
                found = list(session.scalars(select(Photo.id).where(Photo.id.in_(chunk))))
                session.execute(delete(Photo).where(Photo.id.in_(found)))
                gone += found
            if gone:
                bump_all_models(session)
        return gone
