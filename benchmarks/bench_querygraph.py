"""A graph whose links follow text queries (RoarGraph-style projection) against the plain graph.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_querygraph.py [--n 100000] [--train 20000]
        [--m 16] [--also-m 32] [--vocabulary 2400]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_querygraph.py --n 1000000 --as-app
    PYTHONPATH=. .venv/bin/python benchmarks/bench_querygraph.py --real --efs 16,32,64,128,256
    PYTHONPATH=. .venv/bin/python benchmarks/bench_querygraph.py --n 1000000 --calibration

Text queries lie across the modality gap: their true neighbours are spread over photos that a
graph built from photo-to-photo distances does not link, so a walk needs a wide candidate list
(``text_ef``) to find them. RoarGraph (Chen et al., VLDB 2024) builds the graph from a sample of
real queries instead: the photos that are near the same query are linked to each other. Here the
plain hnswlib graph of bench_search.py is kept for its upper layers and its photo-to-photo links,
and part of each photo's level-0 links is given to such query links:

1. ``--train`` text-like queries (a seed of their own; default: as many as the app makes for
   ``--n`` photos) are answered exactly or, as the app does, through the plain graph;
2. each query's nearest photo gets links to its other top photos, and each of those a link back
   to the nearest (RoarGraph's projection of the query-photo bipartite graph);
3. a photo keeps its first ``--keep`` hnswlib links (the ones its heuristic chose first) and
   fills the free level-0 slots with its most frequent query links.

Steps 2 and 3 are the app's own (``photosense.vectors.querylinks.link_file``, which rewrites the
level-0 block of the graph's file), so the same hnswlib search runs over both graphs. Both (and,
with ``--also-m``, a plain graph of another degree) are then asked the same photo and text
queries (seeds unseen in training) at several ``ef``: recall@10 against brute force and p50 ms,
timed in turns on every query. Data: bench_search.py's synthetic CLIP-like 512-d distribution;
plain graphs are hnswlib's, built with ``--m`` and ``--ef-construction`` and cached as hnswlib
files.

Training queries come from the test queries' generator (another seed), or, with
``--vocabulary V``, only from V such text vectors and their pairs (the unit sum of two: a
library's own text vectors are its tag vocabulary, and a phrase naming two things lies near the
sum of their vectors), as a library could make them without knowing its users' queries.

``--as-app`` builds the index through ``SearchIndexes`` as the app does (graph, training queries,
links, saved and loaded back) and times its own text and photo searches against brute force.
``--calibration`` asks whether the held-out text vectors the app calibrates a linked graph's text
ef on (every tenth of the vocabulary, no training query made from them) predict fresh text
queries: recall@10 of both at the calibration's steps, and the ef it picks.

``--real`` uses the starter's real vectors of the evaluation sets instead (shared/datasets/fetch;
encoded as bench_tagging.py does, and cached with it), training queries from its tag vocabulary,
and the tuxpaint stamps' human captions as text queries.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
from _common import CACHE, dataset, machine
from bench_search import (
    EmbeddingSpace,
    K,
    brute_force,
    exact_top,
    recall,
    timed,
    timed_together,
)

from photosense.vectors import DEFAULT_M, HnswIndex, text_ef
from photosense.vectors.cache import SearchIndexes
from photosense.vectors.querylinks import (
    ANSWER_EF,
    CONFIDENCE,
    EF_STEPS,
    KEEP,
    TEXT_RECALL,
    calibrated_ef,
    link_file,
    queries_for,
    split_words,
    training_queries,
)


def plain_graph(data: np.ndarray, m: int, ef_construction: int) -> hnswlib.Index:
    """hnswlib's graph over ``data`` (labels are row numbers), from the cache or built now."""
    path = CACHE / f"querygraph-n{len(data)}-M{m}-efc{ef_construction}.bin"
    graph = hnswlib.Index(space="ip", dim=data.shape[1])
    if path.is_file():
        graph.load_index(str(path))
        return graph
    started = time.perf_counter()
    graph.init_index(max_elements=len(data), M=m, ef_construction=ef_construction)
    graph.add_items(data, np.arange(len(data)), num_threads=-1)
    print(f"  M {m} graph built in {time.perf_counter() - started:.0f} s")
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.save_index(str(path))
    return graph


def linked_graph(
    data: np.ndarray, m: int, ef_construction: int, top: np.ndarray, keep: int
) -> hnswlib.Index:
    """The plain graph's file with query links placed by the app's own code, loaded."""
    source = CACHE / f"querygraph-n{len(data)}-M{m}-efc{ef_construction}.bin"
    target = CACHE / "querygraph-linked.bin"
    shutil.copyfile(source, target)
    started = time.perf_counter()
    placed = link_file(target, top, keep)
    took = time.perf_counter() - started
    print(f"  {placed:,} query links placed ({placed / len(data):.1f} a photo) in {took:.1f} s")
    graph = hnswlib.Index(space="ip", dim=data.shape[1])
    graph.load_index(str(target))
    target.unlink()
    return graph


def ordered_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Each query's top ``k`` rows, nearest first, exactly (chunks of queries bound memory)."""
    out = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), 1_000):
        batch = queries[start : start + 1_000]
        top = exact_top(data, batch, k)  # unordered
        scores = np.einsum("qd,qkd->qk", batch, data[top])
        out[start : start + 1_000] = np.take_along_axis(top, np.argsort(-scores, axis=1), 1)
    return out


def graph_top(graph: hnswlib.Index, queries: np.ndarray, k: int, ef: int) -> np.ndarray:
    """Each query's top ``k`` by the plain graph itself (approximate, nearest first)."""
    graph.set_ef(ef)
    labels, _ = graph.knn_query(queries, k=k, num_threads=-1)
    return labels.astype(np.int64)


def compare(
    graphs: dict[str, hnswlib.Index], data: np.ndarray, queries: np.ndarray, efs: list[int]
) -> list[dict[str, Any]]:
    truth = exact_top(data, queries)
    rows = []
    for ef in efs:
        for g in graphs.values():
            g.set_ef(ef)
        timings = timed_together(
            {
                name: (lambda q, g=g: g.knn_query(q, k=K, num_threads=1)[0][0].tolist())
                for name, g in graphs.items()
            },
            queries,
        )
        row: dict[str, Any] = {"ef": ef}
        for name, (found, ms) in timings.items():
            row[name] = (recall(found, truth), ms["p50"])
        rows.append(row)
    return rows


class Memory:
    """The store's side of :class:`SearchIndexes` over the benchmark's vectors: one model, one
    generation, ids from 1."""

    def __init__(self, data: np.ndarray) -> None:
        self.data, self.labels = data, np.arange(1, len(data) + 1, dtype=np.int64)

    def dim(self, model_id: str) -> int | None:
        return int(self.data.shape[1])

    def generation(self, model_id: str) -> int:
        return 1

    def load(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        return self.labels, self.data

    def changes(self, model_id: str, since: int | None) -> tuple[np.ndarray, np.ndarray]:
        if since is None or since < 1:
            return self.load(model_id)
        return np.empty(0, np.int64), np.empty((0, self.data.shape[1]), np.float32)

    def ids(self, model_id: str) -> np.ndarray:
        return self.labels


def as_app(space: EmbeddingSpace, data: np.ndarray, vocabulary: int, queries: int) -> None:
    """The index the app builds (graph, training queries from the words, query links, saved and
    loaded back) and its own text and photo searches, against brute force in the same run."""
    folder = CACHE / f"querygraph-app-n{len(data)}"
    shutil.rmtree(folder, ignore_errors=True)
    words = space.texts(vocabulary, seed=1_000)
    indexes = SearchIndexes(Memory(data), folder, background=False, words=lambda _: words)
    started = time.perf_counter()
    index = indexes.get("m")
    built = time.perf_counter() - started
    assert isinstance(index, HnswIndex)
    print(
        f"\nmachine: {machine()}; n = {len(data):,}; {vocabulary:,} words; built, linked, "
        f"calibrated, saved and loaded in {built:.0f} s; linked: {index.linked}; text ef "
        f"{index.text_search_ef} (calibrated {index.calibrated_ef}; by size "
        f"{text_ef(len(data), index.linked)}), photo ef {index.ef_search}; M {DEFAULT_M}; "
        f"{queries:,} queries of each kind"
    )
    print("\n| query | recall@10 | p50 / p95 ms | brute force p50 ms | speed-up |")
    print("|---|---|---|---|---|")
    for kind, asked in (
        ("text", space.texts(queries, seed=2_000)),
        ("photo", space.images(queries, seed=2_001)),
    ):
        truth = exact_top(data, asked)
        text = kind == "text"
        found, ms = timed(lambda q, t=text: [i - 1 for i, _ in index.search(q, K, text=t)], asked)
        _, brute = timed(brute_force(data), asked[:20])
        print(
            f"| {kind} | {recall(found, truth):.3f} | {ms['p50']:.2f} / {ms['p95']:.2f} | "
            f"{brute['p50']:.0f} | {brute['p50'] / ms['p50']:.0f}x |"
        )
    indexes.close()
    shutil.rmtree(folder, ignore_errors=True)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nload average {load}")


def walk_scores(
    graph: hnswlib.Index, data: np.ndarray, queries: np.ndarray, ef: int
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``K`` a walk finds for each query, and their exact scores."""
    found = graph_top(graph, queries, K, ef)
    return found, np.einsum("qd,qkd->qk", queries, data[found])


def kth_scores(data: np.ndarray, queries: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Each query's K-th best exact score (``truth``: its top K ids, nearest first)."""
    return np.einsum("qd,qd->q", queries, data[truth[:, -1]])


def calibration(space: EmbeddingSpace, data: np.ndarray, vocabulary: int, queries: int) -> None:
    """Recall of the held-out text vectors (as the app calibrates on them) against fresh text
    queries, through a graph linked from the other text vectors, at the calibration's steps."""
    train, held = split_words(space.texts(vocabulary, seed=1_000))
    plain = plain_graph(data, DEFAULT_M, 100)
    top = graph_top(plain, training_queries(train, queries_for(len(data))), 16, ANSWER_EF)
    del plain
    linked = linked_graph(data, DEFAULT_M, 100, top, KEEP)
    fresh = space.texts(queries, seed=2_000)
    asked = {"held": held, "fresh": fresh}
    truths = {kind: ordered_top(data, q, K) for kind, q in asked.items()}
    recalls: dict[str, dict[int, float]] = {"held": {}, "fresh": {}}

    def walk(kind: str, ef: int) -> np.ndarray:
        found, scores = walk_scores(linked, data, asked[kind], ef)
        recalls[kind][ef] = recall(found.tolist(), truths[kind])
        return scores

    picked = calibrated_ef(lambda ef: walk("held", ef), kth_scores(data, held, truths["held"]))
    for ef in EF_STEPS[: EF_STEPS.index(picked) + 3]:
        walk("held", ef)
        walk("fresh", ef)
    print(
        f"\nmachine: {machine()}; n = {len(data):,}; links from {len(train):,} text vectors "
        f"and pairs; {len(held)} held out; {queries:,} fresh text queries; calibrated ef "
        f"{picked} (the narrowest step whose held-out recall, less {CONFIDENCE:g} standard "
        f"errors, reaches {TEXT_RECALL})"
    )
    print("\n| ef | held-out recall@10 | fresh recall@10 |")
    print("|---|---|---|")
    for ef in sorted(recalls["fresh"]):
        mark = " (calibrated)" if ef == picked else ""
        print(f"| {ef}{mark} | {recalls['held'][ef]:.4f} | {recalls['fresh'][ef]:.4f} |")


def real_sets(ef_list: list[int], train: int) -> None:
    """The starter's real vectors: photos of the evaluation sets (Fashion-MNIST, tuxpaint-stamps,
    foolbox-imagenet, encoded as bench_tagging.py does and cached with it), training queries
    from its tag vocabulary (and pairs), test queries the stamps' human captions."""
    import csv

    from bench_tagging import encoded_set

    from photosense.learn.metrics import class_text_vectors
    from photosense.models.registry import load_encoder
    from photosense.tagging.vectors import TagVectorCache
    from photosense.tagging.vocabulary import default_vocabulary, tag_templates

    encoder = load_encoder("starter")
    sets = (("fashion-mnist", "all"), ("tuxpaint-stamps", "all"), ("foolbox-imagenet", "all"))
    data = np.unique(np.vstack([encoded_set(encoder, n, part).vectors for n, part in sets]), axis=0)
    data = data.astype(np.float32)
    cache = TagVectorCache(CACHE / "tagging-text", class_text_vectors)
    words = cache.vectors(
        encoder, [(e.name, tag_templates(e.prompts)) for e in default_vocabulary()]
    )
    with (dataset("tuxpaint-stamps") / "captions.csv").open(encoding="utf-8") as handle:
        captions = sorted({row["caption"] for row in csv.DictReader(handle)})
    tests = encoder.encode_texts(captions).astype(np.float32)
    graph = hnswlib.Index(space="ip", dim=data.shape[1])
    graph.init_index(max_elements=len(data), M=DEFAULT_M, ef_construction=100)
    graph.add_items(data, np.arange(len(data)), num_threads=-1)
    path = CACHE / "querygraph-real.bin"
    graph.save_index(str(path))
    sizes = sorted({queries_for(len(data)), train})
    graphs = {"plain": graph}
    kept, held = split_words(words)
    held_kth = kth_scores(data, held, ordered_top(data, held, K))
    for size in sizes:
        queries = training_queries(kept, size)
        top = graph_top(graph, queries, 16, ANSWER_EF)
        target = CACHE / f"querygraph-real-{size}.bin"
        shutil.copyfile(path, target)
        placed = link_file(target, top)
        linked = hnswlib.Index(space="ip", dim=data.shape[1])
        linked.load_index(str(target))
        target.unlink()
        graphs[f"links from {size:,}"] = linked
        ef = calibrated_ef(lambda ef, g=linked: walk_scores(g, data, held, ef)[1], held_kth)
        print(
            f"  {size:,} training queries from {len(kept):,} tag vectors: {placed:,} links; "
            f"text ef calibrated on the {len(held)} held out: {ef}"
        )
    path.unlink()
    best = float(np.mean(np.max(tests @ data.T, axis=1)))
    print(
        f"\nmachine: {machine()}; {len(data):,} distinct real photo vectors (starter, "
        f"{data.shape[1]}-d); {len(tests)} stamp captions as text queries (mean best cosine "
        f"{best:.2f}); M {DEFAULT_M}"
    )
    for kind, queries in (("text", tests), ("photo", data[:: max(1, len(data) // 500)][:500])):
        print(f"\n| {kind} ef | " + " | ".join(f"{g} recall@10 | ms p50" for g in graphs) + " |")
        print("|---" * (1 + 2 * len(graphs)) + "|")
        for row in compare(graphs, data, queries, ef_list):
            cells = " | ".join(f"{row[g][0]:.3f} | {row[g][1]:.2f}" for g in graphs)
            print(f"| {row['ef']} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument(
        "--train", type=int, default=0, help="training queries (default: as many as the app uses)"
    )
    parser.add_argument("--k", type=int, default=16, help="top photos of a training query")
    parser.add_argument("--keep", type=int, default=KEEP, help="hnswlib links kept per photo")
    parser.add_argument("--queries", type=int, default=1_000, help="test queries of each kind")
    parser.add_argument(
        "--neighbours",
        choices=("exact", "graph"),
        default="exact",
        help="answer the training queries exactly or through the plain graph",
    )
    parser.add_argument("--neighbours-ef", type=int, default=ANSWER_EF)
    parser.add_argument("--efs", default="64,128,256,512")
    parser.add_argument("--m", type=int, default=DEFAULT_M, help="hnswlib's M of the graphs")
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument(
        "--also-m", type=int, default=0, help="also compare a plain graph of this M"
    )
    parser.add_argument(
        "--vocabulary",
        type=int,
        default=0,
        help="make the training queries from this many text vectors and their pairs",
    )
    parser.add_argument(
        "--as-app",
        action="store_true",
        help="build the index as the app does (SearchIndexes, words from --vocabulary or 2,400) "
        "and time its own searches against brute force",
    )
    parser.add_argument(
        "--calibration",
        action="store_true",
        help="held-out text vectors (as the app calibrates on) against fresh text queries",
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="the starter's real vectors of the evaluation sets instead (shared/datasets/fetch)",
    )
    args = parser.parse_args()
    if args.real:
        real_sets([int(e) for e in args.efs.split(",")], args.train or 20_000)
        return
    args.train = args.train or queries_for(args.n)
    space = EmbeddingSpace(512)
    data = space.images(args.n, seed=1)
    if args.as_app:
        as_app(space, data, args.vocabulary or 2_400, args.queries)
        return
    if args.calibration:
        calibration(space, data, args.vocabulary or 2_400, args.queries)
        return
    plain = plain_graph(data, args.m, args.ef_construction)
    started = time.perf_counter()
    if args.vocabulary:
        train = training_queries(space.texts(args.vocabulary, seed=1_000), args.train)
    else:
        train = space.texts(args.train, seed=1_000)
    if args.neighbours == "exact":
        top = ordered_top(data, train, args.k)
    else:
        top = graph_top(plain, train, args.k, args.neighbours_ef)
    print(f"  training queries answered in {time.perf_counter() - started:.0f} s")
    graph = linked_graph(data, args.m, args.ef_construction, top, args.keep)
    print(f"  query links from {args.train:,} queries in {time.perf_counter() - started:.0f} s")
    graphs = {f"plain M {args.m}": plain, f"query links M {args.m}": graph}
    if args.also_m:
        graphs[f"plain M {args.also_m}"] = plain_graph(data, args.also_m, args.ef_construction)
    efs = [int(e) for e in args.efs.split(",")]
    source = f"from {args.vocabulary:,} text vectors and pairs" if args.vocabulary else ""
    print(
        f"\nmachine: {machine()}; n = {args.n:,}; train {args.train:,} {source} answered "
        f"{'exactly' if args.neighbours == 'exact' else 'by the graph'}, "
        f"k {args.k}, keep {args.keep}; ef_construction {args.ef_construction}"
    )
    for kind, queries in (
        ("text", space.texts(args.queries, seed=2_000)),
        ("photo", space.images(args.queries, seed=2_001)),
    ):
        print(f"\n| {kind} ef | " + " | ".join(f"{g} recall@10 | ms p50" for g in graphs) + " |")
        print("|---" * (1 + 2 * len(graphs)) + "|")
        for row in compare(graphs, data, queries, efs):
            cells = " | ".join(f"{row[g][0]:.3f} | {row[g][1]:.2f}" for g in graphs)
            print(f"| {row['ef']} | {cells} |")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nload average {load}")


if __name__ == "__main__":
    main()
