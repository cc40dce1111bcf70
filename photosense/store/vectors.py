"""Models and the vectors they made: one row per (photo, model), checked against the model's
dimension, and a generation per model that tells loaded indexes they are out of date.

Each vector row records the generation that wrote it (``changed``), so an index built at
generation g catches up by reading only the rows changed since g (:meth:`Vectors.changes`) and
dropping the ids the store no longer has, instead of being rebuilt. Vectors are stored as
float16 (half the bytes of float32; cosines move by ~1e-4, recall is measured in
docs/scale.md); float32 rows written before stay readable.

``commit_batch`` writes an indexing batch's photos and vectors in one transaction. Photos are
written as soon as they are found, most without a vector: :meth:`Vectors.missing` names them,
and a later batch adds their vectors.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Exists

from photosense.errors import ModelMismatchError
from photosense.store.base import Part, bump_all_models, chunks
from photosense.store.photos import photo_columns
from photosense.store.records import Batch, BatchResult
from photosense.store.schema import Embedding, Model, Photo, Skipped

STORED_DTYPE = "f2"
"""How new vectors are stored: little-endian float16."""


def encode_vector(vector: npt.NDArray[np.float32]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f2").tobytes()


def decode_vector(blob: bytes, dtype: str, dim: int) -> npt.NDArray[np.float32]:
    array = np.frombuffer(blob, dtype="<f2" if dtype == "f2" else "<f4")
    if array.shape[0] != dim:
        raise ModelMismatchError(f"stored vector has {array.shape[0]} values, expected {dim}")
    return array.astype(np.float32)


def _put_vector(
    session: Session,
    photo_id: int,
    model: Model,
    vector: npt.NDArray[np.float32],
    changed: int,
) -> None:
    model_id, dim = model.id, model.dim
    if vector.shape != (dim,):
        raise ModelMismatchError(
            f"vector of shape {vector.shape} for model {model_id}, expected ({dim},)"
        )
    session.merge(
        Embedding(
            photo_id=photo_id,
            model_id=model_id,
            dim=dim,
            dtype=STORED_DTYPE,
            vector=encode_vector(vector),
            changed=changed,
        )
    )


class Vectors(Part):
    """The models registered in this library and their stored vectors."""

    def ensure_model(self, model_id: str, dim: int, base_id: str | None = None) -> None:
        """Register a model (idempotent); a model already here with another dimension is a
        ``ModelMismatchError``."""
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

    def generation(self, model_id: str) -> int:
        """How many times the model's vectors changed (-1: not registered here)."""
        with self._session() as session:
            model = session.get(Model, model_id)
            return -1 if model is None else model.generation

    def dim(self, model_id: str) -> int | None:
        """The dimension the model's vectors have here (None: not registered here)."""
        with self._session() as session:
            model = session.get(Model, model_id)
            return None if model is None else model.dim

    def models(self) -> list[tuple[str, int, int, int]]:
        """(model id, dim, generation, vectors) for every model with a row."""
        with self._session() as session:
            counts = dict(
                session.execute(
                    select(Embedding.model_id, func.count()).group_by(Embedding.model_id)
                ).all()
            )
            models = session.scalars(select(Model).order_by(Model.id))
            return [(m.id, m.dim, m.generation, int(counts.get(m.id, 0))) for m in models]

    def load(self, model_id: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """All stored vectors of one model, checked against its recorded dimension."""
        return self.changes(model_id, since=None)

    def changes(
        self, model_id: str, since: int | None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """The vectors of one model written after generation ``since`` (all with None), by id."""
        dim = self.dim(model_id)
        if dim is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        query = select(Embedding.photo_id, Embedding.vector, Embedding.dtype, Embedding.dim).where(
            Embedding.model_id == model_id
        )
        if since is not None:
            query = query.where(Embedding.changed > since)
        with self._session() as session:
            rows = session.execute(query.order_by(Embedding.photo_id)).all()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        vectors = np.empty((len(rows), dim), dtype=np.float32)
        for i, (_, blob, dtype, row_dim) in enumerate(rows):
            if row_dim != dim:
                raise ModelMismatchError(
                    f"a stored vector of {model_id} has {row_dim} values, expected {dim}"
                )
            vectors[i] = decode_vector(blob, dtype, dim)
        return ids, vectors

    def ids(self, model_id: str) -> npt.NDArray[np.int64]:
        """The ids of the photos that have a vector under ``model_id``, sorted."""
        with self._session() as session:
            rows = session.scalars(
                select(Embedding.photo_id)
                .where(Embedding.model_id == model_id)
                .order_by(Embedding.photo_id)
            )
            return np.fromiter(rows, np.int64)

    def delete_model(self, model_id: str) -> int:
        """Forget a model: its row and every vector it made here; returns the vectors removed."""
        with self._session() as session:
            removed = session.scalar(
                select(func.count()).select_from(Embedding).where(Embedding.model_id == model_id)
            )
            session.execute(delete(Embedding).where(Embedding.model_id == model_id))
            session.execute(delete(Model).where(Model.id == model_id))
            return int(removed or 0)

    def commit_batch(self, model_id: str | None, batch: Batch) -> BatchResult:
        """Write one batch in one transaction and bump the model's generation.

        ``model_id`` may be None for a batch that carries no vector (photos just found).
        """
        upserted: list[tuple[int, npt.NDArray[np.float32]]] = []
        removed = list(batch.removed)
        with self._session() as session:
            model = None if model_id is None else session.get(Model, model_id)
            if model is None and (model_id is not None or _has_vectors(batch)):
                raise ModelMismatchError(f"model {model_id} is not registered in this library")
            written = -1 if model is None else model.generation + 1  # the generation after this

            def put(photo_id: int, vector: npt.NDArray[np.float32]) -> None:
                assert model is not None  # checked above: a batch with vectors has a model
                _put_vector(session, photo_id, model, vector, written)
                upserted.append((photo_id, vector))

            now = datetime.now()
            for fields, vector in batch.new:
                photo = Photo(folder_id=batch.folder_id, indexed_at=now, **photo_columns(fields))
                session.add(photo)
                session.flush()
                if vector is not None:
                    put(photo.id, vector)
            for photo_id, fields, vector in batch.changed:
                session.execute(
                    update(Photo)
                    .where(Photo.id == photo_id)
                    .values(indexed_at=now, **photo_columns(fields))
                )
                # New content: vectors of every other model (of every model, without one) are
                # stale now.
                stale = delete(Embedding).where(Embedding.photo_id == photo_id)
                if vector is not None:
                    stale = stale.where(Embedding.model_id != model_id)
                session.execute(stale)
                if vector is not None:
                    put(photo_id, vector)
            for photo_id, vector in batch.embedded:
                put(photo_id, vector)
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
            for chunk in chunks(removed):
                session.execute(delete(Photo).where(Photo.id.in_(chunk)))
            for chunk in chunks(batch.unreadable):
                # No model's index holds them: no generation moves.
                session.execute(delete(Photo).where(Photo.id.in_(chunk)).where(~_has_embedding()))
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
                bump_all_models(session)
            elif upserted and model is not None:
                model.generation += 1
            session.flush()
            generation = -1
            if model_id is not None:
                generation = session.get(Model, model_id).generation  # type: ignore[union-attr]
        return BatchResult(upserted, removed, generation)

    def missing(self, folder_id: int, model_id: str) -> list[tuple[int, str]]:
        """Photos of a folder with no vector under ``model_id`` yet (id, path)."""
        with self._session() as session:
            rows = session.execute(
                select(Photo.id, Photo.path)
                .where(Photo.folder_id == folder_id)
                .where(~_has_embedding(model_id))
                .order_by(Photo.id)
            )
            return [(r[0], r[1]) for r in rows]

    def hashes(self, model_id: str) -> dict[str, int]:
        """Content hash -> a photo id that has a vector under ``model_id`` (copies reuse it)."""
        with self._session() as session:
            rows = session.execute(
                select(Photo.content_hash, Photo.id)
                .join(Embedding, Embedding.photo_id == Photo.id)
                .where(Embedding.model_id == model_id)
            )
            return {h: pid for h, pid in rows}


def _has_embedding(model_id: str | None = None) -> Exists:
    """SQL condition: the photo has a vector (of ``model_id``, or of any model)."""
    query = select(Embedding.photo_id).where(Embedding.photo_id == Photo.id)
    if model_id is not None:
        query = query.where(Embedding.model_id == model_id)
    return query.exists()


def _has_vectors(batch: Batch) -> bool:
    return bool(
        batch.embedded
        or any(v is not None for _, v in batch.new)
        or any(v is not None for _, _, v in batch.changed)
    )
