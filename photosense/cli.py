"""The ``photosense`` command line: a thin front end over :class:`photosense.library.Library`.

This module is the only place in the core that prints; errors from the core become one clear
line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from photosense import __version__
from photosense.errors import PhotosenseError
from photosense.indexing import IndexReport
from photosense.library import Library, LibraryStatus, SearchResults
from photosense.models.registry import STARTER_ID
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosense",
        description="Organise and search your photos by what is in them, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"photosense {__version__}")
    parser.add_argument(
        "--library",
        type=Path,
        metavar="DIR",
        help="library folder (default: $PHOTOSENSE_HOME or the user data folder)",
    )
    parser.add_argument(
        "--model",
        default="auto",
        help="model to use: auto (the library's active model, else the offline starter), "
        "starter, or an open_clip architecture / ARCH/PRETRAINED",
    )
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda", "mps"], help="compute device"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show log messages")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="PNG",
        help="render the window over --library to this PNG file and exit (works headless)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    index = commands.add_parser(
        "index", help="index photo folders (rescans known ones if none given)"
    )
    index.add_argument("paths", nargs="*", metavar="PATH")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.add_argument("--workers", type=_positive, help="decoding threads")
    index.add_argument("--batch-size", type=_positive, default=32, help="images per model batch")

    search = commands.add_parser("search", help="find photos by a description")
    search.add_argument("text")
    search.add_argument("--limit", type=_positive, default=20)
    search.add_argument("--min-score", type=float, help="drop results scoring below this")
    search.add_argument("--folder", type=Path, help="only photos inside this folder")
    search.add_argument("--after", type=_date, help="only photos taken on or after this date")
    search.add_argument("--before", type=_date, help="only photos taken before this date")
    search.add_argument("--sort", choices=["score", "date"], default="score")
    search.add_argument("--json", action="store_true")

    similar = commands.add_parser("similar", help="find photos that look like a photo")
    similar.add_argument("photo", type=Path)
    similar.add_argument("--limit", type=_positive, default=20)
    similar.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="what is in the library")
    status.add_argument("--json", action="store_true")

    evaluate = commands.add_parser("eval", help="score the model on evaluation data sets")
    evaluate.add_argument("datasets", nargs="+", type=Path, metavar="DATASET")
    evaluate.add_argument(
        "--split",
        choices=["test", "train", "all"],
        help="default: test if the set has split.csv, else all",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--batch-size", type=_positive, default=32, help="images per batch")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return _desktop(args)
    if args.screenshot is not None:
        parser.error("--screenshot renders the window: give it without a command")
    try:
        handler = COMMANDS[args.command]
        if args.command in NO_LIBRARY:
            return handler(None, args)
        with Library.open(args.library, model=args.model, device=args.device) as library:
            return handler(library, args)
    except PhotosenseError as exc:
        print(f"photosense: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("photosense: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# -- the desktop app --------------------------------------------------------------------------


def _desktop(args: argparse.Namespace) -> int:
    """No command: open the window, or render it to a PNG with ``--screenshot``.

    The GUI is imported here, by name, so the command line and the core never load Qt.
    """
    try:
        gui = importlib.import_module("photosense.gui.app")
    except ImportError as exc:
        print(
            f"photosense: the desktop app cannot start ({exc}); the commands work without it, "
            "see `photosense --help`",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        if args.screenshot is not None:
            gui.render_screenshot(args.library, args.model, args.device, args.screenshot)
            return 0
        return int(gui.run_app(args.library, args.model, args.device))
    except PhotosenseError as exc:
        print(f"photosense: {exc}", file=sys.stderr)
        return EXIT_ERROR


# -- index ------------------------------------------------------------------------------------


def _index(library: Library, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()
        print(
            "\nphotosense: stopping after the current batch (Ctrl-C again to stop at once)",
            file=sys.stderr,
        )

    signal.signal(signal.SIGINT, on_interrupt)
    bar = tqdm(unit="photo", disable=args.json or None, dynamic_ncols=True, leave=False)
    try:
        job = library.index(args.paths, cancel, workers=args.workers, batch_size=args.batch_size)
        while True:
            try:
                progress: Progress = next(job)
            except StopIteration as stop:
                report: IndexReport = stop.value
                break
            if progress.total is not None:
                bar.total = progress.total
                bar.n = progress.done
            bar.set_description(progress.message[:40])
            bar.refresh()
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report, library)
    return EXIT_INTERRUPTED if report.cancelled else 0


def _report_json(report: IndexReport) -> dict[str, Any]:
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


def _print_report(report: IndexReport, library: Library) -> None:
    rate = report.indexed / report.seconds if report.seconds > 0 else 0.0
    print(
        f"{report.indexed} indexed, {report.unchanged} unchanged, {report.moved} moved, "
        f"{report.removed} removed, {len(report.skipped)} skipped "
        f"in {report.seconds:.1f} s ({rate:.1f} photos/s) with {library.encoder.model_id}"
    )
    for folder in report.offline:
        print(f"offline: {folder} is not available; its photos are kept")
    for skipped in report.skipped[:50]:
        print(f"skipped: {skipped.path}: {skipped.reason}")
    if len(report.skipped) > 50:
        print(f"… and {len(report.skipped) - 50} more skipped (see `photosense status --json`)")
    if report.cancelled:
        print("stopped early; run the same command again to finish")
    _starter_hint(library.encoder.model_id)


def _starter_hint(model_id: str) -> None:
    if model_id == STARTER_ID:
        print(
            "note: answered by the offline starter model; a full CLIP model searches much "
            "better (see README: Models)",
            file=sys.stderr,
        )


# -- search -----------------------------------------------------------------------------------


def _search(library: Library, args: argparse.Namespace) -> int:
    results = library.search(
        args.text,
        limit=args.limit,
        min_score=args.min_score,
        folder=args.folder,
        after=args.after,
        before=args.before,
        sort=args.sort,
    )
    return _print_results(results, args.json)


def _similar(library: Library, args: argparse.Namespace) -> int:
    return _print_results(library.similar(args.photo, limit=args.limit), args.json)


def _print_results(results: SearchResults, as_json: bool) -> int:
    if as_json:
        document = {
            "query": results.query,
            "model": results.model_id,
            "results": [
                {
                    "path": hit.photo.path,
                    "score": round(hit.score, 6),
                    "taken_at": hit.photo.taken_at.isoformat(),
                }
                for hit in results.hits
            ],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if not results.hits:
        print("no matching photos")
    for hit in results.hits:
        print(f"{hit.score:6.3f}  {hit.photo.taken_at:%Y-%m-%d}  {hit.photo.path}")
    _starter_hint(results.model_id)
    return 0


# -- status -----------------------------------------------------------------------------------


def _status(library: Library, args: argparse.Namespace) -> int:
    status = library.status()
    if args.json:
        print(json.dumps(_status_json(status, library), indent=2, ensure_ascii=False))
        return 0
    print(f"library: {status.path}")
    print(f"photos: {status.photos}   skipped: {status.skipped}")
    print(f"active model: {status.active_model}")
    for folder in status.folders:
        state = "online" if folder.online else "OFFLINE (kept)"
        print(f"folder: {folder.path}  {folder.photos} photos  {state}")
    for model in status.models:
        mark = "*" if model.active else " "
        print(
            f"model {mark} {model.id}  {model.dim}-d  {model.vectors} vectors  index {model.index}"
        )
    return 0


def _status_json(status: LibraryStatus, library: Library) -> dict[str, Any]:
    return {
        "library": status.path,
        "photos": status.photos,
        "skipped": status.skipped,
        "active_model": status.active_model,
        "folders": [
            {
                "path": f.path,
                "online": f.online,
                "photos": f.photos,
                "last_scan_at": f.last_scan_at.isoformat() if f.last_scan_at else None,
            }
            for f in status.folders
        ],
        "models": [
            {"id": m.id, "dim": m.dim, "vectors": m.vectors, "index": m.index, "active": m.active}
            for m in status.models
        ],
        "skipped_files": [
            {"path": s.path, "kind": s.kind, "reason": s.reason} for s in library.skipped()
        ],
    }


# -- eval -------------------------------------------------------------------------------------

_EVAL_COLUMNS = ("t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10", "zs_top1", "zs_top5")


def _eval(_library: None, args: argparse.Namespace) -> int:
    """Score a model on data set folders; needs no library ("auto" means the starter)."""
    from tqdm import tqdm

    from photosense import evaluation
    from photosense.indexing import run_to_end
    from photosense.models import registry

    encoder = registry.load_encoder(args.model, device=args.device)
    results = {}
    for folder in args.datasets:
        dataset = evaluation.load_dataset(folder, args.split)
        job = evaluation.evaluate(dataset, encoder, batch_size=args.batch_size)
        total, quiet = len(dataset.images), args.json or None
        with tqdm(desc=dataset.name, total=total, unit="image", disable=quiet, leave=False) as bar:
            result = run_to_end(job, lambda p: bar.update(p.done - bar.n))
        results[dataset.name if dataset.name not in results else str(folder)] = result.as_dict()
    if args.json:
        print(json.dumps({"model": encoder.model_id, "datasets": results}, indent=2))
        return 0
    print(f"{'dataset':<20} {'split':<5} {'n':>6} " + " ".join(f"{c:>7}" for c in _EVAL_COLUMNS))
    for name, row in results.items():
        cells = " ".join(f"{row[c]:7.3f}" if c in row else f"{'-':>7}" for c in _EVAL_COLUMNS)
        print(f"{name:<20} {row['split']:<5} {row['n']:>6} {cells}  skipped {row['skipped']}")
    _starter_hint(encoder.model_id)
    return 0


NO_LIBRARY = {"eval"}
"""Commands that run without opening a library."""

COMMANDS: dict[str, Callable[..., int]] = {
    "index": _index,
    "search": _search,
    "similar": _similar,
    "status": _status,
    "eval": _eval,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
