"""The face analysis: finds and describes the faces of each photo, and stores them with the
names other tools wrote for them (XMP face regions) and the names they had before (a photo
analysed again, after an edit, keeps its people)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PIL import Image

from photosense.analysis.base import Outcome, marks
from photosense.media.regions import Box
from photosense.people.faces import MAX_FACES, MODEL_ID, UPSAMPLE, FaceFinder, Finder, FoundFace
from photosense.people.xmp import match_names, read_regions
from photosense.store.records import FaceRecord, NewFace
from photosense.store.repository import Store

KIND = "faces"
MAX_SIDE = 1280
"""The photo is looked at with its longer side at this size: faces down to about 1/16 of it
are found (80 pixels; docs/people.md measures what smaller sizes miss)."""
KEEP_OVERLAP = 0.5
"""A face found again in a changed photo keeps the old face's person when their boxes overlap
this much (intersection over union)."""


def box_of(face: FaceRecord) -> Box:
    return Box(face.x, face.y, face.w, face.h)


class FacesAnalyser:
    """Faces: dlib's HOG detector, 5-point alignment and 128-d descriptor (see
    :mod:`photosense.people.faces`)."""

    kind = KIND
    version = f"{MODEL_ID}-hog{UPSAMPLE}-{MAX_SIDE}px-max{MAX_FACES}-v1"
    max_side = MAX_SIDE

    def __init__(self, store: Store, finder: Finder | None = None) -> None:
        self._store = store
        self._finder: Finder = finder or FaceFinder()

    def analyse(self, image: Image.Image) -> list[FoundFace]:
        return self._finder.find(image)

    def found(self, result: list[FoundFace]) -> int:
        return len(result)

    def save(self, outcomes: Mapping[int, Outcome[list[FoundFace]]]) -> None:
        with_faces = [i for i, o in outcomes.items() if o.result]
        before = self._store.faces.of_photos(with_faces)
        paths = {i: p.path for i, p in self._store.photos.get(with_faces).items()}
        found: dict[int, list[NewFace]] = {}
        for photo_id, outcome in outcomes.items():
            if outcome.result is None:
                continue
            faces = outcome.result
            names: list[str | None] = [None] * len(faces)
            if faces and photo_id in paths:
                names = match_names([f.box for f in faces], read_regions(Path(paths[photo_id])))
            found[photo_id] = [
                self._new_face(face, name, before.get(photo_id, []))
                for face, name in zip(faces, names, strict=True)
            ]
        self._store.faces.save_found(KIND, self.version, MODEL_ID, marks(self, outcomes), found)

    @staticmethod
    def _new_face(face: FoundFace, name: str | None, before: list[FaceRecord]) -> NewFace:
        box = face.box
        same = max(before, key=lambda f: box.overlap(box_of(f)), default=None)
        keep = same is not None and box.overlap(box_of(same)) > KEEP_OVERLAP
        return NewFace(
            box.x,
            box.y,
            box.w,
            box.h,
            face.score,
            face.vector,
            person_id=same.person_id if keep and same is not None else None,
            locked=bool(keep and same is not None and same.locked),
            name=name,
        )
