"""The store: every read and write of the library database goes through :class:`Store`.

Methods take and return plain frozen records, never live ORM objects, so callers on other
threads (the GUI, the indexing pipeline) never share a session. Each write method is one
transaction: a crash loses at most the batch in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Engine, Table, delete, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from photosense.errors import LibraryError, ModelMismatchError, PhotosenseError
from photosense.paths import DATABASE_NAME
from photosense.store.db import create_library_engine, migrate
from photosense.store.schema import (
    Album,
    AlbumPhoto,
    Caption,
    CaptionRead,
    Embedding,
    Folder,
    Model,
    Photo,
    PhotoTag,
    PhotoTagging,
    Setting,
    Skipped,
    Tag,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderRecord:
    id: int
    path: str
    online: bool
    last_scan_at: datetime | None


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int
    content_hash: str
    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime
    taken_at_exif: bool
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class PhotoState:
    """What a rescan compares against: enough to tell unchanged from changed files."""

    id: int
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class SkippedRecord:
    path: str
    kind: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class PhotoFields:
    """Everything known about a file once it has been read: identity plus metadata."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    width: int | None = None
    height: int | None = None
    format: str | None = None
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Move:
    """A known photo found under a new path (same content): it keeps its id and vectors."""

    photo_id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int


@dataclass
class Batch:
    """One transaction's worth of indexing results for one model."""

    folder_id: int
    new: list[tuple[PhotoFields, npt.NDArray[np.float32]]] = field(default_factory=list)
    changed: list[tuple[int, PhotoFields, npt.NDArray[np.float32]]] = field(default_factory=list)
    embedded: list[tuple[int, npt.NDArray[np.float32]]] = field(default_factory=list)
    touched: list[tuple[int, int, int]] = field(default_factory=list)  # id, size, mtime_ns
    moves: list[Move] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)

    def __len__(self) -> int:
        parts: tuple[list[Any], ...] = (
            self.new,
            self.changed,
            self.embedded,
            self.touched,
            self.moves,
            self.removed,
            self.skipped,
        )
        return sum(len(part) for part in parts)


@dataclass(frozen=True)
class BatchResult:
    """Ids whose vectors changed (to add to the index) and ids removed, after the commit."""

    upserted: list[tuple[int, npt.NDArray[np.float32]]]
    removed: list[int]
    generation: int


def encode_vector(vector: npt.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def decode_vector(blob: bytes, dtype: str, dim: int) -> npt.NDArray[np.float32]:
    array = np.frombuffer(blob, dtype="<f2" if dtype == "f2" else "<f4")
    if array.shape[0] != dim:
        raise ModelMismatchError(f"stored vector has {array.shape[0]} values, expected {dim}")
    return array.astype(np.float32)


def _fields_to_columns(fields: PhotoFields) -> dict[str, object]:
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
    )


def _under(
    column: ColumnElement[str] | InstrumentedAttribute[str], folder: str
) -> ColumnElement[bool]:
    """SQL condition: ``column`` is a path inside ``folder`` (any depth)."""
    prefix = folder.rstrip("/\\") + "/"
    return func.substr(column, 1, len(prefix)) == prefix


class Store:
    """The library database. Open with :meth:`open` (a folder) or :meth:`in_memory` (tests)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, library_dir: Path) -> Store:
        try:
            library_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # private to the user
        except OSError as exc:
            raise LibraryError(
                f"the library folder {library_dir} cannot be created ({exc.strerror}); "
                "give a folder you can write to"
            ) from exc
        return cls(create_library_engine(library_dir / DATABASE_NAME))

    @classmethod
    def in_memory(cls) -> Store:
        return cls(create_library_engine(":memory:"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # -- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str, default: object = None) -> object:
        with self._session() as session:
            row = session.get(Setting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: object) -> None:
        with self._session() as session:
            # An upsert, not read-then-write: another process may create the key at once.
            _upsert(session, Setting, Setting.key, [{"key": key, "value": value}], ["value"])

    # -- folders ----------------------------------------------------------------------------

    def folders(self) -> list[FolderRecord]:
        with self._session() as session:
            rows = session.scalars(select(Folder).order_by(Folder.path))
            return [FolderRecord(f.id, f.path, f.online, f.last_scan_at) for f in rows]

    def add_folder(self, path: str) -> FolderRecord:
        """Register ``path`` (idempotent). Folders already registered inside it are merged in."""
        with self._session() as session:
            folder = session.scalar(select(Folder).where(Folder.path == path))
            if folder is None:
                folder = Folder(path=path, added_at=datetime.now(), online=True)
                session.add(folder)
                session.flush()
                inner = session.scalars(select(Folder.id).where(_under(Folder.path, path))).all()
                if inner:
                    for table in (Photo, Skipped):
                        session.execute(
                            update(table)
                            .where(table.folder_id.in_(inner))
                            .values(folder_id=folder.id)
                        )
                    session.execute(delete(Folder).where(Folder.id.in_(inner)))
            return FolderRecord(folder.id, folder.path, folder.online, folder.last_scan_at)

    def remove_folder(self, path: str) -> list[int]:
        """Forget a folder and everything indexed under it; returns the photo ids removed."""
        with self._session() as session:
            folder = session.scalar(select(Folder).where(Folder.path == path))
            if folder is None:
                return []
            ids = session.scalars(select(Photo.id).where(Photo.folder_id == folder.id)).all()
            self._bump_all_models(session)
            session.delete(folder)
            return list(ids)

    def mark_folder(self, folder_id: int, *, online: bool, scanned: bool = False) -> None:
        values: dict[str, object] = {"online": online}
        if scanned:
            values["last_scan_at"] = datetime.now()
        with self._session() as session:
            session.execute(update(Folder).where(Folder.id == folder_id).values(**values))

    # -- scanning state ---------------------------------------------------------------------

    def photo_states(self, folder_id: int) -> dict[str, PhotoState]:
        with self._session() as session:
            rows = session.execute(
                select(Photo.path, Photo.id, Photo.size, Photo.mtime_ns, Photo.content_hash).where(
                    Photo.folder_id == folder_id
                )
            )
            return {row[0]: PhotoState(row[1], row[2], row[3], row[4]) for row in rows}

    def skipped_states(self, folder_id: int) -> dict[str, SkippedRecord]:
        with self._session() as session:
            rows = session.scalars(select(Skipped).where(Skipped.folder_id == folder_id))
            return {
                s.path: SkippedRecord(s.path, s.kind, s.reason, s.size, s.mtime_ns) for s in rows
            }

    def forget_skipped(self, paths: Collection[str]) -> None:
        with self._session() as session:
            for chunk in _chunks(list(paths)):
                session.execute(delete(Skipped).where(Skipped.path.in_(chunk)))

    def ids_missing_vectors(self, folder_id: int, model_id: str) -> list[tuple[int, str]]:
        """Photos of a folder with no vector under ``model_id`` yet (id, path)."""
        has_vector = (
            select(Embedding.photo_id)
            .where(Embedding.model_id == model_id)
            .where(Embedding.photo_id == Photo.id)
            .exists()
        )
        with self._session() as session:
            rows = session.execute(
                select(Photo.id, Photo.path).where(Photo.folder_id == folder_id).where(~has_vector)
            )
            return [(r[0], r[1]) for r in rows]

    def hashes_with_vectors(self, model_id: str) -> dict[str, int]:
        """Content hash -> a photo id that has a vector under ``model_id`` (copies reuse it)."""
        with self._session() as session:
            rows = session.execute(
                select(Photo.content_hash, Photo.id)
                .join(Embedding, Embedding.photo_id == Photo.id)
                .where(Embedding.model_id == model_id)
            )
            return {h: pid for h, pid in rows}

    # -- models -----------------------------------------------------------------------------

    def ensure_model(self, model_id: str, dim: int, base_id: str | None = None) -> None:
        with self._session() as session:
            model = session.get(Model, model_id)
            if model is None:
                # Insert-or-ignore: another process may register the same model at once.
                session.execute(
                    sqlite_insert(Model)
                    .values(
                        id=model_id,
                        dim=dim,
                        base_id=base_id,
                        created_at=datetime.now(),
                        generation=0,
                    )
                    .on_conflict_do_nothing(index_elements=[Model.id])
                )
                model = session.get(Model, model_id)
            if model is not None and model.dim != dim:
                raise ModelMismatchError(
                    f"model {model_id} made {model.dim}-d vectors in this library, "
                    f"but the loaded model makes {dim}-d vectors"
                )

    def model_generation(self, model_id: str) -> int:
        with self._session() as session:
            model = session.get(Model, model_id)
            return -1 if model is None else model.generation

    def model_dim(self, model_id: str) -> int | None:
        with self._session() as session:
            model = session.get(Model, model_id)
            return None if model is None else model.dim

    def model_counts(self) -> list[tuple[str, int, int, int]]:
        """(model id, dim, generation, vectors) for every model with a row."""
        with self._session() as session:
            counts = dict(
                session.execute(
                    select(Embedding.model_id, func.count()).group_by(Embedding.model_id)
                ).all()
            )
            models = session.scalars(select(Model).order_by(Model.id))
            return [(m.id, m.dim, m.generation, int(counts.get(m.id, 0))) for m in models]

    def load_vectors(self, model_id: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """All stored vectors of one model, checked against its recorded dimension."""
        dim = self.model_dim(model_id)
        if dim is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        with self._session() as session:
            rows = session.execute(
                select(Embedding.photo_id, Embedding.vector, Embedding.dtype, Embedding.dim)
                .where(Embedding.model_id == model_id)
                .order_by(Embedding.photo_id)
            ).all()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.empty((len(rows), dim), dtype=np.float32)
        for i, (_, blob, dtype, row_dim) in enumerate(rows):
            if row_dim != dim:
                raise ModelMismatchError(
                    f"a stored vector of {model_id} has {row_dim} values, expected {dim}"
                )
            vectors[i] = decode_vector(blob, dtype, dim)
        return ids, vectors

    def delete_model(self, model_id: str) -> int:
        """Forget a model: its row and every vector it made here; returns the vectors removed."""
        with self._session() as session:
            removed = session.scalar(
                select(func.count()).select_from(Embedding).where(Embedding.model_id == model_id)
            )
            session.execute(delete(Embedding).where(Embedding.model_id == model_id))
            session.execute(delete(Model).where(Model.id == model_id))
            return int(removed or 0)

    def _bump_all_models(self, session: Session) -> None:
        session.execute(update(Model).values(generation=Model.generation + 1))

    # -- writing indexing results -----------------------------------------------------------

    def commit_batch(self, model_id: str, batch: Batch) -> BatchResult:
        """Write one batch in one transaction and bump the model's generation."""
        upserted: list[tuple[int, npt.NDArray[np.float32]]] = []
        removed = list(batch.removed)
        with self._session() as session:
            model = session.get(Model, model_id)
            if model is None:
                raise ModelMismatchError(f"model {model_id} is not registered in this library")
            now = datetime.now()
            for fields, vector in batch.new:
                photo = Photo(
                    folder_id=batch.folder_id, indexed_at=now, **_fields_to_columns(fields)
                )
                session.add(photo)
                session.flush()
                self._put_vector(session, photo.id, model_id, model.dim, vector)
                upserted.append((photo.id, vector))
            for photo_id, fields, vector in batch.changed:
                session.execute(
                    update(Photo)
                    .where(Photo.id == photo_id)
                    .values(indexed_at=now, **_fields_to_columns(fields))
                )
                # New content: vectors of every other model are stale now.
                session.execute(
                    delete(Embedding)
                    .where(Embedding.photo_id == photo_id)
                    .where(Embedding.model_id != model_id)
                )
                self._put_vector(session, photo_id, model_id, model.dim, vector)
                upserted.append((photo_id, vector))
            for photo_id, vector in batch.embedded:
                self._put_vector(session, photo_id, model_id, model.dim, vector)
                upserted.append((photo_id, vector))
            for photo_id, size, mtime_ns in batch.touched:
                session.execute(
                    update(Photo).where(Photo.id == photo_id).values(size=size, mtime_ns=mtime_ns)
                )
            for move in batch.moves:
                session.execute(
                    update(Photo)
                    .where(Photo.id == move.photo_id)
                    .values(
                        path=move.path,
                        folder_id=move.folder_id,
                        size=move.size,
                        mtime_ns=move.mtime_ns,
                    )
                )
            for chunk in _chunks(removed):
                session.execute(delete(Photo).where(Photo.id.in_(chunk)))
            for skipped in batch.skipped:
                session.execute(delete(Skipped).where(Skipped.path == skipped.path))
                session.add(
                    Skipped(
                        folder_id=batch.folder_id,
                        path=skipped.path,
                        size=skipped.size,
                        mtime_ns=skipped.mtime_ns,
                        kind=skipped.kind,
                        reason=skipped.reason,
                        at=now,
                    )
                )
            if removed or batch.changed:
                self._bump_all_models(session)
            elif upserted:
                model.generation += 1
            session.flush()
            generation = session.get(Model, model_id).generation  # type: ignore[union-attr]
        return BatchResult(upserted, removed, generation)

    @staticmethod
    def _put_vector(
        session: Session, photo_id: int, model_id: str, dim: int, vector: npt.NDArray[np.float32]
    ) -> None:
        if vector.shape != (dim,):
            raise ModelMismatchError(
                f"vector of shape {vector.shape} for model {model_id}, expected ({dim},)"
            )
        session.merge(
            Embedding(
                photo_id=photo_id,
                model_id=model_id,
                dim=dim,
                dtype="f4",
                vector=encode_vector(vector),
            )
        )

    # -- queries ----------------------------------------------------------------------------

    def photos(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        found: dict[int, PhotoRecord] = {}
        with self._session() as session:
            for chunk in _chunks(list(ids)):
                for photo in session.scalars(select(Photo).where(Photo.id.in_(chunk))):
                    found[photo.id] = _record(photo)
        return found

    def photo_by_path(self, path: str) -> PhotoRecord | None:
        with self._session() as session:
            photo = session.scalar(select(Photo).where(Photo.path == path))
            return None if photo is None else _record(photo)

    def photo_ids(
        self,
        *,
        folder: str | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        album_id: int | None = None,
    ) -> list[int]:
        """Ids of photos inside ``folder``, taken in [after, before) and in the album,
        newest first."""
        query = select(Photo.id).order_by(Photo.taken_at.desc(), Photo.id.desc())
        if folder is not None:
            query = query.where(_under(Photo.path, folder))
        if album_id is not None:
            query = query.where(_in_album(Photo.id, album_id))
        if after is not None:
            query = query.where(Photo.taken_at >= after)
        if before is not None:
            query = query.where(Photo.taken_at < before)
        with self._session() as session:
            return list(session.scalars(query))

    def counts(self) -> tuple[int, int]:
        """(photos, skipped files) in the whole library."""
        with self._session() as session:
            photos = session.scalar(select(func.count()).select_from(Photo)) or 0
            skipped = session.scalar(select(func.count()).select_from(Skipped)) or 0
        return int(photos), int(skipped)

    def photo_counts_by_folder(self) -> dict[int, int]:
        with self._session() as session:
            rows = session.execute(select(Photo.folder_id, func.count()).group_by(Photo.folder_id))
            return {int(k): int(v) for k, v in rows.all()}

    def skipped(self, folder_ids: Iterable[int] | None = None) -> list[SkippedRecord]:
        query = select(Skipped).order_by(Skipped.path)
        if folder_ids is not None:
            query = query.where(Skipped.folder_id.in_(list(folder_ids)))
        with self._session() as session:
            return [
                SkippedRecord(s.path, s.kind, s.reason, s.size, s.mtime_ns)
                for s in session.scalars(query)
            ]

    # -- tags -------------------------------------------------------------------------------

    def tags(self, *, enabled_only: bool = False) -> list[TagRecord]:
        """Every tag of the vocabulary (or only those suggested automatically), by name."""
        query = select(Tag).order_by(Tag.name)
        if enabled_only:
            query = query.where(Tag.enabled.is_(True))
        with self._session() as session:
            return [_tag_record(tag) for tag in session.scalars(query)]

    def tag_named(self, name: str) -> TagRecord | None:
        """The tag called ``name``: an exact match, else the one whose name differs only in case."""
        with self._session() as session:
            tag = session.scalar(select(Tag).where(Tag.name == name))
            if tag is None:
                folded = name.casefold()
                matches = [t for t in session.scalars(select(Tag)) if t.name.casefold() == folded]
                tag = matches[0] if len(matches) == 1 else None
            return None if tag is None else _tag_record(tag)

    def add_tags(
        self,
        entries: Iterable[tuple[str, Sequence[str] | None]],
        *,
        origin: str,
        enabled: bool = True,
    ) -> dict[str, int]:
        """Create the tags whose names (ignoring case) are new; returns name -> id for all."""
        ids: dict[str, int] = {}
        with self._session() as session:
            known = {t.name.casefold(): t.id for t in session.scalars(select(Tag))}
            for name, prompts in entries:
                tag_id = known.get(name.casefold())
                if tag_id is None:
                    # Another process (a second indexing run) may be adding the same tags.
                    tag_id = session.scalar(
                        sqlite_insert(Tag)
                        .values(
                            name=name,
                            prompts=list(prompts) if prompts else None,
                            threshold_offset=0.0,
                            enabled=enabled,
                            origin=origin,
                        )
                        .on_conflict_do_nothing(index_elements=[Tag.name])
                        .returning(Tag.id)
                    )
                    if tag_id is None:
                        tag_id = session.scalars(select(Tag.id).where(Tag.name == name)).one()
                    known[name.casefold()] = tag_id
                ids[name] = tag_id
        return ids

    def update_tag(
        self,
        tag_id: int,
        *,
        name: str | None = None,
        prompts: Sequence[str] | None = None,
        clear_prompts: bool = False,
        enabled: bool | None = None,
    ) -> TagRecord:
        """Rename a tag, set or clear its own prompts, or switch its suggestions on or off."""
        with self._session() as session:
            tag = session.get(Tag, tag_id)
            if tag is None:
                raise PhotosenseError(f"tag {tag_id} does not exist")
            if name is not None:
                tag.name = name
            if prompts is not None or clear_prompts:
                tag.prompts = list(prompts) if prompts else None
            if enabled is not None:
                tag.enabled = enabled
            session.flush()
            return _tag_record(tag)

    def remove_tag(self, tag_id: int) -> None:
        """Delete a tag and every photo's row for it."""
        with self._session() as session:
            session.execute(delete(Tag).where(Tag.id == tag_id))

    def shift_tag_offset(self, tag_id: int, delta: float, low: float, high: float) -> float:
        """Add ``delta`` to a tag's threshold offset, kept within [low, high]; returns it."""
        with self._session() as session:
            tag = session.get(Tag, tag_id)
            if tag is None:
                raise PhotosenseError(f"tag {tag_id} does not exist")
            tag.threshold_offset = min(high, max(low, tag.threshold_offset + delta))
            return tag.threshold_offset

    def photo_tags(self, photo_ids: Sequence[int]) -> list[PhotoTagRecord]:
        """Every tag row of the given photos (suggested, accepted and rejected), by photo."""
        found: list[PhotoTagRecord] = []
        with self._session() as session:
            for chunk in _chunks(list(photo_ids)):
                rows = session.execute(
                    select(PhotoTag, Tag.name)
                    .join(Tag, Tag.id == PhotoTag.tag_id)
                    .where(PhotoTag.photo_id.in_(chunk))
                )
                found.extend(_photo_tag_record(row, name) for row, name in rows)
        found.sort(key=lambda r: (r.photo_id, -(r.score or 0.0), r.tag))
        return found

    def put_photo_tag(
        self,
        photo_id: int,
        tag_id: int,
        *,
        state: str,
        source: str,
        score: float | None = None,
        model_id: str | None = None,
    ) -> PhotoTagRecord | None:
        """Set a photo's tag to ``state``; a new row gets ``source``, an existing one keeps its
        own. Returns the row as it was before (None if there was none)."""
        with self._session() as session:
            row = session.scalar(
                select(PhotoTag).where(PhotoTag.photo_id == photo_id, PhotoTag.tag_id == tag_id)
            )
            name = session.scalar(select(Tag.name).where(Tag.id == tag_id)) or ""
            before = None if row is None else _photo_tag_record(row, name)
            if row is None:
                row = PhotoTag(photo_id=photo_id, tag_id=tag_id, source=source)
                session.add(row)
            row.state = state
            if score is not None or row.score is None:
                row.score, row.model_id = score, model_id
            return before

    def replace_suggestions(
        self,
        model_id: str,
        state_key: str,
        photo_ids: Sequence[int],
        suggestions: Iterable[tuple[int, int, float]],
    ) -> int:
        """Swap the auto suggestions of ``photo_ids`` for (photo, tag, score) ``suggestions``.

        Rows the user decided (accepted, rejected, user or imported tags) are kept and never
        duplicated: a rejected tag does not come back. The photos are marked as tagged under
        ``state_key``. Returns how many suggestions were written.
        """
        ids = list(photo_ids)
        by_photo: dict[int, list[tuple[int, float]]] = {}
        for photo_id, tag_id, score in suggestions:
            by_photo.setdefault(photo_id, []).append((tag_id, score))
        written = 0
        now = datetime.now()
        with self._session() as session:
            for part in _chunks(ids):
                chunk = cast(list[int], part)
                session.execute(
                    delete(PhotoTag).where(
                        PhotoTag.photo_id.in_(chunk),
                        PhotoTag.source == "auto",
                        PhotoTag.state == "suggested",
                    )
                )
                pairs = select(PhotoTag.photo_id, PhotoTag.tag_id).where(
                    PhotoTag.photo_id.in_(chunk)
                )
                kept = {(photo_id, tag_id) for photo_id, tag_id in session.execute(pairs)}
                rows = [
                    {
                        "photo_id": photo_id,
                        "tag_id": tag_id,
                        "source": "auto",
                        "state": "suggested",
                        "score": float(score),
                        "model_id": model_id,
                    }
                    for photo_id in chunk
                    for tag_id, score in by_photo.get(photo_id, [])
                    if (photo_id, tag_id) not in kept
                ]
                if rows:
                    # Core insert of plain rows: the ORM's bulk path costs ~2x more here.
                    session.execute(insert(cast(Table, PhotoTag.__table__)), rows)
                written += len(rows)
                marks = [
                    {
                        "photo_id": p,
                        "model_id": model_id,
                        "state_key": state_key,
                        "tagged_at": now,
                        "keywords_read": False,
                    }
                    for p in chunk
                ]
                _upsert(
                    session,
                    PhotoTagging,
                    PhotoTagging.photo_id,
                    marks,
                    ["model_id", "state_key", "tagged_at"],
                )
        return written

    def photos_to_tag(self, model_id: str, state_key: str) -> list[int]:
        """Photos with a vector under ``model_id`` not yet tagged under ``state_key``."""
        current = (
            select(PhotoTagging.photo_id)
            .where(PhotoTagging.photo_id == Embedding.photo_id)
            .where(PhotoTagging.state_key == state_key)
            .exists()
        )
        with self._session() as session:
            query = (
                select(Embedding.photo_id)
                .where(Embedding.model_id == model_id)
                .where(~current)
                .order_by(Embedding.photo_id)
            )
            return list(session.scalars(query))

    def photos_keywords_unread(self) -> list[tuple[int, str]]:
        """(id, path) of photos whose files' keywords were not read yet."""
        read = (
            select(PhotoTagging.photo_id)
            .where(PhotoTagging.photo_id == Photo.id)
            .where(PhotoTagging.keywords_read.is_(True))
            .exists()
        )
        query = select(Photo.id, Photo.path).where(~read).order_by(Photo.id)
        with self._session() as session:
            return [(r[0], r[1]) for r in session.execute(query)]

    def import_keywords(self, keywords: Mapping[int, Sequence[str]]) -> int:
        """Record keywords read from photos' files as imported, accepted tags.

        Unknown keywords become tags of origin ``imported`` that are not suggested elsewhere;
        a row the user already decided is kept as it is (a tag they rejected stays rejected);
        an auto suggestion becomes imported. Every photo in ``keywords`` is marked as read.
        Returns how many photo tags were added or upgraded.
        """
        names = {name for words in keywords.values() for name in words}
        ids = self.add_tags(((n, None) for n in sorted(names)), origin="imported", enabled=False)
        changed = 0
        with self._session() as session:
            for part in _chunks(list(keywords)):
                chunk = cast(list[int], part)
                rows = session.scalars(select(PhotoTag).where(PhotoTag.photo_id.in_(chunk)))
                existing = {(row.photo_id, row.tag_id): row for row in rows}
                for photo_id in chunk:
                    for tag_id in dict.fromkeys(ids[w] for w in keywords[photo_id]):
                        row = existing.get((photo_id, tag_id))
                        if row is None:
                            session.add(
                                PhotoTag(
                                    photo_id=photo_id,
                                    tag_id=tag_id,
                                    source="imported",
                                    state="accepted",
                                )
                            )
                        elif row.source == "auto" and row.state == "suggested":
                            row.source, row.state = "imported", "accepted"
                        else:
                            continue
                        changed += 1
            for part in _chunks(list(keywords)):
                done = [{"photo_id": p, "keywords_read": True} for p in part]
                _upsert(session, PhotoTagging, PhotoTagging.photo_id, done, ["keywords_read"])
        return changed

    def photos_with_tag(self, tag_id: int, *, model_id: str, min_score: float) -> set[int]:
        """Photos that carry a tag: accepted, or suggested by ``model_id`` with a score of at
        least ``min_score``. A rejected tag never counts."""
        accepted = PhotoTag.state == "accepted"
        suggested = (
            (PhotoTag.state == "suggested")
            & (PhotoTag.model_id == model_id)
            & (PhotoTag.score >= min_score)
        )
        with self._session() as session:
            query = select(PhotoTag.photo_id).where(PhotoTag.tag_id == tag_id)
            return set(session.scalars(query.where(accepted | suggested)))

    def tag_counts(self) -> dict[int, dict[str, int]]:
        """Per tag id: how many photos have it in each state."""
        counts: dict[int, dict[str, int]] = {}
        with self._session() as session:
            rows = session.execute(
                select(PhotoTag.tag_id, PhotoTag.state, func.count()).group_by(
                    PhotoTag.tag_id, PhotoTag.state
                )
            )
            for tag_id, state, count in rows:
                counts.setdefault(tag_id, {})[state] = int(count)
        return counts

    # -- albums -----------------------------------------------------------------------------

    def albums(self) -> list[AlbumInfo]:
        """Every album with its photo count, by name (ignoring case)."""
        with self._session() as session:
            infos = [_album_info(a, n) for a, n in session.execute(_ALBUMS_WITH_COUNTS)]
        return sorted(infos, key=lambda a: (a.name.casefold(), a.name))

    def album_named(self, name: str) -> AlbumInfo | None:
        """The album called ``name``: an exact match, else the one whose name differs only in
        case."""
        with self._session() as session:
            album = _find_album(session, name)
            return None if album is None else _album_info(album, _album_count(session, album.id))

    def create_album(self, name: str, description: str | None = None) -> AlbumInfo:
        """A new, empty album; a name already taken (ignoring case) is refused."""
        with self._session() as session:
            _check_album_name_free(session, name, None)
            album = Album(name=name, description=description, created_at=datetime.now())
            session.add(album)
            session.flush()
            return _album_info(album, 0)

    def update_album(
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

    def delete_album(self, album_id: int) -> int:
        """Delete an album (its photos stay in the library); returns how many it held."""
        with self._session() as session:
            album = _get_album(session, album_id)
            count = _album_count(session, album_id)
            session.delete(album)
            return count

    def add_to_album(self, album_id: int, photo_ids: Sequence[int]) -> int:
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

    def remove_from_album(self, album_id: int, photo_ids: Sequence[int]) -> int:
        """Take photos out of an album; returns how many were in it."""
        removed = 0
        with self._session() as session:
            _get_album(session, album_id)
            for chunk in _chunks(list(dict.fromkeys(photo_ids))):
                result = session.execute(
                    delete(AlbumPhoto).where(
                        AlbumPhoto.album_id == album_id, AlbumPhoto.photo_id.in_(chunk)
                    )
                )
                removed += int(cast(Any, result).rowcount or 0)
        return removed

    def album_photo_ids(self, album_id: int) -> list[int]:
        """An album's photos in album order."""
        query = (
            select(AlbumPhoto.photo_id)
            .where(AlbumPhoto.album_id == album_id)
            .order_by(AlbumPhoto.position, AlbumPhoto.photo_id)
        )
        with self._session() as session:
            return list(session.scalars(query))

    def photo_albums(self, photo_id: int) -> list[str]:
        """The names of the albums a photo is in, by name."""
        query = (
            select(Album.name)
            .join(AlbumPhoto, AlbumPhoto.album_id == Album.id)
            .where(AlbumPhoto.photo_id == photo_id)
        )
        with self._session() as session:
            names = list(session.scalars(query))
        return sorted(names, key=lambda n: (n.casefold(), n))

    # -- captions ---------------------------------------------------------------------------

    def photo_ids_for_paths(self, paths: Iterable[str]) -> dict[str, int]:
        """Path -> photo id for the given paths that are in the library."""
        found: dict[str, int] = {}
        with self._session() as session:
            for chunk in _chunks(list(dict.fromkeys(paths))):
                rows = session.execute(select(Photo.path, Photo.id).where(Photo.path.in_(chunk)))
                found.update({path: photo_id for path, photo_id in rows})
        return found

    def captions(
        self, photo_ids: Sequence[int] | None = None, *, album_id: int | None = None
    ) -> dict[int, CaptionInfo]:
        """Captions by photo id: of the given photos, of an album's photos, or all of them."""
        query = select(Caption)
        if album_id is not None:
            query = query.where(_in_album(Caption.photo_id, album_id))
        found: dict[int, CaptionInfo] = {}
        with self._session() as session:
            if photo_ids is None:
                found = {c.photo_id: _caption_info(c) for c in session.scalars(query)}
            for chunk in _chunks(list(photo_ids or ())):
                rows = session.scalars(query.where(Caption.photo_id.in_(chunk)))
                found.update({c.photo_id: _caption_info(c) for c in rows})
        return found

    def set_caption(self, photo_id: int, text: str, source: str) -> CaptionInfo:
        """Write a photo's caption (replacing any other)."""
        with self._session() as session:
            caption = session.merge(
                Caption(photo_id=photo_id, text=text, source=source, updated_at=datetime.now())
            )
            session.flush()
            return _caption_info(caption)

    def remove_caption(self, photo_id: int) -> bool:
        """Delete a photo's caption; returns whether it had one."""
        with self._session() as session:
            result = session.execute(delete(Caption).where(Caption.photo_id == photo_id))
            return bool(cast(Any, result).rowcount)

    def import_captions(
        self, captions: Mapping[int, str], *, source: str, overwrite: bool = False
    ) -> tuple[int, int, int]:
        """Write many captions in one transaction: a caption the user wrote is kept unless
        ``overwrite``. Returns (captions added, captions changed, user captions kept)."""
        added = changed = kept = 0
        now = datetime.now()
        with self._session() as session:
            for part in _chunks(list(captions)):
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
                    elif row.source == USER_CAPTION and not overwrite:
                        kept += 1
                    elif (row.text, row.source) != (text, source):
                        row.text, row.source, row.updated_at = text, source, now
                        changed += 1
        return added, changed, kept

    def caption_read_states(self) -> list[tuple[int, str, int, int, str | None]]:
        """(id, path, size, mtime_ns, fingerprint when its captions were last read or None)
        of every photo in an online folder, by path."""
        query = (
            select(Photo.id, Photo.path, Photo.size, Photo.mtime_ns, CaptionRead.fingerprint)
            .join(Folder, Folder.id == Photo.folder_id)
            .outerjoin(CaptionRead, CaptionRead.photo_id == Photo.id)
            .where(Folder.online.is_(True))
            .order_by(Photo.path)
        )
        with self._session() as session:
            return [(r[0], r[1], r[2], r[3], r[4]) for r in session.execute(query)]

    def record_file_captions(
        self, found: Mapping[int, tuple[str, str] | None], fingerprints: Mapping[int, str]
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
            for part in _chunks(list(fingerprints)):
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
                    _upsert(
                        session,
                        CaptionRead,
                        CaptionRead.photo_id,
                        marks,
                        ["fingerprint", "read_at"],
                    )
        return changed


def _upsert(
    session: Session,
    entity: type[Any],
    key: Any,
    rows: Sequence[Mapping[str, object]],
    update: Sequence[str],
) -> None:
    """Insert ``rows``, or update their ``update`` columns where ``key`` exists already: one
    statement, not read-then-write, so another process creating the same row cannot clash."""
    statement = sqlite_insert(entity)
    excluded = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[key], set_={name: excluded[name] for name in update}
        ),
        list(rows),
    )


def _chunks(items: Sequence[object], size: int = 500) -> Iterator[list[object]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


# -- tag records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagRecord:
    """A tag of the vocabulary (see :class:`photosense.store.schema.Tag`)."""

    id: int
    name: str
    prompts: tuple[str, ...] | None
    threshold_offset: float
    enabled: bool
    origin: str


@dataclass(frozen=True)
class PhotoTagRecord:
    """One tag on one photo: source auto/user/imported, state suggested/accepted/rejected."""

    photo_id: int
    tag_id: int
    tag: str
    source: str
    state: str
    score: float | None
    model_id: str | None


def _tag_record(tag: Tag) -> TagRecord:
    prompts = tuple(tag.prompts) if tag.prompts else None
    return TagRecord(tag.id, tag.name, prompts, tag.threshold_offset, tag.enabled, tag.origin)


def _photo_tag_record(row: PhotoTag, name: str) -> PhotoTagRecord:
    return PhotoTagRecord(
        row.photo_id, row.tag_id, name, row.source, row.state, row.score, row.model_id
    )


# -- album and caption records ----------------------------------------------------------------

USER_CAPTION = "user"
"""A caption's source when the user wrote it; nothing automatic ever replaces it."""
FILE_CAPTION_SOURCES = frozenset({"file", "sidecar"})
"""Sources of captions read from the photos' files, which follow the files when they change."""


class AlbumNotFoundError(PhotosenseError):
    """An album name (or id) that is not in the library."""


@dataclass(frozen=True)
class AlbumInfo:
    """An album: its name, description, how many photos it holds, and when it was made."""

    id: int
    name: str
    description: str | None
    count: int
    created_at: datetime


@dataclass(frozen=True)
class CaptionInfo:
    """A photo's caption; ``source`` is user, file, sidecar or csv."""

    text: str
    source: str
    updated_at: datetime


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


def _find_album(session: Session, name: str) -> Album | None:
    album = session.scalar(select(Album).where(Album.name == name))
    if album is None:
        folded = name.casefold()
        matches = [a for a in session.scalars(select(Album)) if a.name.casefold() == folded]
        album = matches[0] if len(matches) == 1 else None
    return album


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


def _in_album(
    column: ColumnElement[int] | InstrumentedAttribute[int], album_id: int
) -> ColumnElement[bool]:
    """SQL condition: the photo id in ``column`` is in the album."""
    return (
        select(AlbumPhoto.photo_id)
        .where(AlbumPhoto.album_id == album_id, AlbumPhoto.photo_id == column)
        .exists()
    )


def _caption_info(caption: Caption) -> CaptionInfo:
    return CaptionInfo(caption.text, caption.source, caption.updated_at)
