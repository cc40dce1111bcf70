"""Duplicate finding: precision and recall on a set built from real photos, and the cost at scale.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_duplicates.py [--split] [--bases 40]
        [--photos 100000] [--skip-quality] [--skip-cost] [--workdir DIR]

**Quality.** Real photos from ``~/.cache/photosense-datasets`` (camera-photos, foolbox-imagenet),
one per picture (the data sets hold some pictures in several colour spaces or sizes: those are
one picture) and none under 256 px (64 px test swatches). Half of them each get four neighbours
made with Pillow: resized to half (JPEG q 90), re-encoded (JPEG q 60), cropped to its central
85 %, and a burst-like frame (shifted 3 %, turned 1 degree, 6 % brighter); the photo and its
neighbours are one true group. Each photo of the other half gives four views of one scene that
are other photos, not copies: its left and right 45 % ("halves", no overlap), its left and right
75 % ("panned", half the photo in common), and each half beside each 75 % view ("strip"); the
ImageNet photos sharing a class are more negatives. The set and its library (indexed with the
offline starter) are kept in ``--workdir`` so a second run indexes nothing. Candidate pairs are
made once (each photo's 8 nearest at cosine >= 0.70) and every rule is scored on pairs:
precision (grouped pairs that are true) and recall (true pairs grouped). With ``--split`` the
rules are chosen on the even-numbered photos and scored on the odd-numbered ones, each half
with its own neighbour pass. ``duplicates.find()`` is then run with its defaults on the whole set.

**Cost.** ``--photos`` synthetic unit vectors (512-d; 10 % of them near copies of others) in an
HNSW index: the time of the neighbour pass and of star grouping; and, on the set's photos, the
time of a look per candidate photo and of a likeness per candidate pair, projected to the
planted copies and to the worst case (every photo a candidate with all its neighbours).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import CACHE, dataset, machine
from PIL import Image, ImageEnhance

from photosense.library import DuplicatePhoto, Library
from photosense.library.duplicates import (
    MIN_LIKENESS,
    MIN_SCORE,
    _Groups,
    _rank,
    star_groups,
)
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.decode import decode_photo, full_decode
from photosense.media.perceptual import (
    LOOK_SIDE,
    Look,
    dhash,
    hamming,
    likeness,
    look,
    look_of,
)
from photosense.progress import run_to_end
from photosense.vectors.duplicates import NEIGHBOURS, near_pairs
from photosense.vectors.index import ExactIndex, HnswIndex

EXTENSIONS = {".jpg", ".jpeg", ".png"}
SET_VERSION = 3
MIN_SIDE = 256
"""Sources with a shorter side under this are test swatches (64 px), not photos: left out."""
VARIANT = re.compile(
    r"_(srgb8|709|2020|acescg|grayscale|alpha|original|modified|\d+x\d+)(?=_|$).*$"
)
"""The part of a file name that names an encoding of a picture the data sets hold more than once
(colour space, grey, alpha, size, an edited copy): what is left names the picture."""


@dataclass
class Truth:
    """File names of the set: the true groups, and the negative pairs of two kinds."""

    groups: list[set[str]]
    scene: set[frozenset[str]]
    same_class: set[frozenset[str]]


def real_photos() -> list[Path]:
    found = []
    for name in ("camera-photos", "foolbox-imagenet"):
        for path in sorted((dataset(name) / "images").rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                found.append(path)
    return found


def picture(path: Path) -> str:
    """What names the picture (so two encodings of one picture are not two sources)."""
    return VARIANT.sub("", path.stem.lower())


def fit(image: Image.Image, side: int = 1600) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((side, side))
    return image


def build_set(photos: list[Path], folder: Path, bases: int) -> Truth:
    """Write the set into ``folder``; returns its truth."""
    random.seed(7)
    usable = []
    seen: set[str] = set()
    for path in photos:
        try:
            image = full_decode(path)
        except Exception:  # noqa: BLE001 - a photo Pillow cannot read is left out
            continue
        if min(image.size) < MIN_SIDE or picture(path) in seen:
            continue
        seen.add(picture(path))
        usable.append((path, fit(image)))
    random.shuffle(usable)
    truth = Truth([], set(), set())
    half = min(bases, len(usable) // 2)
    classes: dict[str, list[str]] = {}
    for n, (path, image) in enumerate(usable[:half]):
        w, h = image.size
        names = {f"d{n}{tail}.jpg" for tail in ("", "-half", "-q60", "-crop", "-burst")}
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
        truth.groups.append(names)
        classes.setdefault(imagenet_class(path), []).extend(names)
    for n, (path, image) in enumerate(usable[half : 2 * half]):
        w, h = image.size
        views = {
            "left": (0, 0.45),
            "right": (0.55, 1),
            "pan_left": (0, 0.75),
            "pan_right": (0.25, 1),
        }
        names = {f"s{n}-{view}.jpg" for view in views}
        for view, (left, right) in views.items():
            box = (int(w * left), 0, int(w * right), h)
            image.crop(box).save(folder / f"s{n}-{view}.jpg", quality=92)
        truth.scene |= {frozenset(p) for p in itertools.combinations(sorted(names), 2)}
        classes.setdefault(imagenet_class(path), []).extend(names)
    for label, members in classes.items():
        if label:
            pairs = {frozenset(p) for p in itertools.combinations(members, 2)}
            truth.same_class |= pairs - pairs_of(truth.groups) - truth.scene
    return truth


def imagenet_class(path: Path) -> str:
    """The ImageNet class of a foolbox-imagenet photo (its name's last part), else ''."""
    return path.stem.rsplit("_", 1)[-1] if path.stem.startswith("imagenet_") else ""


def pairs_of(groups: list[set[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def prepare(bases: int, workdir: Path) -> tuple[Library, Truth]:
    """The set and its library indexed with the starter, kept in ``workdir`` between runs (a
    second run indexes nothing); rebuilt when ``bases`` changes."""
    stamp = workdir / "set.json"
    folder = workdir / "photos"
    truth = None
    if stamp.is_file():
        saved = json.loads(stamp.read_text())
        if saved["bases"] == bases and saved["version"] == SET_VERSION:
            truth = Truth(
                [set(g) for g in saved["groups"]],
                {frozenset(p) for p in saved["scene"]},
                {frozenset(p) for p in saved["same_class"]},
            )
    if truth is None:
        shutil.rmtree(workdir, ignore_errors=True)
        folder.mkdir(parents=True)
        truth = build_set(real_photos(), folder, bases)
        stamp.write_text(
            json.dumps(
                {
                    "bases": bases,
                    "version": SET_VERSION,
                    "groups": [sorted(g) for g in truth.groups],
                    "scene": [sorted(p) for p in truth.scene],
                    "same_class": [sorted(p) for p in truth.same_class],
                }
            )
        )
    library = Library.open(workdir / "library", model="starter")
    library.store.settings.set(AUTO_TAG_KEY, False)
    started = time.perf_counter()
    run_to_end(library.folders.index([folder]))
    print(f"indexed with the starter in {time.perf_counter() - started:.0f} s ({workdir})")
    return library, truth


CANDIDATES = 0.70
"""The loosest cosine tried: candidates are made once at it, and each rule filters them."""


@dataclass
class Half:
    """One half of the set: its photos' names, candidate pairs (names, cosine), looks,
    difference hashes and the likeness of each candidate pair."""

    names: dict[int, str]
    candidates: list[tuple[int, int, float]]
    looks: dict[int, Look]
    hashes: dict[int, int]
    alike: dict[tuple[int, int], float]
    rank: list[int]


@dataclass(frozen=True)
class Rule:
    grouping: str  # "chain" (union-find), "star", "complete"
    min_cosine: float
    min_likeness: float | None = None  # None: the difference hash rule before
    max_bits: int = 12
    sure_cosine: float = 1.01


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    scene: dict[str, float]
    same_class: float
    pairs: int
    found: frozenset[frozenset[str]]


def measure_half(library: Library, ids: list[int]) -> Half:
    records = library.photos.get(ids)
    index = library.runtime.index(library.runtime.indexed_model())
    sub = ExactIndex("half", index.dim, np.array(ids, np.int64), index.vectors_for(ids))
    candidates = run_to_end(near_pairs(sub, CANDIDATES))
    wanted = sorted({i for a, b, _ in candidates for i in (a, b)})
    looks, hashes = {}, {}
    for i in wanted:
        image = decode_photo(Path(records[i].path), min_side=LOOK_SIDE).image
        looks[i], hashes[i] = look_of(image), dhash(image)
    alike = {(a, b): likeness(looks[a].detail, looks[b].detail) for a, b, _ in candidates}
    rank = sorted(wanted, key=lambda i: _rank(DuplicatePhoto(records[i], looks[i].sharpness)))
    return Half(
        {i: Path(r.path).name for i, r in records.items()}, candidates, looks, hashes, alike, rank
    )


def group(half: Half, rule: Rule) -> list[list[int]]:
    """The groups ``rule`` makes of ``half``'s candidates."""
    cosines = {(a, b): cosine for a, b, cosine in half.candidates}

    def same(x: int, y: int) -> bool:
        """Whether the rule calls two photos the same (pairs that were not candidates, which
        star and complete grouping ask about, are judged by their pixels alone)."""
        key = (min(x, y), max(x, y))
        cosine = cosines.get(key, 0.0)
        if rule.min_likeness is None:
            close = hamming(half.hashes[x], half.hashes[y]) <= rule.max_bits
            return close or cosine >= rule.sure_cosine
        known = half.alike.get(key)
        if known is None:
            known = half.alike[key] = likeness(half.looks[x].detail, half.looks[y].detail)
        return known >= rule.min_likeness

    links = [(a, b) for a, b, cosine in half.candidates if cosine >= rule.min_cosine and same(a, b)]
    if rule.grouping == "chain":
        joined = _Groups()
        for a, b in links:
            joined.join(a, b)
        return joined.sets()
    if rule.grouping == "star":
        neighbours: dict[int, set[int]] = {}
        for a, b in links:
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
        return star_groups([i for i in half.rank if i in neighbours], neighbours, same)
    # complete link: two groups merge, most alike pair first, when every pair across them is
    # the same photo
    member: dict[int, list[int]] = {}
    for a, b in sorted(links, key=lambda p: -half.alike[p]):
        one, two = member.setdefault(a, [a]), member.setdefault(b, [b])
        if one is not two and all(same(x, y) for x in one for y in two):
            one.extend(two)
            for x in two:
                member[x] = one
    unique = {id(g): g for g in member.values()}
    return [sorted(g) for g in unique.values() if len(g) > 1]


def score(half: Half, rule: Rule, truth: Truth) -> Score:
    names = set(half.names.values())
    wanted = {p for p in pairs_of(truth.groups) if p <= names}
    scene: dict[str, set[frozenset[str]]] = {}
    for pair in truth.scene:
        if pair <= names:
            scene.setdefault(scene_kind(pair), set()).add(pair)
    same_class = {p for p in truth.same_class if p <= names}
    found = frozenset(pairs_of([{half.names[i] for i in g} for g in group(half, rule)]))
    hit = len(found & wanted)
    return Score(
        hit / len(found) if found else 1.0,
        hit / max(1, len(wanted)),
        {kind: len(found & pairs) / len(pairs) for kind, pairs in sorted(scene.items())},
        len(found & same_class) / max(1, len(same_class)),
        len(found),
        found,
    )


SCENE_KINDS = ("halves", "panned", "strip")
"""Same-scene negatives: the two 45 % halves; the two 75 % views (half of the photo in
common); a 45 % half and a 75 % view (the half may lie inside the view, 60 % of its width)."""


def scene_kind(pair: frozenset[str]) -> str:
    views = {name.split("-", 1)[1].removesuffix(".jpg") for name in pair}
    if views == {"left", "right"}:
        return "halves"
    return "panned" if views == {"pan_left", "pan_right"} else "strip"


def f1(s: Score) -> float:
    return 2 * s.precision * s.recall / max(1e-9, s.precision + s.recall)


def chosen(rows: list[tuple[Rule, Score]]) -> tuple[Rule, Score]:
    """The rule of the best recall at precision 0.9 or more (failing that, the best F1); of
    rules that do as well, the one in the middle of the plateau they make: the middle cosine,
    then the middle likeness (the farthest from both edges, where a small development set
    says least)."""
    good = [r for r in rows if r[1].precision >= 0.9] or rows
    if good is rows:
        top = max(f1(s) for _, s in rows)
        tied = [r for r in rows if f1(r[1]) == top]
    else:
        top_pair = max((s.recall, s.precision) for _, s in good)
        tied = [r for r in good if (r[1].recall, r[1].precision) == top_pair]
    cosines = sorted({rule.min_cosine for rule, _ in tied})
    cosine = cosines[len(cosines) // 2]
    tied = sorted(
        (r for r in tied if r[0].min_cosine == cosine), key=lambda r: r[0].min_likeness or 0.0
    )
    return tied[len(tied) // 2]


def describe(rule: Rule) -> str:
    if rule.min_likeness is None:
        sure = "" if rule.sure_cosine > 1 else f", or cosine >= {rule.sure_cosine:.2f}"
        return f"{rule.grouping}: cosine >= {rule.min_cosine:.2f}, dHash <= {rule.max_bits}{sure}"
    return f"{rule.grouping}: cosine >= {rule.min_cosine:.2f}, likeness >= {rule.min_likeness:.2f}"


def show(title: str, rows: list[tuple[Rule, Score]]) -> None:
    print(title)
    kinds = " | ".join(f"{kind:>6}" for kind in SCENE_KINDS)
    print(f"  {'rule':<55} | precision | recall | {kinds} | class | pairs")
    for rule, s in rows:
        rates = " | ".join(f"{s.scene.get(kind, 0.0):6.3f}" for kind in SCENE_KINDS)
        print(
            f"  {describe(rule):<55} | {s.precision:9.3f} | {s.recall:6.3f} | {rates} | "
            f"{s.same_class:5.3f} | {s.pairs}"
        )


def by_kind(found: frozenset[frozenset[str]], truth: Truth, names: set[str]) -> str:
    hits: dict[str, list[int]] = {}
    for group_names in truth.groups:
        if not group_names <= names:
            continue
        base = next(n for n in group_names if "-" not in n)
        for member in sorted(group_names - {base}):
            kind = member.split("-")[1].split(".")[0]
            hits.setdefault(kind, []).append(int(frozenset({base, member}) in found))
    return ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(hits.items()))


BEFORE = Rule("chain", 0.90, None, 12, 0.97)
"""The rule before: cosine >= 0.90 and a difference hash within 12 bits, or cosine >= 0.97,
groups joined through chains."""


def quality(bases: int, workdir: Path, split: bool) -> None:
    library, truth = prepare(bases, workdir)
    try:
        records = library.photos.get(library.photos.ids())
        names = {i: Path(r.path).name for i, r in records.items()}
        print(
            f"set: {len(records)} photos, {len(truth.groups)} true groups "
            f"({len(pairs_of(truth.groups))} true pairs), {len(truth.scene)} same-scene and "
            f"{len(truth.same_class)} same-class negative pairs"
        )

        def number(name: str) -> int:
            return int(name[1:].split("-")[0].split(".")[0])

        parts = (0, 1) if split else (None,)
        halves = {}
        for part in parts:
            ids = [i for i in sorted(records) if part is None or number(names[i]) % 2 == part]
            started = time.perf_counter()
            half = measure_half(library, ids)
            spent = time.perf_counter() - started
            started = time.perf_counter()
            for a, b, _ in half.candidates:
                likeness(half.looks[a].detail, half.looks[b].detail)
            per_pair = (time.perf_counter() - started) / max(1, len(half.candidates))
            print(
                f"{'all' if part is None else ('development', 'held-out')[part]} half: "
                f"{len(ids)} photos, {len(half.candidates)} candidate pairs at cosine >= "
                f"{CANDIDATES}, {len(half.looks)} photos decoded and compared in {spent:.1f} s; "
                f"likeness {per_pair * 1000:.2f} ms per pair"
            )
            halves[part] = half
        dev, test = halves[parts[0]], halves[parts[-1]]
        rules = [BEFORE, Rule("chain", 0.90, None, 12), Rule("star", 0.90, None, 12, 0.97)]
        likes = [round(0.30 + 0.05 * i, 2) for i in range(11)]
        for grouping in ("chain", "star", "complete"):
            for cosine in (0.70, 0.75, 0.80, 0.85, 0.90):
                rules += [Rule(grouping, cosine, like) for like in likes]
        dev_rows = [(rule, score(dev, rule, truth)) for rule in rules]
        best = {
            g: chosen([r for r in dev_rows[3:] if r[0].grouping == g])
            for g in ("chain", "star", "complete")
        }
        show(
            "development half: the rule before, and the best of each grouping",
            dev_rows[:3] + list(best.values()),
        )
        star = best["star"][0]
        print(
            f"development half at cosine >= {star.min_cosine:.2f}, by grouping and likeness "
            "(precision / recall)"
        )
        print("  likeness | chain         | star          | complete")
        for like in likes:
            cells = []
            for grouping in ("chain", "star", "complete"):
                s = dict(dev_rows)[Rule(grouping, star.min_cosine, like)]
                cells.append(f"{s.precision:.3f} / {s.recall:.3f}")
            print(f"  {like:8.2f} | " + " | ".join(cells))
        print(
            f"development half, star grouping at likeness >= {star.min_likeness}, by cosine: "
            "recall, candidate pairs"
        )
        for cosine in (0.70, 0.75, 0.80, 0.85, 0.90):
            s = dict(dev_rows)[Rule("star", cosine, star.min_likeness)]
            count = sum(c >= cosine for _, _, c in dev.candidates)
            print(f"  {cosine:.2f}: recall {s.recall:.3f}, precision {s.precision:.3f}, {count}")
        test_rows = [
            (rule, score(test, rule, truth))
            for rule in [*rules[:3], *(r for r, _ in best.values())]
        ]
        show("held-out half, with the rules chosen on the development half", test_rows)
        test_names = set(test.names.values())
        for rule, s in test_rows:
            print(
                f"  recall by neighbour ({describe(rule)}): {by_kind(s.found, truth, test_names)}"
            )
        groups = run_to_end(library.duplicates.find())
        found = pairs_of([{Path(i.photo.path).name for i in g.photos} for g in groups])
        every = pairs_of(truth.groups)
        hit = len(found & every)
        print(
            f"duplicates.find() on the whole set (cosine {MIN_SCORE}, likeness "
            f"{MIN_LIKENESS}): precision {hit / max(1, len(found)):.3f}, recall "
            f"{hit / len(every):.3f}, {len(groups)} groups, same-scene pairs grouped "
            f"{len(found & truth.scene)} of {len(truth.scene)}"
        )
    finally:
        library.close()


def pixel_cost(workdir: Path) -> tuple[float, float]:
    """Seconds per photo of a look (decode and reduce) and per pair of a likeness, on the set's
    photos (real JPEGs of up to 1600 px)."""
    photos = sorted((workdir / "photos").glob("d*.jpg"))[:60] or real_photos()[:60]
    started = time.perf_counter()
    looks = [look(path) for path in photos]
    per_look = (time.perf_counter() - started) / len(looks)
    pairs = list(itertools.combinations(looks, 2))[:400]
    started = time.perf_counter()
    for one, two in pairs:
        likeness(one.detail, two.detail)
    return per_look, (time.perf_counter() - started) / len(pairs)


def cost(count: int, workdir: Path, dim: int = 512) -> None:
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
    links: dict[int, set[int]] = {}
    for a, b, _ in pairs:
        links.setdefault(a, set()).add(b)
        links.setdefault(b, set()).add(a)
    groups = star_groups(sorted(links), links, lambda a, b: True)
    grouped = time.perf_counter() - started
    print(
        f"{count:,} vectors ({dim}-d): index built in {built:.1f} s (once, by indexing); "
        f"neighbour pass {passed:.1f} s; {len(pairs):,} pairs at cosine >= {MIN_SCORE}, "
        f"{len(groups):,} star groups in {grouped:.2f} s (of {copies:,} planted copies)"
    )
    per_look, per_pair = pixel_cost(workdir)
    photos = len(links)
    print(
        f"pixel check: {per_look * 1000:.1f} ms per candidate photo (decode at "
        f"{LOOK_SIDE} px, detail, sharpness), {per_pair * 1000:.2f} ms per candidate pair"
    )
    print(
        f"  for these planted copies ({photos:,} photos, {len(pairs):,} pairs): "
        f"{photos * per_look + len(pairs) * per_pair:.0f} s"
    )
    every = count * NEIGHBOURS // 2
    print(
        f"  at worst, every photo a candidate with all {NEIGHBOURS} neighbours "
        f"({count:,} photos, {every:,} pairs): {count * per_look + every * per_pair:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bases", type=int, default=40)
    parser.add_argument(
        "--workdir", type=Path, default=CACHE / "duplicates", help="where the set is kept"
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="choose rules on one half of the set (even-numbered photos), score them on the other",
    )
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    print(f"{machine()}; load average {os.getloadavg()[0]:.1f}")
    if not args.skip_quality:
        quality(args.bases, args.workdir, args.split)
    if not args.skip_cost:
        cost(args.photos, args.workdir)


if __name__ == "__main__":
    main()
