"""Finding faces in a photo and describing each with a 128-d vector (dlib's face models).

The pipeline is face_recognition's and dlib's own: a HOG + linear SVM detector (about 60 times
faster than dlib's CNN detector on a CPU, docs/people.md), a 5-point landmark model to align the
face to a 150 × 150 chip, and dlib's ResNet that maps the chip to a vector in which two photos
of one person lie within about 0.6 of each other (Euclidean). The weights ship in the
``face-recognition-models`` package and load on first use, one copy per worker thread (dlib's
network keeps per-call state, so one shared copy would not be thread-safe).
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from photosense.errors import FaceModelMissingError
from photosense.media.regions import Box

MODEL_ID = "dlib-resnet128"
"""The descriptor's model: faces described by another model are never compared with these."""
DIM = 128
SAME_PERSON = 0.6
"""dlib's distance under which two descriptors are of one person (99.38 % on LFW pairs)."""
MAX_FACES = 40
"""A crowd photo: only its largest faces are described, so one photo costs bounded time."""
UPSAMPLE = 0
"""Detector upsampling: 0 finds faces of 80 pixels and more on the decoded photo."""
MIN_SCORE = -0.2
"""Detections below this detector score are dropped (drawings, textures)."""
CONFIDENT_SCORE = 0.0
"""dlib's own detection threshold. A face at least this sure counts for queries that ask for
people; a weaker one is kept (shown, grouped) but does not make a photo a good match for
"people": on the labelled faces every true face scored 0.21 or more and the one false face, a
car's wheel, -0.12 (docs/people.md)."""


@dataclass(frozen=True)
class FoundFace:
    """One face: where it is (fractions of the upright photo), the detector's confidence and
    its descriptor (float32, 128-d)."""

    box: Box
    score: float
    vector: npt.NDArray[np.float32]


class Finder(Protocol):
    """Anything that finds faces in a photo (tests pass a fake)."""

    def find(self, image: Image.Image) -> list[FoundFace]: ...


def models_folder() -> Path:
    """The folder of the ``face-recognition-models`` weights (found without importing the
    package, whose ``__init__`` needs the deprecated ``pkg_resources``)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissingError("face-recognition-models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceFinder:
    """Detects, aligns and describes faces; thread-safe, the models loaded lazily per thread."""

    def __init__(self, *, upsample: int = UPSAMPLE, max_faces: int = MAX_FACES) -> None:
        self.upsample = upsample
        self.max_faces = max_faces
        self._local = threading.local()

    def _dlib(self) -> Any:
        try:
            import dlib
        except ImportError:
            raise FaceModelMissingError("dlib-bin") from None
        return dlib

    def _detector(self) -> Any:
        local = self._local
        if getattr(local, "detector", None) is None:
            local.detector = self._dlib().get_frontal_face_detector()
        return local.detector

    def _describers(self) -> tuple[Any, Any]:
        local = self._local
        if getattr(local, "encoder", None) is None:
            dlib, folder = self._dlib(), models_folder()
            local.shapes = dlib.shape_predictor(
                str(folder / "shape_predictor_5_face_landmarks.dat")
            )
            local.encoder = dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")
            )
        return local.shapes, local.encoder

    def find(self, image: Image.Image) -> list[FoundFace]:
        """The faces of an upright RGB photo, largest first (at most ``max_faces`` of them).

        A photo without faces costs the detector's one pass only: the landmark and descriptor
        models are not even loaded until a first face is seen.
        """
        pixels = np.asarray(image.convert("RGB"))
        height, width = pixels.shape[:2]
        if height < 20 or width < 20:
            return []
        rects, scores, _ = self._detector().run(pixels, self.upsample, MIN_SCORE)
        found = sorted(zip(rects, scores, strict=True), key=lambda rs: -rs[0].area())
        found = found[: self.max_faces]
        if not found:
            return []
        shapes, encoder = self._describers()
        faces = []
        for rect, score in found:
            chip = shapes(pixels, rect)
            vector = np.asarray(encoder.compute_face_descriptor(pixels, chip), np.float32)
            box = Box.from_pixels(
                rect.left(), rect.top(), rect.right(), rect.bottom(), width, height
            )
            if box.w > 0 and box.h > 0:
                faces.append(FoundFace(box, float(score), vector))
        return faces
