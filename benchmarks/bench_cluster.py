"""Indexing on a local Ray cluster against one process: photos/s and the overhead per photo.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cluster.py [--model auto] [--workers 1,2]
        [--sizes 134,538] [--set tuxpaint-stamps]

Needs the cluster extra (``pip install 'photosense[cluster]'``). Each configuration indexes a
fresh library (auto-tagging off) of the first N files of the set, so copies never share a
vector. It times the embedding phase (from "preparing the model" to the last committed batch:
model load, decoding, encoding and writing; for a cluster also starting Ray and its workers)
and the run as a whole. Two sizes per configuration separate the fixed cost (the intercept:
starting) from the cost per photo (the slope); the overhead per photo is a cluster's slope
minus the one process's. ``--cluster ADDRESS`` measures a running cluster instead of one
started on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from _common import dataset, machine

from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.scan import ScannedFile, scan_folder
from photosense.progress import Progress, run_to_end


def subset(files: list[Path], count: int, into: Path) -> Path:
    """A folder of the first ``count`` files (hard links where possible: no copying)."""
    folder = into / f"photos-{count}"
    folder.mkdir()
    for i, path in enumerate(files[:count]):
        target = folder / f"{i:05d}{path.suffix.lower()}"
        try:
            os.link(path, target)
        except OSError:
            shutil.copy(path, target)
    return folder


def timed_run(
    folder: Path, model: str, cluster: str | None, workers: int | None
) -> tuple[float, float, int]:
    """(embedding seconds, whole run seconds, photos indexed) of one fresh library."""
    marks: dict[str, float] = {}

    def mark(step: Progress) -> None:
        now = time.perf_counter()
        if step.message == "preparing the model":
            marks.setdefault("prepare", now)
        elif step.message == "indexing":
            marks["last"] = now

    with tempfile.TemporaryDirectory() as tmp, Library.open(Path(tmp), model=model) as library:
        library.store.settings.set(AUTO_TAG_KEY, False)
        started = time.perf_counter()
        job = library.folders.index([folder], cluster=cluster, cluster_workers=workers)
        report = run_to_end(job, mark)
        whole = time.perf_counter() - started
    return marks["last"] - marks["prepare"], whole, report.indexed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--set", default="tuxpaint-stamps")
    parser.add_argument("--sizes", default="134,538")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--cluster", default="local")
    args = parser.parse_args()

    root = dataset(args.set)
    files = sorted(e.path for e in scan_folder(root) if isinstance(e, ScannedFile))
    sizes = [min(int(s), len(files)) for s in args.sizes.split(",")]
    configs: list[tuple[str, int | None]] = [("one process", None)]
    counts = [int(n) for n in args.workers.split(",")]
    configs += [(f"cluster, {n} worker{'s' * (n > 1)}", n) for n in counts]
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f} at the start")
    print(f"set: {args.set} ({len(files)} files), model {args.model}, cluster {args.cluster}")

    results: dict[str, dict[int, float]] = {}
    print("\n| configuration | photos | embedding s | photos/s | whole run s |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        folders = {n: subset(files, n, Path(tmp)) for n in sizes}
        timed_run(folders[min(sizes)], args.model, None, None)  # warm: caches, imports, disk
        for name, workers in configs:
            cluster = None if workers is None else args.cluster
            for n in sizes:
                embed_s, whole_s, indexed = timed_run(folders[n], args.model, cluster, workers)
                results.setdefault(name, {})[n] = embed_s
                print(
                    f"| {name} | {indexed} | {embed_s:.1f} | {indexed / embed_s:.1f} "
                    f"| {whole_s:.1f} |",
                    flush=True,
                )

    if len(sizes) < 2:
        return
    small, large = min(sizes), max(sizes)
    print("\n| configuration | fixed cost s | ms per photo | steady photos/s | overhead ms/photo |")
    print("|---|---|---|---|---|")
    base = None
    for name, times in results.items():
        slope = (times[large] - times[small]) / (large - small)
        fixed = times[small] - slope * small
        base = slope if base is None else base
        print(
            f"| {name} | {fixed:.1f} | {slope * 1e3:.0f} | {1 / slope:.1f} "
            f"| {(slope - base) * 1e3:+.0f} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
