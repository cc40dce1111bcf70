"""Colour search: what naming a photo's colours costs at index time, and what reading the colour
words of a query does for search with the offline starter model.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_colours.py [--model starter]
        [--weights 0,0.02,0.05,0.1,0.2]

- **cost**: decoding each real photo (camera-photos, foolbox-imagenet) at the colour analysis's
  size and naming its colours, ms per photo (median and mean, and by file type: JPEG decodes
  in draft mode, PNG and HEIC in full), and the cost when the text analysis runs too and the
  photo is decoded once for both (the default), one thread;
- **tuxpaint-stamps**: every caption that holds a colour word ("A red apple.", 51 of 538) is
  a query over all 538 stamps; the right answer is its own stamp. Reported: mean reciprocal
  rank, recall@1/5/10 and the median rank, for the caption as typed (the app before colours),
  the caption without its colour words, and each of those with the colour step at several
  weights (the model's top ``POOL`` re-ranked as the app does: score + weight x the pool's
  score spread x colour fit; the app's weight is ``WEIGHT``);
- **real photos**: hand-labelled colour queries over the 91 real photos
  (``benchmarks/labels/colour_queries.csv``: the photos a person would accept, chosen by eye
  before running), the same variants; a query that is only a colour ("black and white photos")
  lists the photos of that colour, by share.

Image vectors are cached in ``~/.cache/photosense-bench`` (bench_tagging's cache).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from _common import DATASETS, dataset, machine
from bench_tagging import _subset, encoded_set, real_library

from photosense import evaluation
from photosense.analysis.runner import _fitted
from photosense.analysis.text import MAX_SIDE as TEXT_SIDE
from photosense.colours.naming import SIDE, PhotoColours, photo_colours
from photosense.colours.query import read_colours
from photosense.colours.ranking import POOL, WEIGHT, colour_fit, colour_order
from photosense.media.decode import decode_for_analysis
from photosense.models.registry import load_encoder

LABELS = Path(__file__).with_name("labels") / "colour_queries.csv"
Array = npt.NDArray[np.float32]


def colours_of(paths: Sequence[Path]) -> tuple[list[PhotoColours], list[float], list[float]]:
    """Each photo's colours, with the ms spent decoding and naming each."""
    found, decode_ms, name_ms = [], [], []
    for path in paths:
        start = time.perf_counter()
        image = decode_for_analysis(path, SIDE)
        middle = time.perf_counter()
        found.append(photo_colours(image))
        end = time.perf_counter()
        decode_ms.append((middle - start) * 1000)
        name_ms.append((end - middle) * 1000)
    return found, decode_ms, name_ms


def along_ms(paths: Sequence[Path], side: int) -> list[float]:
    """ms to name each photo's colours from the copy another analysis decoded (text reads
    photos at ``side``): the runner's reduction to the colour size, then the naming."""
    spent = []
    for path in paths:
        image = decode_for_analysis(path, side)
        start = time.perf_counter()
        photo_colours(_fitted(image, SIDE))
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def ranks(
    vectors: Array,
    colours: list[PhotoColours],
    queries: list[tuple[str, set[int]]],
    encode: Callable[[list[str]], Array],
    strip: bool,
    weight: float,
) -> list[int]:
    """The rank (1-based) of the first right photo for each query."""
    texts = []
    wanted = []
    for text, _ in queries:
        read = read_colours(text)
        texts.append(read.rest if strip and read.rest else text)
        wanted.append(read.colours)
    query_vectors = encode(texts)
    found = []
    for (_, right), query, want in zip(queries, query_vectors, wanted, strict=True):
        scores = vectors @ query
        order = list(np.argsort(-scores, kind="stable"))
        if weight and want:
            pool = order[:POOL]
            fits = [colour_fit(colours[i], want) for i in pool]
            moved = colour_order([float(scores[i]) for i in pool], fits, weight)
            order = [pool[k] for k in moved] + order[POOL:]
        found.append(1 + min(order.index(i) for i in right))
    return found


def summary(found: list[int]) -> str:
    rr = statistics.mean(1 / r for r in found)
    at = [statistics.mean(r <= k for r in found) for k in (1, 5, 10)]
    return f"{rr:.3f} | {at[0]:.2f} | {at[1]:.2f} | {at[2]:.2f} | {statistics.median(found):g}"


def table(
    title: str,
    vectors: Array,
    colours: list[PhotoColours],
    queries: list[tuple[str, set[int]]],
    encode: Callable[[list[str]], Array],
    weights: list[float],
) -> None:
    print(f"\n### {title}: {len(queries)} queries over {len(vectors)} images\n")
    print("| query to the model | colour weight | MRR | R@1 | R@5 | R@10 | median rank |")
    print("|---|---|---|---|---|---|---|")
    for strip in (False, True):
        for weight in weights:
            label = "without its colour words" if strip else "as typed"
            found = ranks(vectors, colours, queries, encode, strip, weight)
            print(f"| {label} | {weight:g} | {summary(found)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="starter")
    parser.add_argument("--weights", default=f"0,0.2,{WEIGHT:g},1,2")
    args = parser.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    encoder = load_encoder(args.model)

    def encode(texts: list[str]) -> Array:
        return np.asarray(encoder.encode_texts(texts), np.float32)

    # Real photos: cost, then the labelled queries.
    vectors, keys = real_library(encoder)
    real, decode_ms, name_ms = colours_of([DATASETS / k for k in keys])
    total = [d + n for d, n in zip(decode_ms, name_ms, strict=True)]
    print(f"\n### Cost per photo ({len(keys)} real photos, longest side {SIDE} px, one thread)\n")
    print("| step | median ms | mean ms |")
    print("|---|---|---|")
    for step, values in (("decode", decode_ms), ("name colours", name_ms), ("both", total)):
        print(f"| {step} | {statistics.median(values):.2f} | {statistics.mean(values):.2f} |")
    along = along_ms([DATASETS / k for k in keys], TEXT_SIDE)
    print(
        f"| beside the text analysis (its {TEXT_SIDE} px copy reduced and named) | "
        f"{statistics.median(along):.2f} | {statistics.mean(along):.2f} |"
    )
    by_kind: dict[str, list[float]] = {}
    for key, ms in zip(keys, total, strict=True):
        by_kind.setdefault(Path(key).suffix.lower(), []).append(ms)
    print("\n| file type (decode and name) | photos | median ms | max ms |")
    print("|---|---|---|---|")
    for suffix, values in sorted(by_kind.items()):
        print(f"| {suffix} | {len(values)} | {statistics.median(values):.2f} | {max(values):.0f} |")

    position = {k: i for i, k in enumerate(keys)}
    labelled = []
    only_colour = []
    with LABELS.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            right = {position[k] for k in row["correct"].split(";")}
            if read_colours(row["query"]).rest.casefold() in ("", "photos"):
                only_colour.append((row["query"], right))
            else:
                labelled.append((row["query"], right))
    table("Real photos, hand-labelled", vectors, real, labelled, encode, weights)
    before = ranks(vectors, real, labelled, encode, False, 0.0)
    after = ranks(vectors, real, labelled, encode, False, WEIGHT)
    print(
        f"\nRank of the first right photo, as typed, without -> with the colour step ({WEIGHT:g}):"
    )
    print(
        ", ".join(f"“{q}” {a} -> {b}" for (q, _), a, b in zip(labelled, before, after, strict=True))
    )
    for text, right in only_colour:
        want = read_colours(text).colours
        listed = sorted(range(len(real)), key=lambda i: -colour_fit(real[i], want))
        kept = [i for i in listed if colour_fit(real[i], want) > 0]
        print(
            f"\n“{text}” lists {len(kept)} photos; the right ones at ranks "
            f"{sorted(1 + kept.index(i) for i in right if i in kept)} (of {len(right)} right)"
        )

    # tuxpaint-stamps: the captions with a colour word.
    folder = dataset("tuxpaint-stamps")
    data = evaluation.load_dataset(folder, "all")
    rows = _subset(data, "all")
    stamps = encoded_set(encoder, "tuxpaint-stamps", "all")
    if len(stamps.vectors) != len(rows):
        raise SystemExit("some stamps could not be encoded; the ranks would not line up")
    row_of = {path: i for i, (path, _) in enumerate(rows)}
    stamp_colours, _, _ = colours_of([folder / p for p, _ in rows])
    queries = [
        (caption, {row_of[path]})
        for path, caption in data.captions
        if read_colours(caption).colours and path in row_of
    ]
    table(
        "tuxpaint-stamps captions with a colour word",
        stamps.vectors,
        stamp_colours,
        queries,
        encode,
        weights,
    )


if __name__ == "__main__":
    main()
