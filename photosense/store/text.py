"""Text read in photos: each photo's lines with their boxes, and a full-text index over them.

The index (``photo_text_fts``, SQLite FTS5) stems English words (Porter) and ignores accents
and case (unicode61 with diacritics removed); it mirrors ``photo_text`` through triggers, so
a photo's text and its index entry change, and go, together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session

from photosense.store.analyses import mark_analysed
from photosense.store.base import Part, chunks
from photosense.store.records import AnalysisMark, TextLine, TextMatch
from photosense.store.schema import Analysis, Photo, PhotoText

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = """a an and are as at be by for from has have in is it its of on or photo photos
    picture says say saying show shows that the this to was were which with written writing"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""Words a description carries that are not the text in the photo ("the sign that says…")."""


def fold(value: str) -> str:
    """``value`` lower-cased with its accents removed, as the full-text index compares words."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(value: str) -> list[str]:
    """The words of ``value`` as the index sees them (folded), in order."""
    return _TOKEN.findall(fold(value))


def _line(row: Mapping[str, object]) -> TextLine:
    return TextLine(
        str(row["text"]),
        float(cast(float, row["confidence"])),
        float(cast(float, row["x"])),
        float(cast(float, row["y"])),
        float(cast(float, row["w"])),
        float(cast(float, row["h"])),
    )


def write_text(
    session: Session,
    found: Mapping[int, Sequence[TextLine]],
    limited: Mapping[int, str | None] | None = None,
) -> None:
    """In ``session``: replace the text of the photos of ``found`` with its lines (a photo with
    no lines loses its row), noting where reading stopped early (``limited``). The caller has
    checked that the photos still exist."""
    ids = list(found)
    for part in chunks(ids):
        session.execute(delete(PhotoText).where(PhotoText.photo_id.in_(part)))
    now = datetime.now()
    for photo_id, lines in found.items():
        if lines:
            session.add(
                PhotoText(
                    photo_id=photo_id,
                    text="\n".join(line.text for line in lines),
                    lines=[
                        {
                            "text": line.text,
                            "confidence": round(line.confidence, 4),
                            "x": round(line.x, 5),
                            "y": round(line.y, 5),
                            "w": round(line.w, 5),
                            "h": round(line.h, 5),
                        }
                        for line in lines
                    ],
                    limited=(limited or {}).get(photo_id),
                    read_at=now,
                )
            )


class Texts(Part):
    """The text read in photos, and word search over it."""

    def lines(self, photo_id: int) -> list[TextLine]:
        """The lines read in a photo, top to bottom (none when it has no text, or was not read)."""
        with self._session() as session:
            row = session.get(PhotoText, photo_id)
            return [] if row is None else [_line(line) for line in row.lines]

    def texts(self, photo_ids: Sequence[int]) -> dict[int, str]:
        """Photo id -> all its text (lines joined by newlines), for the photos that have some."""
        found: dict[int, str] = {}
        with self._session() as session:
            for part in chunks(list(photo_ids)):
                query = select(PhotoText.photo_id, PhotoText.text).where(
                    PhotoText.photo_id.in_(part)
                )
                found.update({i: t for i, t in session.execute(query)})
        return found

    def photo_ids(self) -> set[int]:
        """The photos in which some text was read."""
        with self._session() as session:
            return set(session.scalars(select(PhotoText.photo_id)))

    def count(self) -> tuple[int, int]:
        """(photos with text, lines of text in all of them)."""
        with self._session() as session:
            row = session.execute(
                text("SELECT count(*), coalesce(sum(json_array_length(lines)), 0) FROM photo_text")
            ).one()
            return int(row[0]), int(row[1])

    def record(self, found: Mapping[int, Sequence[TextLine]]) -> None:
        """Replace the text of these photos (one transaction); tests and imports use it, the
        text analysis writes through :func:`write_text` with its marks."""
        with self._session() as session:
            write_text(session, found)

    def read_state(self, kind: str, photo_id: int) -> tuple[bool, str | None]:
        """Whether the photo's present file was analysed by ``kind``, and why that failed."""
        query = (
            select(Analysis.failure)
            .join(Photo, Photo.id == Analysis.photo_id)
            .where(
                Analysis.photo_id == photo_id,
                Analysis.kind == kind,
                Analysis.fingerprint == Photo.content_hash,
            )
        )
        with self._session() as session:
            row = session.execute(query).first()
        return (False, None) if row is None else (True, row[0])

    def limited(self, photo_id: int) -> str | None:
        """Why reading the photo stopped before the end ("lines", "time"), or None."""
        with self._session() as session:
            row = session.get(PhotoText, photo_id)
            return None if row is None else row.limited

    def save_analysed(
        self,
        kind: str,
        version: str,
        marks: Mapping[int, AnalysisMark],
        readings: Mapping[int, tuple[Sequence[TextLine], str | None]],
    ) -> None:
        """One transaction: mark the photos analysed and replace their text with what was
        read (a photo that failed loses its old text: its file changed since); photos removed
        meanwhile are left out."""
        with self._session() as session:
            alive = mark_analysed(session, kind, version, marks)
            kept = {i: r for i, r in readings.items() if i in alive}
            write_text(
                session, {i: r[0] for i, r in kept.items()}, {i: r[1] for i, r in kept.items()}
            )

    def search(self, terms: Sequence[str], phrases: Sequence[str], limit: int) -> list[TextMatch]:
        """Photos whose text holds every one of ``phrases`` (its words in order, stems allowed:
        the caller checks exact words) or, with no phrases, any of ``terms`` (stemmed: "parking"
        finds "PARK"), best first (FTS5's bm25), at most ``limit``."""
        clauses = [_quoted(t) for t in terms if words(t)]
        required = [_quoted(p) for p in phrases if words(p)]
        expression = " AND ".join(required) if required else " OR ".join(clauses)
        if not expression:
            return []
        query = text(
            "SELECT photo_text.photo_id, photo_text.text, bm25(photo_text_fts) AS rank "
            "FROM photo_text_fts JOIN photo_text ON photo_text.photo_id = photo_text_fts.rowid "
            "WHERE photo_text_fts MATCH :expression ORDER BY rank LIMIT :limit"
        )
        with self._session() as session:
            rows = session.execute(query, {"expression": expression, "limit": limit}).all()
        return [TextMatch(int(r[0]), str(r[1]), -float(r[2])) for r in rows]

    def holding(self, terms: Sequence[str], photo_ids: Sequence[int]) -> dict[int, set[str]]:
        """Of ``photo_ids``, which of ``terms`` (stemmed, as :meth:`search` matches them) each
        photo's text holds; photos holding none are left out."""
        held: dict[int, set[str]] = {}
        if not photo_ids:
            return held
        with self._session() as session:
            for term in terms:
                if not words(term):
                    continue
                for part in chunks(list(photo_ids)):
                    rows = session.execute(_HOLDING, {"term": _quoted(term), "ids": part})
                    for (photo_id,) in rows:
                        held.setdefault(int(photo_id), set()).add(term)
        return held


_HOLDING = text(
    "SELECT rowid FROM photo_text_fts WHERE photo_text_fts MATCH :term AND rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))


def _quoted(value: str) -> str:
    """``value`` as an FTS5 string (a phrase of its words), so no word is read as an operator."""
    return '"' + " ".join(words(value)) + '"'
