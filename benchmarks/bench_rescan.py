"""Rescan of an unchanged library: how long `photosense index` takes when nothing changed.

    .venv/bin/python benchmarks/bench_rescan.py [--files 100000]

Generates N tiny distinct PNG files (once, cached under ~/.cache/photosense-bench), indexes them
with the deterministic fake encoder (the model is not what a rescan measures), then times a
rescan: the folder walk plus the comparison with the store. Also prints the walk alone.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

from _common import CACHE, machine, peak_rss_mib
from PIL import Image

from photosense.library import Library
from photosense.media.scan import scan_folder
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store


def make_files(root: Path, count: int) -> None:
    marker = root / f".complete-{count}"
    if marker.exists():
        return
    for i in range(count):
        folder = root / f"{i // 1000:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"img{i:06d}.png"
        if path.exists():
            continue
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (i % 256, (i // 256) % 256, (i // 65536) % 256)).save(
            buffer, "PNG"
        )
        path.write_bytes(buffer.getvalue())
    marker.touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()

    root = CACHE / f"rescan-{args.files}"
    photos, library_dir = root / "photos", root / "library"
    print(f"machine: {machine()}")
    started = time.perf_counter()
    make_files(photos, args.files)
    print(f"files ready in {time.perf_counter() - started:.1f} s")

    store = Store.open(library_dir)
    library = Library(store, library_dir, lambda _spec: FakeEncoder())
    if store.photos.counts()[0] < args.files:
        started = time.perf_counter()
        report = run_to_end(library.folders.index([photos], batch_size=256))
        elapsed = time.perf_counter() - started
        print(
            f"first index: {report.indexed} photos in {elapsed:.1f} s "
            f"({report.indexed / elapsed:.0f} photos/s, fake encoder)"
        )

    started = time.perf_counter()
    walked = sum(1 for _ in scan_folder(photos))
    walk_s = time.perf_counter() - started

    started = time.perf_counter()
    report = run_to_end(library.folders.index())
    rescan_s = time.perf_counter() - started
    library.close()
    assert report.indexed == 0 and report.unchanged == args.files, report

    print()
    print("| step | files | seconds | files/s |")
    print("|---|---|---|---|")
    print(f"| folder walk only | {walked} | {walk_s:.2f} | {walked / walk_s:.0f} |")
    print(
        f"| rescan, nothing changed | {report.unchanged} | {rescan_s:.2f} "
        f"| {report.unchanged / rescan_s:.0f} |"
    )
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
