"""A large library on one machine: text and photo queries, allowed sets, memory, loading and
catching up, measured in one run at one size.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_scale.py --n 1000000 [--queries 200]

Data: the synthetic CLIP-like 512-d distribution of bench_search.py (2,000 clusters around a
shared mean, power-law spectrum), with its "image" and "text-like" query sets, and, where they
are cached, real starter vectors (the tagging benchmark's photo vectors of fashion-mnist,
tuxpaint-stamps and the camera files, and its prompt vectors as text queries). The graph is
bench_search.py's cached one (built once, then reused); the first run here also writes its
vector table. Every latency group is timed together (the functions take turns on each query),
so load from elsewhere on the machine hits them alike and their ratios hold.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import CACHE, machine
from bench_search import (
    Array,
    EmbeddingSpace,
    K,
    brute_force,
    cached_index,
    exact_top,
    recall,
    timed_together,
)

from photosense.vectors import HnswIndex, load_index, read_meta, save_index, text_ef
from photosense.vectors.index import table_path
from photosense.vectors.overlay import Overlaid
from photosense.vectors.store import index_path

IDS = list[int]
DEFAULT_CACHE = Path("~/.cache/photosense-bench").expanduser()


def ids_of(hits: list[tuple[int, float]]) -> IDS:
    return [i for i, _ in hits]


def loaded_index(name: str, data: Array) -> tuple[HnswIndex, float, Path]:
    """bench_search's cached graph, with its vector table (written once if missing)."""
    index, build_s, folder = cached_index(name, data, 2)
    meta = read_meta(folder, name)
    if meta is not None and not meta.table_bytes:
        print("writing the vector table beside the cached graph ...", file=sys.stderr)
        save_index(index, folder, 0)
    return index, build_s, folder


def graph_search(index: HnswIndex, ef: int) -> Callable[[Array], IDS]:
    def search(q: Array) -> IDS:
        index.graph.set_ef(ef)
        try:
            return index.graph.knn_query(q, k=K, num_threads=1)[0][0].tolist()  # type: ignore[no-any-return]
        finally:
            index.graph.set_ef(index.ef_search)

    return search


def shifted_union(index: HnswIndex, gap: Array, ef: int, lam: float) -> Callable[[Array], IDS]:
    """Candidates of the query and of the query moved back across the modality gap, re-ranked
    exactly with the table (one of the issue's options)."""

    def search(q: Array) -> IDS:
        moved = q - lam * gap
        moved /= np.linalg.norm(moved)
        index.graph.set_ef(ef)
        try:
            a = index.graph.knn_query(q, k=K, num_threads=1)[0][0]
            b = index.graph.knn_query(moved.astype(np.float32), k=ef, num_threads=1)[0][0]
        finally:
            index.graph.set_ef(index.ef_search)
        candidates = np.unique(np.concatenate([a, b]).astype(np.int64))
        scores = index._table.scores(candidates, q)  # noqa: SLF001 - the benchmark's re-rank
        return candidates[np.argsort(-scores)[:K]].tolist()  # type: ignore[no-any-return]

    return search


def search_figures(
    index: HnswIndex, data: Array, space: EmbeddingSpace, queries: int
) -> dict[str, Any]:
    images, texts = space.images(queries, seed=2), space.texts(queries, seed=3)
    truth = {"image": exact_top(data, images), "text": exact_top(data, texts)}
    out: dict[str, Any] = {"text_ef": text_ef(len(index))}
    gap = space.texts(2000, 11).mean(0) - data[:20000].mean(0)
    for kind, qs in (("image", images), ("text", texts)):
        fns: dict[str, Callable[[Array], Any]] = {
            "search": (
                (lambda q: ids_of(index.search(q, K, text=True)))
                if kind == "text"
                else (lambda q: ids_of(index.search(q, K)))
            ),
            "brute": brute_force(data),
            "brute1": brute_force(data, one_thread=True),
        }
        if kind == "text":
            for ef in (256, 512, 1024, 2048):
                fns[f"ef{ef}"] = graph_search(index, ef)
            fns["shift+rerank ef512"] = shifted_union(index, gap, 512, 0.5)
        timings = timed_together(fns, qs)
        out[kind] = {
            name: {"recall": recall(res, truth[kind]), **ms} for name, (res, ms) in timings.items()
        }
    return out


def allowed_figures(index: HnswIndex, data: Array, space: EmbeddingSpace) -> list[dict[str, Any]]:
    """Exact scoring of an allowed set from the table vs reading vectors back from hnswlib."""
    rng = np.random.default_rng(7)
    queries = space.images(50, seed=5)
    rows = []
    for size in (100, 1000, 10_000):
        allowed = np.sort(rng.choice(len(data), size, replace=False)).astype(np.int64)

        def table(q: Array, a: np.ndarray = allowed) -> IDS:
            return ids_of(index._exact(a, q, K))  # noqa: SLF001

        def graph_items(q: Array, a: np.ndarray = allowed) -> IDS:
            scores = np.asarray(index.graph.get_items(a), np.float32) @ q
            return a[np.argsort(-scores)[:K]].tolist()  # type: ignore[no-any-return]

        wanted = set(allowed.tolist())

        def search(q: Array, a: set[int] = wanted) -> IDS:
            return ids_of(index.search(q, K, a))

        timings = timed_together(
            {"table": table, "hnswlib get_items": graph_items, "search": search}, queries
        )
        truth = [brute_force(data[allowed])(q) for q in queries]
        row: dict[str, Any] = {"allowed": size}
        for name, (res, ms) in timings.items():
            hits = [[int(np.searchsorted(allowed, i)) for i in r] for r in res]
            row[name] = {"recall": recall(hits, np.array(truth)), **ms}
        rows.append(row)
    return rows


def float16_figures(data: Array, space: EmbeddingSpace, queries: int) -> dict[str, float]:
    """Recall@10 of exact search over float16-stored vectors against float32 ground truth."""
    half = data[:200_000].astype(np.float16).astype(np.float32)
    out = {}
    for kind, qs in (("image", space.images(queries, 2)), ("text", space.texts(queries, 3))):
        out[kind] = recall([r.tolist() for r in exact_top(half, qs)], exact_top(data[:200_000], qs))
    return out


def stall_while(action: Callable[[], object]) -> tuple[float, float]:
    """Seconds ``action`` took on a worker thread, and the longest gap (ms) of a 2 ms ticker
    on this thread meanwhile: how long the GIL was held against a GUI.

    The worker waits until the ticker runs: a worker that took the GIL straight away would
    otherwise hide its first stall in the ticker's start."""
    ticking = threading.Event()
    took: list[float] = []

    def work() -> None:
        ticking.wait()
        start = time.perf_counter()
        action()
        took.append(time.perf_counter() - start)

    gaps: list[float] = []
    worker = threading.Thread(target=work)
    worker.start()
    last = time.perf_counter()
    ticking.set()
    while worker.is_alive():
        time.sleep(0.002)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return took[0], 1000 * max(gaps, default=0.0)


PROBE = """
import json, sys
from pathlib import Path
from photosense.vectors import load_index
index = load_index(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), 0)
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
rss = next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1]
print(json.dumps({"hwm": int(hwm) * 1024, "rss": int(rss) * 1024, "n": len(index)}))
"""


def memory_figures(index: HnswIndex, folder: Path) -> dict[str, Any]:
    graph = index_path(folder, index.model_id)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), index.model_id, str(index.dim)],
        check=True,
        capture_output=True,
        text=True,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    import hnswlib

    def load_graph() -> None:
        hnswlib.Index(space="ip", dim=index.dim).load_index(str(graph))

    def load_table() -> None:
        np.load(table_path(graph))["vectors"]

    def load_all() -> None:
        load_index(folder, index.model_id, index.dim, 0)

    return {
        "graph_bytes": graph.stat().st_size,
        "table_bytes": table_path(graph).stat().st_size,
        "process_rss": probe["rss"],
        "process_hwm": probe["hwm"],
        "stall_graph": stall_while(load_graph),
        "stall_table": stall_while(load_table),
        "stall_load_index": stall_while(load_all),
    }


def served_figures(index: HnswIndex, folder: Path, space: EmbeddingSpace) -> dict[str, Any]:
    """The graph loaded by a helper process (what the window does): how long this process's
    GIL is held meanwhile, what a search costs through the pipe against the same graph loaded
    here (timed together, same answers), and the helper's memory."""
    loaded: list[HnswIndex] = []

    def load_served() -> None:
        served = load_index(folder, index.model_id, index.dim, 0, served=True)
        assert isinstance(served, HnswIndex) and served.served
        loaded.append(served)

    stall = stall_while(load_served)
    served = loaded[0]
    try:
        out: dict[str, Any] = {"stall_served_load": stall}
        for kind, queries, text in (
            ("image", space.images(100, seed=21), False),
            ("text", space.texts(100, seed=22), True),
        ):
            timings = timed_together(
                {
                    "here": lambda q, text=text: index.search(q, K, text=text),
                    "served": lambda q, text=text: served.search(q, K, text=text),
                },
                queries,
            )
            same = np.mean(
                [a == b for a, b in zip(timings["here"][0], timings["served"][0], strict=True)]
            )
            out[kind] = {name: ms for name, (_, ms) in timings.items()} | {"same": float(same)}
        pid = served.graph.pid  # type: ignore[union-attr]
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        out["helper_rss"] = next(
            int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS")
        )
    finally:
        served.close()
    return out


def catch_up_figures(index: HnswIndex, data: Array, space: EmbeddingSpace) -> dict[str, Any]:
    """Patching the loaded graph in place: 1,000 photos removed and 1,000 changed vectors; and
    the latency of the index that answers during a rebuild."""
    n = len(index)
    rng = np.random.default_rng(11)
    gone = rng.choice(n, 1000, replace=False)
    changed = rng.choice(np.setdiff1d(np.arange(n), gone), 1000, replace=False)
    fresh = space.images(1000, seed=13)
    start = time.perf_counter()
    index.remove(gone.tolist())
    removed_s = time.perf_counter() - start
    start = time.perf_counter()
    index.add(changed.astype(np.int64), fresh)
    added_s = time.perf_counter() - start
    from photosense.vectors import ExactIndex

    overlay = ExactIndex(index.model_id, index.dim, changed.astype(np.int64), fresh)
    serving = Overlaid(index, overlay)
    timings = timed_together(
        {
            "previous index + 1,000 changed scored exactly": lambda q: serving.search(q, K),
            "the index alone": lambda q: index.search(q, K),
        },
        space.images(100, seed=17),
    )
    index.add(gone.astype(np.int64), data[gone])  # put the removed ones back
    index.add(changed.astype(np.int64), data[changed])
    return {
        "remove_1000_s": removed_s,
        "add_1000_s": added_s,
        "during_rebuild": {name: ms for name, (_, ms) in timings.items()},
    }


def starter_figures() -> dict[str, Any] | None:
    """Recall of text queries over real starter vectors (small: exact search is what a library
    of this size uses; reported for the float16 store and the modality gap's size)."""
    caches = [CACHE, DEFAULT_CACHE]  # the tagging benchmark's caches, wherever they are
    root = next((c for c in caches if (c / "tagging").is_dir()), CACHE)
    photos = [np.load(f)["vectors"] for f in sorted((root / "tagging").glob("*.npz"))]
    photos = [p for p in photos if p.shape[1] == 384]
    text_files = sorted((root / "tagging-text").glob("photosense-starter_v2-*.npz"))
    if not photos or not text_files:
        return None
    data = np.unique(np.concatenate(photos), axis=0).astype(np.float32)
    texts = np.load(text_files[0])["vectors"].astype(np.float32)
    half = data.astype(np.float16).astype(np.float32)
    return {
        "photos": len(data),
        "texts": len(texts),
        "best_cosine_text": float(np.mean(np.max(texts @ data.T, axis=1))),
        "best_cosine_photo": float(np.mean(np.sort(data[:500] @ data.T, axis=1)[:, -2])),
        "float16_recall_text": recall(
            [r.tolist() for r in exact_top(half, texts)], exact_top(data, texts)
        ),
    }


def pq(ms: dict[str, float]) -> str:
    return f"{ms['p50']:.2f} / {ms['p95']:.2f}"


def report(r: dict[str, Any]) -> None:
    print(f"\nmachine: {r['machine']}; load average {r['load']}; n = {r['n']:,}")
    s = r["search"]
    print(f"\ntext ef at this size: {s['text_ef']}")
    print("\n| query | method | recall@10 | ms p50 / p95 |\n|---|---|---|---|")
    for kind in ("image", "text"):
        for name, f in s[kind].items():
            print(f"| {kind} | {name} | {f['recall']:.3f} | {pq(f)} |")
    for kind in ("image", "text"):
        brute = min(s[kind]["brute"]["p50"], s[kind]["brute1"]["p50"])
        print(
            f"{kind}: speed-up of search over the faster brute force, p50: "
            f"{brute / s[kind]['search']['p50']:.0f}x"
        )
    print("\n| allowed | method | recall | ms p50 / p95 |\n|---|---|---|---|")
    for row in r["allowed"]:
        for name in ("table", "hnswlib get_items", "search"):
            print(f"| {row['allowed']:,} | {name} | {row[name]['recall']:.3f} | {pq(row[name])} |")
    m = r["memory"]
    print(
        f"\ngraph file {m['graph_bytes'] / 2**20:.0f} MiB, table file "
        f"{m['table_bytes'] / 2**20:.0f} MiB; a process holding the loaded index: RSS "
        f"{m['process_rss'] / 2**20:.0f} MiB, peak {m['process_hwm'] / 2**20:.0f} MiB"
    )
    for what in ("stall_graph", "stall_table", "stall_load_index"):
        took, gap = m[what]
        print(f"{what}: {took:.2f} s, longest GIL gap on another thread {gap:.0f} ms")
    report_served(r["served"])
    print(f"\nfloat16 vectors, exact search recall@10 (200k): {r['float16']}")
    c = r["catch_up"]
    print(
        f"patch in place: remove 1,000 {c['remove_1000_s']:.3f} s, "
        f"add 1,000 {c['add_1000_s']:.2f} s"
    )
    for name, ms in c["during_rebuild"].items():
        print(f"  {name}: {pq(ms)} ms")
    if r.get("starter"):
        print(f"real starter vectors: {r['starter']}")


def report_served(v: dict[str, Any]) -> None:
    took, gap = v["stall_served_load"]
    print(
        f"served: loaded by a helper process in {took:.2f} s, longest GIL gap here {gap:.0f} ms;"
        f" helper RSS {v['helper_rss'] / 2**20:.0f} MiB"
    )
    for kind in ("image", "text"):
        f = v[kind]
        print(
            f"  {kind} queries: here {pq(f['here'])} ms, served {pq(f['served'])} ms "
            f"(p50 / p95), same answers {f['same']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--memory-only", action="store_true", help="files, RSS, load stalls and served graphs"
    )
    args = parser.parse_args()
    space = EmbeddingSpace(512)
    data = space.images(args.n, seed=1)
    index, build_s, folder = loaded_index(f"clustered-n{args.n}-d512", data)
    result: dict[str, Any] = {"machine": machine(), "n": args.n, "build_s": build_s}
    if args.memory_only:
        memory = memory_figures(index, folder)
        served = served_figures(index, folder, space)
        load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
        print(json.dumps({"load": load, **memory, "served": served}, indent=1))
        report_served(served)
        return
    result["search"] = search_figures(index, data, space, args.queries)
    result["allowed"] = allowed_figures(index, data, space)
    result["float16"] = float16_figures(data, space, args.queries)
    result["memory"] = memory_figures(index, folder)
    result["served"] = served_figures(index, folder, space)
    result["catch_up"] = catch_up_figures(index, data, space)
    result["starter"] = starter_figures()
    result["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    report(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
