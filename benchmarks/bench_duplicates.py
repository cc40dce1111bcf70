"""Duplicate finding: precision and recall on a set built from real photos, and the cost at scale.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_duplicates.py [--bases 40] [--photos 100000]

**Quality.** Real photos from ``~/.cache/photosense-datasets`` (camera-photos: camera JPEGs,
OpenCV's sample photos, camera PNGs; foolbox-imagenet: ImageNet photos) are split in two. Each
photo of the first half gets four neighbours made with Pillow: resized to half (JPEG q 90),
re-encoded (JPEG q 60), cropped to its central 85 %, and a burst-like frame (shifted 3 %, turned
1 degree, 6 % brighter); the photo and its neighbours are one true group. Each photo of the
second half gives two genuinely different photos of the same scene, its left and its right 45 %
(no overlap), which must not be grouped; the ImageNet photos that share a class are more such
negatives. The library is indexed with the offline starter model; then every rule is scored on
pairs: precision (grouped pairs that are true) and recall (true pairs grouped), from one set of
candidate pairs (cosine >= 0.80) and one difference hash per candidate. The library's own
``duplicates.find()`` is run once with its defaults to confirm.

**Cost.** ``--photos`` synthetic unit vectors (512-d; 10 % of them near copies of others) in an
HNSW index: the time of the neighbour pass and of grouping; and the time per candidate photo of
the difference hash, measured on the real photos above.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from photosense.library import Library
from photosense.library.duplicates import MAX_HASH_DISTANCE, MIN_SCORE, SURE_SCORE, _Groups
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.decode import full_decode
from photosense.media.perceptual import hamming, look
from photosense.progress import run_to_end
from photosense.vectors.duplicates import near_pairs
from photosense.vectors.index import HnswIndex

ROOT = Path(os.environ.get("PHOTOSENSE_DATASETS", Path.home() / ".cache/photosense-datasets"))
EXTENSIONS = {".jpg", ".jpeg", ".png"}


def real_photos() -> list[Path]:
    found = []
    for name in ("camera-photos", "foolbox-imagenet"):
        for path in sorted((ROOT / name / "images").rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                found.append(path)
    return found


def fit(image: Image.Image, side: int = 1600) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((side, side))
    return image


def build_set(
    photos: list[Path], folder: Path, bases: int
) -> tuple[list[set[str]], set[frozenset[str]]]:
    """Write the set; returns the true groups (file names) and the known negative pairs."""
    random.seed(7)
    usable = []
    for path in photos:
        try:
            usable.append((path, fit(full_decode(path))))
        except Exception:  # noqa: BLE001 - a photo Pillow cannot read is left out
            continue
    random.shuffle(usable)
    groups: list[set[str]] = []
    negatives: set[frozenset[str]] = set()
    half = min(bases, len(usable) // 2)
    for n, (_, image) in enumerate(usable[:half]):
        w, h = image.size
        names = {
            f"d{n}.jpg",
            f"d{n}-half.jpg",
            f"d{n}-q60.jpg",
            f"d{n}-crop.jpg",
            f"d{n}-burst.jpg",
        }
        image.save(folder / f"d{n}.jpg", quality=95)
        image.resize((w // 2, h // 2), Image.Resampling.LANCZOS).save(
            folder / f"d{n}-half.jpg", quality=90
        )
        image.save(folder / f"d{n}-q60.jpg", quality=60)
        image.crop((int(w * 0.075), int(h * 0.075), int(w * 0.925), int(h * 0.925))).save(
            folder / f"d{n}-crop.jpg", quality=92
        )
        burst = image.rotate(1, resample=Image.Resampling.BICUBIC).crop((int(w * 0.03), 0, w, h))
        ImageEnhance.Brightness(burst).enhance(1.06).save(folder / f"d{n}-burst.jpg", quality=92)
        groups.append(names)
    for n, (_path, image) in enumerate(usable[half : 2 * half]):
        w, h = image.size
        image.crop((0, 0, int(w * 0.45), h)).save(folder / f"s{n}-left.jpg", quality=92)
        image.crop((int(w * 0.55), 0, w, h)).save(folder / f"s{n}-right.jpg", quality=92)
        negatives.add(frozenset({f"s{n}-left.jpg", f"s{n}-right.jpg"}))
    return groups, negatives


def pairs_of(groups: list[set[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def quality(bases: int) -> None:
    photos = real_photos()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        truth_groups, scene_pairs = build_set(photos, folder, bases)
        truth = pairs_of(truth_groups)
        files = sorted(p.name for p in folder.iterdir())
        print(
            f"set: {len(files)} photos, {len(truth_groups)} true groups ({len(truth)} true pairs), "
            f"{len(scene_pairs)} same-scene negative pairs"
        )
        library = Library.open(Path(tmp) / "library", model="starter")
        try:
            library.store.settings.set(AUTO_TAG_KEY, False)
            started = time.perf_counter()
            run_to_end(library.folders.index([folder]))
            print(f"indexed with the starter in {time.perf_counter() - started:.0f} s")
            records = library.photos.get(library.photos.ids())
            name = {i: Path(r.path).name for i, r in records.items()}
            index = library.runtime.index(library.runtime.indexed_model())
            candidates = run_to_end(near_pairs(index, 0.80))
            wanted = sorted({i for a, b, _ in candidates for i in (a, b)})
            started = time.perf_counter()
            looks = {i: look(Path(records[i].path)) for i in wanted}
            per_look = (time.perf_counter() - started) / max(1, len(wanted))
            print(
                f"{len(candidates)} candidate pairs at cosine >= 0.80; difference hash "
                f"{per_look * 1000:.1f} ms per photo"
            )
            rows = []
            for min_score, distance, sure in itertools.product(
                (0.80, 0.85, 0.90, 0.93, 0.95), (None, 8, 12, 16, 20), (0.97, 0.99, 1.01)
            ):
                if distance is None and sure != 1.01:
                    continue
                joined = _Groups()
                for a, b, score in candidates:
                    if score < min_score:
                        continue
                    close = distance is None or hamming(looks[a].dhash, looks[b].dhash) <= distance
                    if close or score >= sure:
                        joined.join(a, b)
                found = pairs_of([{name[i] for i in s} for s in joined.sets()])
                hit = len(found & truth)
                precision = hit / len(found) if found else 1.0
                recall = hit / len(truth)
                scene = len(found & scene_pairs) / max(1, len(scene_pairs))
                rows.append((min_score, distance, sure, precision, recall, scene, len(found)))
            print(
                "min cosine | dHash bits | sure cosine | precision | recall "
                "| same-scene grouped | pairs"
            )
            for min_score, distance, sure, precision, recall, scene, count in rows:
                bits = "-" if distance is None else str(distance)
                sure_text = "-" if sure > 1 else f"{sure:.2f}"
                print(
                    f"{min_score:10.2f} | {bits:>10} | {sure_text:>11} | {precision:9.3f} | "
                    f"{recall:6.3f} | {scene:18.3f} | {count}"
                )
            groups = run_to_end(library.duplicates.find())
            found = pairs_of([{Path(i.photo.path).name for i in g.photos} for g in groups])
            hit = len(found & truth)
            print(
                f"defaults (cosine {MIN_SCORE}, {MAX_HASH_DISTANCE} bits, sure {SURE_SCORE}): "
                f"precision {hit / max(1, len(found)):.3f}, recall {hit / len(truth):.3f}, "
                f"{len(groups)} groups"
            )
            by_kind: dict[str, list[int]] = {}
            for group_names in truth_groups:
                base = next(n for n in group_names if n.count("-") == 0)
                for member in group_names - {base}:
                    kind = member.split("-")[1].split(".")[0]
                    by_kind.setdefault(kind, []).append(int(frozenset({base, member}) in found))
            print(
                "recall by neighbour: "
                + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(by_kind.items()))
            )
        finally:
            library.close()


def cost(count: int, dim: int = 512) -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((count, dim)).astype(np.float32)
    copies = count // 10
    base[-copies:] = base[:copies] + 0.15 * rng.standard_normal((copies, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    index = HnswIndex("synthetic", dim, capacity=count)
    started = time.perf_counter()
    index.add(np.arange(count, dtype=np.int64), base)
    built = time.perf_counter() - started
    started = time.perf_counter()
    pairs = run_to_end(near_pairs(index, MIN_SCORE))
    passed = time.perf_counter() - started
    started = time.perf_counter()
    groups = _Groups()
    for a, b, _ in pairs:
        groups.join(a, b)
    sets = groups.sets()
    grouped = time.perf_counter() - started
    print(
        f"{count:,} vectors ({dim}-d): index built in {built:.1f} s (once, by indexing); "
        f"neighbour pass {passed:.1f} s; {len(pairs):,} pairs at >= {MIN_SCORE}, "
        f"{len(sets):,} groups in {grouped:.2f} s (of {copies:,} planted copies)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bases", type=int, default=40)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.skip_quality:
        quality(args.bases)
    if not args.skip_cost:
        cost(args.photos)


if __name__ == "__main__":
    main()
