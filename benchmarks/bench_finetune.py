"""Fine-tuning on a captioned album: before/after, a made-up concept, and each safeguard's effect.

Treats ``tuxpaint-stamps`` (train split) as a user's captioned album and its test split as
photos the run never saw; ``foolbox-imagenet`` and ``fashion-mnist`` (a fixed subset) are the
general-knowledge check. Prints:

1. the default run: test-split text->image recall@1/5/10 before and after, zero-shot top-1
   on the general sets before and after, and the wall time from nothing cached;
2. "Pip": one category's training captions replaced by a made-up name; where the query "Pip"
   ranks that category's test photos, before and after;
3. the ablation: the same run with one safeguard changed at a time.

    .venv/bin/python benchmarks/bench_finetune.py [--model starter] [--general-limit 1000]
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from _common import CACHE, dataset, machine

from photosense.evaluation import evaluate, general_set, load_dataset
from photosense.learn.finetune import FineTuneResult, FineTuneSettings, TrainingPair, fine_tune
from photosense.models.adapted import AdaptedEncoder
from photosense.models.device import configure_cpu_threads
from photosense.models.encoder import Encoder
from photosense.models.registry import load_encoder
from photosense.progress import run_to_end

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
) -> FineTuneResult:
    job = fine_tune(encoder, pairs, settings, general=general, work_dir=work, keep_features=True)
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
