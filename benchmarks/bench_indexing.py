"""Indexing speed on real camera files: decode, model, and the overlapped pipeline.

    .venv/bin/python benchmarks/bench_indexing.py [--model auto] [--repeat 1]

Prints, from one run on the `camera-photos` set: serial decode images/s, model-only images/s,
end-to-end pipeline images/s, the ratio end-to-end time / (serial decode + model time) (below
1.0 means decoding overlaps inference), and the reduced (draft) JPEG decode speed-up over a full
decode on the 12 MP+ JPEGs.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

from _common import dataset, machine

from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.decode import decode_photo, full_decode
from photosense.media.scan import ScannedFile, scan_folder
from photosense.models.registry import load_encoder
from photosense.progress import run_to_end
from photosense.store.repository import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    root = dataset("camera-photos")
    files = [e.path for e in scan_folder(root / "images") if isinstance(e, ScannedFile)]
    encoder = load_encoder(args.model)
    print(f"machine: {machine()}")
    print(f"model: {encoder.model_id}; {len(files)} files from {root}")

    # Serial decode (reduced size, as the pipeline does) and preprocessing.
    started = time.perf_counter()
    prepared = []
    for path in files:
        prepared.append(encoder.prepare_image(decode_photo(path, encoder.image_size).image))
    decode_s = time.perf_counter() - started

    # Model only, on already prepared inputs.
    started = time.perf_counter()
    for start in range(0, len(prepared), args.batch_size):
        encoder.encode_prepared(prepared[start : start + args.batch_size])
    model_s = time.perf_counter() - started

    # The pipeline, end to end, into a fresh library: first without auto-tagging (what the
    # targets are about), then with it (the first run also embeds the tag vocabulary).
    timings = {}
    for auto_tag in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(Path(tmp))
            store.settings.set(AUTO_TAG_KEY, auto_tag)
            library = Library(store, Path(tmp), lambda _spec: encoder)
            started = time.perf_counter()
            report = run_to_end(
                library.folders.index([root / "images"], batch_size=args.batch_size)
            )
            timings[auto_tag] = time.perf_counter() - started
            library.close()
    pipeline_s = timings[False]
    n = report.indexed

    print()
    print("| stage | seconds | images/s |")
    print("|---|---|---|")
    print(f"| decode + preprocess, serial | {decode_s:.2f} | {len(files) / decode_s:.1f} |")
    print(f"| model only (batch {args.batch_size}) | {model_s:.2f} | {len(files) / model_s:.1f} |")
    print(
        f"| pipeline end to end ({n} indexed, {len(report.skipped)} skipped) "
        f"| {pipeline_s:.2f} | {n / pipeline_s:.1f} |"
    )
    print(
        f"| pipeline with auto-tagging (first run embeds the vocabulary) | {timings[True]:.2f} "
        f"| {n / timings[True]:.1f} |"
    )
    print(f"\nratio end-to-end / (serial decode + model) = {pipeline_s / (decode_s + model_s):.2f}")

    # Reduced (draft) decode against a full decode: the camera's own 12 MP+ JPEGs, and 12 MP
    # baseline and progressive JPEGs re-encoded from the largest of them (cameras write
    # baseline; progressive files gain less because every scan must still be decoded).
    rows = list(csv.DictReader((root / "manifest.csv").open(encoding="utf-8")))
    big = [
        root / r["path"]
        for r in rows
        if r["format"] == "JPEG" and r["width"] and int(r["width"]) * int(r["height"]) >= 12e6
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cases = {f"camera file {p.name}": p for p in big}
        if big:
            source = full_decode(big[0]).resize((4000, 3000))
            for progressive in (False, True):
                kind = "progressive" if progressive else "baseline"
                path = Path(tmp) / f"{kind}.jpg"
                source.save(path, "JPEG", quality=92, progressive=progressive)
                cases[f"12 MP {kind} (re-encoded)"] = path
        print("\n| JPEG | full decode ms | reduced decode ms | speed-up |")
        print("|---|---|---|---|")
        for name, path in cases.items():
            full, draft = [], []
            for _ in range(5):
                started = time.perf_counter()
                full_decode(path)
                full.append(time.perf_counter() - started)
                started = time.perf_counter()
                decode_photo(path, 224)
                draft.append(time.perf_counter() - started)
            f_ms, d_ms = statistics.median(full) * 1e3, statistics.median(draft) * 1e3
            print(f"| {name} | {f_ms:.0f} | {d_ms:.0f} | {f_ms / d_ms:.1f}x |")


if __name__ == "__main__":
    main()
