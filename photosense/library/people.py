"""People: faces grouped into people, named and corrected by the user (``photosense people``).

Faces are found by the face analysis (``photosense index``, or ``library.folders.analyse``);
this sub-object groups them (:meth:`People.settle` after each analysis run: new faces join the
person of their nearest known face, and a full re-cluster runs once the library has grown by a
tenth), and carries the user's corrections, which no re-cluster undoes. "Forget all face data"
and switching the analysis off are here too: docs/people.md says what is kept where.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from photosense.analysis.faces import KIND, box_of
from photosense.errors import PersonNotFoundError, PhotosenseError
from photosense.library.analysis import Analysis
from photosense.library.photos import PhotoRef, Photos
from photosense.media.thumbnails import PREVIEW_SIZE
from photosense.people.clusters import FaceState, NewPerson, assign, recluster
from photosense.people.faces import MODEL_ID
from photosense.people.xmp import FaceRegion, write_regions
from photosense.progress import CancelToken, Progress
from photosense.store.records import FaceRecord, PersonRecord
from photosense.store.repository import Store

log = logging.getLogger(__name__)

CLUSTERED_KEY = "people.clustered_faces"
"""Setting: how many faces the last full re-cluster saw (the next runs at a tenth more)."""
GROWTH = 1.1
_SEPARATORS = re.compile(r"\s+and\s+|\s*[,&+]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ClusterReport:
    """What a settle did: faces seen, faces that joined a person, new people, whether it was a
    full re-cluster."""

    faces: int
    assigned: int
    new_people: int
    full: bool


@dataclass(frozen=True)
class FaceStatus:
    """How far face analysis got: whether it is on, photos analysed and waiting, photos with
    faces, faces, and faces of no person."""

    enabled: bool
    analysed: int
    pending: int
    failed: int
    photos_with_faces: int
    faces: int
    unknown: int


class People:
    """Faces and people of one library."""

    def __init__(self, store: Store, photos: Photos, analysis: Analysis) -> None:
        self._store = store
        self._photos = photos
        self._analysis = analysis

    # -- reading ---------------------------------------------------------------------------

    def list(self, *, hidden: bool = False) -> builtins.list[PersonRecord]:
        """People with faces (named ones first, then by photos), and the hidden with
        ``hidden``."""
        return self._store.faces.people(hidden=hidden)

    def get(self, person: str | int) -> PersonRecord:
        """A person by name (ignoring case) or number; ``PersonNotFoundError`` otherwise."""
        return self._store.faces.person(person)

    def faces(self, person: str | int, limit: int | None = None) -> builtins.list[FaceRecord]:
        return self._store.faces.of_person(self.get(person).id, limit)

    def unknown(self, limit: int | None = None) -> builtins.list[FaceRecord]:
        """Faces of no person, the clearest first."""
        return self._store.faces.unknown(limit)

    def face(self, face_id: int) -> FaceRecord:
        return self._store.faces.get(face_id)

    def of_photo(self, photo: PhotoRef) -> builtins.list[FaceRecord]:
        """The faces of one photo, left to right."""
        record = self._photos.resolve(photo)
        return self._store.faces.of_photos([record.id]).get(record.id, [])

    def photo_ids(self, people: Sequence[str | int]) -> set[int]:
        """Photos in which every one of ``people`` appears; "Anna and Ben" (or "Anna, Ben")
        counts as both, unless someone is called that."""
        return self._store.faces.photo_ids([p.id for p in self.resolve(people)])

    def resolve(self, people: Sequence[str | int]) -> builtins.list[PersonRecord]:
        """The people named by ``people`` ("Anna and Ben" is two unless someone is called so);
        ``PersonNotFoundError`` for the first unknown."""
        found: builtins.list[PersonRecord] = []
        for entry in people:
            try:
                found.append(self.get(entry))
            except PersonNotFoundError:
                parts = [p for p in _SEPARATORS.split(str(entry)) if p.strip()]
                if len(parts) < 2:
                    raise
                found += [self.get(p.strip()) for p in parts]
        return found

    def face_counts(self, min_score: float | None = None) -> dict[int, int]:
        """Photo id -> faces found in it, at least ``min_score`` sure if given (photos without
        such faces left out)."""
        return self._store.faces.face_counts(min_score)

    def status(self) -> FaceStatus:
        counts = self._store.analyses.counts(KIND, self._analysis.analyser(KIND).version)
        faces, photos, unknown = self._store.faces.counts()
        return FaceStatus(
            self._analysis.enabled(KIND),
            counts.analysed,
            counts.pending,
            counts.failed,
            photos,
            faces,
            unknown,
        )

    def crop(self, face_id: int, size: int = 128) -> Image.Image:
        """A square picture of a face (with some margin), ``size`` pixels a side, cut from the
        photo's cached preview; ``PhotosenseError`` when the photo cannot be read."""
        face = self.face(face_id)
        photo = self._photos.get([face.photo_id]).get(face.photo_id)
        if photo is None:
            raise PhotosenseError(f"the photo of face {face_id} is no longer in the library")
        preview = self._photos.thumbnails().get(Path(photo.path), PREVIEW_SIZE)
        if preview.path is None:
            raise PhotosenseError(f"cannot read {photo.path}: {preview.reason}")
        with Image.open(preview.path) as opened:
            image = ImageOps.exif_transpose(opened).convert("RGB")
        left, top, right, bottom = box_of(face).to_pixels(*image.size)
        half = max(right - left, bottom - top) * 0.75
        cx, cy = (left + right) / 2, (top + bottom) / 2
        return image.crop((cx - half, cy - half, cx + half, cy + half)).resize((size, size))

    # -- the user's corrections --------------------------------------------------------------

    def name(self, person: str | int, name: str | None) -> PersonRecord:
        """Name (or with None, unname) a person; a name another person has is refused with
        ``PersonNameTakenError`` (merge them instead)."""
        name = _clean(name) if name is not None else None
        return self.get(self._store.faces.rename(person, name))

    def merge(self, source: str | int, into: str | int) -> PersonRecord:
        """``source``'s faces become ``into``'s; ``source`` is gone."""
        return self.get(self._store.faces.merge(source, into))

    def split(self, face_ids: Sequence[int], name: str | None = None) -> PersonRecord:
        """Take faces out of their person into a new one (named ``name`` or not)."""
        if not face_ids:
            raise PhotosenseError("give the faces to split off")
        name = _clean(name) if name is not None else None
        return self.get(self._store.faces.move(face_ids, None, new_name=name))

    def move(self, face_ids: Sequence[int], person: str | int) -> PersonRecord:
        """Put faces in ``person`` (they are that person's, confirmed)."""
        return self.get(self._store.faces.move(face_ids, person))

    def remove_face(self, face_id: int) -> None:
        """This face is not its person: it becomes unknown and never goes back to them."""
        self._store.faces.remove_face(face_id)

    def hide(self, person: str | int, hidden: bool = True) -> PersonRecord:
        """Hide (or show again) a person: off the People page and the search filter; their
        faces and name are kept."""
        return self.get(self._store.faces.set_hidden(person, hidden))

    # -- grouping ----------------------------------------------------------------------------

    def settle(
        self, cancel: CancelToken | None = None, *, full: bool | None = None
    ) -> Generator[Progress, None, ClusterReport]:
        """Group the faces: unknown faces join their nearest person when close enough, and a
        full re-cluster runs when ``full`` (None: when the faces grew by a tenth since the
        last one). The user's corrections are kept either way."""
        data = self._store.faces.vectors(MODEL_ID)
        total = len(data.ids)
        if total == 0:
            return ClusterReport(0, 0, 0, False)
        yield Progress(0, None, "grouping faces into people")
        stored = self._store.settings.get(CLUSTERED_KEY, 0)
        last = stored if isinstance(stored, int) else 0
        if full is None:
            full = total > 0 and (last == 0 or total >= last * GROWTH)
        if cancel is not None:
            cancel.raise_if_cancelled()
        states = [
            FaceState(i, p, lk, data.rejected.get(i, frozenset()))
            for i, p, lk in zip(data.ids, data.people, data.locked, strict=True)
        ]
        if full:
            answer = recluster(data.vectors, states)
            people: dict[int, int | None] = {}
            groups: dict[int, builtins.list[int]] = {}
            for state, chosen in zip(states, answer, strict=True):
                if isinstance(chosen, NewPerson):
                    groups.setdefault(chosen.key, []).append(state.id)
                elif chosen != state.person:
                    people[state.id] = chosen
            made = self._store.faces.assign(people, builtins.list(groups.values()))
            self._store.settings.set(CLUSTERED_KEY, total)
            joined = sum(1 for p in people.values() if p is not None)
            joined += sum(len(g) for g in groups.values())
            report = ClusterReport(total, joined, len(made), True)
        else:
            known = [k for k, s in enumerate(states) if s.person is not None]
            loose = [k for k, s in enumerate(states) if s.person is None]
            found = assign(
                data.vectors[loose],
                data.vectors[known],
                [states[k].person for k in known],  # type: ignore[misc]
                rejected=[states[k].rejected for k in loose],
            )
            people = {states[k].id: p for k, p in zip(loose, found, strict=True) if p is not None}
            self._store.faces.assign(people)
            report = ClusterReport(total, len(people), 0, False)
        yield Progress(1, 1, "grouping faces into people")
        return report

    # -- interop and privacy -----------------------------------------------------------------

    def export_xmp(
        self, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, builtins.list[Path]]:
        """Write every photo's faces (with names) as MWG face regions in its XMP sidecar; the
        photos themselves are never written. Returns the sidecars written."""
        by_photo = self._store.faces.of_photos(self._store.faces.face_counts())
        records = self._photos.get(builtins.list(by_photo))
        written: builtins.list[Path] = []
        for done, (photo_id, faces) in enumerate(sorted(by_photo.items()), 1):
            if cancel is not None and cancel.cancelled:
                break
            photo = records.get(photo_id)
            if photo is None:
                continue
            regions = [FaceRegion(box_of(f), f.person_name) for f in faces]
            size = (photo.width, photo.height) if photo.width and photo.height else None
            try:
                written.append(write_regions(Path(photo.path), regions, size))
            except (OSError, PhotosenseError) as exc:
                log.warning("could not write the face regions of %s: %s", photo.path, exc)
            yield Progress(done, len(by_photo), "writing face regions")
        return written

    def enabled(self) -> bool:
        return self._analysis.enabled(KIND)

    def set_enabled(self, on: bool) -> None:
        """Switch face analysis on or off for this library (what it found is kept: see
        :meth:`forget`)."""
        self._analysis.set_enabled(KIND, on)

    def forget(self) -> int:
        """Delete every face, descriptor, person, name and correction of this library, and
        the marks of photos analysed (so switching back on analyses them again). Returns the
        faces deleted. Face crops are cut from the photo previews on demand, never cached."""
        removed = self._store.faces.forget_all()
        self._store.analyses.forget(KIND)
        self._store.settings.set(CLUSTERED_KEY, 0)
        return removed


def _clean(name: str) -> str:
    """A person's name as stored: trimmed, inner white space single; an empty one refused."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise PhotosenseError("a person's name cannot be empty")
    return cleaned
