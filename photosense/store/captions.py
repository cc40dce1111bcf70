"""Captions: written by the user, read from the photos' files and sidecars, or imported from
a CSV; and, per photo, the state of its files when their captions were last read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select

from photosense.enums import FILE_CAPTION_SOURCES, CaptionSource
from photosense.store.base import Part, chunks, in_album, upsert
from photosense.store.records import CaptionInfo
from photosense.store.schema import Caption, CaptionRead, Folder, Photo


def _caption_info(caption: Caption) -> CaptionInfo:
    return CaptionInfo(caption.text, CaptionSource(caption.source), caption.updated_at)


class Captions(Part):
    """Photos' captions: a caption the user wrote is never replaced by anything automatic."""

    def get(
        self, photo_ids: Sequence[int] | None = None, *, album_id: int | None = None
    ) -> dict[int, CaptionInfo]:
        """Captions by photo id: of the given photos, of an album's photos, or all of them."""
        query = select(Caption)
        if album_id is not None:
            query = query.where(in_album(Caption.photo_id, album_id))
        found: dict[int, CaptionInfo] = {}
        with self._session() as session:
            if photo_ids is None:
                found = {c.photo_id: _caption_info(c) for c in session.scalars(query)}
            for chunk in chunks(list(photo_ids or ())):
                rows = session.scalars(query.where(Caption.photo_id.in_(chunk)))
                found.update({c.photo_id: _caption_info(c) for c in rows})
        return found

    def set(self, photo_id: int, text: str, source: CaptionSource) -> CaptionInfo:
        """Write a photo's caption (replacing any other)."""
        with self._session() as session:
            caption = session.merge(
                Caption(photo_id=photo_id, text=text, source=source, updated_at=datetime.now())
            )
            session.flush()
            return _caption_info(caption)

    def remove(self, photo_id: int) -> bool:
        """Delete a photo's caption; returns whether it had one."""
        with self._session() as session:
            result = session.execute(delete(Caption).where(Caption.photo_id == photo_id))
            return bool(cast(Any, result).rowcount)

    def import_many(
        self, captions: Mapping[int, str], *, source: CaptionSource, overwrite: bool = False
    ) -> tuple[int, int, int]:
        """Write many captions in one transaction: a caption the user wrote is kept unless
        ``overwrite``. Returns (captions added, captions changed, user captions kept)."""
        added = changed = kept = 0
        now = datetime.now()
        with self._session() as session:
            for part in chunks(list(captions)):
                chunk = cast(list[int], part)
                rows = session.scalars(select(Caption).where(Caption.photo_id.in_(chunk)))
                existing = {row.photo_id: row for row in rows}
                for photo_id in chunk:
                    text, row = captions[photo_id], existing.get(photo_id)
                    if row is None:
                        session.add(
                            Caption(photo_id=photo_id, text=text, source=source, updated_at=now)
                        )
                        added += 1
                    elif row.source == CaptionSource.USER and not overwrite:
                        kept += 1
                    elif (row.text, row.source) != (text, source):
                        row.text, row.source, row.updated_at = text, source, now
                        changed += 1
        return added, changed, kept

    def read_states(self) -> list[tuple[int, str, int, int, str | None]]:
        """(id, path, size, mtime_ns, fingerprint when its captions were last read or None)
        of every photo in an online folder, in no particular order (ordering a million rows by
        path walks the path index, one random read a row)."""
        query = (
            select(Photo.id, Photo.path, Photo.size, Photo.mtime_ns, CaptionRead.fingerprint)
            .join(Folder, Folder.id == Photo.folder_id)
            .outerjoin(CaptionRead, CaptionRead.photo_id == Photo.id)
            .where(Folder.online.is_(True))
        )
        with self._session() as session:
            return [(r[0], r[1], r[2], r[3], r[4]) for r in session.execute(query)]

    def record_from_files(
        self, found: Mapping[int, tuple[str, CaptionSource] | None], fingerprints: Mapping[int, str]
    ) -> int:
        """Store captions read from photos' files, as (text, source) or None for none.

        Only captions that came from files themselves are replaced or removed: a caption the
        user wrote or imported from a CSV is never touched. Every photo of ``fingerprints``
        is marked as read in that state. Returns how many captions were added, changed or
        removed.
        """
        changed = 0
        now = datetime.now()
        with self._session() as session:
            for part in chunks(list(fingerprints)):
                chunk = cast(list[int], part)
                alive = set(session.scalars(select(Photo.id).where(Photo.id.in_(chunk))))
                rows = session.scalars(select(Caption).where(Caption.photo_id.in_(chunk)))
                existing = {row.photo_id: row for row in rows}
                for photo_id in (p for p in chunk if p in alive):
                    new, row = found.get(photo_id), existing.get(photo_id)
                    if row is not None and row.source not in FILE_CAPTION_SOURCES:
                        continue
                    if new is None:
                        if row is not None:
                            session.delete(row)
                            changed += 1
                    elif row is None:
                        session.add(
                            Caption(photo_id=photo_id, text=new[0], source=new[1], updated_at=now)
                        )
                        changed += 1
                    elif (row.text, row.source) != new:
                        row.text, row.source, row.updated_at = new[0], new[1], now
                        changed += 1
                marks = [
                    {"photo_id": p, "fingerprint": fingerprints[p], "read_at": now}
                    for p in chunk
                    if p in alive
                ]
                if marks:
                    upsert(
                        session,
                        CaptionRead,
                        CaptionRead.photo_id,
                        marks,
                        ["fingerprint", "read_at"],
                    )
        return changed
