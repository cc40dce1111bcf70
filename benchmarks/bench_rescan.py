"""Rescan of an unchanged library: how long `photosense index` takes when nothing changed.

    .venv/bin/python benchmarks/bench_rescan.py [--files 100000]
    PHOTOSENSE_BENCH_CACHE=/tmp/photosense-million .venv/bin/python benchmarks/bench_rescan.py \
        --files 1000000 --bulk [--profile 30]

Generates N tiny distinct PNG files (once, cached under ~/.cache/photosense-bench), indexes them
with the deterministic fake encoder (the model is not what a rescan measures), then times a
rescan: the folder walk plus the comparison with the store. Also prints the walk alone.

``--bulk`` is for a million files: each folder of 1,000 holds one tiny PNG and 999 hard links
to it (no disk blocks; a scan sees 1,000 files), and the library is written straight into the
store as an indexing run leaves it (``_library.fill_library``: photos with size, mtime and
hash, fake-encoder vectors, caption fingerprints, a saved search index) instead of indexing
every file. ``--profile N`` prints the N functions of the rescan with the most cumulative time
(cProfile; the timed rescan runs without it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time
from pathlib import Path

from _common import CACHE, machine, peak_rss_mib
from _library import fill_library, photo_fields
from PIL import Image

from photosense.library import Library
from photosense.media.hashing import content_hash
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


def tiny_png(i: int) -> bytes:
    buffer = io.BytesIO()
    colour = (i % 256, (i // 256) % 256, (i // 65536) % 256)
    Image.new("RGB", (4, 4), colour).save(buffer, "PNG")
    return buffer.getvalue()


FOLDER_FILES = 1000


def make_linked_library(photos: Path, library_dir: Path, count: int) -> None:
    """``count`` files, one real PNG per folder of 1,000 and hard links to it, and a library
    that indexed them, written in bulk (see the module docstring)."""
    marker = photos / f".complete-{count}"
    if not marker.exists():
        started = time.perf_counter()
        for start in range(0, count, FOLDER_FILES):
            folder = photos / f"{start // FOLDER_FILES:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            source = folder / f"img{start:07d}.png"
            if not source.exists():
                source.write_bytes(tiny_png(start // FOLDER_FILES))
            for i in range(start + 1, min(count, start + FOLDER_FILES)):
                link = folder / f"img{i:07d}.png"
                if not link.exists():
                    os.link(source, link)
        marker.touch()
        print(f"  {count:,} files made in {time.perf_counter() - started:.0f} s", flush=True)
    if (library_dir / f".complete-{count}").exists():
        return
    paths, sizes, mtimes, hashes = [], [], [], []
    for start in range(0, count, FOLDER_FILES):
        folder = photos / f"{start // FOLDER_FILES:04d}"
        source = folder / f"img{start:07d}.png"
        stat, digest = source.stat(), content_hash(source)
        for i in range(start, min(count, start + FOLDER_FILES)):
            paths.append(str(folder / f"img{i:07d}.png"))
            sizes.append(stat.st_size)
            mtimes.append(stat.st_mtime_ns)
            hashes.append(digest)
    fill_library(library_dir, photos, photo_fields(paths, sizes, mtimes, hashes), count)
    (library_dir / f".complete-{count}").touch()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--bulk", action="store_true", help="linked files, library in bulk")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()

    root = CACHE / f"rescan-{args.files}"
    photos, library_dir = root / "photos", root / "library"
    print(f"machine: {machine()}")
    started = time.perf_counter()
    if args.bulk:
        make_linked_library(photos, library_dir, args.files)
    else:
        make_files(photos, args.files)
    print(f"files ready in {time.perf_counter() - started:.1f} s", flush=True)

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

    print(f"load average before the rescan: {os.getloadavg()[0]:.1f}", flush=True)
    started = time.perf_counter()
    report = run_to_end(library.folders.index())
    rescan_s = time.perf_counter() - started
    assert report.indexed == 0 and report.unchanged == args.files, report
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        run_to_end(library.folders.index())
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
    library.close()

    print()
    print("| step | files | seconds | files/s |")
    print("|---|---|---|---|")
    print(f"| folder walk only | {walked} | {walk_s:.2f} | {walked / walk_s:.0f} |")
    print(
        f"| rescan, nothing changed | {report.unchanged} | {rescan_s:.2f} "
        f"| {report.unchanged / rescan_s:.0f} |"
    )
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
