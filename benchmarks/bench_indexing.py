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

from photosense.indexing import run_to_end
from photosense.library import Library
from photosense.media.decode import decode_photo, full_decode
from photosense.media.scan import ScannedFile, scan_folder
from photosense.models.registry import load_encoder
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

    # The pipeline, end to end, into a fresh library.
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp))
        library = Library(store, Path(tmp), lambda _spec: encoder)
        started = time.perf_counter()
        report = run_to_end(library.index([root / "images"], batch_size=args.batch_size))
        pipeline_s = time.perf_counter() - started
        library.close()
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
    print(f"\nratio end-to-end / (serial decode + model) = {pipeline_s / (decode_s + model_s):.2f}")

    # Draft decode speed-up on the big JPEGs.
    rows = list(csv.DictReader((root / "manifest.csv").open(encoding="utf-8")))
    big = [
        root / r["path"]
        for r in rows
        if r["format"] == "JPEG" and r["width"] and int(r["width"]) * int(r["height"]) >= 12e6
    ]
    full, draft = [], []
    for path in big:
        for _ in range(3):
            started = time.perf_counter()
            full_decode(path)
            full.append(time.perf_counter() - started)
            started = time.perf_counter()
            decode_photo(path, 224)
            draft.append(time.perf_counter() - started)
    if big:
        f_ms, d_ms = statistics.median(full) * 1e3, statistics.median(draft) * 1e3
        print(
            f"\nJPEGs of 12 MP or more: {len(big)}; full decode median {f_ms:.0f} ms, "
            f"reduced decode median {d_ms:.0f} ms, speed-up {f_ms / d_ms:.1f}x"
        )


if __name__ == "__main__":
    main()
