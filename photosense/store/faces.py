"""Faces and people: the faces found in photos, the people they group into, and the user's
corrections (a face confirmed for a person is ``locked``; a face taken out of a person is a
``face_rejections`` row), which every re-cluster keeps.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from photosense.errors import FaceNotFoundError, PersonNameTakenError, PersonNotFoundError
from photosense.store.analyses import mark_analysed
from photosense.store.base import Part, chunks
from photosense.store.records import AnalysisMark, FaceRecord, NewFace, PersonRecord
from photosense.store.schema import Face, FaceRejection, Person


@dataclass(frozen=True)
class FaceVectors:
    """Every face of one model, as the clustering reads them (row ``i`` is ``ids[i]``)."""

    ids: list[int]
    vectors: npt.NDArray[np.float32]
    people: list[int | None]
    locked: list[bool]
    rejected: dict[int, frozenset[int]]


def _person_named(session: Session, name: str) -> Person | None:
    """The person called ``name``: exactly, else the one whose name differs only in case, else
    the one whose name has it as a word (when only one has)."""
    person = session.scalar(select(Person).where(Person.name == name))
    if person is None:
        folded = name.casefold()
        matches = [
            p
            for p in session.scalars(select(Person).where(Person.name.is_not(None)))
            if (p.name or "").casefold() == folded
        ]
        if len(matches) != 1:  # "obama" for "Barack Obama", when only one name has it
            matches = [
                p
                for p in session.scalars(select(Person).where(Person.name.is_not(None)))
                if folded in (p.name or "").casefold().split()
            ]
        person = matches[0] if len(matches) == 1 else None
    return person


def _record(face: Face, name: str | None) -> FaceRecord:
    return FaceRecord(
        face.id,
        face.photo_id,
        face.x,
        face.y,
        face.w,
        face.h,
        face.score,
        face.person_id,
        name,
        face.locked,
    )


_WITH_NAMES = select(Face, Person.name).outerjoin(Person, Person.id == Face.person_id)


class Faces(Part):
    """The ``faces``, ``people`` and ``face_rejections`` tables."""

    # -- what the face analysis writes ----------------------------------------------------

    def save_found(
        self,
        kind: str,
        version: str,
        model_id: str,
        marks: Mapping[int, AnalysisMark],
        found: Mapping[int, Sequence[NewFace]],
    ) -> int:
        """Replace the faces of the photos in ``found`` and mark them analysed, in one
        transaction; photos removed meanwhile are left out. A face with a ``name`` (read from
        the photo's XMP) is that person's, confirmed. Returns how many faces were written."""
        written = 0
        with self._session() as session:
            alive = mark_analysed(session, kind, version, marks)
            ids = [i for i in found if i in alive]
            for part in chunks(ids):
                session.execute(delete(Face).where(Face.photo_id.in_(part)))
            existing = set(session.scalars(select(Person.id)))
            for photo_id in ids:
                for new in found[photo_id]:
                    person_id = new.person_id if new.person_id in existing else None
                    locked = new.locked and person_id is not None
                    if new.name:
                        person_id, locked = self._person_for(session, new.name), True
                    session.add(
                        Face(
                            photo_id=photo_id,
                            x=new.x,
                            y=new.y,
                            w=new.w,
                            h=new.h,
                            score=new.score,
                            model_id=model_id,
                            vector=np.asarray(new.vector, "<f4").tobytes(),
                            person_id=person_id,
                            locked=locked,
                        )
                    )
                    written += 1
        return written

    @staticmethod
    def _person_for(session: Session, name: str) -> int:
        person = _person_named(session, name)
        if person is None:
            person = Person(name=name, hidden=False, created_at=datetime.now())
            session.add(person)
            session.flush()
        return person.id

    # -- reading ---------------------------------------------------------------------------

    def get(self, face_id: int) -> FaceRecord:
        with self._session() as session:
            row = session.execute(_WITH_NAMES.where(Face.id == face_id)).first()
            if row is None:
                raise FaceNotFoundError(face_id)
            return _record(row[0], row[1])

    def of_photos(self, photo_ids: Iterable[int]) -> dict[int, builtins.list[FaceRecord]]:
        """The faces of each photo (left to right)."""
        answer: dict[int, list[FaceRecord]] = {}
        with self._session() as session:
            for part in chunks(list(photo_ids)):
                for face, name in session.execute(_WITH_NAMES.where(Face.photo_id.in_(part))):
                    answer.setdefault(face.photo_id, []).append(_record(face, name))
        for faces in answer.values():
            faces.sort(key=lambda f: f.x)
        return answer

    def of_person(self, person_id: int, limit: int | None = None) -> builtins.list[FaceRecord]:
        """A person's faces, the most confident first (confirmed ones before the rest)."""
        with self._session() as session:
            query = (
                _WITH_NAMES.where(Face.person_id == person_id)
                .order_by(Face.locked.desc(), Face.score.desc(), Face.id)
                .limit(limit)
            )
            return [_record(f, n) for f, n in session.execute(query)]

    def unknown(self, limit: int | None = None) -> builtins.list[FaceRecord]:
        """Faces of no person, the most confident first."""
        with self._session() as session:
            query = (
                _WITH_NAMES.where(Face.person_id.is_(None)).order_by(Face.score.desc()).limit(limit)
            )
            return [_record(f, n) for f, n in session.execute(query)]

    def face_counts(self, min_score: float | None = None) -> dict[int, int]:
        """Photo id -> how many faces were found in it, those whose detector score is at least
        ``min_score`` if given (photos with none are left out)."""
        with self._session() as session:
            query = select(Face.photo_id, func.count()).group_by(Face.photo_id)
            if min_score is not None:
                query = query.where(Face.score >= min_score)
            return {int(p): int(n) for p, n in session.execute(query)}

    def counts(self) -> tuple[int, int, int]:
        """(faces, photos with faces, faces of no person)."""
        with self._session() as session:
            faces = session.scalar(select(func.count()).select_from(Face)) or 0
            photos = session.scalar(select(func.count(func.distinct(Face.photo_id)))) or 0
            unknown = session.scalar(select(func.count()).where(Face.person_id.is_(None))) or 0
        return int(faces), int(photos), int(unknown)

    def vectors(self, model_id: str) -> FaceVectors:
        """Every face described by ``model_id``, with its person and the user's corrections."""
        with self._session() as session:
            rows = session.execute(
                select(Face.id, Face.vector, Face.person_id, Face.locked)
                .where(Face.model_id == model_id)
                .order_by(Face.id)
            ).all()
            rejected: dict[int, set[int]] = {}
            for face_id, person_id in session.execute(
                select(FaceRejection.face_id, FaceRejection.person_id)
            ):
                rejected.setdefault(face_id, set()).add(person_id)
        matrix = (
            np.stack([np.frombuffer(r[1], "<f4") for r in rows]).astype(np.float32)
            if rows
            else np.zeros((0, 0), np.float32)
        )
        return FaceVectors(
            [r[0] for r in rows],
            matrix,
            [r[2] for r in rows],
            [bool(r[3]) for r in rows],
            {k: frozenset(v) for k, v in rejected.items()},
        )

    # -- people ------------------------------------------------------------------------------

    def people(self, *, hidden: bool = False) -> builtins.list[PersonRecord]:
        """Every person with faces (and the hidden ones with ``hidden``), most photos first."""
        with self._session() as session:
            counts = {
                p: (int(f), int(n))
                for p, f, n in session.execute(
                    select(Face.person_id, func.count(), func.count(func.distinct(Face.photo_id)))
                    .where(Face.person_id.is_not(None))
                    .group_by(Face.person_id)
                )
            }
            people = list(session.scalars(select(Person)))
            covers = self._covers(session, [p.id for p in people])
        records = [
            PersonRecord(p.id, p.name, p.hidden, *counts.get(p.id, (0, 0)), covers.get(p.id))
            for p in people
            if (hidden or not p.hidden) and (p.id in counts or p.name)
        ]
        return sorted(
            records, key=lambda r: (r.name is None, -r.photos, (r.name or "").casefold(), r.id)
        )

    @staticmethod
    def _covers(session: Session, person_ids: Sequence[int]) -> dict[int, FaceRecord]:
        """Each person's cover: a confirmed face if any, else the most confident one."""
        best: dict[int, FaceRecord] = {}
        for part in chunks(list(person_ids)):
            query = _WITH_NAMES.where(Face.person_id.in_(part)).order_by(
                Face.person_id, Face.locked.desc(), Face.score.desc(), Face.id
            )
            for face, name in session.execute(query):
                assert face.person_id is not None
                best.setdefault(face.person_id, _record(face, name))
        return best

    def person(self, key: str | int) -> PersonRecord:
        """The person called ``key`` (or numbered ``key``, also as a string like "7")."""
        with self._session() as session:
            person_id = self._person_id(session, key)
        for record in self.people(hidden=True):
            if record.id == person_id:
                return record
        with self._session() as session:
            person = session.get(Person, person_id)
            assert person is not None
            return PersonRecord(person.id, person.name, person.hidden, 0, 0, None)

    @staticmethod
    def _person_id(session: Session, key: str | int) -> int:
        if isinstance(key, str):
            person = _person_named(session, key)
            if person is not None:
                return person.id
            if not key.strip().isdigit():
                raise PersonNotFoundError(key)
            key = int(key.strip())
        if session.get(Person, key) is None:
            raise PersonNotFoundError(str(key))
        return key

    def photo_ids(self, person_ids: Sequence[int]) -> set[int]:
        """Photos in which every one of ``person_ids`` has a face."""
        answer: set[int] | None = None
        with self._session() as session:
            for person_id in person_ids:
                photos = set(
                    session.scalars(select(Face.photo_id).where(Face.person_id == person_id))
                )
                answer = photos if answer is None else answer & photos
        return answer or set()

    # -- the user's corrections --------------------------------------------------------------

    def rename(self, key: str | int, name: str | None) -> int:
        """Name a person (None: unname); every face of theirs becomes confirmed, since the user
        has looked at them. A name another person has is refused."""
        with self._session() as session:
            person_id = self._person_id(session, key)
            if name is not None:
                other = _person_named(session, name)
                if other is not None and other.id != person_id:
                    raise PersonNameTakenError(other.name or name)
            person = session.get(Person, person_id)
            assert person is not None
            person.name = name
            session.execute(update(Face).where(Face.person_id == person_id).values(locked=True))
            return person_id

    def merge(self, source: str | int, into: str | int) -> int:
        """Move every face of ``source`` to ``into`` (confirmed) and drop ``source``."""
        with self._session() as session:
            src, dst = self._person_id(session, source), self._person_id(session, into)
            if src == dst:
                return dst
            session.execute(
                update(Face).where(Face.person_id == src).values(person_id=dst, locked=True)
            )
            session.execute(delete(FaceRejection).where(FaceRejection.person_id == src))
            session.execute(delete(Person).where(Person.id == src))
            return dst

    def move(
        self, face_ids: Sequence[int], key: str | int | None, *, new_name: str | None = None
    ) -> int:
        """Put faces in a person (``key``), or in a new person (``key`` None, named
        ``new_name`` or not): confirmed, and rejected for the person they left."""
        with self._session() as session:
            if key is None:
                if new_name is not None and _person_named(session, new_name) is not None:
                    raise PersonNameTakenError(new_name)
                person = Person(name=new_name, hidden=False, created_at=datetime.now())
                session.add(person)
                session.flush()
                target = person.id
            else:
                target = self._person_id(session, key)
            for face_id in face_ids:
                face = session.get(Face, face_id)
                if face is None:
                    raise FaceNotFoundError(face_id)
                if face.person_id is not None and face.person_id != target:
                    self._reject(session, face.id, face.person_id)
                face.person_id, face.locked = target, True
                session.execute(
                    delete(FaceRejection).where(
                        FaceRejection.face_id == face_id, FaceRejection.person_id == target
                    )
                )
            return target

    def remove_face(self, face_id: int) -> None:
        """Take a face out of its person for good: it is unknown, and never goes back there."""
        with self._session() as session:
            face = session.get(Face, face_id)
            if face is None:
                raise FaceNotFoundError(face_id)
            if face.person_id is not None:
                self._reject(session, face.id, face.person_id)
            face.person_id, face.locked = None, False

    @staticmethod
    def _reject(session: Session, face_id: int, person_id: int) -> None:
        if session.get(FaceRejection, (face_id, person_id)) is None:
            session.add(FaceRejection(face_id=face_id, person_id=person_id))

    def set_hidden(self, key: str | int, hidden: bool) -> int:
        with self._session() as session:
            person_id = self._person_id(session, key)
            session.execute(update(Person).where(Person.id == person_id).values(hidden=hidden))
            return person_id

    # -- what clustering writes --------------------------------------------------------------

    def assign(
        self, people: Mapping[int, int | None], new_people: Sequence[Sequence[int]] = ()
    ) -> builtins.list[int]:
        """Set the person of faces (``people``: face id -> person id or None) and make one new
        unnamed person per group of ``new_people``; faces the user confirmed, and faces gone
        meanwhile, are left as they are. Unnamed people left without faces are dropped.
        Returns the new people's ids."""
        made: list[int] = []
        with self._session() as session:
            locked = set(session.scalars(select(Face.id).where(Face.locked)))
            existing = set(session.scalars(select(Person.id)))
            for face_id, person_id in people.items():
                if face_id in locked or (person_id is not None and person_id not in existing):
                    continue
                session.execute(update(Face).where(Face.id == face_id).values(person_id=person_id))
            for group in new_people:
                person = Person(name=None, hidden=False, created_at=datetime.now())
                session.add(person)
                session.flush()
                made.append(person.id)
                for part in chunks([f for f in group if f not in locked]):
                    session.execute(
                        update(Face).where(Face.id.in_(part)).values(person_id=person.id)
                    )
            used = select(Face.person_id).where(Face.person_id == Person.id).exists()
            session.execute(delete(Person).where(Person.name.is_(None), ~Person.hidden, ~used))
        return made

    def forget_all(self) -> int:
        """Delete every face, person and correction; returns how many faces there were."""
        with self._session() as session:
            count = session.scalar(select(func.count()).select_from(Face)) or 0
            session.execute(delete(FaceRejection))
            session.execute(delete(Face))
            session.execute(delete(Person))
        return int(count)
