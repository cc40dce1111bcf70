"""A graph walk over PCA-reduced vectors, then exact re-ranking, against plain hnswlib.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_reduced.py --n 100000 [--queries 200]
        [--dims 64,128,256] [--out /tmp/reduced.json]

Question: text-like queries need a wide ef on the 512-d hnswlib graph (text_ef: 512 at 100k,
1619 at 1M). Is a walk over a cheaper graph, built from PCA-reduced vectors, plus an exact
re-rank of its candidates with the full 512-d float16 vectors, faster at the same recall@10?

Data and queries are bench_search.py's synthetic CLIP-like 512-d vectors ("image" and
"text-like" queries, the latter across a modality gap). The 512-d graph is bench_search.py's
cached one, with bench_scale.py's vector table beside it. PCA is fitted on 20,000 of the photo
vectors; the reduced vectors are the centred projections ``(x - mean) @ W``. Each reduced graph
(hnswlib, M=16, ef_construction=100, the same as photosense's) is built once and cached in
~/.cache/photosense-bench. Spaces: ``ip`` keeps the centred projections as they are and walks by
inner product (``q . x`` ranks like ``(q @ W) . ((x - mean) @ W)`` up to what PCA drops, since
``q . mean`` is the same for every x); ``cos`` normalises them. A reduced search walks with the
query's projection at ``ef``, takes its best ``ef`` candidates and re-ranks them with the index's
VectorTable (a float16 gather and one product, exactly as photosense scores an allowed set).
``shift`` variants first move the query by ``lam * (mean photo - mean text)`` (the modality gap,
estimated from 2,000 other text queries) and renormalise, before reduction; the re-rank always
uses the original query.

All methods of a table take turns on every query (bench_search.timed_together), so load from
elsewhere on the machine hits them alike. Latency is one query at a time, one thread, p50/p95 ms,
including the re-rank. ``uptime`` is printed beside the figures.
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

import hnswlib
import numpy as np
import numpy.typing as npt
from _common import CACHE, machine
from bench_scale import loaded_index
from bench_search import Array, EmbeddingSpace, K, brute_force, exact_top, recall, timed_together

from photosense.vectors import DEFAULT_EF_CONSTRUCTION, DEFAULT_M, HnswIndex, text_ef

IDS = list[int]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def fit_pca(sample: Array, dim: int) -> tuple[Array, Array]:
    """The sample's mean and its top ``dim`` principal directions (512 x dim)."""
    mean = sample.mean(0)
    values, vectors = np.linalg.eigh(np.cov(sample, rowvar=False))
    top = np.argsort(-values)[:dim]
    return mean.astype(np.float32), np.ascontiguousarray(vectors[:, top], np.float32)


def reduced_graph(
    name: str, reduced: Array, space: str, threads: int
) -> tuple[hnswlib.Index, float]:
    """An hnswlib graph over the reduced vectors, from the cache or built (and cached) now."""
    folder = CACHE / f"{name}-{space}-M{DEFAULT_M}-efc{DEFAULT_EF_CONSTRUCTION}"
    path, stamp = folder / "graph.bin", folder / "build.json"
    graph = hnswlib.Index(space=space, dim=reduced.shape[1])
    if stamp.is_file():
        graph.load_index(str(path), max_elements=len(reduced))
        return graph, float(json.loads(stamp.read_text())["build_s"])
    print(f"building {name} {space} ...", file=sys.stderr, flush=True)
    graph.init_index(len(reduced), ef_construction=DEFAULT_EF_CONSTRUCTION, M=DEFAULT_M)
    graph.set_num_threads(threads)
    start = time.perf_counter()
    graph.add_items(reduced, np.arange(len(reduced)))
    build_s = time.perf_counter() - start
    folder.mkdir(parents=True, exist_ok=True)
    graph.save_index(str(path))
    stamp.write_text(json.dumps({"build_s": build_s, "threads": threads}))
    return graph, build_s


def plain(index: HnswIndex, ef: int) -> Callable[[Array], IDS]:
    """The 512-d graph alone at this ef (what photosense's search does, less its bookkeeping)."""
    graph = index.graph

    def search(q: Array) -> IDS:
        graph.set_ef(ef)
        return graph.knn_query(q, k=K, num_threads=1)[0][0].tolist()  # type: ignore[no-any-return]

    return search


def reduced_search(
    graph: hnswlib.Index,
    w: Array,
    index: HnswIndex,
    ef: int,
    shift: Array | None = None,
    full32: Array | None = None,
) -> Callable[[Array], IDS]:
    """Walk the reduced graph with the (shifted) projected query, re-rank ef candidates exactly.

    The re-rank uses the index's float16 VectorTable, or ``full32`` (float32 rows by id) if given.
    """
    table = index._table  # noqa: SLF001 - the benchmark re-ranks with the index's own table

    def search(q: Array) -> IDS:
        walk = q
        if shift is not None:
            walk = q + shift
            walk = walk / np.linalg.norm(walk)
        graph.set_ef(ef)
        candidates = graph.knn_query(walk @ w, k=ef, num_threads=1)[0][0].astype(np.int64)
        scores = table.scores(candidates, q) if full32 is None else full32[candidates] @ q
        top = np.argpartition(-scores, K)[:K]
        return candidates[top[np.argsort(-scores[top])]].tolist()  # type: ignore[no-any-return]

    return search


def rerank_costs(index: HnswIndex, data: Array, queries: Array) -> dict[str, dict[str, float]]:
    """p50/p95 ms of exactly scoring m candidate ids: the float16 table against float32 rows."""
    table = index._table  # noqa: SLF001
    rng = np.random.default_rng(5)
    fns: dict[str, Callable[[Array], Any]] = {}
    for m in (256, 512, 1024, 2048):
        ids = np.sort(rng.choice(len(data), m, replace=False)).astype(np.int64)
        fns[f"{m} f16 table.scores"] = lambda q, i=ids: table.scores(i, q)
        fns[f"{m} f16 gather only"] = lambda q, i=ids: table._matrix[i]  # noqa: SLF001
        fns[f"{m} f32 gather+product"] = lambda q, i=ids: data[i] @ q
    return {name: ms for name, (_, ms) in timed_together(fns, queries).items()}


def measure(
    fns: dict[str, Callable[[Array], Any]], queries: Array, truth: npt.NDArray[np.int64]
) -> dict[str, dict[str, float]]:
    timings = timed_together(fns, queries)
    return {name: {"recall": recall(res, truth), **ms} for name, (res, ms) in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dims", default="64,128,256")
    parser.add_argument("--spaces", default="ip,cosine")
    parser.add_argument("--efs", default="", help="reduced-walk efs (default by n)")
    parser.add_argument("--plain-efs", default="", help="512-d efs (default by n)")
    parser.add_argument("--lams", default="0.25,0.5", help="gap shifts to try (cosine graphs)")
    parser.add_argument("--threads", type=int, default=2, help="hnswlib build threads")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    n = args.n
    scale = (n / 100_000) ** 0.5
    efs = (
        [int(e) for e in args.efs.split(",")]
        if args.efs
        else [round(e * scale) for e in (64, 128, 256, 512, 768)]
    )
    plain_efs = (
        [int(e) for e in args.plain_efs.split(",")]
        if args.plain_efs
        else sorted({round(e * scale) for e in (128, 192, 256, 320, 384, 512, 768)} | {text_ef(n)})
    )

    print(f"machine: {machine()}")
    print(f"start: {uptime()}")
    space = EmbeddingSpace(512)
    data = space.images(n, seed=1)
    index, build_512, _ = loaded_index(f"clustered-n{n}-d512", data)
    images, texts = space.images(args.queries, seed=2), space.texts(args.queries, seed=3)
    truth = {"image": exact_top(data, images), "text": exact_top(data, texts)}
    gap = data[:20_000].mean(0) - space.texts(2000, 11).mean(0)

    # The graphs are cached, so the projection they were built with is cached beside them.
    pca_file = CACHE / f"reduced-n{n}-pca.npz"
    if pca_file.is_file():
        with np.load(pca_file) as saved:
            mean, basis, pca_s = saved["mean"], saved["basis"], float(saved["fit_s"])
    else:
        start = time.perf_counter()
        mean, basis = fit_pca(data[:20_000], 512)
        pca_s = time.perf_counter() - start
        np.savez(pca_file, mean=mean, basis=basis, fit_s=pca_s)
    kept = (
        np.cumsum(np.var((data[:20_000] - mean) @ basis, axis=0))
        / np.var(data[:20_000] - mean, axis=0).sum()
    )
    centred_s = 0.0
    graphs: dict[tuple[int, str], hnswlib.Index] = {}
    builds: list[dict[str, Any]] = []
    for d in [int(x) for x in args.dims.split(",")]:
        start = time.perf_counter()
        reduced = np.empty((n, d), np.float32)
        for s in range(0, n, 100_000):
            reduced[s : s + 100_000] = (data[s : s + 100_000] - mean) @ basis[:, :d]
        centred_s = time.perf_counter() - start
        for sp in args.spaces.split(","):
            graph, build_s = reduced_graph(f"reduced-n{n}-d{d}", reduced, sp, args.threads)
            graphs[(d, sp)] = graph
            builds.append(
                {
                    "dim": d,
                    "space": sp,
                    "build_s": build_s,
                    "project_s": centred_s,
                    "variance_kept": float(kept[d - 1]),
                }
            )
        del reduced
    print(f"after builds: {uptime()}")

    figures: dict[str, Any] = {
        "n": n,
        "machine": machine(),
        "builds": builds,
        "build_512_s": build_512,
        "pca_fit_s": pca_s,
    }
    for kind, qs in (("text", texts), ("image", images)):
        fns: dict[str, Callable[[Array], Any]] = {
            "brute": brute_force(data),
            "brute1": brute_force(data, one_thread=True),
        }
        for ef in plain_efs:
            fns[f"hnsw512 ef={ef}"] = plain(index, ef)
        for (d, sp), graph in graphs.items():
            for ef in efs:
                fns[f"pca{d}-{sp} ef={ef}"] = reduced_search(graph, basis[:, :d], index, ef)
        for (d, sp), graph in graphs.items():
            if sp == "cosine":
                for ef in efs[2:]:
                    fns[f"pca{d}-{sp} ef={ef} f32 re-rank"] = reduced_search(
                        graph, basis[:, :d], index, ef, full32=data
                    )
        for lam in [float(x) for x in args.lams.split(",") if x]:
            for (d, sp), graph in graphs.items():
                for ef in efs[2:4] if sp == "cosine" else []:
                    fns[f"pca{d}-{sp} shift{lam} ef={ef}"] = reduced_search(
                        graph, basis[:, :d], index, ef, shift=lam * gap
                    )
        load = uptime()
        figures[kind] = measure(fns, qs, truth[kind])
        figures[f"uptime_{kind}"] = load + " / " + uptime()
        print(f"{kind} done: {uptime()}", file=sys.stderr, flush=True)

    figures["rerank"] = rerank_costs(index, data, texts)
    figures["uptime_rerank"] = uptime()
    report(figures)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=1))


def report(f: dict[str, Any]) -> None:
    print(
        f"\nn = {f['n']:,}; 512-d graph build {f['build_512_s']:.0f} s (cached), "
        f"PCA fit on 20,000 vectors {f['pca_fit_s']:.2f} s"
    )
    print("\n| dims | space | variance kept | project s | build s (2 threads) |")
    print("|---|---|---|---|---|")
    for b in f["builds"]:
        print(
            f"| {b['dim']} | {b['space']} | {b['variance_kept']:.2f} | {b['project_s']:.2f} "
            f"| {b['build_s']:.1f} |"
        )
    for kind in ("text", "image"):
        rows = f[kind]
        brute = min(rows["brute"]["p50"], rows["brute1"]["p50"])
        print(
            f"\n{kind} queries ({f['uptime_' + kind]}); brute force p50 {brute:.2f} ms "
            f"(BLAS {rows['brute']['p50']:.2f}, 1-thread {rows['brute1']['p50']:.2f})"
        )
        print("\n| method | recall@10 | p50 ms | p95 ms | x brute p50 |\n|---|---|---|---|---|")
        for name, r in rows.items():
            if name.startswith("brute"):
                continue
            print(
                f"| {name} | {r['recall']:.3f} | {r['p50']:.2f} | {r['p95']:.2f} "
                f"| {brute / r['p50']:.0f} |"
            )
    print(f"\nexact scoring of m candidate ids ({f['uptime_rerank']})")
    print("\n| m, how | p50 ms | p95 ms |\n|---|---|---|")
    for name, ms in f["rerank"].items():
        print(f"| {name} | {ms['p50']:.3f} | {ms['p95']:.3f} |")


if __name__ == "__main__":
    main()
