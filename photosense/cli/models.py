"""``photosense models``: list, download, import, switch and remove models."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from photosense.cli import render
from photosense.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Commands,
    cancel_on_ctrl_c,
    open_library,
    positive,
    without_library,
)
from photosense.cli.index import report_document
from photosense.library import Library, LibraryModel
from photosense.library.models import import_file
from photosense.library.models import pull as pull_model


def register(commands: Commands) -> None:
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
    use.add_argument("--batch-size", type=positive, help="images per model batch")
    remove = actions.add_parser("remove", help="delete a model's files (never the active one)")
    remove.add_argument("id", metavar="ID")
    remove.add_argument(
        "--vectors", action="store_true", help="also forget this library's vectors of it"
    )
    remove.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    without_library(models, _models)


def _models(args: argparse.Namespace) -> int:
    """``models ACTION``: pull and import need no library; the rest open it."""
    action: str = args.models_command
    if action == "pull":
        return _models_pull(args.id)
    if action == "import":
        return _models_import(args.file, args.arch, args.name)
    with open_library(args) as library:
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
            "models": [_model_document(m) for m in models],
        }
        render.print_json(document)
        return 0
    render.print_table(
        [
            render.Column("", 1),
            render.Column("ID", 27),
            render.Column("KIND", 10),
            render.Column("DIM", 4, right=True),
            render.Column("SIZE", 9, right=True),
            render.Column("STATE", 14, gap="  "),
            render.Column("GOOD FOR"),
        ],
        (_model_row(model) for model in models),
    )
    print(f"\n* active: {state.active}")
    if state.pending:
        print(
            f"+ switching to {state.pending}: {state.done}/{state.total} photos embedded "
            f"(`photosense models use {state.pending}` carries on)"
        )
    return 0


def _model_row(model: LibraryModel) -> list[object]:
    """One line of ``models list``: mark, id, kind, size, state, what it is good for."""
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
    return [
        mark,
        info.id,
        info.kind,
        info.embedding_size,
        shown,
        state_text,
        info.good_for + vectors,
    ]


def _model_document(model: LibraryModel) -> dict[str, Any]:
    return {
        **dataclasses.asdict(model.info),
        "active": model.active,
        "pending": model.pending,
        "vectors": model.vectors,
    }


def _models_pull(spec: str) -> int:
    with render.bar_per_message("B", scale=True) as update:  # one bar per file
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
    with cancel_on_ctrl_c() as cancel:
        job = library.models.use(args.id, cancel, batch_size=args.batch_size)
        report = render.drive(job, args.json, "photo")
    state = library.models.progress()
    if args.json:
        document = {
            "model": report.model_id,
            "activated": report.activated,
            "active": state.active,
            "pending": state.pending,
            "progress": {"done": state.done, "total": state.total},
            "index": report_document(report.index) if report.index is not None else None,
        }
        render.print_json(document)
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
            render.print_error(f"this deletes {what}; add --yes to confirm")
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
