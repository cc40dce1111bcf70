"""People: face detection, clustering, speed and the "people" query, on real face photos.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_people.py [--build] [--skip-search]

**Data** (``--build`` makes it in ``~/.cache/photosense-datasets/people-faces``; never
committed). Face photos that ship inside registry packages, checked by sha256:
``face_recognition`` 1.3.0's sdist (PyPI, MIT: its test photos, Barack Obama in three distinct
photos plus two crops and a copy, Joe Biden), ``insightface`` 2.1's sdist (PyPI, MIT: the six
cast members of *Friends* round a table, a 112 px Tom Hanks, four photos of face masks with no
face) and ``@vladmandic/face-api`` 1.7.15 (npm, MIT: six group photos of three to five women).
The face counts below were made by looking at each photo. Photos with no face come from the
``foolbox-imagenet`` set (20 ImageNet photos; one, a jeep, has a driver) and 40 ``tuxpaint-stamps``
drawings that are not of people.

**Identities.** Faces in one photo are different people; the Obama photos are one person; faces
of the group photos are assumed to be distinct across photos (the set does not say; a merge
across them counts as an error here). Since most identities then have one face, a second set
gives every face of the labelled photos four edited copies (cropped to the face with a margin,
mirrored, darkened by 30 %, JPEG quality 40 at half size), so each identity has five photos:
a check of grouping a person's copies and crops, easier than different days' photos.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from photosense.analysis.faces import MAX_SIDE
from photosense.media.decode import decode_for_analysis
from photosense.people.clusters import EPS, MIN_FACES, FaceState, NewPerson, bcubed, recluster
from photosense.people.faces import FaceFinder, FoundFace

ROOT = Path(os.environ.get("PHOTOSENSE_DATASETS", Path.home() / ".cache/photosense-datasets"))
SET = ROOT / "people-faces"
SOURCES = {
    "face_recognition-1.3.0.tar.gz": ("pip", "face_recognition==1.3.0"),
    "insightface-2.1.tar.gz": ("pip", "insightface==2.1"),
    "vladmandic-face-api-1.7.15.tgz": ("npm", "@vladmandic/face-api@1.7.15"),
}
# photo -> (faces a person sees, identity of a one-person photo or "")
TRUTH = {
    "obama.jpg": (1, "obama"),
    "obama2.jpg": (1, "obama"),
    "32bit.png": (1, "obama"),
    "obama3.jpg": (1, "obama"),
    "obama_partial_face.jpg": (1, "obama"),
    "obama_partial_face2.jpg": (1, "obama"),
    "biden.jpg": (1, "biden"),
    "Tom_Hanks_54745.png": (1, "hanks"),
    "t1.jpg": (6, ""),
    "sample1.jpg": (3, ""),
    "sample2.jpg": (3, ""),
    "sample3.jpg": (3, ""),
    "sample4.jpg": (4, ""),
    "sample5.jpg": (5, ""),
    "sample6.jpg": (4, ""),
    "mask_black.jpg": (0, ""),
    "mask_blue.jpg": (0, ""),
    "mask_green.jpg": (0, ""),
    "mask_white.jpg": (0, ""),
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build() -> None:
    """Download the three packages (pip, npm) and lay out the photos with their counts."""
    downloads = ROOT / "_downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    for name, how in SOURCES.items():
        if (downloads / name).is_file():
            continue
        if how[0] == "pip":
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    how[1],
                    "-d",
                    str(downloads),
                ],
                check=True,
            )
        else:
            subprocess.run(
                ["npm", "pack", how[1], "--pack-destination", str(downloads)], check=True
            )
    building = ROOT / f".building-people-faces-{os.getpid()}"
    images = building / "images"
    images.mkdir(parents=True)
    lines = []
    for name in SOURCES:
        archive = downloads / name
        lines.append(f"{name} sha256 {_sha256(archive)}")
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                base = Path(member.name).name
                if base in TRUTH and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    (images / base).write_bytes(source.read())
    with (building / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "faces", "identity"])
        for base, (faces, who) in TRUTH.items():
            writer.writerow([f"images/{base}", faces, who])
    (building / "SOURCE.txt").write_text(
        "people-faces: face photos shipped in registry packages (see benchmarks/bench_people.py)\n"
        + "\n".join(lines)
        + "\nface_recognition 1.3.0 (PyPI sdist, MIT): tests/test_images\n"
        "insightface 2.1 (PyPI sdist, MIT): insightface/data/images\n"
        "@vladmandic/face-api 1.7.15 (npm, MIT): demo/sample*.jpg\n",
        encoding="utf-8",
    )
    (building / ".complete").write_text(
        f"photosense-datasets people-faces format 1\n{time.ctime()}\n", encoding="utf-8"
    )
    if SET.exists():
        shutil.rmtree(SET)
    building.rename(SET)
    print(f"built {SET}: {len(TRUTH)} photos")


def _labelled() -> list[tuple[Path, int, str]]:
    with (SET / "labels.csv").open(encoding="utf-8") as handle:
        return [(SET / r["path"], int(r["faces"]), r["identity"]) for r in csv.DictReader(handle)]


def _no_faces() -> list[Path]:
    imagenet = sorted((ROOT / "foolbox-imagenet" / "images").glob("*.jpg"))
    stamps = sorted(
        p
        for p in (ROOT / "tuxpaint-stamps" / "images").rglob("*.png")
        if "/people/" not in p.as_posix()
    )[::10][:40]
    return imagenet + stamps


def detection(finder: FaceFinder, label: str) -> dict[Path, list[FoundFace]]:
    found: dict[Path, list[FoundFace]] = {}
    truth_total = hit_total = 0
    t0 = time.perf_counter()
    for path, faces, _ in _labelled():
        found[path] = finder.find(decode_for_analysis(path, MAX_SIDE))
        truth_total += faces
        hit_total += min(faces, len(found[path]))
    labelled_s = time.perf_counter() - t0
    extra = sum(max(0, len(found[p]) - n) for p, n, _ in _labelled())
    t0 = time.perf_counter()
    empty = _no_faces()
    false = [len(finder.find(decode_for_analysis(p, MAX_SIDE))) for p in empty]
    empty_s = time.perf_counter() - t0
    print(
        f"{label}: recall {hit_total}/{truth_total} = {hit_total / truth_total:.2f}; "
        f"extra faces on labelled photos {extra}; photos without faces given a face "
        f"{sum(1 for n in false if n)}/{len(false)} ({sum(false)} faces); "
        f"{labelled_s / len(found):.2f} s per labelled photo, "
        f"{empty_s / len(empty):.3f} s per photo without faces"
    )
    return found


def _copies(image: Image.Image, face: FoundFace) -> list[Image.Image]:
    """The face cropped with a margin, and three edits of that crop."""
    left, top, right, bottom = face.box.to_pixels(*image.size)
    side = max(right - left, bottom - top)
    crop = image.crop((left - side, top - side, right + side, bottom + side)).resize((3 * 150,) * 2)
    small = io.BytesIO()
    crop.resize((225, 225)).save(small, "JPEG", quality=40)
    return [
        crop,
        ImageOps.mirror(crop),
        ImageEnhance.Brightness(crop).enhance(0.7),
        Image.open(io.BytesIO(small.getvalue())).convert("RGB"),
    ]


def clustering(finder: FaceFinder, found: dict[Path, list[FoundFace]]) -> None:
    truth: list[str] = []
    vectors: list[np.ndarray] = []
    edited_truth: list[str] = []
    edited: list[np.ndarray] = []
    t0, described = time.perf_counter(), 0
    for path, _, who in _labelled():
        image = decode_for_analysis(path, MAX_SIDE)
        for k, face in enumerate(found.get(path, [])):
            identity = who or f"{path.name}#{k}"
            truth.append(identity)
            vectors.append(face.vector)
            edited_truth.append(identity)
            edited.append(face.vector)
            for copy in _copies(image, face):
                again = finder.find(copy)
                described += 1
                if again:
                    edited_truth.append(identity)
                    edited.append(again[0].vector)
    copies_s = time.perf_counter() - t0
    print(
        f"descriptor sets: {len(truth)} faces of {len(set(truth))} people; with edited copies "
        f"{len(edited)} faces ({described} copies, {copies_s / max(described, 1):.2f} s each)"
    )
    for name, labels, rows in (("real", truth, vectors), ("with copies", edited_truth, edited)):
        matrix = np.stack(rows).astype(np.float32)
        for eps, least in itertools.product((0.4, 0.45, 0.5, 0.55, 0.6), (2, 3)):
            answer = recluster(
                matrix, [FaceState(i) for i in range(len(rows))], eps=eps, min_faces=least
            )
            keys = [a.key if isinstance(a, NewPerson) else None for a in answer]
            p, r = bcubed(labels, keys)
            pp, pr = _pairwise(labels, keys)
            mark = "  <- default" if (eps, least) == (EPS, MIN_FACES) else ""
            print(
                f"  {name:11s} eps {eps:.2f} min {least}: BCubed P {p:.2f} R {r:.2f} "
                f"F {2 * p * r / (p + r):.2f}; pairs P {pp:.2f} R {pr:.2f}{mark}"
            )


def _pairwise(truth: list[str], keys: list[object]) -> tuple[float, float]:
    same_truth = same_cluster = both = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        t = truth[i] == truth[j]
        c = keys[i] is not None and keys[i] == keys[j]
        same_truth += t
        same_cluster += c
        both += t and c
    return (both / same_cluster if same_cluster else 1.0), (
        both / same_truth if same_truth else 1.0
    )


def speed(finder: FaceFinder) -> None:
    image = decode_for_analysis(SET / "images/t1.jpg", MAX_SIDE)
    t0 = time.perf_counter()
    faces = finder.find(image)
    total = time.perf_counter() - t0
    rgb = np.asarray(image)
    t0 = time.perf_counter()
    finder._detector().run(rgb, finder.upsample, -0.2)  # noqa: SLF001  (detection alone)
    detect = time.perf_counter() - t0
    print(
        f"t1.jpg {image.size}: {len(faces)} faces in {total:.2f} s, detection {detect:.2f} s, "
        f"{len(faces) / max(total - detect, 1e-9):.1f} faces/s described"
    )
    crops = [image.crop(f.box.to_pixels(*image.size)).resize((160, 160)) for f in faces]
    crowd = Image.new("RGB", (160 * 12, 160 * 10), "grey")
    for k in range(120):  # a crowd of 120 faces, each about 1/12 of the width
        crowd.paste(
            ImageOps.mirror(crops[k % 6]) if k % 2 else crops[k % 6],
            ((k % 12) * 160, (k // 12) * 160),
        )
    crowd.thumbnail((MAX_SIDE, MAX_SIDE))
    t0 = time.perf_counter()
    many = finder.find(crowd)
    print(
        f"crowd of 120 faces at {crowd.size}: {len(many)} described (cap {finder.max_faces}) "
        f"in {time.perf_counter() - t0:.1f} s"
    )


def search(limit: int) -> None:
    """The people queries on a library of the labelled photos and the photos without faces,
    with the offline starter: precision of the good matches, model alone and with faces."""
    from photosense.library import Library
    from photosense.library.runtime import AUTO_TAG_KEY
    from photosense.progress import run_to_end

    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        for path in [p for p, _, _ in _labelled()] + _no_faces():
            shutil.copy(path, photos / path.name)
        truth = {p.name: n for p, n, _ in _labelled()}
        with Library.open(Path(tmp) / "library") as library:
            library.store.settings.set(AUTO_TAG_KEY, False)
            t0 = time.perf_counter()
            library.people.set_enabled(False)
            run_to_end(library.folders.index([photos]))
            index_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            library.people.set_enabled(True)
            run_to_end(library.analysis.run(["faces"]))
            faces_s = time.perf_counter() - t0
            count = len(list(photos.iterdir()))
            print(
                f"indexing {count} photos without faces analysis {index_s:.1f} s; the face pass "
                f"adds {faces_s:.1f} s ({faces_s / count:.2f} s per photo)"
            )
            for query in ("people", "a family", "two children", "portrait", "group of friends"):
                for label, use_faces in (("model alone", False), ("with faces", True)):
                    if not use_faces:
                        library.people.set_enabled(True)
                        saved = library.search._people.face_counts  # noqa: SLF001
                        library.search._people.face_counts = lambda *_: {}  # type: ignore[method-assign]  # noqa: SLF001
                    results = library.search.text(query, limit=limit)
                    if not use_faces:
                        library.search._people.face_counts = saved  # type: ignore[method-assign]  # noqa: SLF001
                    top = [Path(h.photo.path).name for h in results.hits[:10]]
                    good = [Path(h.photo.path).name for h in results.good_hits]
                    p10 = sum(1 for n in top if truth.get(n, 0) >= 1) / max(len(top), 1)
                    gp = sum(1 for n in good if truth.get(n, 0) >= 1) / max(len(good), 1)
                    print(
                        f"  {query!r:20s} {label:12s}: people in top 10 {p10:.2f}; good matches "
                        f"{len(good)}, of them with people {gp:.2f}"
                    )


def cnn_compare() -> None:
    """dlib's CNN (MMOD) detector against the HOG one, on three photos at the same size."""
    import dlib

    from photosense.people.faces import models_folder

    cnn = dlib.cnn_face_detection_model_v1(str(models_folder() / "mmod_human_face_detector.dat"))
    hog = dlib.get_frontal_face_detector()
    for name in ("obama.jpg", "t1.jpg", "sample2.jpg"):
        pixels = np.asarray(decode_for_analysis(SET / "images" / name, 1024))
        t0 = time.perf_counter()
        h = hog(pixels, 0)
        t1 = time.perf_counter()
        c = cnn(pixels, 0)
        t2 = time.perf_counter()
        print(
            f"{name} at 1024 px: HOG {len(h)} faces in {t1 - t0:.2f} s; "
            f"CNN {len(c)} faces in {t2 - t1:.2f} s ({(t2 - t1) / (t1 - t0):.0f} times slower)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="build the data set first")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--cnn", action="store_true", help="only compare dlib's CNN detector")
    args = parser.parse_args()
    if args.build or not (SET / "labels.csv").is_file():
        build()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.cnn:
        cnn_compare()
        return
    default = FaceFinder()
    found = detection(default, f"HOG, upsample 0, {MAX_SIDE} px (default)")
    detection(FaceFinder(upsample=1), f"HOG, upsample 1, {MAX_SIDE} px")
    speed(default)
    clustering(default, found)
    if not args.skip_search:
        search(limit=40)


if __name__ == "__main__":
    main()
