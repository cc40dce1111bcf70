"""Honest relevance: how well a search's "good matches" split holds on labelled data.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_relevance.py [--model starter]
        [--thresholds 0,1,1.5,2,3]

Each labelled set's images are the library (encoded once, cached in ``~/.cache/photosense-bench``
like bench_tagging's). Queries are the texts the app would get:

- **label** queries, ``a photo of a {label}``: correct answers are the images of that label;
- **caption** queries (tuxpaint-stamps): each stamp's caption; correct answers are the stamps of
  the same label (the exact stamp is among them);
- **held-out** queries: the same query over the library without its label's images, so it has
  no correct answer at all.

The split is computed exactly as the app computes it (:mod:`photosense.vectors.relevance`: the
reference sample, the generic captions' typical spread, the cutoff above the chance level), over
the top ``--limit`` (20, the CLI's default) hits. Reported per set and kind of query:

- **precision**: correct hits among all good matches (pooled over the queries);
- **hidden**: of the queries with a correct answer in their top 20, the share whose good matches
  hold none (it sits under "more results", or the search says "no good match");
- **top hit right, hidden**: of the queries whose best hit is correct, the share told "no good
  match" (the cost of the split where the model got it right);
- **false claim**: of the held-out queries, the share that still claim a good match;
- **good/query**: good matches per query, and **none**: share of queries with no good match.

"Before" is the app without the split: every hit is presented as a match (precision@20, nothing
hidden, every held-out query "answered"). Thresholds are chosen on the tuxpaint-stamps train
split; the other sets are held out. ``--similar 2 3 4`` also tries the same split on photo
queries ("similar") for finding near-duplicates, at those cutoffs (the app does not split them).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from _common import CACHE, dataset, machine
from bench_tagging import Encoded, _subset, encoded_set, real_labels, real_library

from photosense import evaluation
from photosense.learn.metrics import class_text_vectors
from photosense.models.encoder import Encoder
from photosense.models.registry import load_encoder
from photosense.progress import run_to_end
from photosense.tagging.vectors import TagVectorCache
from photosense.tagging.vocabulary import background_captions
from photosense.vectors.relevance import (
    Reference,
    RelevanceParams,
    calibrate,
    good_count,
    reference_ids,
)

log = logging.getLogger("bench_relevance")

Array = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

SETS = (
    ("tuxpaint-stamps", "train"),
    ("tuxpaint-stamps", "test"),
    ("foolbox-imagenet", "all"),
    ("fashion-mnist", "subset-0"),
)


@dataclass
class Tally:
    """Counts for one (set, kind of query, threshold)."""

    queries: int = 0
    good: int = 0
    correct: int = 0
    answerable: int = 0
    hidden: int = 0
    none: int = 0
    held_out: int = 0
    claimed: int = 0
    first: int = 0
    first_hidden: int = 0

    def row(self) -> str:
        precision = self.correct / self.good if self.good else float("nan")
        return (
            f"{precision:.3f} | {self.hidden / max(self.answerable, 1):.3f} "
            f"({self.answerable}) | {self.first_hidden / max(self.first, 1):.3f} ({self.first}) | "
            f"{self.claimed / max(self.held_out, 1):.3f} | "
            f"{self.good / max(self.queries, 1):.2f} | {self.none / max(self.queries, 1):.2f}"
        )


def reference_for(model_id: str, vectors: Array, background: Array) -> Reference:
    """The app's reference for a library made of ``vectors`` (ids are row numbers)."""
    ids = np.arange(len(vectors), dtype=np.int64)
    return calibrate(model_id, vectors[reference_ids(ids)], len(vectors), background)


def top(scores: Array, limit: int) -> npt.NDArray[np.int64]:
    order = np.argsort(-scores, kind="stable")[:limit]
    return order.astype(np.int64)


def queries(encoded: Encoded, paths: list[str], captions: dict[str, str]) -> list[tuple]:
    """(kind, text, correct mask) for each label and each caption of the set."""
    out: list[tuple[str, str, Mask]] = []
    for k, name in enumerate(encoded.classes):
        mask = encoded.labels == k
        if mask.any():
            out.append(("label", f"a photo of a {evaluation.prompt_name(name)}", mask))
    for row, path in enumerate(paths):
        if path in captions:
            out.append(("caption", captions[path], encoded.labels == encoded.labels[row]))
    return out


def tally(
    tallies: dict[float, Tally],
    query: Array,
    vectors: Array,
    correct: Mask,
    reference: Reference,
    held: bool,
    params: RelevanceParams,
    limit: int,
    photo: bool = False,
) -> None:
    scores = vectors @ query
    order = top(scores, limit)
    hit_correct = correct[order]
    for threshold, t in tallies.items():
        shrink = 0.0 if photo else params.shrink
        settings = RelevanceParams(threshold=threshold, shrink=shrink, knee=params.knee)
        good = (
            len(order)
            if threshold == -np.inf
            else good_count(scores[order], query, reference, settings)
        )
        if held:
            t.held_out += 1
            t.claimed += good > 0
            continue
        t.queries += 1
        t.good += good
        t.correct += int(hit_correct[:good].sum())
        t.none += good == 0
        if hit_correct.any():
            t.answerable += 1
            t.hidden += not hit_correct[:good].any()
        if hit_correct[0]:
            t.first += 1
            t.first_hidden += good == 0


def run(args: argparse.Namespace) -> None:
    encoder: Encoder = load_encoder(args.model)
    params = RelevanceParams(knee=args.knee)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    text_cache = TagVectorCache(CACHE / "relevance-text", class_text_vectors)

    def texts(items: list[str]) -> Array:
        return text_cache.vectors(encoder, [(t, ("{}",)) for t in items])

    background = texts(background_captions())
    print(f"machine: {machine()}")
    print(f"model: {encoder.model_id}; defaults: {params}; top {args.limit} hits per query\n")
    print(
        "| set (library) | queries | cutoff (z above chance) | precision | hidden (answerable) "
        "| top hit right, hidden | false claim | good/query | no good match |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, part in SETS:
        if args.sets is not None and name not in args.sets:
            continue
        encoded = encoded_set(encoder, name, part)
        split = part if not part.startswith("subset-") else "all"
        data = evaluation.load_dataset(dataset(name), split)
        paths = [p for p, _ in _subset(data, part)]
        asked = queries(encoded, paths, dict(data.captions))
        vectors = encoded.vectors
        reference = reference_for(encoder.model_id, vectors, background)
        query_vectors = texts([text for _, text, _ in asked])
        by_kind: dict[str, dict[float, Tally]] = {}
        for (kind, _text, correct), query in zip(asked, query_vectors, strict=True):
            tallies = by_kind.setdefault(kind, {t: Tally() for t in [-np.inf, *thresholds]})
            tally(tallies, query, vectors, correct, reference, False, params, args.limit)
            rest = vectors[~correct]
            held_reference = reference_for(encoder.model_id, rest, background)
            tally(tallies, query, rest, correct[~correct], held_reference, True, params, 20)
        for kind, tallies in by_kind.items():
            label = f"{name} {part} ({len(vectors)} photos)"
            for threshold, t in tallies.items():
                cutoff = "before (all shown as matches)" if threshold == -np.inf else threshold
                mark = " **default**" if threshold == params.threshold else ""
                print(f"| {label} | {kind} ×{t.queries} | {cutoff}{mark} | {t.row()} |")
    if args.real:
        run_real(encoder, texts, background, params, thresholds, args)
    if args.similar is not None:
        run_duplicates(encoder, background, args.similar)


def real_queries(keys: list[str]) -> list[tuple[str, Mask]]:
    """Each label of the real photos ``keys`` as a query a person would type ("dog", and "a
    dog" for the nouns), with the mask of the photos labelled with it."""
    labels = real_labels()
    tags = sorted({t for k in keys for t in labels.get(k, ())})
    asked = [(t, np.array([t in labels.get(k, ()) for k in keys])) for t in tags]
    return asked + [(f"a {t}", mask) for t, mask in asked if " " not in t]


def run_real(
    encoder: Encoder,
    texts: Callable[[list[str]], Array],
    background: Array,
    params: RelevanceParams,
    thresholds: list[float],
    args: argparse.Namespace,
) -> None:
    """Real photos: foolbox-imagenet and camera-photos (91) are the library; each tag of
    benchmarks/labels/real_photo_tags.csv is a query typed as a person would ("dog", and "a dog"
    for the nouns), whose correct answers are the photos labelled with it. The labels are the
    tags a person kept among each photo's suggestions, so a photo may show a tag it does not
    carry: precision here is a lower bound."""
    vectors, keys = real_library(encoder)
    asked = real_queries(keys)
    reference = reference_for(encoder.model_id, vectors, background)
    query_vectors = texts([text for text, _ in asked])
    print(
        f"\nReal photos ({len(vectors)}: foolbox-imagenet and camera-photos), {len(asked)} "
        "queries from their labels; shrink " + ", ".join(map(str, args.shrinks)) + "\n"
    )
    print(
        "| shrink | cutoff | precision | hidden (answerable) | top hit right, hidden "
        "| false claim | good/query | no good match |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for shrink in args.shrinks:
        settings = RelevanceParams(params.threshold, shrink, params.knee)
        tallies = {t: Tally() for t in [-np.inf, *thresholds]}
        for (_text, correct), query in zip(asked, query_vectors, strict=True):
            tally(tallies, query, vectors, correct, reference, False, settings, args.limit)
            rest = vectors[~correct]
            held_reference = reference_for(encoder.model_id, rest, background)
            tally(tallies, query, rest, correct[~correct], held_reference, True, settings, 20)
        for threshold, t in tallies.items():
            cutoff = "before" if threshold == -np.inf else threshold
            print(f"| {shrink} | {cutoff} | {t.row()} |")
    if args.show:
        for text, query in zip([t for t, _ in asked], query_vectors, strict=True):
            scores = vectors @ query
            order = top(scores, 5)
            good = good_count(scores[order], query, reference, params)
            names = [Path(keys[i]).name for i in order[:3]]
            print(f"{text!r}: {good} good; top {names}")


def near_duplicates(encoder: Encoder, paths: list[Path]) -> Array:
    """Vectors of an edited copy of each image (8% cropped off each side, scaled to 80%, saved
    as JPEG quality 75): what a re-saved or re-exported photo looks like. Cached."""
    from PIL import Image

    key = hashlib.sha256(repr((encoder.model_id, [str(p) for p in paths])).encode()).hexdigest()
    cached = CACHE / "relevance" / f"duplicates-{key[:16]}.npz"
    if cached.is_file():
        with np.load(cached, allow_pickle=False) as stored:
            return np.asarray(stored["vectors"], np.float32)
    with tempfile.TemporaryDirectory() as folder:
        copies = []
        for n, path in enumerate(paths):
            with Image.open(path) as image:
                rgb = image.convert("RGB")
            w, h = rgb.size
            box = (int(w * 0.08), int(h * 0.08), int(w * 0.92), int(h * 0.92))
            edited = rgb.crop(box).resize((max(1, int(w * 0.8)), max(1, int(h * 0.8))))
            copy = Path(folder) / f"{n}.jpg"
            edited.save(copy, "JPEG", quality=75)
            copies.append(copy)
        found = run_to_end(evaluation.encode_images(encoder, copies))
    vectors = np.stack([found[i] for i in range(len(paths))]).astype(np.float32)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cached, vectors=vectors)
    return vectors


def run_duplicates(encoder: Encoder, background: Array, thresholds: list[float]) -> None:
    """Photo queries ("similar") over tuxpaint-stamps train + test + an edited copy of each
    test stamp: a test stamp's copy is its near-duplicate; a train stamp has none."""
    train = encoded_set(encoder, "tuxpaint-stamps", "train")
    test = encoded_set(encoder, "tuxpaint-stamps", "test")
    data = evaluation.load_dataset(dataset("tuxpaint-stamps"), "test")
    copies = near_duplicates(encoder, [data.folder / p for p, _ in _subset(data, "test")])
    vectors = np.concatenate([train.vectors, test.vectors, copies])
    n_train, n_test = len(train.vectors), len(test.vectors)
    params = RelevanceParams()
    tallies = {t: Tally() for t in [-np.inf, *thresholds]}
    for row in range(n_train + n_test):
        others = np.arange(len(vectors)) != row
        correct = np.zeros(len(vectors), bool)
        if row >= n_train:
            correct[n_train + n_test + row - n_train] = True
        ref = reference_for(encoder.model_id, vectors[others], background)
        held = row < n_train
        tally(tallies, vectors[row], vectors[others], correct[others], ref, held, params, 20, True)
    print(f"\nNear-duplicates ({len(vectors)} photos: tuxpaint-stamps train, test, edited copies")
    print("of the test stamps). Queries: the 105 test stamps (correct: their copy) and the 433")
    print("train stamps, which have no copy (a good match claimed for them is a false claim).\n")
    print(
        "| cutoff | precision | hidden (answerable) | top hit right, hidden | false claim "
        "| good/query | no good match |"
    )
    print("|---|---|---|---|---|---|---|")
    for threshold, t in tallies.items():
        cutoff = "no split (as shipped)" if threshold == -np.inf else f"z split at {threshold}"
        print(f"| {cutoff} | {t.row()} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="starter")
    parser.add_argument("--thresholds", default="0,1,1.5,2,3")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--knee", type=float, default=RelevanceParams.knee)
    parser.add_argument(
        "--sets", nargs="*", help="only these labelled sets (none: only --real or --similar)"
    )
    parser.add_argument("--real", action="store_true", help="also the labelled real photos")
    parser.add_argument(
        "--shrinks",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[RelevanceParams.shrink],
        help="(--real) shrinks to compare",
    )
    parser.add_argument("--show", action="store_true", help="(--real) each query's top hits")
    parser.add_argument(
        "--similar", nargs="*", type=float, help="also near-duplicate photo queries (and cutoffs)"
    )
    logging.basicConfig(level=logging.WARNING)
    args = parser.parse_args()
    run(args)


if __name__ == "__main__":
    main()
