"""Which photos each analysis (faces, text) has seen, in which content and version.

An analysis's own rows (faces, lines of text) live in its own part; this part only records that
a photo was analysed, so a run picks up exactly the photos that are new, changed (their content
hash moved on) or analysed by an older version, and a stopped run carries on where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, select
from sqlalchemy.orm import Session

from photosense.store.base import Part, chunks, upsert
from photosense.store.records import AnalysisCounts, AnalysisMark, PhotoToAnalyse
from photosense.store.schema import Analysis, Folder, Photo


def mark_analysed(
    session: Session, kind: str, version: str, marks: Mapping[int, AnalysisMark]
) -> set[int]:
    """Record in ``session`` that the photos of ``marks`` were analysed; returns the ids marked.

    Called by an analysis's own part in the transaction that writes its rows, so rows and mark
    commit together. Photos removed meanwhile are left out (their ids are not returned): write
    rows only for the ids returned.
    """
    now = datetime.now()
    alive = alive_photos(session, list(marks))
    rows = [
        {
            "photo_id": i,
            "kind": kind,
            "version": version,
            "fingerprint": mark.fingerprint,
            "found": mark.found,
            "failure": mark.failure,
            "analysed_at": now,
        }
        for i, mark in marks.items()
        if i in alive
    ]
    for part in chunks(rows):
        upsert(session, Analysis, (Analysis.photo_id, Analysis.kind), part, _MARK_COLUMNS)  # type: ignore[arg-type]
    return alive


_MARK_COLUMNS = ("version", "fingerprint", "found", "failure", "analysed_at")


def alive_photos(session: Session, ids: list[int]) -> set[int]:
    """The ids of ``ids`` whose photos are still in the library."""
    found: set[int] = set()
    for part in chunks(ids):
        found.update(session.scalars(select(Photo.id).where(Photo.id.in_(part))))
    return found


def _current(kind: str, version: str) -> ColumnElement[bool]:
    """SQL condition: the analysis row is of ``kind`` in ``version`` for the photo's content."""
    return and_(
        Analysis.kind == kind,
        Analysis.version == version,
        Analysis.fingerprint == Photo.content_hash,
    )


class Analyses(Part):
    """Which photos each analysis has seen (the ``analyses`` table)."""

    def pending(self, kind: str, version: str) -> list[PhotoToAnalyse]:
        """Photos on online folders that ``kind`` has not analysed in their present content with
        ``version``, oldest first (the order they were added)."""
        seen = (
            select(Analysis.photo_id)
            .where(Analysis.photo_id == Photo.id, _current(kind, version))
            .exists()
        )
        query = (
            select(Photo.id, Photo.path, Photo.content_hash)
            .join(Folder, Folder.id == Photo.folder_id)
            .where(Folder.online, ~seen)
            .order_by(Photo.id)
        )
        with self._session() as session:
            return [PhotoToAnalyse(i, p, h) for i, p, h in session.execute(query)]

    def counts(self, kind: str, version: str) -> AnalysisCounts:
        """How far ``kind`` got over the library in ``version``."""
        query = (
            select(
                func.count(Analysis.photo_id),
                func.count(Analysis.failure),
                func.count(Analysis.photo_id).filter(Analysis.found > 0),
            )
            .join(Photo, Photo.id == Analysis.photo_id)
            .where(_current(kind, version))
        )
        with self._session() as session:
            analysed, failed, found = session.execute(query).one()
            total = session.scalar(select(func.count(Photo.id))) or 0
        return AnalysisCounts(analysed, total - analysed, failed, found)

    def forget(self, kind: str) -> int:
        """Drop every mark of ``kind``: every photo is analysed again. Returns how many."""
        with self._session() as session:
            result = session.execute(delete(Analysis).where(Analysis.kind == kind))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def failures(self, kind: str) -> dict[int, str]:
        """Photo id -> why ``kind`` could not analyse it (current content only)."""
        query = (
            select(Analysis.photo_id, Analysis.failure)
            .join(Photo, Photo.id == Analysis.photo_id)
            .where(
                Analysis.kind == kind,
                Analysis.failure.is_not(None),
                Analysis.fingerprint == Photo.content_hash,
            )
        )
        with self._session() as session:
            return {i: str(f) for i, f in session.execute(query)}

    def record(self, kind: str, version: str, marks: Mapping[int, AnalysisMark]) -> set[int]:
        """Mark photos analysed with nothing else to write (failures, or an analysis without
        rows of its own); one transaction. Returns the ids marked."""
        with self._session() as session:
            return mark_analysed(session, kind, version, marks)
