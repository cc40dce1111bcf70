"""usearch against hnswlib on photosense's synthetic library: recall, single-query latency,
build, file size, memory, load time and whether loading or searching holds the GIL.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_usearch.py --n 100000 [--queries 200]
        [--configs f32:16:128:ip,f16:16:128:ip,i8:16:128:cos] [--efs 64,128,256,512,1024]
        [--text-efs 512,1024,2048] [--out /tmp/usearch.json]

usearch is not a photosense dependency: ``.venv/bin/pip install usearch`` first (2.26.6 measured).

Data and queries are bench_scale.py's: bench_search.EmbeddingSpace(512) photos (seed 1), its
"image" queries (seed 2) and "text-like" queries across the modality gap (seed 3), with ground
truth by exact search. hnswlib is photosense's graph (M=16, ef_construction=100, the cached one
bench_search.py/bench_scale.py build), searched with ef 256 for photo queries and text_ef(n)
for text queries. A usearch config is ``dtype:connectivity:expansion_add:metric``. Every latency
group is timed together with hnswlib's reference search (the functions take turns on each query),
so load from elsewhere on the machine hits them alike; "x hnswlib" is that ratio of p50s. With
--brute-queries the brute-force groups (and the hnswlib rows in them) use that many queries only.

Vectors, ground truth and built indexes are cached in ~/.cache/photosense-bench (or
$PHOTOSENSE_BENCH_CACHE) so reruns skip the builds. Loads are timed with a warm page cache (the
files were just written or read). GIL figures: the longest gap of a Python thread ticking every
2 ms while the action runs on another thread (bench_scale.stall_while).
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np
from _common import CACHE, machine
from bench_scale import graph_search, stall_while
from bench_search import Array, EmbeddingSpace, K, brute_force, cached_index, exact_top, recall
from bench_search import timed_together as timed
from usearch.index import Index

from photosense.vectors import text_ef
from photosense.vectors.store import index_path

PHOTO_EF = 256
FOLDER = CACHE / "usearch"


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cached(path: Path, make: Callable[[], np.ndarray]) -> np.ndarray:
    if path.is_file():
        return np.load(path)
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, value)
    return value


class Config:
    """One usearch setting: ``dtype:connectivity:expansion_add:metric``."""

    def __init__(self, spec: str) -> None:
        dtype, conn, add, metric = spec.split(":")
        self.spec, self.dtype, self.metric = spec, dtype, metric
        self.connectivity, self.expansion_add = int(conn), int(add)

    def path(self, n: int) -> Path:
        name = f"n{n}-{self.metric}-{self.dtype}-M{self.connectivity}-efc{self.expansion_add}"
        return FOLDER / f"{name}.usearch"

    def new(self) -> Index:
        return Index(
            ndim=512,
            metric=self.metric,
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
        )

    def build(self, data: Array) -> tuple[Index, float]:
        """The cached index, or built now with 2 threads (and saved)."""
        path = self.path(len(data))
        stamp = path.with_suffix(".json")
        if stamp.is_file():
            return Index.restore(str(path)), json.loads(stamp.read_text())["build_s"]
        print(f"building usearch {self.spec} n={len(data):,} ...", file=sys.stderr, flush=True)
        index = self.new()
        start = time.perf_counter()
        index.add(np.arange(len(data), dtype=np.uint64), data, threads=2)
        build_s = time.perf_counter() - start
        index.save(str(path))
        stamp.write_text(json.dumps({"build_s": build_s, "threads": 2, "load": load_avg()}))
        return index, build_s


def usearch_search(index: Index, ef: int) -> Callable[[Array], list[int]]:
    def search(q: Array) -> list[int]:
        index.expansion_search = ef
        return index.search(q, K, threads=1).keys.tolist()  # type: ignore[no-any-return]

    return search


PROBE = """
import json, sys, time
import numpy as np
kind, path, view = sys.argv[1], sys.argv[2], sys.argv[3] == "view"
queries = np.load(sys.argv[4])
import hnswlib
from usearch.index import Index
start = time.perf_counter()
if kind == "hnswlib":
    index = hnswlib.Index(space="ip", dim=512)
    index.load_index(path)
    index.set_ef(256)
    search = lambda q: index.knn_query(q, k=10, num_threads=1)
else:
    index = Index.restore(path, view=view)
    search = lambda q: index.search(q, 10, threads=1)
load_s = time.perf_counter() - start
start = time.perf_counter()
for q in queries[:20]:
    search(q)
first20_ms = (time.perf_counter() - start) * 1000
status = {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.startswith("Vm")}
print(json.dumps({"load_s": load_s, "first20_ms": first20_ms,
                  "rss": int(status["VmRSS"]) * 1024, "hwm": int(status["VmHWM"]) * 1024}))
"""


def probe(kind: str, path: Path, view: bool, queries: Path) -> dict[str, float]:
    """Load time, first 20 searches and RSS of a fresh process holding only the index."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, kind, str(path), "view" if view else "load", str(queries)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def capabilities(data: Array, queries: Array) -> dict[str, Any]:
    """What photosense's VectorIndex needs: removal, re-adding a removed id, reading vectors
    back, and filtered search (a predicate or allowed set)."""
    index = Config("f16:16:128:ip").new()
    index.add(np.arange(len(data), dtype=np.uint64), data, threads=2)
    q = queries[0]
    before = index.search(q, K).keys
    removed = int(np.sum(index.remove(before[:3])))
    after = index.search(q, K).keys
    index.add(before[:3], data[before[:3]])
    back = index.search(q, K).keys
    got = index.get(before[:3])
    some = np.random.default_rng(3).choice(len(data), 10_000, replace=False).astype(np.uint64)
    start = time.perf_counter()
    index.get(some)
    get_ms = (time.perf_counter() - start) * 1000
    params = inspect.signature(Index.search).parameters
    return {
        "remove_returns": removed,
        "removed_absent_from_results": not set(before[:3].tolist()) & set(after.tolist()),
        "re_added_found": set(before[:3].tolist()) <= set(back.tolist()),
        "len_after_readd": len(index),
        "get_dtype": str(np.asarray(got).dtype),
        "get_10000_ms": round(get_ms, 1),
        "search_params": list(params),
        "filtered_search_in_python": any(p in params for p in ("filter", "predicate", "allowed")),
    }


def allowed_rows(index: Index, data: Array, queries: Array) -> list[dict[str, Any]]:
    """Searches restricted to an allowed set (photosense's filters): usearch's Python search
    has no predicate, so the graph is asked for more hits (count ~ 3k * n / allowed, ef at least
    that) and they are filtered afterwards, against exact float16 scoring of the allowed rows
    (photosense's VectorTable way)."""
    rng = np.random.default_rng(7)
    n, out = len(data), []
    for size in (n // 100, n // 10):
        allowed = np.sort(rng.choice(n, size, replace=False)).astype(np.int64)
        half = data[allowed].astype(np.float16)
        wanted = np.zeros(n, bool)
        wanted[allowed] = True
        count = int(min(n, 3 * K * n / size))

        def table(q: Array, a: np.ndarray = allowed, h: np.ndarray = half) -> list[int]:
            scores = h.astype(np.float32) @ q
            top = np.argpartition(-scores, K)[:K]
            return a[top[np.argsort(-scores[top])]].tolist()  # type: ignore[no-any-return]

        def post(q: Array, w: np.ndarray = wanted, c: int = count) -> list[int]:
            index.expansion_search = max(c, PHOTO_EF)
            keys = index.search(q, c, threads=1).keys
            return keys[w[keys]][:K].tolist()  # type: ignore[no-any-return]

        timings = timed(
            {"table (float16 exact)": table, f"usearch count {count} + filter": post}, queries
        )
        truth = np.array([allowed[brute_force(data[allowed])(q)] for q in queries])
        for name, (res, ms) in timings.items():
            out.append({"allowed": size, "method": name, "recall": recall(res, truth), **ms})
    return out


def hnsw_report(
    builds: dict[str, Any],
    build_s: float,
    path: Path,
    search: Callable[[Array], Any],
    texts: Array,
    qfile: Path,
) -> None:
    """The hnswlib row of the load table (its graph file only, without photosense's table)."""
    searches = stall_while(lambda: [search(q) for q in texts[:50]])
    load = stall_while(lambda: hnswlib.Index(space="ip", dim=512).load_index(str(path)))
    p = probe("hnswlib", path, False, qfile)
    print(
        f"| hnswlib M16 efc100 | {build_s:.0f} | {path.stat().st_size / 2**20:.0f} "
        f"| {load[0]:.2f} ({load[1]:.0f}) | - | {p['load_s']:.2f} / {p['first20_ms']:.0f} / "
        f"{p['rss'] / 2**20:.0f} | - | {searches[0]:.2f} ({searches[1]:.0f}) |",
        flush=True,
    )
    builds["hnswlib"] = {
        "build_s": build_s,
        "bytes": path.stat().st_size,
        "load": load,
        "probe": p,
        "stall_search50": searches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--configs",
        default="f32:16:128:ip,f16:16:128:ip,i8:16:128:cos,f32:32:128:ip,f16:32:128:ip,i8:32:128:cos",
    )
    parser.add_argument("--efs", default="64,128,256", help="usearch ef for photo queries")
    parser.add_argument("--text-efs", default="256,512,1024,2048", help="... for text queries")
    parser.add_argument("--no-brute", action="store_true", help="skip the brute-force group")
    parser.add_argument("--brute-queries", type=int, help="time brute force on fewer queries")
    parser.add_argument("--no-hnswlib", action="store_true", help="usearch only (no 1M build)")
    parser.add_argument("--only-allowed", action="store_true", help="just the allowed-set section")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    n, space = args.n, EmbeddingSpace(512)
    print(f"machine: {machine()}; load average {load_avg()}; n = {n:,}", flush=True)
    print(f"usearch SIMD: {Config('f32:16:128:ip').new().hardware_acceleration}", flush=True)

    data = cached(CACHE / f"usearch-data-n{n}.npy", lambda: space.images(n, seed=1))
    queries = {"image": space.images(args.queries, seed=2), "text": space.texts(args.queries, 3)}
    truth = {
        kind: cached(
            FOLDER / f"truth-{kind}-n{n}-q{args.queries}.npy", lambda qs=qs: exact_top(data, qs)
        )
        for kind, qs in queries.items()
    }
    qfile = FOLDER / f"queries-{args.queries}.npy"
    np.save(qfile, queries["text"])

    ref_ef = {"image": PHOTO_EF, "text": text_ef(n)}
    refs: dict[str, dict[str, Callable[[Array], Any]]] = {"image": {}, "text": {}}
    if not args.no_hnswlib:
        hnsw, hnsw_build_s, hnsw_folder = cached_index(f"clustered-n{n}-d512", data, 2)
        hnsw_file = index_path(hnsw_folder, f"clustered-n{n}-d512")
        refs = {kind: {"hnswlib": graph_search(hnsw, ef)} for kind, ef in ref_ef.items()}
    efs = {
        "image": [int(e) for e in args.efs.split(",")],
        "text": [int(e) for e in args.text_efs.split(",")],
    }
    rows: list[dict[str, Any]] = []
    if args.only_allowed:
        print(
            "\n| index | allowed | method | recall@10 | ms p50 / p95 | load |"
            "\n|---|---|---|---|---|---|"
        )
        for spec in args.configs.split(","):
            index, _ = Config(spec).build(data)
            for r in allowed_rows(index, data, queries["image"][:100]):
                print(
                    f"| {spec} | {r['allowed']:,} | {r['method']} | {r['recall']:.3f} "
                    f"| {r['p50']:.2f} / {r['p95']:.2f} | {load_avg()} |",
                    flush=True,
                )
        return

    def add_rows(
        kind: str, group: dict[str, Callable[[Array], Any]], count: int | None = None
    ) -> dict[str, Any]:
        timings = timed(group, queries[kind][:count])
        ref_p50 = next(iter(timings.values()))[1]["p50"]  # hnswlib's, or the first's
        out = {}
        for name, (res, ms) in timings.items():
            found = recall(res, truth[kind][: len(res)])
            row = {"kind": kind, "method": name, "recall": found, **ms}
            row["x_hnswlib"] = ref_p50 / ms["p50"]
            row["load"] = load_avg()
            rows.append(row)
            out[name] = row
            print(
                f"| {kind} | {name} | {row['recall']:.3f} | {ms['p50']:.2f} / {ms['p95']:.2f} "
                f"| {row['x_hnswlib']:.2f} | {row['load']} |",
                flush=True,
            )
        return out

    print(
        "\n| query | method | recall@10 | ms p50 / p95 | x hnswlib | load |"
        "\n|---|---|---|---|---|---|"
    )
    brute: dict[str, float] = {}
    if not args.no_brute:
        for kind in ("image", "text"):
            got = add_rows(
                kind,
                {
                    **refs[kind],
                    "brute (BLAS)": brute_force(data),
                    "brute1 (einsum)": brute_force(data, one_thread=True),
                },
                args.brute_queries,
            )
            brute[kind] = min(got["brute (BLAS)"]["p50"], got["brute1 (einsum)"]["p50"])

    builds: dict[str, Any] = {}
    for spec in args.configs.split(","):
        config = Config(spec)
        index, build_s = config.build(data)
        builds[spec] = {"build_s": build_s, "bytes": config.path(n).stat().st_size}
        for kind in ("image", "text"):
            group: dict[str, Callable[[Array], Any]] = dict(refs[kind])
            for ef in efs[kind]:
                group[f"usearch {spec} ef{ef}"] = usearch_search(index, ef)
            add_rows(kind, {k: v for k, v in group.items()})
        # does a search hold the GIL? 50 text queries at the largest text ef
        search = usearch_search(index, efs["text"][-1])
        builds[spec]["stall_search50"] = stall_while(
            lambda s=search: [s(q) for q in queries["text"][:50]]
        )
        del index

    # rows of the hnswlib reference are repeated per group: print them once in the summary
    print(f"\nhnswlib reference ef: photo {ref_ef['image']}, text {ref_ef['text']} (text_ef(n))")
    if brute:
        for kind in ("image", "text"):
            print(f"{kind}: faster brute force p50 {brute[kind]:.1f} ms")
        print(
            "\n| query | method | recall@10 | ms p50 | x faster brute force |\n"
            "|---|---|---|---|---|"
        )
        for r in rows:
            if r["method"].startswith("usearch") or r["method"] == "hnswlib":
                r["x_brute"] = brute[r["kind"]] / r["p50"]
                print(
                    f"| {r['kind']} | {r['method']} | {r['recall']:.3f} | {r['p50']:.2f} "
                    f"| {r['x_brute']:.0f} |"
                )

    print(
        "\n| index | build s | file MiB | load s (GIL gap ms) | view s (GIL gap ms) "
        "| fresh process: load s / first 20 text ms / RSS MiB | view: same "
        "| 50 text searches: s (GIL gap ms) |"
    )
    print("|---|---|---|---|---|---|---|---|")

    if not args.no_hnswlib:
        hnsw_report(
            builds, hnsw_build_s, hnsw_file, refs["text"]["hnswlib"], queries["text"], qfile
        )
    for spec in args.configs.split(","):
        path = Config(spec).path(n)
        b = builds[spec]
        b["load"] = stall_while(lambda p=path: Index.restore(str(p)))
        b["view"] = stall_while(lambda p=path: Index.restore(str(p), view=True))
        b["probe_load"] = probe("usearch", path, False, qfile)
        b["probe_view"] = probe("usearch", path, True, qfile)
        pl, pv, ss = b["probe_load"], b["probe_view"], b["stall_search50"]
        print(
            f"| usearch {spec} | {b['build_s']:.0f} | {b['bytes'] / 2**20:.0f} "
            f"| {b['load'][0]:.2f} ({b['load'][1]:.0f}) | {b['view'][0]:.3f} ({b['view'][1]:.0f}) "
            f"| {pl['load_s']:.2f} / {pl['first20_ms']:.0f} / {pl['rss'] / 2**20:.0f} "
            f"| {pv['load_s']:.3f} / {pv['first20_ms']:.0f} / {pv['rss'] / 2**20:.0f} "
            f"| {ss[0]:.2f} ({ss[1]:.0f}) |",
            flush=True,
        )
    print(f"load average {load_avg()}")

    caps = capabilities(data[:20_000], queries["image"])
    print(f"\nusearch capabilities (20k f16 index): {json.dumps(caps)}")
    if args.out:
        args.out.write_text(
            json.dumps(
                {"n": n, "machine": machine(), "rows": rows, "builds": builds, "caps": caps},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
