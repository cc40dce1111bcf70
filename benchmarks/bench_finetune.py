"""Fine-tuning on a captioned album: before/after, a made-up concept, and each safeguard's effect.

Treats ``tuxpaint-stamps`` (train split) as a user's captioned album and its test split as
photos the run never saw; ``foolbox-imagenet`` and ``fashion-mnist`` (a fixed subset) are the
general-knowledge check. Prints:

1. the default run: test-split text->image recall@1/5/10 before and after, zero-shot top-1
   on the general sets before and after, and the wall time from nothing cached;
2. "Pip": one category's training captions replaced by a made-up name; where the query "Pip"
   ranks that category's test photos, before and after;
3. the library check: the default run's adapters against a library of real photos
   (``foolbox-imagenet`` and ``camera-photos``: the clip-art -> real-photo case, which must be
   caught) and against one of clip art like its captions (the ``tuxpaint-stamps`` test split: a
   sound run, which must pass), at every blend, with what each library's search scores;
4. the ablation: the same run with one safeguard changed at a time.

    .venv/bin/python benchmarks/bench_finetune.py [--model starter] [--general-limit 1000]
    .venv/bin/python benchmarks/bench_finetune.py --library-check-only
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _common import CACHE, dataset, machine

from photosense.evaluation import evaluate, general_set, load_dataset
from photosense.learn.features import RunFolder, extract_features
from photosense.learn.finetune import FineTuneResult, FineTuneSettings, TrainingPair, fine_tune
from photosense.learn.metrics import retrieval_recall
from photosense.learn.records import LIBRARY_KEEP_LIMIT
from photosense.learn.retention import LibraryPhotos, everyday_queries, library_check
from photosense.models.adapted import AdaptedEncoder
from photosense.models.device import configure_cpu_threads
from photosense.models.encoder import Encoder
from photosense.models.registry import load_encoder
from photosense.progress import CancelToken, run_to_end

PIP_CATEGORY = "town/houses"
ABLATION: dict[str, dict[str, Any]] = {
    "default (adapters on both sides, batches of 32, 4 views, WiSE-FT)": {},
    "+256 more pairs in every batch (more negatives)": {"extra_negatives": 256},
    "+ a detached queue of 512 (MoCo-style)": {"queue_size": 512},
    "text side only": {"train_image": False},
    "image side only": {"train_text": False},
    "no augmentation (1 view)": {"views": 1},
    "no WiSE-FT blend (alpha 1)": {"wise": False},
    "refit on every pair after choosing epochs and blend": {"refit": True},
    "default, seed 1 (split, sampling and initialisation)": {"seed": 1},
    "default, seed 2": {"seed": 2},
}


def train(
    encoder: Encoder,
    pairs: list[TrainingPair],
    settings: FineTuneSettings,
    general: list[Any],
    work: Path,
    library: list[Path] | None = None,
) -> FineTuneResult:
    job = fine_tune(
        encoder,
        pairs,
        settings,
        general=general,
        library=library or (),
        work_dir=work,
        keep_features=True,
    )
    return run_to_end(job)


def test_recall(encoder: Encoder, result: FineTuneResult | None) -> dict[str, float]:
    test = load_dataset(dataset("tuxpaint-stamps"), "test")
    model = encoder if result is None else AdaptedEncoder(encoder, result.heads, "fine-tuned/x")
    return run_to_end(evaluate(test, model)).metrics


def pip_ranks(encoder: Encoder, result: FineTuneResult | None) -> tuple[int, int, int]:
    """(hits in the top 5, hits in the top 10, category size) for the query "Pip"."""
    folder = dataset("tuxpaint-stamps")
    test = load_dataset(folder, "test")
    labels = dict(load_dataset(folder, "all").labels)
    classes = load_dataset(folder, "all").classes
    target = classes.index(PIP_CATEGORY)
    model = encoder if result is None else AdaptedEncoder(encoder, result.heads, "fine-tuned/x")
    from photosense.evaluation import encode_images

    paths = [folder / p for p in test.images]
    vectors = run_to_end(encode_images(model, paths))
    order = sorted(vectors, key=lambda i: -float(vectors[i] @ model.encode_texts(["Pip"])[0]))
    own = [labels[test.images[i]] == target for i in order]
    return sum(own[:5]), sum(own[:10]), sum(own)


def real_photo_paths() -> list[Path]:
    """The real-photo library: foolbox-imagenet's 20 photos and camera-photos' 71 files."""
    foolbox = load_dataset(dataset("foolbox-imagenet"), "all")
    camera = dataset("camera-photos")
    rows = (camera / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]
    return [foolbox.folder / p for p in foolbox.images] + [
        camera / line.split(",")[0] for line in rows
    ]


def encode_library(
    encoder: Encoder, paths: list[Path], work: Path
) -> tuple[LibraryPhotos, list[Path]]:
    """The base model's vectors and features for ``paths`` (kept in ``work``), and the readable
    paths in the same order."""
    key = hashlib.sha256("\n".join(map(str, paths)).encode()).hexdigest()[:16]
    folder = RunFolder(work / "library", f"{encoder.model_id.replace('/', '_')}-{key}")
    job = extract_features(
        encoder,
        paths,
        1,
        0,
        folder,
        CancelToken(),
        batch_size=16,
        workers=None,
        label="library photos",
        done_before=0,
        total=len(paths),
        started=time.monotonic(),
    )
    features = run_to_end(job)
    keep = features.readable
    queries = torch.from_numpy(encoder.encode_texts(list(everyday_queries())))
    photos = LibraryPhotos(features.vectors[keep, 0], features.features[keep, 0], queries)
    return photos, [p for p, ok in zip(paths, keep.tolist(), strict=True) if ok]


def label_recall(
    result: FineTuneResult, photos: LibraryPhotos, labels: dict[int, str], encoder: Encoder
) -> tuple[float, float]:
    """Real-photo search with right answers: each labelled photo's class name as a query
    ("a photo of a jeep") over the whole real library; (recall@1, recall@5)."""
    names = sorted(set(labels.values()))
    texts = torch.from_numpy(encoder.encode_texts([f"a photo of a {n}." for n in names]))
    with torch.no_grad():
        images = result.heads.embed_images(photos.vectors, photos.features).numpy()
        queries = result.heads.embed_texts(texts).numpy()
    hits = {1: 0, 5: 0}
    for name, query in zip(names, queries, strict=True):
        order = np.argsort(-(images @ query))
        own = [i for i, label in labels.items() if label == name]
        for k in hits:
            hits[k] += bool(set(order[:k].tolist()) & set(own))
    return hits[1] / len(names), hits[5] / len(names)


def clip_art_recall(
    result: FineTuneResult, photos: LibraryPhotos, captions: list[str], encoder: Encoder
) -> float:
    """Test-split text->image recall@5 over the clip-art library (what the run is for)."""
    texts = torch.from_numpy(encoder.encode_texts(captions))
    with torch.no_grad():
        images = result.heads.embed_images(photos.vectors, photos.features).numpy()
        queries = result.heads.embed_texts(texts).numpy()
    groups = np.unique(captions, return_inverse=True)[1]
    return retrieval_recall(images, queries, groups=groups)["t2i_r5"]


def top_names(
    result: FineTuneResult, photos: LibraryPhotos, paths: list[Path], query: str, encoder: Encoder
) -> list[str]:
    text = torch.from_numpy(encoder.encode_texts([query]))
    with torch.no_grad():
        images = result.heads.embed_images(photos.vectors, photos.features).numpy()
        vector = result.heads.embed_texts(text).numpy()[0]
    return [paths[i].stem[:28] for i in np.argsort(-(images @ vector))[:5]]


def library_section(
    encoder: Encoder, pairs: list[TrainingPair], settings: FineTuneSettings, work: Path
) -> None:
    """The library check on the clip-art -> real-photo case and on a sound run."""
    real_paths = real_photo_paths()
    real, real_readable = encode_library(encoder, real_paths, work)
    folder = dataset("tuxpaint-stamps")
    test = load_dataset(folder, "test")
    art, art_readable = encode_library(encoder, [folder / p for p in test.images], work)
    mixed = LibraryPhotos(
        torch.cat([real.vectors, art.vectors]),
        torch.cat([real.features, art.features]),
        real.queries,
    )
    # The photos the run learns from (train and held-out), as the run itself sees them.
    trained, _ = encode_library(encoder, [p.path for p in pairs], work)
    art_captions = dict(test.captions)
    captions = [art_captions[str(p.relative_to(folder))] for p in art_readable]
    foolbox = load_dataset(dataset("foolbox-imagenet"), "all")
    names = dict(foolbox.labels)
    labels = {
        i: foolbox.classes[names[str(p.relative_to(foolbox.folder))]]
        for i, p in enumerate(real_readable)
        if p.is_relative_to(foolbox.folder)
    }
    # The run itself checks the real-photo library (what Library.finetune.run does by default).
    result = train(encoder, pairs, settings, [], work, library=real_readable)
    runs = {
        "real photos (foolbox-imagenet + camera-photos)": result,
        "clip art like the captions (tuxpaint-stamps test split)": replace(
            result, library=library_check(result.heads, art, trained.features)
        ),
        "both together": replace(
            result, library=library_check(result.heads, mixed, trained.features)
        ),
    }
    print(
        f"\nlibrary check (limit {LIBRARY_KEEP_LIMIT}, {len(everyday_queries())} everyday "
        f"queries, top 10); the run's blend alpha {result.alpha:.1f}; held-out t2i R@5 "
        f"{result.heldout_before['t2i_r5']:.3f} -> {result.heldout_after['t2i_r5']:.3f}"
    )
    print(
        "\n| library | photos | unlike the training photos | neighbours kept | answers kept "
        "| verdict |"
    )
    print("|---|---|---|---|---|---|")
    for name, run in runs.items():
        check = run.library
        assert check is not None
        shown = [f"{v:.3f}" if v is not None else "-" for v in (check.neighbours, check.answers)]
        print(
            f"| {name} | {check.photos} | {check.unlike} | {shown[0]} | {shown[1]} "
            f"| {run.verdict.value} |"
        )
    base = replace(result, heads=copy_at(result, 0.0))
    for query in ("a dog", "a car", "a beach"):
        for label, run in (("base", base), ("tuned", result)):
            top = top_names(run, real, real_readable, query, encoder)
            print(f"  '{query}' top 5 on real photos, {label}: {top}")
    print(
        "\n| blend alpha | real: neighbours kept | real: answers kept | real: class-name "
        "query R@1 / R@5 | clip art, all photos: neighbours kept | answers kept | clip art: "
        "test t2i R@5 |"
    )
    print("|---|---|---|---|---|---|---|")
    for alpha in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        blended = replace(result, heads=copy_at(result, alpha))
        on_real = library_check(blended.heads, real, trained.features)
        # Every clip-art photo is like the training ones; how much they move, for comparison
        # (no training photos given: every photo counts as unlike them).
        on_art = library_check(blended.heads, art, trained.features[:0])
        r1, r5 = label_recall(blended, real, labels, encoder)
        print(
            f"| {alpha:.1f} | {on_real.neighbours} | {on_real.answers} | {r1:.3f} / "
            f"{r5:.3f} | {on_art.neighbours} | {on_art.answers} | "
            f"{clip_art_recall(blended, art, captions, encoder):.3f} |",
            flush=True,
        )


def copy_at(result: FineTuneResult, alpha: float) -> Any:
    """The run's adapters at another blend (the run's own are left as they are)."""
    import copy

    heads = copy.deepcopy(result.heads)
    heads.set_alpha(alpha)
    return heads


def row(name: str, result: FineTuneResult, test: dict[str, float]) -> str:
    general = " ".join(
        f"{result.general_before[k]:.3f}->{result.general_after[k]:.3f}"
        for k in result.general_before
    )
    return (
        f"| {name} | {test['t2i_r1']:.3f} | {test['t2i_r5']:.3f} | {test['t2i_r10']:.3f} "
        f"| {general} | {result.alpha:.1f} | {result.best_epoch}/{result.epochs_run} "
        f"| {result.seconds:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="starter")
    parser.add_argument("--general-limit", type=int, default=1000)
    parser.add_argument("--skip-ablation", action="store_true")
    parser.add_argument(
        "--library-check-only",
        action="store_true",
        help="only the library check (features already encoded are reused)",
    )
    args = parser.parse_args()
    configure_cpu_threads()
    print(f"machine: {machine()}")
    folder = dataset("tuxpaint-stamps")
    train_set = load_dataset(folder, "train")
    pairs = [TrainingPair(p, folder / p, text) for p, text in train_set.captions]
    general = [
        general_set(dataset("foolbox-imagenet")),
        general_set(dataset("fashion-mnist"), args.general_limit),
    ]
    encoder = load_encoder(args.model)
    work = CACHE / "finetune" / encoder.model_id.replace("/", "_")
    if args.library_check_only:
        print(f"model {encoder.model_id}; {len(pairs)} training pairs")
        library_section(encoder, pairs, FineTuneSettings(), work)
        return
    shutil.rmtree(work, ignore_errors=True)  # the first run pays for every feature
    print(
        f"model {encoder.model_id}; {len(pairs)} training pairs; general sets: "
        + ", ".join(f"{g.name} ({len(g.paths)} photos)" for g in general)
    )

    before = test_recall(encoder, None)
    print("test split before: " + ", ".join(f"{k} {v:.3f}" for k, v in before.items()))
    settings = FineTuneSettings()
    started = time.perf_counter()
    default = train(encoder, pairs, settings, general, work)
    wall = time.perf_counter() - started
    after = test_recall(encoder, default)
    print("test split after:  " + ", ".join(f"{k} {v:.3f}" for k, v in after.items()))
    print(
        f"default run: {wall:.0f} s wall from nothing cached; t2i R@5 "
        f"{before['t2i_r5']:.3f} -> {after['t2i_r5']:.3f} "
        f"({100 * (after['t2i_r5'] - before['t2i_r5']):+.1f} points); general "
        + ", ".join(
            f"{k} {default.general_before[k]:.3f} -> {default.general_after[k]:.3f} "
            f"({100 * (default.general_after[k] - default.general_before[k]):+.1f} points)"
            for k in default.general_before
        )
    )

    test = load_dataset(folder, "test")
    labels = dict(load_dataset(folder, "all").labels)
    classes = load_dataset(folder, "all").classes
    target = classes.index(PIP_CATEGORY)
    pip_pairs = [replace(p, text="Pip") if labels[p.key] == target else p for p in pairs]
    renamed = sum(p.text == "Pip" for p in pip_pairs)
    pip = train(encoder, pip_pairs, settings, [], work)
    hits_before = pip_ranks(encoder, None)
    hits_after = pip_ranks(encoder, pip)
    print(
        f"Pip ({PIP_CATEGORY}: {renamed} training captions renamed, {hits_before[2]} test photos "
        f"of {len(test.images)}): query 'Pip' top-5 hits {hits_before[0]} -> {hits_after[0]}, "
        f"top-10 hits {hits_before[1]} -> {hits_after[1]}, recall@5 "
        f"{hits_before[0] / hits_before[2]:.3f} -> {hits_after[0] / hits_after[2]:.3f}"
    )

    library_section(encoder, pairs, settings, work)
    if args.skip_ablation:
        return
    print(
        "\n| run | test t2i R@1 | R@5 | R@10 | general top-1 (foolbox, fashion) | alpha "
        "| best/run epochs | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| base model | {before['t2i_r1']:.3f} | {before['t2i_r5']:.3f} | "
        f"{before['t2i_r10']:.3f} | | | | |"
    )
    for name, changes in ABLATION.items():
        result = (
            default
            if not changes
            else train(encoder, pairs, replace(settings, **changes), general, work)
        )
        print(row(name, result, after if not changes else test_recall(encoder, result)), flush=True)


if __name__ == "__main__":
    main()
