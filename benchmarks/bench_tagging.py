"""Auto-tagging: speed of tagging a whole library, and quality on labelled data.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_tagging.py --speed [--photos 100000]
        [--tags 2000] [--dims 384,512] [--store-photos 20000]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_tagging.py --quality [--model starter]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_tagging.py --real [--show] [--before]

**Speed** runs the same code as ``photosense tag`` on synthetic unit vectors (photos: a shared
direction plus noise, like real image embeddings; tags: random unit vectors): calibration on a
5k-photo sample, then score + standardise + select for every photo in chunks. ``--store-photos``
also times the whole ``Tagger.tag(retag=True)`` path on a real SQLite library (loading the stored
vectors and writing every suggestion), which is where the rest of the time goes.

**Quality** treats each class of a labelled set as a tag and the set's images as the library:
the images are encoded once (cached in ``~/.cache/photosense-bench/tagging``), each class name
becomes a tag with the app's default prompt ensemble, and photos are tagged exactly as in the app
(default :class:`TaggingParams`, library z-scores blended with the shipped background captions,
margin and cap). Baseline: one global cutoff on the raw cosine similarity with the same cap of
tags per photo, the cutoff chosen to maximise F1 on a separate development part of the same set
(tuxpaint-stamps: the train split; fashion-mnist: a second, disjoint stratified subset) and, as
an upper bound no real cutoff reaches, on the evaluated part itself ("oracle"). Precision,
recall and F1 are micro-averaged over (photo, tag) decisions; tag mAP ranks the photos for each
tag present (per-tag calibration is affine, so it leaves this unchanged: it measures the model);
photo mAP ranks the tags of each photo (here calibration does change the order).
Fashion-MNIST is evaluated on a fixed stratified subset (200 images per class, by sha256 of the
path) because the CPU encodes ~20 images/s.

**Real** tags real photos with the app's own default vocabulary (~1,450 tags) and tag families,
as a user's library would be: foolbox-imagenet and camera-photos together make the library,
and each suggestion is checked against ``benchmarks/labels/real_photo_tags.csv``, the tags a
person would keep on each photo (labelled by looking at the photos; every tag among each
photo's 8 best was judged). Precision: suggestions that are right; recall: labelled tags that
were suggested; "photos right": photos with at least one right tag. ``--show`` prints each
photo's tags; ``--with-stamps`` adds the 538 tuxpaint stamps to the library (calibration only),
like the mixed library of clip art and photos the tagging complaints came from. ``--before``
(for --quality and --real) uses the selection as it was before tag families and the standout
test.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import logging
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from _common import CACHE, DATASETS, dataset, machine, peak_rss_mib

from photosense import evaluation
from photosense.learn.metrics import class_text_vectors
from photosense.models.encoder import Encoder, l2_normalise
from photosense.models.fake import FakeEncoder
from photosense.models.registry import load_encoder
from photosense.progress import run_to_end
from photosense.store.records import Batch, PhotoFields
from photosense.store.repository import Store
from photosense.tagging.calibration import (
    CHUNK,
    Family,
    TaggingParams,
    calibrate,
    select_tags,
    standardise,
    tag_blocks,
)
from photosense.tagging.service import Tagger
from photosense.tagging.vectors import TagVectorCache
from photosense.tagging.vocabulary import (
    TAG_TEMPLATES,
    VocabularyEntry,
    background_captions,
    default_families,
    default_vocabulary,
    tag_templates,
)

log = logging.getLogger("bench_tagging")

Array = npt.NDArray[np.float32]
BEFORE = TaggingParams(standout=0.0, crowd=1_000_000)
"""The selection before tag families and the standout test (a crowd larger than any
vocabulary turns the test off); ``--before`` measures it (with no families)."""
LABELS = Path(__file__).parent / "labels" / "real_photo_tags.csv"
REAL_SETS = ("foolbox-imagenet", "camera-photos")
REAL_STAMPS = ("train", "test")
"""``--with-stamps`` adds both splits of tuxpaint-stamps to the library (not to the scores)."""
FASHION_PER_CLASS = 200
"""Fashion-MNIST images per class in each fixed subset (the CPU encodes ~20 images/s)."""


@dataclass(frozen=True)
class QualitySet:
    """A labelled set: the part evaluated and the disjoint part a global cutoff is tuned on."""

    name: str
    test: str
    dev: str | None


QUALITY_SETS = (
    QualitySet("tuxpaint-stamps", "test", "train"),
    QualitySet("foolbox-imagenet", "all", None),
    QualitySet("fashion-mnist", "subset-0", "subset-1"),
)


@dataclass(frozen=True)
class Encoded:
    """Image vectors of one part of a set, with each image's class index."""

    vectors: Array
    labels: npt.NDArray[np.int64]
    classes: tuple[str, ...]


Ints = npt.NDArray[np.int64]
Selection = tuple[Ints, Ints]


def _subset(data: evaluation.EvalDataset, part: str) -> list[tuple[str, int]]:
    """The labelled rows of ``part``: a split as is, or a fixed stratified Fashion-MNIST slice.

    ``subset-K`` takes, per class, images K*200 .. K*200+199 in sha256(path) order, so subsets
    are disjoint, balanced and the same on every machine.
    """
    if not part.startswith("subset-"):
        return list(data.labels)
    k = int(part.split("-", 1)[1])
    by_class: dict[int, list[str]] = {}
    for path, label in data.labels:
        by_class.setdefault(label, []).append(path)
    rows: list[tuple[str, int]] = []
    for label, paths in sorted(by_class.items()):
        ordered = sorted(paths, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
        chosen = ordered[k * FASHION_PER_CLASS : (k + 1) * FASHION_PER_CLASS]
        rows.extend((p, label) for p in sorted(chosen))
    return rows


def encoded_set(encoder: Encoder, name: str, part: str) -> Encoded:
    """Encode one part of a set, or load it from the benchmark cache (keyed by model and rows)."""
    split = part if not part.startswith("subset-") else "all"
    data = evaluation.load_dataset(dataset(name), split)
    rows = _subset(data, part)
    key = hashlib.sha256(repr((encoder.model_id, name, [p for p, _ in rows])).encode()).hexdigest()[
        :16
    ]
    path = CACHE / "tagging" / f"{name}-{part}-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return Encoded(stored["vectors"], stored["labels"], data.classes)
    log.info("encoding %d images of %s (%s)", len(rows), name, part)
    job = evaluation.encode_images(encoder, [data.folder / p for p, _ in rows])
    found = run_to_end(job)
    keep = sorted(found)
    vectors = np.stack([found[i] for i in keep]).astype(np.float32)
    labels = np.array([rows[i][1] for i in keep], dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, labels=labels)
    return Encoded(vectors, labels, data.classes)


# -- speed ------------------------------------------------------------------------------------


def synthetic(n: int, dim: int, seed: int) -> Array:
    """Unit vectors sharing a common direction (cosine ~0.5 between random pairs)."""
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(dim).astype(np.float32)
    mean /= np.linalg.norm(mean)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 50_000):
        m = min(50_000, n - start)
        noise = rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        out[start : start + m] = l2_normalise(noise + mean)
    return out


def speed(photos: int, tags: int, dim: int) -> dict[str, float]:
    """Seconds to calibrate and to tag ``photos`` x ``tags`` with the app's selection."""
    vectors = synthetic(photos, dim, 1)
    tag_vectors = l2_normalise(np.random.default_rng(2).standard_normal((tags, dim)))
    background = synthetic(150, dim, 3)
    params = TaggingParams()
    cutoffs = np.full(tags, params.cutoff(tags), np.float32)
    started = time.perf_counter()
    calibration = calibrate(tag_vectors, vectors, background, params.prior_photos)
    calibrate_s = time.perf_counter() - started
    started = time.perf_counter()
    # As many families as the default vocabulary has (12, about 9 kinds each).
    families = [(k * 10, np.arange(k * 10 + 1, k * 10 + 10)) for k in range(min(12, tags // 10))]
    chosen = 0
    for _, selection in tag_blocks(
        vectors, tag_vectors, calibration, cutoffs, params, CHUNK, families
    ):
        chosen += len(selection.rows)
    tag_s = time.perf_counter() - started
    return {"calibrate_s": calibrate_s, "tag_s": tag_s, "suggestions": chosen}


def store_speed(photos: int, tags: int, dim: int) -> dict[str, float]:
    """Seconds for ``Tagger.tag(retag=True)`` on a real library of synthetic photos."""
    encoder = FakeEncoder(model_id=f"bench/synthetic-{dim}", dim=dim)
    vocabulary = [VocabularyEntry(f"tag {i}", "bench") for i in range(tags)]
    vectors = synthetic(photos, dim, 1)
    tag_vectors = l2_normalise(np.random.default_rng(2).standard_normal((tags, dim)))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        store.vectors.ensure_model(encoder.model_id, dim)
        folder = store.folders.add(tmp)
        for start in range(0, photos, 5000):
            batch = Batch(folder.id)
            for i in range(start, min(photos, start + 5000)):
                fields = PhotoFields(f"{tmp}/p{i}.jpg", 1, 1, f"{i:064x}", taken_at=datetime.now())
                batch.new.append((fields, vectors[i]))
            store.vectors.commit_batch(encoder.model_id, batch)

        def embed(_encoder: Encoder, names: list[str], _templates: tuple[str, ...]) -> Array:
            if names and names[0].startswith("tag "):
                return tag_vectors[[int(n.split()[1]) for n in names]]
            return synthetic(len(names), dim, 3)

        cache = TagVectorCache(Path(tmp) / "tagging", embed)  # type: ignore[arg-type]
        tagger = Tagger(store, encoder, cache, vocabulary=vocabulary)
        tagger.prepare()
        # Keywords are read once per file at index time; these files do not exist.
        store.tags.import_keywords({photo_id: [] for photo_id in store.photos.ids()})
        started = time.perf_counter()
        report = run_to_end(tagger.tag(retag=True))
        seconds = time.perf_counter() - started
        store.close()
    return {"seconds": seconds, "suggestions": report.suggestions, "photos": report.photos}


def run_speed(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    print(f"\n{args.photos:,} photos x {args.tags:,} tags, synthetic unit vectors\n")
    print("| dim | calibrate (5k sample) s | score + standardise + select s | total s | photos/s |")
    print("|---|---|---|---|---|")
    for dim in args.dims:
        best: dict[str, float] | None = None
        for _ in range(args.repeat):
            result = speed(args.photos, args.tags, dim)
            if best is None or result["tag_s"] < best["tag_s"]:
                best = result
        assert best is not None
        total = best["calibrate_s"] + best["tag_s"]
        print(
            f"| {dim} | {best['calibrate_s']:.2f} | {best['tag_s']:.2f} | {total:.2f} "
            f"| {args.photos / total:,.0f} |"
        )
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
    if args.store_photos:
        dim = args.dims[-1]
        result = store_speed(args.store_photos, args.tags, dim)
        print(
            f"\nTagger.tag(retag=True) on a SQLite library of {args.store_photos:,} photos x "
            f"{args.tags:,} tags ({dim}-d): {result['seconds']:.1f} s end to end "
            f"(load vectors, calibrate, tag, write {result['suggestions']:,} suggestions), "
            f"{args.store_photos / result['seconds']:,.0f} photos/s"
        )


# -- quality ----------------------------------------------------------------------------------


def micro_prf(
    rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64], labels: npt.NDArray[np.int64]
) -> tuple[float, float, float, float]:
    """Micro precision, recall, F1 and tags per photo, with one true tag per photo."""
    predicted = len(rows)
    correct = int(np.sum(labels[rows] == cols))
    precision = correct / predicted if predicted else 0.0
    recall = correct / len(labels)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return precision, recall, f1, predicted / len(labels)


def tag_map(scores: Array, labels: npt.NDArray[np.int64]) -> float:
    """Mean over the tags present of the average precision of ranking photos by score."""
    aps = []
    for tag in np.unique(labels):
        order = np.argsort(-scores[:, tag], kind="stable")
        relevant = labels[order] == tag
        hits = np.cumsum(relevant)
        precision = hits / np.arange(1, len(relevant) + 1)
        aps.append(float(np.sum(precision * relevant) / relevant.sum()))
    return float(np.mean(aps))


def photo_map(scores: Array, labels: npt.NDArray[np.int64]) -> float:
    """Mean over photos of the average precision of ranking tags (one true tag: 1 / rank)."""
    true = scores[np.arange(len(labels)), labels]
    ranks = np.sum(scores > true[:, None], axis=1) + 1
    return float(np.mean(1.0 / ranks))


def global_cut(scores: Array, cutoff: float, cap: int) -> Selection:
    """One cutoff on raw scores for every tag, keeping each photo's ``cap`` best."""
    params = replace(BEFORE, margin=np.inf, max_per_photo=cap)  # no standout on raw scores
    chosen = select_tags(scores, np.full(scores.shape[1], cutoff, np.float32), params)
    return chosen.rows, chosen.cols


def best_cutoff(scores: Array, labels: npt.NDArray[np.int64], cap: int) -> float:
    """The global cutoff with the best micro F1 on (scores, labels)."""
    candidates = np.quantile(scores, np.linspace(0.2, 0.9999, 400))
    return float(max(candidates, key=lambda c: micro_prf(*global_cut(scores, c, cap), labels)[2]))


@dataclass(frozen=True)
class Part:
    scores: Array
    labels: npt.NDArray[np.int64]
    calibrated: Array
    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]


def tag_part(
    encoded: Encoded, tag_vectors: Array, background: Array, params: TaggingParams
) -> Part:
    """Tag one part exactly as the app tags a library made of these photos."""
    scores = encoded.vectors @ tag_vectors.T
    calibration = calibrate(tag_vectors, encoded.vectors, background, params.prior_photos)
    z = standardise(scores, calibration)
    cutoffs = np.full(len(tag_vectors), params.cutoff(len(tag_vectors)), np.float32)
    chosen = select_tags(z, cutoffs, params)
    return Part(scores, encoded.labels, z, chosen.rows, chosen.cols)


def prf_row(label: str, method: str, selection: Selection, part: Part, photo_ap: float) -> str:
    p, r, f, k = micro_prf(*selection, part.labels)
    t_map = tag_map(part.scores, part.labels)
    cells = f"{p:.3f} | {r:.3f} | {f:.3f} | {k:.2f} | {t_map:.3f} | {photo_ap:.3f}"
    return f"| {label} | {method} | {cells} |"


def run_quality(args: argparse.Namespace) -> None:
    encoder = load_encoder(args.model)
    params = BEFORE if args.before else TaggingParams()
    cap = params.max_per_photo
    cache = TagVectorCache(CACHE / "tagging-text", class_text_vectors)
    background = cache.vectors(encoder, [(c, ("{}",)) for c in background_captions()])
    table: list[str] = []
    single: list[str] = []
    for spec in QUALITY_SETS:
        test = encoded_set(encoder, spec.name, spec.test)
        names = [evaluation.prompt_name(c) for c in test.classes]
        tag_vectors = cache.vectors(encoder, [(n, TAG_TEMPLATES) for n in names])
        part = tag_part(test, tag_vectors, background, params)
        label = f"{spec.name} ({spec.test}: {len(part.labels)} photos, {len(names)} tags)"
        raw_ap = photo_map(part.scores, part.labels)
        calibrated_ap = photo_map(part.calibrated, part.labels)
        table.append(
            prf_row(label, "calibrated per tag", (part.rows, part.cols), part, calibrated_ap)
        )
        if spec.dev is not None:
            dev_part = tag_part(
                encoded_set(encoder, spec.name, spec.dev), tag_vectors, background, params
            )
            cut = best_cutoff(dev_part.scores, dev_part.labels, cap)
            method = f"global {cut:.3f} (tuned on {spec.dev})"
            table.append(prf_row(label, method, global_cut(part.scores, cut, cap), part, raw_ap))
        cut = best_cutoff(part.scores, part.labels, cap)
        method = f"global {cut:.3f} (oracle)"
        table.append(prf_row(label, method, global_cut(part.scores, cut, cap), part, raw_ap))
        # At most one tag per photo: the argmax view single-label sets reward.
        one = replace(params, max_per_photo=1)
        cutoffs = np.full(len(names), one.cutoff(len(names)), np.float32)
        chosen = select_tags(part.calibrated, cutoffs, one)
        p1, r1, f1, _ = micro_prf(chosen.rows, chosen.cols, part.labels)
        cut = best_cutoff(part.scores, part.labels, 1)
        gp, gr, gf, _ = micro_prf(*global_cut(part.scores, cut, 1), part.labels)
        single.append(
            f"| {spec.name} | {p1:.3f} / {r1:.3f} / {f1:.3f} | {gp:.3f} / {gr:.3f} / {gf:.3f} |"
        )
    print(f"machine: {machine()}")
    print(f"model: {encoder.model_id}; tagging defaults: {params}\n")
    print("| set (part) | method | precision | recall | F1 | tags/photo | tag mAP | photo mAP |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(table))
    print("\nAt most one tag per photo, precision / recall / F1:\n")
    print("| set | calibrated (cap 1) | global oracle (cap 1) |")
    print("|---|---|---|")
    print("\n".join(single))


# -- real photos, the app's vocabulary ----------------------------------------------------------


def real_library(encoder: Encoder) -> tuple[Array, list[str]]:
    """Vectors of every image of the real sets (cached), with "set/path" keys."""
    keys: list[str] = []
    for name in REAL_SETS:
        folder = dataset(name)
        keys += [
            f"{name}/{p.relative_to(folder).as_posix()}"
            for p in sorted((folder / "images").rglob("*"))
            if p.is_file()
        ]
    digest = hashlib.sha256(repr((encoder.model_id, keys)).encode()).hexdigest()[:16]
    path = CACHE / "tagging" / f"real-{digest}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            return stored["vectors"], [str(k) for k in stored["keys"]]
    found = run_to_end(evaluation.encode_images(encoder, [DATASETS / k for k in keys]))
    keep = sorted(found)
    vectors = np.stack([found[i] for i in keep]).astype(np.float32)
    keys = [keys[i] for i in keep]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, vectors=vectors, keys=np.array(keys))
    return vectors, keys


def real_labels() -> dict[str, set[str]]:
    """The tags a person would keep, per "set/path" (see the module docstring)."""
    with LABELS.open(encoding="utf-8", newline="") as handle:
        return {
            f"{row['set']}/{row['path']}": {t for t in row["correct"].split(";") if t}
            for row in csv.DictReader(handle)
        }


def run_real(args: argparse.Namespace) -> None:
    encoder = load_encoder(args.model)
    params = BEFORE if args.before else TaggingParams()
    vocabulary = default_vocabulary()
    names = [e.name for e in vocabulary]
    cache = TagVectorCache(CACHE / "tagging-text", class_text_vectors)
    tag_vectors = cache.vectors(encoder, [(e.name, tag_templates(e.prompts)) for e in vocabulary])
    background = cache.vectors(encoder, [(c, ("{}",)) for c in background_captions()])
    column = {n.casefold(): i for i, n in enumerate(names)}
    families: list[Family] = []
    if not args.before:
        for family in default_families():
            members = [column[m.casefold()] for m in family.members]
            families.append((column[family.parent.casefold()], np.array(members, np.int64)))
    vectors, keys = real_library(encoder)
    labels = real_labels()
    library = vectors
    if args.with_stamps:  # the library: real photos among 538 clip-art stamps
        stamps = [encoded_set(encoder, "tuxpaint-stamps", part).vectors for part in REAL_STAMPS]
        library = np.concatenate([vectors, *stamps])
    calibration = calibrate(tag_vectors, library, background, params.prior_photos)
    z = standardise(vectors @ tag_vectors.T, calibration)
    cutoffs = np.full(len(names), params.cutoff(len(names)), np.float32)
    chosen = select_tags(z, cutoffs, params, families)
    tags: list[list[str]] = [[] for _ in keys]
    for row, col in zip(chosen.rows, chosen.cols, strict=True):
        tags[row].append(names[col])
    groups = {
        "foolbox-imagenet (20 photos)": lambda k: k.startswith("foolbox-imagenet/"),
        "camera-photos (71 files)": lambda k: k.startswith("camera-photos/"),
        "camera-photos, 35 full pictures": lambda k: (
            k.startswith("camera-photos/") and "/64px/" not in k and "/raw.pixls/" not in k
        ),
        "camera-photos, 36 crops of 64 px": lambda k: "/64px/" in k or "/raw.pixls/" in k,
        "all (91)": lambda k: True,
    }
    print(f"machine: {machine()}")
    print(f"model: {encoder.model_id}; {len(names)} tags, {len(families)} families; {params}")
    print(f"library: {len(library)} photos (calibration)\n")
    print("| photos | precision | recall | photos right | tags/photo |")
    print("|---|---|---|---|---|")
    for label, member in groups.items():
        rows = [i for i, k in enumerate(keys) if member(k)]
        suggested = sum(len(tags[i]) for i in rows)
        right = sum(len(set(tags[i]) & labels[keys[i]]) for i in rows)
        wanted = sum(len(labels[keys[i]]) for i in rows)
        photos_right = sum(bool(set(tags[i]) & labels[keys[i]]) for i in rows)
        precision = right / suggested if suggested else 0.0
        print(
            f"| {label} | {precision:.3f} ({right}/{suggested}) | {right / wanted:.3f} "
            f"| {photos_right} | {suggested / len(rows):.2f} |"
        )
    if args.show:
        print()
        for key, found in zip(keys, tags, strict=True):
            marked = [t if t in labels[key] else f"{t} (wrong)" for t in found]
            print(f"{key}: {', '.join(marked) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--real", action="store_true", help="real photos, the app's vocabulary")
    parser.add_argument("--show", action="store_true", help="with --real: each photo's tags")
    parser.add_argument("--before", action="store_true", help="the selection before families")
    parser.add_argument(
        "--with-stamps", action="store_true", help="with --real: the stamps join the library"
    )
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=2000)
    parser.add_argument("--dims", type=lambda s: [int(x) for x in s.split(",")], default=[384, 512])
    parser.add_argument("--repeat", type=int, default=2, help="speed runs per dim (best kept)")
    parser.add_argument(
        "--store-photos", type=int, default=0, help="also time Tagger.tag on a real library"
    )
    parser.add_argument("--model", default="starter")
    args = parser.parse_args()
    if not (args.speed or args.quality or args.real):
        parser.error("give --speed, --quality and/or --real")
    logging.basicConfig(level=logging.WARNING)
    if args.speed:
        run_speed(args)
    if args.quality:
        run_quality(args)
    if args.real:
        run_real(args)


if __name__ == "__main__":
    main()
