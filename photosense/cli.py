"""The ``photosense`` command line: a thin front end over :class:`photosense.library.Library`.

This module is the only place in the core that prints; errors from the core become one clear
line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from photosense import __version__
from photosense.enums import FineTuneVerdict, TagState
from photosense.errors import (
    AlbumNotFoundError,
    ModelExistsError,
    ModelInUseError,
    ModelNotDownloadedError,
    NotDownloadableError,
    NotEnoughDataError,
    NothingIndexedError,
    NoVectorError,
    PhotoNotFoundError,
    PhotosenseError,
    StoredModelMissingError,
    TagNotFoundError,
    UnknownModelError,
)
from photosense.library import (
    GENERAL_DROP_LIMIT,
    ExportReport,
    FineTuneSettings,
    IndexReport,
    Library,
    LibraryModel,
    LibraryStatus,
    ModelFallback,
    SearchResults,
    TagReport,
)
from photosense.library.evaluation import evaluate_folders
from photosense.library.models import catalogue, configure_cpu_threads, import_file, is_starter
from photosense.library.models import pull as pull_model
from photosense.progress import CancelToken, Progress, run_to_end

log = logging.getLogger(__name__)

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

T = TypeVar("T")


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


def _add_common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name.

    On the commands they default to "not given", so ``photosense eval DIR --model X`` and
    ``photosense --model X eval DIR`` mean the same and a command never resets them.
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--library",
        type=Path,
        metavar="DIR",
        default=default(None),
        help="library folder (default: $PHOTOSENSE_HOME or the user data folder)",
    )
    parser.add_argument(
        "--model",
        default=default("auto"),
        help="model to use: auto (the library's active model, else the offline starter), "
        "starter, a catalogue id (`photosense models list`), imported/NAME, or ARCH/PRETRAINED",
    )
    parser.add_argument(
        "--device",
        default=default("auto"),
        choices=["auto", "cpu", "cuda", "mps"],
        help="compute device",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="show log messages"
    )


def _share_common_options(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Give every command and sub-command the common options."""
    for command in set(commands.choices.values()):
        _add_common_options(command, defaults=False)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _share_common_options(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photosense",
        description="Organise and search your photos by what is in them, on your own machine.",
    )
    parser.add_argument("--version", action="version", version=f"photosense {__version__}")
    _add_common_options(parser, defaults=True)
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
    index.add_argument(
        "--batch-size", type=_positive, help="images per model batch (default: suits the device)"
    )

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
    evaluate.add_argument(
        "--batch-size", type=_positive, help="images per batch (default: suits the device)"
    )
    search.add_argument("--tag", metavar="TAG", help="only photos that carry this tag")
    search.add_argument("--album", metavar="NAME", help="only photos of this album")
    _add_tag_commands(commands)
    _add_album_and_caption_commands(commands)
    _add_model_commands(commands)
    _add_finetune_command(commands)
    _share_common_options(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        configure_cpu_threads()
        return _desktop(args)
    if args.screenshot is not None:
        parser.error("--screenshot renders the window: give it without a command")
    configure_cpu_threads()
    try:
        handler = COMMANDS[args.command]
        if args.command in NO_LIBRARY:
            return handler(None, args)
        with Library.open(args.library, model=args.model, device=args.device) as library:
            return handler(library, args)
    except PhotosenseError as exc:
        print(f"photosense: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("photosense: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# -- errors in the command line's words ---------------------------------------------------


def describe(exc: Exception) -> str:
    """One line (or a short paragraph) for ``photosense: …`` on standard error."""
    text = str(exc)
    if isinstance(exc, PhotoNotFoundError):
        if exc.exists is False:
            return text
        return f"{text}: index its folder first"
    if isinstance(exc, NothingIndexedError):
        return f"{text}: run `photosense index FOLDER`"
    if isinstance(exc, NoVectorError):
        return f"{text}: run `photosense index` to finish indexing"
    if isinstance(exc, AlbumNotFoundError):
        return (
            f"{text}: see `photosense albums list`, or make it with "
            f"`photosense albums create {exc.name!r}`"
        )
    if isinstance(exc, TagNotFoundError):
        return (
            f"{text}: see `photosense tags list`, or add it with `photosense tags add {exc.name!r}`"
        )
    if isinstance(exc, UnknownModelError | StoredModelMissingError):
        return f"{text} (`photosense models list` shows the models there are)"
    if isinstance(exc, NotDownloadableError):
        return f"{text} (see `photosense models list`)"
    if isinstance(exc, ModelExistsError):
        return f"{text} (or remove it first: `photosense models remove {exc.model_id}`)"
    if isinstance(exc, ModelInUseError):
        return f"{text} (`photosense models use ID`)"
    if isinstance(exc, ModelNotDownloadedError):
        return f"{text}. {_how_to_get(exc)}"
    if isinstance(exc, NotEnoughDataError) and not exc.unreadable:
        return (
            f"{text}. Caption more photos (`photosense captions set`, `captions import`) or add "
            "photos to the albums you train on."
        )
    return text


def _how_to_get(exc: ModelNotDownloadedError) -> str:
    if exc.repo is None:
        return "Connect to the internet once so they can be fetched, or import a checkpoint file."
    hint = (
        f"Connect to the internet once and run `photosense models pull {exc.name}`, or download "
        f"{' or '.join(exc.filenames)} from https://huggingface.co/{exc.repo} on another "
        f"machine, copy it here and run `photosense models import FILE --arch {exc.arch}`."
    )
    if exc.support:
        hint += (
            f" This model also reads tokenizer and config files from {', '.join(exc.support)}: "
            "for it, copy those repositories' folders of the Hugging Face cache "
            "(models--ORG--NAME) as well."
        )
    return hint


def describe_fallback(fallback: ModelFallback) -> str:
    """Why the starter answers, and what brings the library's own model back."""
    if fallback.older_starter:
        return (
            "the library was indexed with an older version of the starter model; "
            "`photosense index` embeds it with the current one"
        )
    return (
        f"the library's model {fallback.model_id} is not available, so the offline starter "
        f"model answers until it is back: {fallback.reason}"
    )


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
        print(f"photosense: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR


# -- index ------------------------------------------------------------------------------------


def _index(library: Library, args: argparse.Namespace) -> int:
    with _cancel_on_ctrl_c() as cancel:
        job = library.folders.index(
            args.paths, cancel, workers=args.workers, batch_size=args.batch_size
        )
        report: IndexReport = _drive(job, args.json, "photo")
    if args.json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report, library)
    return EXIT_INTERRUPTED if report.cancelled else 0


@contextmanager
def _cancel_on_ctrl_c() -> Iterator[CancelToken]:
    """A cancel token that the first Ctrl-C sets (work stops after the batch in flight); a
    second Ctrl-C interrupts at once. Committed work is kept either way."""
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
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _bar_per_message(
    unit: str, *, scale: bool = False, quiet: bool = False, leave: bool = True
) -> Iterator[Callable[[Progress], None]]:
    """A progress callback that shows one tqdm bar per message (a file, a data set), each
    closed when the next one starts; ``quiet`` shows none."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(progress: Progress) -> None:
        if quiet or progress.total is None:
            return
        bar = bars.get(progress.message)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[progress.message] = tqdm(
                desc=progress.message,
                total=progress.total,
                unit=unit,
                unit_scale=scale,
                leave=leave,
            )
        bar.update(progress.done - bar.n)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


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
        f"in {report.seconds:.1f} s ({rate:.1f} photos/s) with {library.models.current().model_id}"
    )
    for folder in report.offline:
        print(f"offline: {folder} is not available; its photos are kept")
    for skipped in report.skipped[:50]:
        print(f"skipped: {skipped.path}: {skipped.reason}")
    if len(report.skipped) > 50:
        print(f"… and {len(report.skipped) - 50} more skipped (see `photosense status --json`)")
    if report.cancelled:
        print("stopped early; run the same command again to finish")
    _starter_hint(library.models.current().model_id)


def _starter_hint(model_id: str) -> None:
    if is_starter(model_id):
        better = catalogue().recommended
        print(
            "note: answered by the offline starter model; a full CLIP model searches much "
            f"better: `photosense models pull {better}` then `photosense models use {better}` "
            "(see `photosense models list`)",
            file=sys.stderr,
        )


# -- search -----------------------------------------------------------------------------------


def _search(library: Library, args: argparse.Namespace) -> int:
    results = library.search.text(
        args.text,
        limit=args.limit,
        min_score=args.min_score,
        folder=args.folder,
        after=args.after,
        before=args.before,
        sort=args.sort,
        tag=args.tag,
        album=args.album,
    )
    _fallback_warning(library)
    return _print_results(results, args.json)


def _similar(library: Library, args: argparse.Namespace) -> int:
    results = library.search.similar(args.photo, limit=args.limit)
    _fallback_warning(library)
    return _print_results(results, args.json)


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
    print(f"model: {results.model_id}", file=sys.stderr)
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
            {"path": s.path, "kind": s.kind, "reason": s.reason} for s in library.folders.skipped()
        ],
    }


# -- eval -------------------------------------------------------------------------------------

_EVAL_COLUMNS = ("t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10", "zs_top1", "zs_top5")


def _eval(_library: None, args: argparse.Namespace) -> int:
    """Score a model on data set folders; needs no library ("auto" means the starter)."""
    job = evaluate_folders(
        args.datasets,
        model=args.model,
        device=args.device,
        split=args.split,
        batch_size=args.batch_size,
    )
    with _bar_per_message("image", quiet=args.json, leave=False) as update:
        evaluation = run_to_end(job, update)
    model_id = evaluation.model_id
    results = {name: result.as_dict() for name, result in evaluation.results.items()}
    if args.json:
        print(json.dumps({"model": model_id, "datasets": results}, indent=2))
        return 0
    print(f"{'dataset':<20} {'split':<5} {'n':>6} " + " ".join(f"{c:>7}" for c in _EVAL_COLUMNS))
    for name, row in results.items():
        cells = " ".join(f"{row[c]:7.3f}" if c in row else f"{'-':>7}" for c in _EVAL_COLUMNS)
        print(f"{name:<20} {row['split']:<5} {row['n']:>6} {cells}  skipped {row['skipped']}")
    _starter_hint(model_id)
    return 0


# -- tags -------------------------------------------------------------------------------------


def _add_tag_commands(commands: Any) -> None:
    """The ``tag`` and ``tags`` subcommands."""
    tag = commands.add_parser(
        "tag", help="suggest tags for photos and import their files' keywords"
    )
    tag.add_argument(
        "--retag", action="store_true", help="redo every photo (accepted/rejected tags are kept)"
    )
    tag.add_argument("--json", action="store_true", help="print the report as JSON")

    tags = commands.add_parser("tags", help="the tag vocabulary and the tags on photos")
    actions = tags.add_subparsers(dest="tags_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every tag with its threshold and photo counts")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="the tags on one photo")
    show.add_argument("photo", type=Path)
    show.add_argument("--json", action="store_true")
    for name, text in (
        ("accept", "confirm (or add) a tag on a photo"),
        ("reject", "a tag is wrong"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("photo", type=Path)
        action.add_argument("tag")
    add = actions.add_parser("add", help="add a tag, or give a tag its own prompts")
    add.add_argument("name")
    add.add_argument(
        "--prompt",
        action="append",
        default=[],
        metavar="TEXT",
        help='a description to look for, e.g. "a photo of Rex, a golden retriever" (repeatable)',
    )
    rename = actions.add_parser("rename", help="rename a tag")
    rename.add_argument("old")
    rename.add_argument("new")
    remove = actions.add_parser("remove", help="delete a tag and its photo tags")
    remove.add_argument("name")
    export = actions.add_parser(
        "export-xmp", help="write tags into XMP sidecars (photo.jpg.xmp), never into photos"
    )
    export.add_argument(
        "--suggested", action="store_true", help="also write suggestions above their threshold"
    )
    export.add_argument("--json", action="store_true")


def _drive(job: Generator[Progress, None, T], quiet: bool, unit: str) -> T:
    """Run a core job under a tqdm bar (none with ``quiet``); returns its result."""
    from tqdm import tqdm

    with tqdm(unit=unit, disable=quiet or None, dynamic_ncols=True, leave=False) as bar:

        def update(progress: Progress) -> None:
            if progress.total is not None:
                bar.total = progress.total
                bar.n = progress.done
            bar.set_description(progress.message[:40])
            bar.refresh()

        return run_to_end(job, update)


def _tag(library: Library, args: argparse.Namespace) -> int:
    with _cancel_on_ctrl_c() as cancel:
        job = library.tags.suggest(retag=args.retag, cancel=cancel)
        report: TagReport = _drive(job, args.json, "photo")
    status = EXIT_INTERRUPTED if report.cancelled else 0
    if args.json:
        document = {
            "model": library.models.current().model_id,
            "photos": report.photos,
            "suggestions": report.suggestions,
            "keywords": report.keywords,
            "seconds": round(report.seconds, 3),
            "cancelled": report.cancelled,
        }
        print(json.dumps(document, indent=2))
        return status
    print(
        f"{report.photos} photos tagged, {report.suggestions} suggestions, "
        f"{report.keywords} keywords imported in {report.seconds:.1f} s "
        f"with {library.models.current().model_id}"
    )
    if report.cancelled:
        print("stopped early; run the same command again to finish")
    _starter_hint(library.models.current().model_id)
    return status


def _tags(library: Library, args: argparse.Namespace) -> int:
    action: str = args.tags_command
    if action == "list":
        return _tags_list(library, args.json)
    if action == "show":
        return _tags_show(library, args.photo, args.json)
    if action == "export-xmp":
        return _tags_export(library, args.suggested, args.json)
    if action == "accept":
        library.tags.accept(args.photo, args.tag)
        print(f"accepted {args.tag!r} on {args.photo}")
    elif action == "reject":
        library.tags.reject(args.photo, args.tag)
        print(f"rejected {args.tag!r} on {args.photo}; it will not be suggested there again")
    elif action == "add":
        record = library.tags.add(args.name, args.prompt)
        own = f" with {len(record.prompts)} prompts" if record.prompts else ""
        print(f"tag {record.name!r}{own}; run `photosense tag` to suggest it")
    elif action == "rename":
        record = library.tags.rename(args.old, args.new)
        print(f"renamed {args.old!r} to {record.name!r}")
    elif action == "remove":
        record = library.tags.remove(args.name)
        print(f"removed tag {record.name!r}")
    return 0


def _tags_list(library: Library, as_json: bool) -> int:
    tags = library.tags.list()
    if as_json:
        document = [
            {
                "name": t.name,
                "origin": t.origin,
                "enabled": t.enabled,
                "prompts": list(t.prompts) if t.prompts else None,
                "threshold": round(t.threshold, 4),
                "offset": round(t.offset, 4),
                "accepted": t.accepted,
                "suggested": t.suggested,
                "rejected": t.rejected,
            }
            for t in tags
        ]
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{'tag':<32} {'origin':<10} {'threshold':>9} {'accepted':>8} {'suggested':>9}")
    for t in tags:
        auto = f"{t.threshold:9.2f}" if t.enabled else f"{'off':>9}"
        print(f"{t.name:<32} {t.origin:<10} {auto} {t.accepted:>8} {t.suggested:>9}")
    return 0


def _tags_show(library: Library, photo: Path, as_json: bool) -> int:
    rows = library.tags.of_photo(photo)
    if as_json:
        document = [
            {
                "tag": r.tag,
                "source": r.source,
                "state": r.state,
                "score": None if r.score is None else round(r.score, 4),
                "model": r.model_id,
                "shown": r.shown,
            }
            for r in rows
        ]
        print(json.dumps({"photo": str(photo), "tags": document}, indent=2, ensure_ascii=False))
        return 0
    visible = [r for r in rows if r.shown or r.state == TagState.REJECTED]
    if not visible:
        print("no tags")
    for r in visible:
        score = f"{r.score:6.2f}" if r.score is not None else f"{'':6}"
        print(f"{r.state:<9} {score}  {r.tag}  ({r.source})")
    return 0


def _tags_export(library: Library, suggested: bool, as_json: bool) -> int:
    with _cancel_on_ctrl_c() as cancel:
        job = library.tags.export_xmp(include_suggested=suggested, cancel=cancel)
        report: ExportReport = _drive(job, as_json, "photo")
    if as_json:
        failed = [{"path": p, "reason": r} for p, r in report.failed]
        document = {"written": report.written, "failed": failed, "cancelled": report.cancelled}
        print(json.dumps(document, indent=2))
    else:
        print(f"{len(report.written)} sidecars written, {len(report.failed)} failed")
        for path, reason in report.failed:
            print(f"failed: {path}: {reason}")
        if report.cancelled:
            print("stopped early; run the same command again to finish")
    if report.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if report.failed else 0


# -- albums and captions ----------------------------------------------------------------------


def _add_album_and_caption_commands(commands: Any) -> None:
    """The ``albums`` and ``captions`` subcommands."""
    albums = commands.add_parser("albums", help="albums: named, ordered sets of photos")
    actions = albums.add_subparsers(dest="albums_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every album with its photo count")
    listing.add_argument("--json", action="store_true")
    create = actions.add_parser("create", help="make an empty album")
    create.add_argument("name")
    create.add_argument("--description", metavar="TEXT")
    rename = actions.add_parser("rename", help="rename an album")
    rename.add_argument("old")
    rename.add_argument("new")
    delete = actions.add_parser("delete", help="delete an album (its photos stay)")
    delete.add_argument("name")
    for name, text in (
        ("add", "add photos to an album (at its end)"),
        ("remove", "take photos out of an album (they stay in the library)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    show = actions.add_parser("show", help="an album's photos, in order, with their captions")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")

    captions = commands.add_parser("captions", help="photo captions (training data, too)")
    actions = captions.add_subparsers(dest="captions_command", metavar="ACTION", required=True)
    put = actions.add_parser("set", help="write a photo's caption (empty text removes it)")
    put.add_argument("photo", type=Path)
    put.add_argument("text")
    put.add_argument(
        "--sidecar",
        action="store_true",
        help="also write it into the photo's XMP sidecar (photo.jpg.xmp) for other programs",
    )
    show = actions.add_parser("show", help="a photo's caption and where it came from")
    show.add_argument("photo", type=Path)
    show.add_argument("--json", action="store_true")
    remove = actions.add_parser("remove", help="delete a photo's caption")
    remove.add_argument("photo", type=Path)
    imported = actions.add_parser(
        "import", help="import a path,caption CSV (paths absolute or relative to the CSV)"
    )
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.add_argument(
        "--overwrite", action="store_true", help="also replace captions you wrote by hand"
    )
    imported.add_argument("--json", action="store_true")
    read = actions.add_parser(
        "read", help="read captions already in the files (XMP, IPTC, EXIF, .txt sidecars)"
    )
    read.add_argument("--json", action="store_true")
    listing = actions.add_parser("list", help="every captioned photo")
    listing.add_argument("--album", metavar="NAME", help="only the photos of this album")
    listing.add_argument("--json", action="store_true")


def _albums(library: Library, args: argparse.Namespace) -> int:
    action: str = args.albums_command
    if action == "list":
        return _albums_list(library, args.json)
    if action == "show":
        return _albums_show(library, args.name, args.json)
    if action == "create":
        album = library.albums.create(args.name, args.description)
        print(f"album {album.name!r} created; add photos with `photosense albums add`")
    elif action == "rename":
        old = library.albums.get(args.old).name
        album = library.albums.rename(old, args.new)
        print(f"renamed album {old!r} to {album.name!r}")
    elif action == "delete":
        name = library.albums.get(args.name).name
        count = library.albums.delete(name)
        print(f"deleted album {name!r}; its {count} photos stay in the library")
    elif action == "add":
        added = library.albums.add(args.name, args.photos)
        already = len(set(args.photos)) - added
        note = f" ({already} already in it)" if already > 0 else ""
        print(f"added {added} photos to {args.name!r}{note}")
    elif action == "remove":
        removed = library.albums.remove(args.name, args.photos)
        print(f"took {removed} photos out of {args.name!r}")
    return 0


def _albums_list(library: Library, as_json: bool) -> int:
    albums = library.albums.list()
    if as_json:
        document = [
            {
                "name": a.name,
                "description": a.description,
                "photos": a.count,
                "created_at": a.created_at.isoformat(),
            }
            for a in albums
        ]
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if not albums:
        print("no albums yet: make one with `photosense albums create NAME`")
    for a in albums:
        about = f"  {a.description}" if a.description else ""
        print(f"{a.name:<32} {a.count:>6} photos{about}")
    return 0


def _albums_show(library: Library, name: str, as_json: bool) -> int:
    album = library.albums.get(name)
    ids = library.albums.photo_ids(album.name)
    records = library.photos.get(ids)
    captions = library.captions.list(album=album.name)
    photos = [(records[i].path, captions.get(i)) for i in ids if i in records]
    if as_json:
        document = {
            "name": album.name,
            "description": album.description,
            "created_at": album.created_at.isoformat(),
            "photos": [
                {
                    "path": path,
                    "caption": caption.text if caption else None,
                    "source": caption.source if caption else None,
                }
                for path, caption in photos
            ],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    about = f", {album.description}" if album.description else ""
    print(f"{album.name}: {album.count} photos{about}")
    for path, caption in photos:
        print(f"{path}  {caption.text}" if caption else path)
    return 0


def _captions(library: Library, args: argparse.Namespace) -> int:
    action: str = args.captions_command
    if action == "set":
        info = library.captions.set(args.photo, args.text, sidecar=args.sidecar)
        where = " and its XMP sidecar" if args.sidecar else ""
        done = "caption saved" if info is not None else "caption removed"
        print(f"{done} for {args.photo}{where}")
    elif action == "show":
        return _captions_show(library, args.photo, args.json)
    elif action == "remove":
        had = library.captions.remove(args.photo)
        print(f"caption removed from {args.photo}" if had else f"{args.photo} had no caption")
    elif action == "import":
        return _captions_import(library, args.file, args.overwrite, args.json)
    elif action == "read":
        with _cancel_on_ctrl_c() as cancel:
            changed = _drive(library.captions.read_files(cancel), args.json, "photo")
        if args.json:
            print(json.dumps({"changed": changed, "cancelled": cancel.cancelled}, indent=2))
        else:
            print(f"{changed} captions added, changed or removed from the files")
        return EXIT_INTERRUPTED if cancel.cancelled else 0
    elif action == "list":
        return _captions_list(library, args.album, args.json)
    return 0


def _captions_show(library: Library, photo: Path, as_json: bool) -> int:
    info = library.captions.get(photo)
    if as_json:
        document = {
            "photo": str(photo),
            "caption": info.text if info else None,
            "source": info.source if info else None,
            "updated_at": info.updated_at.isoformat() if info else None,
            "albums": library.albums.of_photo(photo),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if info is None:
        print("no caption")
    else:
        print(info.text)
        print(f"({info.source}, {info.updated_at:%Y-%m-%d %H:%M})", file=sys.stderr)
    return 0


def _captions_import(library: Library, file: Path, overwrite: bool, as_json: bool) -> int:
    report = library.captions.import_csv(file, overwrite=overwrite)
    if as_json:
        print(json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False))
        return 0
    print(
        f"{report.imported} captions imported, {report.updated} updated, "
        f"{len(report.unmatched)} paths not in the library, {len(report.problems)} rows left out"
    )
    if report.kept:
        print(
            f"{report.kept} photos kept the caption you wrote (--overwrite replaces them)",
            file=sys.stderr,
        )
    for path in report.unmatched[:20]:
        print(f"not in the library: {path}", file=sys.stderr)
    for problem in report.problems[:20]:
        print(f"left out: {problem}", file=sys.stderr)
    hidden = max(0, len(report.unmatched) - 20) + max(0, len(report.problems) - 20)
    if hidden:
        print(f"… and {hidden} more (see --json)", file=sys.stderr)
    return 0


def _captions_list(library: Library, album: str | None, as_json: bool) -> int:
    captions = library.captions.list(album=album)
    records = library.photos.get(list(captions))
    rows = sorted(
        ((records[i].path, c) for i, c in captions.items() if i in records), key=lambda r: r[0]
    )
    if as_json:
        document = [
            {
                "path": path,
                "caption": c.text,
                "source": c.source,
                "updated_at": c.updated_at.isoformat(),
            }
            for path, c in rows
        ]
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no captions")
    for path, c in rows:
        print(f"{path}\t{c.source}\t{c.text}")
    return 0


# -- models -----------------------------------------------------------------------------------


def _add_model_commands(commands: Any) -> None:
    """The ``models`` subcommands: list, pull, import, use, remove."""
    models = commands.add_parser("models", help="list, download, import and switch models")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the catalogue, the starter and your own models")
    listing.add_argument("--json", action="store_true")
    pull = actions.add_parser("pull", help="download a catalogue model (Hugging Face hub)")
    pull.add_argument("id", metavar="ID")
    imported = actions.add_parser(
        "import", help="add a checkpoint file (safetensors, or a plain torch state dict)"
    )
    imported.add_argument("file", type=Path, metavar="FILE")
    imported.add_argument(
        "--arch", help="its open_clip architecture (default: guessed among the catalogue's)"
    )
    imported.add_argument("--name", help="it becomes imported/NAME (default: the file name)")
    use = actions.add_parser(
        "use", help="switch the library to a model (re-embeds; Ctrl-C safe, run again to resume)"
    )
    use.add_argument("id", metavar="ID")
    use.add_argument("--json", action="store_true")
    use.add_argument("--batch-size", type=_positive, help="images per model batch")
    remove = actions.add_parser("remove", help="delete a model's files (never the active one)")
    remove.add_argument("id", metavar="ID")
    remove.add_argument(
        "--vectors", action="store_true", help="also forget this library's vectors of it"
    )
    remove.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def _models(_library: None, args: argparse.Namespace) -> int:
    """``models ACTION``: pull and import need no library; the rest open it."""
    action: str = args.models_command
    if action == "pull":
        return _models_pull(args.id)
    if action == "import":
        return _models_import(args.file, args.arch, args.name)
    with Library.open(args.library, model=args.model, device=args.device) as library:
        if action == "list":
            return _models_list(library, args.json)
        if action == "use":
            return _models_use(library, args)
        return _models_remove(library, args.id, args.vectors, args.yes)


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:,.0f} MB"


def _models_list(library: Library, as_json: bool) -> int:
    models = library.models.list()
    state = library.models.progress()
    if as_json:
        document = {
            "active": state.active,
            "pending": state.pending,
            "progress": {"done": state.done, "total": state.total},
            "models": [_model_json(m) for m in models],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{'':2}{'ID':<27} {'KIND':<10} {'DIM':>4} {'SIZE':>9}  {'STATE':<14} GOOD FOR")
    for model in models:
        info = model.info
        mark = "*" if model.active else ("+" if model.pending else " ")
        if info.available:
            state_text = "ready"
        elif info.download_mb is not None:
            state_text = "not downloaded"
        else:
            state_text = "missing"
        # On-disk size when there are files, else what a download would take.
        shown = _mb(info.size_bytes)
        if info.size_bytes is None and info.download_mb is not None:
            shown = f"{info.download_mb:,} MB"
        vectors = f"; {model.vectors} vectors here" if model.vectors else ""
        print(
            f"{mark} {info.id:<27} {info.kind:<10} {info.embedding_size:>4} {shown:>9}  "
            f"{state_text:<14} {info.good_for}{vectors}"
        )
    print(f"\n* active: {state.active}")
    if state.pending:
        print(
            f"+ switching to {state.pending}: {state.done}/{state.total} photos embedded "
            f"(`photosense models use {state.pending}` carries on)"
        )
    return 0


def _model_json(model: LibraryModel) -> dict[str, Any]:
    return {
        **dataclasses.asdict(model.info),
        "active": model.active,
        "pending": model.pending,
        "vectors": model.vectors,
    }


def _models_pull(spec: str) -> int:
    with _bar_per_message("B", scale=True) as update:  # one bar per file
        model_id = pull_model(spec, update)
    print(f"{model_id} is downloaded; switch to it with `photosense models use {spec}`")
    return 0


def _models_import(file: Path, arch: str | None, name: str | None) -> int:
    model = import_file(file, arch, name)
    print(
        f"imported {model.id} ({model.architecture}, {model.embedding_size}-d, "
        f"{_mb(model.size_bytes)}); switch to it with `photosense models use {model.id}`"
    )
    return 0


def _models_use(library: Library, args: argparse.Namespace) -> int:
    with _cancel_on_ctrl_c() as cancel:
        job = library.models.use(args.id, cancel, batch_size=args.batch_size)
        report = _drive(job, args.json, "photo")
    state = library.models.progress()
    if args.json:
        document = {
            "model": report.model_id,
            "activated": report.activated,
            "active": state.active,
            "pending": state.pending,
            "progress": {"done": state.done, "total": state.total},
            "index": _report_json(report.index) if report.index is not None else None,
        }
        print(json.dumps(document, indent=2))
    elif report.activated:
        print(f"active model: {report.model_id} ({state.done}/{state.total} photos embedded)")
    else:
        print(
            f"stopped switching to {report.model_id}: {state.done}/{state.total} photos "
            f"embedded; searches still use {state.active}. Run the same command again (or "
            "`photosense index`) to carry on."
        )
    return 0 if report.activated else EXIT_INTERRUPTED


def _models_remove(library: Library, spec: str, vectors: bool, yes: bool) -> int:
    what = f"{spec} and this library's vectors of it" if vectors else f"the files of {spec}"
    if not yes:
        if not sys.stdin.isatty():
            print(f"photosense: this deletes {what}; add --yes to confirm", file=sys.stderr)
            return EXIT_USAGE
        if input(f"Delete {what}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return EXIT_ERROR
    removed = library.models.remove(spec, vectors=vectors)
    print(
        f"removed {removed.model_id}: {_mb(removed.bytes_freed)} freed, "
        f"{removed.vectors_removed} vectors forgotten"
    )
    return 0


def _fallback_warning(library: Library) -> None:
    if library.models.fallback:
        print(f"photosense: warning: {describe_fallback(library.models.fallback)}", file=sys.stderr)


def _add_finetune_command(commands: Any) -> None:
    defaults = FineTuneSettings()
    finetune = commands.add_parser(
        "finetune",
        help="teach the model your captioned photos (a new model; the old one stays)",
        description="Fine-tune the active model on captioned photos: your albums, captions "
        "you wrote or imported, or a path,caption CSV. The result is a new model "
        "(fine-tuned/NAME); it is activated when it scores better on held-out photos "
        "(see --activate). `photosense models use BASE` reverts.",
    )
    finetune.add_argument(
        "--album", action="append", dest="albums", metavar="NAME", help="train on this album"
    )
    finetune.add_argument(
        "--captions",
        type=Path,
        metavar="FILE",
        help="a path,caption CSV file, or a data set folder with captions.csv",
    )
    finetune.add_argument("--split", help="with a data set folder: which split to train on")
    finetune.add_argument("--epochs", type=_positive, default=defaults.epochs, help="at most")
    finetune.add_argument("--name", help="the new model's name (fine-tuned/NAME)")
    finetune.add_argument(
        "--general",
        action="append",
        default=[],
        type=Path,
        metavar="DATASET",
        help="a labelled data set folder to check general knowledge on, before and after",
    )
    finetune.add_argument(
        "--activate",
        choices=["auto", "yes", "no"],
        default="auto",
        help="auto: only if held-out recall improved and no general set fell "
        f"{GENERAL_DROP_LIMIT * 100:.0f}+ points",
    )
    finetune.add_argument("--json", action="store_true")
    advanced = finetune.add_argument_group("advanced")
    advanced.add_argument(
        "--rank", type=_positive, default=defaults.rank, help="adapter rank (%(default)s)"
    )
    advanced.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="(%(default)s)"
    )
    advanced.add_argument(
        "--batch-size", type=_positive, default=defaults.batch_size, help="pairs per step"
    )
    advanced.add_argument(
        "--views",
        type=_positive,
        default=defaults.views,
        help="augmented views per photo, the photo itself included (%(default)s)",
    )
    advanced.add_argument(
        "--extra-negatives",
        type=int,
        default=defaults.extra_negatives,
        metavar="N",
        help="N more training pairs in every batch (%(default)s; docs/finetuning.md)",
    )
    advanced.add_argument("--no-wise", action="store_true", help="keep the unblended weights")
    advanced.add_argument(
        "--seed", type=int, default=defaults.seed, help="held-out split and sampling"
    )


def _finetune(library: Library, args: argparse.Namespace) -> int:
    try:
        settings = FineTuneSettings(
            epochs=args.epochs,
            rank=args.rank,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            views=args.views,
            extra_negatives=args.extra_negatives,
            wise=not args.no_wise,
            seed=args.seed,
        )
    except ValueError as exc:
        print(f"photosense: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    with _cancel_on_ctrl_c() as cancel:
        job = library.finetune.run(
            albums=args.albums,
            captions=args.captions,
            split=args.split,
            settings=settings,
            general=args.general,
            name=args.name,
            cancel=cancel,
        )
        report = _drive(job, args.json, "step")
    activate = args.activate == "yes" or (args.activate == "auto" and report.improved)
    activated = False
    if activate:
        with _cancel_on_ctrl_c() as cancel:
            switch = _drive(library.models.use(report.model_id, cancel), args.json, "photo")
        activated = switch.activated
    document = report.as_dict(activated)
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    before, after = document["heldout"]["before"], document["heldout"]["after"]  # type: ignore[index]
    print(f"{report.model_id}: {report.result.pairs} pairs, {report.result.seconds:.0f} s")
    print(
        "held-out text->image recall@1/5/10: "
        + " / ".join(f"{before[k]:.2f} -> {after[k]:.2f}" for k in before)
    )
    for name, scores in document["general"]["sets"].items():  # type: ignore[index]
        print(
            f"general check {name}: zero-shot top-1 {scores['before']:.3f} -> {scores['after']:.3f}"
        )
    if activated:
        print(
            f"active model: {report.model_id}; "
            f"revert with `photosense models use {report.result.base}`"
        )
    elif report.improved:
        print(f"not activated; use it with `photosense models use {report.model_id}`")
    else:
        why = "it did not find your held-out photos better"
        if report.result.verdict is FineTuneVerdict.LOST_GENERAL:
            why = (
                "it lost general knowledge (zero-shot accuracy fell by more than "
                f"{GENERAL_DROP_LIMIT * 100:.0f} points)"
            )
        print(f"not activated: {why}; use it anyway with `photosense models use {report.model_id}`")
    return 0


NO_LIBRARY = {"eval", "models"}
"""Commands that run without opening a library."""

COMMANDS: dict[str, Callable[..., int]] = {
    "index": _index,
    "search": _search,
    "similar": _similar,
    "status": _status,
    "eval": _eval,
    "tag": _tag,
    "tags": _tags,
    "albums": _albums,
    "captions": _captions,
    "models": _models,
    "finetune": _finetune,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
