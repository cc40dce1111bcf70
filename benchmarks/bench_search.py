"""Vector search: recall, latency, build cost and memory of photosense's indexes.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_search.py [--sizes 10000,100000,1000000]
        [--queries 200] [--out /tmp/search.json]

The data are synthetic 512-d "image embeddings": a common mean direction plus one of 2,000
Gaussian cluster centres plus noise, both with a power-law spectrum in a random basis, then
L2-normalised. That reproduces what matters for ANN search in real CLIP image embeddings: random
pairs have cosine ~0.5 (a shared cone), near neighbours ~0.9, and the intrinsic dimension is ~30
(participation ratio), not 512. Uniform random unit vectors have none of that structure (every
pair is nearly orthogonal, no neighbour is meaningfully near), which makes them a worst case no
photo library looks like; their recall is reported too, for honesty.

Two query sets, neither in the index: "image" queries are fresh samples of the same
distribution (similar-photo search); "text" queries mimic the text tower's modality gap: a third
of an image direction plus a fixed offset and isotropic noise, so their best cosine is ~0.35 and
the margins between neighbours are thin (free-text search).

Built graphs are cached in ~/.cache/photosense-bench (or $PHOTOSENSE_BENCH_CACHE), never in the
repository, so reruns skip the build. The figures exclude the text encoder and the Library's SQL
lookup. Print goes to stdout as markdown; --out also writes JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _common import CACHE, machine

import photosense.vectors.index as index_module
from photosense.vectors import (
    DEFAULT_EF_CONSTRUCTION,
    DEFAULT_EF_SEARCH,
    DEFAULT_M,
    ExactIndex,
    HnswIndex,
    index_path,
    load_index,
    save_index,
)

Array = npt.NDArray[np.float32]
K = 10


class EmbeddingSpace:
    """A fixed synthetic distribution of embedding-like unit vectors (see the module docstring)."""

    def __init__(self, dim: int, clusters: int = 2000, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
        spectrum = 1.0 / np.arange(1, dim + 1)
        self.scale = np.sqrt(spectrum / spectrum.sum()).astype(np.float32)
        self.mean = _unit(rng.standard_normal(dim))
        self.centres = (rng.standard_normal((clusters, dim)) * self.scale * np.sqrt(0.7)).astype(
            np.float32
        ) @ self.basis.T
        weights = rng.lognormal(0.0, 1.0, clusters)
        self.weights = weights / weights.sum()
        self.gap = _unit(rng.standard_normal(dim))  # the "modality gap" of text queries

    def images(self, n: int, seed: int) -> Array:
        """``n`` unit vectors from the mixture, generated in chunks to bound temporary memory."""
        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), np.float32)
        for start in range(0, n, 50_000):
            m = min(50_000, n - start)
            cluster = rng.choice(len(self.weights), m, p=self.weights)
            noise = rng.standard_normal((m, self.dim), dtype=np.float32) * self.scale * 0.3**0.5
            out[start : start + m] = _unit(noise @ self.basis.T + self.centres[cluster] + self.mean)
        return out

    def texts(self, n: int, seed: int) -> Array:
        """Text-like queries: far from every image (cosine ~0.35), with thin margins."""
        noise = _unit(np.random.default_rng(seed).standard_normal((n, self.dim)))
        return _unit(0.37 * self.images(n, seed) + 0.75 * self.gap + 0.55 * noise)


def uniform(n: int, dim: int, seed: int) -> Array:
    return _unit(np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32))


def _unit(x: npt.ArrayLike) -> Array:
    a = np.asarray(x, np.float32)
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


def exact_top(data: Array, queries: Array, k: int = K) -> npt.NDArray[np.int64]:
    """Ground truth: the ids (row numbers) of each query's k best rows, by chunked products."""
    best_s = np.full((len(queries), k), -np.inf, np.float32)
    best_i = np.zeros((len(queries), k), np.int64)
    for start in range(0, len(data), 65_536):
        s = np.hstack([best_s, queries @ data[start : start + 65_536].T])
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(s, top, 1)
        best_i = np.where(
            top < k, np.take_along_axis(best_i, np.minimum(top, k - 1), 1), top - k + start
        )
    return best_i


def recall(found: list[list[int]], truth: npt.NDArray[np.int64]) -> float:
    return float(
        np.mean([len(set(f) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)])
    )


def timed_together(
    fns: dict[str, Callable[[Array], Any]], queries: Array
) -> dict[str, tuple[list[Any], dict[str, float]]]:
    """Results and p50/p95 milliseconds of each function over the queries, one at a time.

    The functions take turns on every query, so load from elsewhere on a shared machine hits
    them alike and their ratio stays fair.
    """
    for q in queries[:5]:  # warm caches
        for fn in fns.values():
            fn(q)
    results: dict[str, list[Any]] = {name: [] for name in fns}
    ms: dict[str, list[float]] = {name: [] for name in fns}
    for q in queries:
        for name, fn in fns.items():
            start = time.perf_counter_ns()
            results[name].append(fn(q))
            ms[name].append((time.perf_counter_ns() - start) / 1e6)
    return {
        name: (
            results[name],
            {"p50": float(np.percentile(t, 50)), "p95": float(np.percentile(t, 95))},
        )
        for name, t in ms.items()
    }


def timed(fn: Callable[[Array], Any], queries: Array) -> tuple[list[Any], dict[str, float]]:
    return timed_together({"": fn}, queries)[""]


def brute_force(data: Array, one_thread: bool = False) -> Callable[[Array], list[int]]:
    """What rclip does: score every vector (matrix @ query), then pick the top k.

    ``one_thread`` scores with einsum, as ExactIndex does, instead of multi-threaded BLAS.
    """

    def search(q: Array) -> list[int]:
        scores = np.einsum("ij,j->i", data, q) if one_thread else data @ q
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])].tolist()

    return search


def cached_index(name: str, data: Array, threads: int) -> tuple[HnswIndex, float, Path]:
    """The HNSW graph over ``data`` from the cache, or built (and cached) now."""
    folder = CACHE / f"{name}-M{DEFAULT_M}-efc{DEFAULT_EF_CONSTRUCTION}"
    stamp = folder / "build.json"
    if stamp.is_file():
        index = load_index(folder, name, data.shape[1], 0)
        if isinstance(index, HnswIndex):
            return index, json.loads(stamp.read_text())["build_s"], folder
    print(f"building {name} ({len(data)} x {data.shape[1]}) ...", file=sys.stderr, flush=True)
    index = HnswIndex(name, data.shape[1], capacity=len(data), num_threads=threads)
    start = time.perf_counter()
    index.add(np.arange(len(data), dtype=np.int64), data)
    build_s = time.perf_counter() - start
    save_index(index, folder, 0)
    stamp.write_text(json.dumps({"build_s": build_s, "threads": threads}))
    return index, build_s, folder


PROBE = """
import json, sys, time
from pathlib import Path
import numpy as np
from photosense.vectors import load_index
folder, name, dim = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
start = time.perf_counter()
index = load_index(folder, name, dim, 0)
load_s = time.perf_counter() - start
for q in np.load(sys.argv[4]):
    index.search(q, 10)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forked parent across exec.
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(json.dumps({"load_s": load_s, "peak_rss_bytes": int(hwm) * 1024}))
"""


def probe(folder: Path, name: str, dim: int, queries: Array) -> dict[str, float]:
    """Load time and peak RSS of a fresh process that loads the saved index and searches."""
    qfile = folder / "queries.npy"
    np.save(qfile, queries)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), name, str(dim), str(qfile)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def forced(index: HnswIndex, allowed: set[int], factor: float) -> Callable[[Array], Any]:
    """A filtered search forced down the exact (inf) or the graph-walk (0) path."""

    def search(q: Array) -> list[tuple[int, float]]:
        saved = index_module.EXACT_FILTER_FACTOR
        index_module.EXACT_FILTER_FACTOR = factor
        try:
            return index.search(q, K, allowed)
        finally:
            index_module.EXACT_FILTER_FACTOR = saved

    return search


def exact_rule(allowed: int, n: int) -> str:
    limit = index_module.EXACT_FILTER_FACTOR * (DEFAULT_EF_SEARCH * n) ** 0.5
    return "exact" if allowed <= limit else "graph"


def ids_of(hits: list[tuple[int, float]]) -> list[int]:
    return [i for i, _ in hits]


def run_size(n: int, space: EmbeddingSpace, args: argparse.Namespace) -> dict[str, Any]:
    data = space.images(n, seed=1)
    queries = {"image": space.images(args.queries, seed=2), "text": space.texts(args.queries, 3)}
    index, build_s, folder = cached_index(f"clustered-n{n}-d{args.dim}", data, args.threads)
    file_bytes = index_path(folder, index.model_id).stat().st_size
    truth = {kind: exact_top(data, q) for kind, q in queries.items()}
    row: dict[str, Any] = {"n": n, "build_s": build_s, "bytes_per_vector": file_bytes / n}
    row["best_cosine"] = {
        kind: float(np.mean(np.max(q @ data[:100_000].T, axis=1))) for kind, q in queries.items()
    }

    graph = index.graph  # its ef is DEFAULT_EF_SEARCH, as set by the index
    found = timed_together(
        {
            "ann": lambda q: graph.knn_query(q, k=K, num_threads=1),
            "search": lambda q: index.search(q, K),
            "brute": brute_force(data),
            "brute1": brute_force(data, one_thread=True),
        },
        queries["image"],
    )
    (_, row["ann_ms"]), (hits, row["search_ms_image"]) = found["ann"], found["search"]
    row["recall_image"] = recall([ids_of(h) for h in hits], truth["image"])
    assert recall(found["brute"][0], truth["image"]) > 0.999  # the baseline is exact
    row["brute_ms"], row["brute1_ms"] = found["brute"][1], found["brute1"][1]
    hits, row["search_ms_text"] = timed(lambda q: index.search(q, K), queries["text"])
    row["recall_text"] = recall([ids_of(h) for h in hits], truth["text"])
    for p in ("p50", "p95"):
        faster = min(row["brute_ms"][p], row["brute1_ms"][p])
        row[f"speedup_{p}"] = faster / row["search_ms_image"][p]

    row["ef_sweep"] = []
    for ef in (16, 32, 64, 128, 256, 512):
        graph.set_ef(ef)
        point: dict[str, Any] = {"ef": ef}
        for kind, q in queries.items():
            res, point[f"ms_{kind}"] = timed(lambda x: graph.knn_query(x, k=K, num_threads=1), q)
            point[f"recall_{kind}"] = recall([r[0][0].tolist() for r in res], truth[kind])
        row["ef_sweep"].append(point)
    index.ef_search = DEFAULT_EF_SEARCH

    row["filtered"] = []
    rng = np.random.default_rng(7)
    few = queries["image"][: args.filter_queries]
    for size in (100, 300, 1000, 3000, 10_000):
        if size > n // 2:
            break
        allowed = set(rng.choice(n, size, replace=False).tolist())
        point = {"allowed": size, "rule": exact_rule(size, n)}
        both = timed_together(
            {"exact": forced(index, allowed, float("inf")), "graph": forced(index, allowed, 0.0)},
            few,
        )
        (exact_hits, point["exact_ms"]), (graph_hits, point["graph_ms"]) = (
            both["exact"],
            both["graph"],
        )
        point["graph_recall"] = float(
            np.mean(
                [
                    len(set(ids_of(g)) & set(ids_of(e))) / K
                    for g, e in zip(graph_hits, exact_hits, strict=True)
                ]
            )
        )
        row["filtered"].append(point)

    row.update(probe(folder, index.model_id, args.dim, queries["image"]))
    return row


def run_uniform(n: int, args: argparse.Namespace) -> dict[str, Any]:
    data, queries = uniform(n, args.dim, 1), uniform(args.queries, args.dim, 2)
    index, build_s, _ = cached_index(f"uniform-n{n}-d{args.dim}", data, args.threads)
    truth = exact_top(data, queries)
    row: dict[str, Any] = {"n": n, "build_s": build_s, "sweep": []}
    for ef in (64, 256, 1024):
        index.graph.set_ef(ef)
        res, ms = timed(lambda x: index.graph.knn_query(x, k=K, num_threads=1), queries)
        row["sweep"].append(
            {"ef": ef, "ms": ms, "recall": recall([r[0][0].tolist() for r in res], truth)}
        )
    return row


def exact_latency(data: Array, sizes: list[int], queries: Array) -> list[dict[str, Any]]:
    """ExactIndex.search latency by library size: where exact stops being free."""
    out = []
    for m in sizes:
        if m > len(data):
            break
        index = ExactIndex("exact", data.shape[1], np.arange(m, dtype=np.int64), data[:m])
        _, ms = timed(lambda q, i=index: i.search(q, K), queries)
        out.append({"n": m, "ms": ms})
    return out


def pq(ms: dict[str, float]) -> str:
    return f"{ms['p50']:.2f} / {ms['p95']:.2f}"


def report(rows: list[dict[str, Any]], uniforms: list[dict[str, Any]], exact: list[Any]) -> None:
    def table(header: str, lines: list[str]) -> None:
        print(f"\n| {header} |\n" + "|---" * (header.count("|") + 1) + "|")
        for line in lines:
            print(f"| {line} |")

    print(f"\nmachine: {machine()}")
    print(f"HNSW M={DEFAULT_M}, ef_construction={DEFAULT_EF_CONSTRUCTION}, ef={DEFAULT_EF_SEARCH}")
    table(
        "n | build s | bytes/vec | load s | peak RSS MiB | ANN ms | search ms | recall@10 image "
        "| recall@10 text | text search ms | brute @ ms | brute 1-thread ms | speed-up",
        [
            f"{r['n']:,} | {r['build_s']:.1f} | {r['bytes_per_vector']:.0f} | {r['load_s']:.2f} "
            f"| {r['peak_rss_bytes'] / 2**20:.0f} | {pq(r['ann_ms'])} | {pq(r['search_ms_image'])} "
            f"| {r['recall_image']:.3f} | {r['recall_text']:.3f} | {pq(r['search_ms_text'])} "
            f"| {pq(r['brute_ms'])} | {pq(r['brute1_ms'])} "
            f"| {r['speedup_p50']:.0f}x / {r['speedup_p95']:.0f}x"
            for r in rows
        ],
    )
    print(
        "(ms: p50 / p95 of one query, k=10. brute @: matrix @ query + argpartition, as rclip"
        " does, BLAS threads; brute 1-thread: the same with einsum, as ExactIndex. speed-up:"
        " the faster brute force / search)"
    )
    for r in rows:
        cos = r["best_cosine"]
        print(f"n={r['n']:,}: mean best cosine, image {cos['image']:.2f}, text {cos['text']:.2f}")

    print("\nef sweep, ANN step only:")
    table(
        "n | ef | recall image | ms image | recall text | ms text",
        [
            f"{r['n']:,} | {p['ef']} | {p['recall_image']:.3f} | {pq(p['ms_image'])} "
            f"| {p['recall_text']:.3f} | {pq(p['ms_text'])}"
            for r in rows
            for p in r["ef_sweep"]
        ],
    )
    print("\nsearch within a random `allowed` set: exact scoring vs filtered graph walk:")
    table(
        "n | allowed | exact ms | graph ms | graph recall vs exact | default picks",
        [
            f"{r['n']:,} | {p['allowed']:,} | {pq(p['exact_ms'])} | {pq(p['graph_ms'])} "
            f"| {p['graph_recall']:.3f} | {p.get('rule', '')}"
            for r in rows
            for p in r["filtered"]
        ],
    )
    print("\nExactIndex.search by size:")
    table("n | ms", [f"{p['n']:,} | {pq(p['ms'])}" for p in exact])
    print("\nuniform random unit vectors (no structure, a worst case), ANN step:")
    table(
        "n | build s | ef | recall@10 | ms",
        [
            f"{u['n']:,} | {u['build_s']:.1f} | {p['ef']} | {p['recall']:.3f} | {pq(p['ms'])}"
            for u in uniforms
            for p in u["sweep"]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--filter-queries", type=int, default=50, help="queries per allowed-set size"
    )
    parser.add_argument("--threads", type=int, default=2, help="hnswlib build threads")
    parser.add_argument("--uniform-max", type=int, default=100_000, help="largest uniform size")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    space = EmbeddingSpace(args.dim)
    rows = []
    for n in sizes:
        print(f"n={n:,} ...", file=sys.stderr, flush=True)
        rows.append(run_size(n, space, args))
    exact = exact_latency(
        space.images(max(min(max(sizes), 100_000), 1), seed=1),
        [5_000, 10_000, 20_000, 50_000, 100_000],
        space.images(args.queries, 2),
    )
    uniforms = [run_uniform(n, args) for n in sizes if n <= args.uniform_max]
    report(rows, uniforms, exact)
    if args.out:
        args.out.write_text(
            json.dumps(
                {"machine": machine(), "sizes": rows, "uniform": uniforms, "exact": exact}, indent=1
            )
        )


if __name__ == "__main__":
    main()
