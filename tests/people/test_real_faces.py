"""The real face models on real photos (the people-faces set, built by
``benchmarks/bench_people.py --build``): turned photos, tiny faces, drawings, a crowd."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosense.analysis.faces import MAX_SIDE
from photosense.media.decode import decode_for_analysis
from photosense.people.faces import FaceFinder
from tests.conftest import DATASETS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faces_set() -> Path:
    path = DATASETS / "people-faces"
    if not (path / "labels.csv").is_file():
        pytest.skip("people-faces not built: run `python benchmarks/bench_people.py --build`")
    return path / "images"


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


def test_a_photo_turned_by_exif_gives_the_same_boxes_upright(
    faces_set: Path, finder: FaceFinder, tmp_path: Path
) -> None:
    upright = Image.open(faces_set / "obama.jpg").convert("RGB")
    stored = upright.rotate(90, expand=True)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to show"
    stored.save(tmp_path / "turned.jpg", "JPEG", quality=95, exif=exif.tobytes())
    direct = finder.find(decode_for_analysis(faces_set / "obama.jpg", MAX_SIDE))
    turned = finder.find(decode_for_analysis(tmp_path / "turned.jpg", MAX_SIDE))
    assert len(direct) == len(turned) == 1
    assert direct[0].box.overlap(turned[0].box) > 0.8
    assert float(np.linalg.norm(direct[0].vector - turned[0].vector)) < 0.3  # the same person


def test_tiny_faces_are_not_found_and_cost_nothing_more(
    faces_set: Path, finder: FaceFinder
) -> None:
    tiny = decode_for_analysis(faces_set / "t1.jpg", 200)  # six faces of about 12 pixels
    assert finder.find(tiny) == []


def test_a_crowd_is_bounded(faces_set: Path) -> None:
    crowd_finder = FaceFinder(max_faces=3)
    faces = crowd_finder.find(decode_for_analysis(faces_set / "t1.jpg", MAX_SIDE))
    assert len(faces) == 3
    areas = [f.box.area for f in faces]
    assert areas == sorted(areas, reverse=True)  # the largest kept


def test_photos_of_one_person_are_near_and_of_others_far(
    faces_set: Path, finder: FaceFinder
) -> None:
    def vector(name: str) -> np.ndarray:
        return finder.find(decode_for_analysis(faces_set / name, MAX_SIDE))[0].vector

    obama, obama3, biden = vector("obama.jpg"), vector("obama3.jpg"), vector("biden.jpg")
    assert float(np.linalg.norm(obama - obama3)) < 0.5
    assert float(np.linalg.norm(obama - biden)) > 0.6
