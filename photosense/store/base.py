"""What every part of the store shares: one transaction per call, and a few SQL helpers.

Each part (folders, photos, vectors…) is a small class over the store's one session factory;
each of its write methods is one transaction, so a crash loses at most the call in flight.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from photosense.store.schema import Album, AlbumPhoto, Model, Tag

_Named = TypeVar("_Named", Album, Tag)


class Part:
    """One kind of data of the store, over the session factory all parts share."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session


def upsert(
    session: Session,
    entity: type[Any],
    key: Any,
    rows: Sequence[Mapping[str, object]],
    update: Sequence[str],
) -> None:
    """Insert ``rows``, or update their ``update`` columns where ``key`` (a column, or a tuple
    of columns) exists already: one statement, not read-then-write, so another process creating
    the same row cannot clash."""
    statement = sqlite_insert(entity)
    excluded = statement.excluded
    keys = list(key) if isinstance(key, tuple) else [key]
    session.execute(
        statement.on_conflict_do_update(
            index_elements=keys, set_={name: excluded[name] for name in update}
        ),
        list(rows),
    )


def chunks(items: Sequence[object], size: int = 500) -> Iterator[list[object]]:
    """``items`` in slices small enough for one ``IN (...)`` clause."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def bump_all_models(session: Session) -> None:
    """Photos went away: every model's loaded vector index is out of date."""
    session.execute(update(Model).values(generation=Model.generation + 1))


def under(
    column: ColumnElement[str] | InstrumentedAttribute[str], folder: str
) -> ColumnElement[bool]:
    """SQL condition: ``column`` is a path inside ``folder`` (any depth)."""
    prefix = folder.rstrip("/\\") + "/"
    return func.substr(column, 1, len(prefix)) == prefix


def in_album(
    column: ColumnElement[int] | InstrumentedAttribute[int], album_id: int
) -> ColumnElement[bool]:
    """SQL condition: the photo id in ``column`` is in the album."""
    return (
        select(AlbumPhoto.photo_id)
        .where(AlbumPhoto.album_id == album_id, AlbumPhoto.photo_id == column)
        .exists()
    )


def find_named(session: Session, entity: type[_Named], name: str) -> _Named | None:
    """The row called ``name``: an exact match, else the one whose name differs only in case
    (None when there is none, or several)."""
    row = session.scalar(select(entity).where(entity.name == name))
    if row is None:
        folded = name.casefold()
        matches = [r for r in session.scalars(select(entity)) if r.name.casefold() == folded]
        row = matches[0] if len(matches) == 1 else None
    return row
