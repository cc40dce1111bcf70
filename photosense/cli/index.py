"""``photosense index``: add photo folders, or rescan the known ones."""

from __future__ import annotations

import argparse
from typing import Any

from photosense.cli import render
from photosense.cli.common import EXIT_INTERRUPTED, Commands, cancel_on_ctrl_c, on_library, positive
from photosense.library import IndexReport, Library


def register(commands: Commands) -> None:
    index = commands.add_parser(
        "index", help="index photo folders (rescans known ones if none given)"
    )
    index.add_argument("paths", nargs="*", metavar="PATH")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.add_argument("--workers", type=positive, help="decoding threads")
    index.add_argument(
        "--batch-size",
        type=positive,
        help="images per model batch (default: suits the device; with --cluster: per worker batch)",
    )
    index.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="embed on a Ray cluster: HOST:PORT, ray://HOST:PORT, auto (this node's), or local "
        "(one started on this machine); needs photosense[cluster]",
    )
    index.add_argument(
        "--cluster-workers",
        type=positive,
        metavar="N",
        help="model workers on the cluster (default: one per GPU, else one per 4 cores)",
    )
    on_library(index, _index)


def _index(library: Library, args: argparse.Namespace) -> int:
    with cancel_on_ctrl_c() as cancel:
        job = library.folders.index(
            args.paths,
            cancel,
            workers=args.workers,
            batch_size=args.batch_size,
            cluster=args.cluster,
            cluster_workers=args.cluster_workers,
        )
        report: IndexReport = render.drive(job, args.json, "photo")
    if args.json:
        render.print_json(report_document(report))
    else:
        print_report(report, library)
    return EXIT_INTERRUPTED if report.cancelled else 0


def report_document(report: IndexReport) -> dict[str, Any]:
    """An index run's report as JSON (``index --json``, and inside ``models use --json``)."""
    return {
        "indexed": report.indexed,
        "unchanged": report.unchanged,
        "removed": report.removed,
        "moved": report.moved,
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
        "offline": report.offline,
        "seconds": round(report.seconds, 3),
        "cancelled": report.cancelled,
    }


def print_report(report: IndexReport, library: Library) -> None:
    """An index run's report as text; a run stopped early also says how many photos wait
    for their vectors (browsable, not yet found by a search)."""
    rate = report.indexed / report.seconds if report.seconds > 0 else 0.0
    print(
        f"{report.indexed} indexed, {report.unchanged} unchanged, {report.moved} moved, "
        f"{report.removed} removed, {len(report.skipped)} skipped "
        f"in {report.seconds:.1f} s ({rate:.1f} photos/s) with {library.models.current().model_id}"
    )
    for folder in report.offline:
        print(f"offline: {folder} is not available; its photos are kept")
    for skipped in report.skipped[:50]:
        print(f"skipped: {skipped.path}: {skipped.reason}")
    if len(report.skipped) > 50:
        print(f"… and {len(report.skipped) - 50} more skipped (see `photosense status --json`)")
    if report.cancelled:
        state = library.models.progress()
        waiting = state.total - state.done
        if waiting > 0:  # added and browsable, not yet embedded: not found by a search
            print(f"{waiting} photos are in the library but not yet searchable")
        print("stopped early; run the same command again to finish")
