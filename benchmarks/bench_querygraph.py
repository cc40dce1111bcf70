"""A graph whose links follow text queries (RoarGraph-style projection) against the plain graph.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_querygraph.py [--n 100000] [--train 20000]

Text queries lie across the modality gap: their true neighbours are spread over photos that a
graph built from photo-to-photo distances does not link, so a walk needs a wide candidate list
(``text_ef``) to find them. RoarGraph (Chen et al., VLDB 2024) builds the graph from a sample of
real queries instead: the photos that are near the same query are linked to each other. Here the
plain hnswlib graph of bench_search.py is kept for its upper layers and its photo-to-photo links,
and part of each photo's level-0 links is given to such query links:

1. ``--train`` text-like queries (a seed of their own) are answered exactly (their top ``--k``);
2. each query's nearest photo gets links to its other top photos, and each of those a link back
   to the nearest (RoarGraph's projection of the query-photo bipartite graph);
3. a photo keeps its first ``--keep`` hnswlib links (the ones its heuristic chose first) and
   fills the free level-0 slots with its most frequent query links.

The graph is written back through hnswlib's own state (``__getstate__``/``__setstate__``), so the
same hnswlib search runs over both. Both graphs are then asked the same photo and text queries
(seeds unseen in training) at several ``ef``: recall@10 against brute force and p50 ms, timed in
turns on every query. Data: bench_search.py's synthetic CLIP-like 512-d distribution.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
from _common import machine
from bench_search import EmbeddingSpace, K, cached_index, exact_top, recall, timed_together


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


def query_links(top: np.ndarray, n: int) -> list[Counter[int]]:
    """Per photo of ``n``, how often the training queries link it to each other photo: each
    query's nearest photo to its other top photos, and back."""
    links: list[Counter[int]] = [Counter() for _ in range(n)]
    for row in top.tolist():
        first = row[0]
        for other in row[1:]:
            links[first][other] += 1
            links[other][first] += 1
    return links


def rewired(graph: hnswlib.Index, links: list[Counter[int]], keep: int) -> hnswlib.Index:
    """``graph`` with each photo's level-0 links after the first ``keep`` given to query links.

    Labels are the row numbers of the data here (bench_search's cached graph), so a label's
    internal id is read from hnswlib's label lookup."""
    (state,) = graph.__getstate__()
    stride = state["size_data_per_element"]
    max_m0 = state["max_M0"]
    level0 = state["data_level0"].view(np.uint8).reshape(-1, stride)
    count = state["cur_element_count"]
    lists = level0[:count, : 4 * (max_m0 + 1)].copy().view(np.uint32)  # [size, links...]
    internal = np.empty(count, np.int64)
    internal[state["label_lookup_external"].astype(np.int64)] = state["label_lookup_internal"]
    added = 0
    for label in range(count):
        node = internal[label]
        size = int(lists[node, 0] & 0xFFFF)
        kept = lists[node, 1 : 1 + min(size, keep)].tolist()
        have = set(kept)
        for other, _ in links[label].most_common():
            if len(kept) >= max_m0:
                break
            target = int(internal[other])
            if target not in have and target != node:
                kept.append(target)
                have.add(target)
                added += 1
        for target in lists[node, 1 + min(size, keep) : 1 + size].tolist():
            if len(kept) >= max_m0:
                break
            if target not in have:
                kept.append(target)
                have.add(target)
        lists[node, 0] = (lists[node, 0] & 0xFFFF0000) | len(kept)  # keep hnswlib's flags
        lists[node, 1 : 1 + len(kept)] = kept
    level0[:count, : 4 * (max_m0 + 1)] = lists.view(np.uint8).reshape(count, -1)
    print(f"  {added:,} query links placed ({added / count:.1f} a photo)")
    out = hnswlib.Index.__new__(hnswlib.Index)  # pybind11 restores into a bare instance
    out.__setstate__((state,))
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--train", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=16, help="top photos of a training query")
    parser.add_argument("--keep", type=int, default=16, help="hnswlib links kept per photo")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--neighbours",
        choices=("exact", "graph"),
        default="exact",
        help="answer the training queries exactly or through the plain graph",
    )
    parser.add_argument("--neighbours-ef", type=int, default=512)
    parser.add_argument("--efs", default="64,128,256,512")
    args = parser.parse_args()
    space = EmbeddingSpace(512)
    data = space.images(args.n, seed=1)
    index, _, _ = cached_index(f"clustered-n{args.n}-d512", data, 2)
    started = time.perf_counter()
    train = space.texts(args.train, seed=1_000)
    if args.neighbours == "exact":
        top = ordered_top(data, train, args.k)
    else:
        top = graph_top(index.graph, train, args.k, args.neighbours_ef)
    print(f"  training queries answered in {time.perf_counter() - started:.0f} s")
    links = query_links(top, len(data))
    graph = rewired(index.graph, links, args.keep)
    print(f"  query links from {args.train:,} queries in {time.perf_counter() - started:.0f} s")
    graphs = {"plain": index.graph, "query links": graph}
    efs = [int(e) for e in args.efs.split(",")]
    print(
        f"\nmachine: {machine()}; n = {args.n:,}; train {args.train:,} answered "
        f"{'exactly' if args.neighbours == 'exact' else 'by the graph'}, "
        f"k {args.k}, keep {args.keep}"
    )
    for kind, queries in (
        ("text", space.texts(args.queries, seed=2_000)),
        ("photo", space.images(args.queries, seed=2_001)),
    ):
        print(f"\n| {kind} ef | plain recall@10 | plain ms p50 | query links recall@10 | ms p50 |")
        print("|---|---|---|---|---|")
        for row in compare(graphs, data, queries, efs):
            (r1, t1), (r2, t2) = row["plain"], row["query links"]
            print(f"| {row['ef']} | {r1:.3f} | {t1:.2f} | {r2:.3f} | {t2:.2f} |")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nload average {load}")


if __name__ == "__main__":
    main()
