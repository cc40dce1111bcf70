"""``photosense status``: what is in the library."""

from __future__ import annotations

import argparse
from typing import Any

from photosense.cli import render
from photosense.cli.common import Commands, on_library
from photosense.library import Library, LibraryStatus


def register(commands: Commands) -> None:
    status = commands.add_parser("status", help="what is in the library")
    status.add_argument("--json", action="store_true")
    on_library(status, _status)


def _status(library: Library, args: argparse.Namespace) -> int:
    status = library.status()
    if args.json:
        render.print_json(_status_document(status, library))
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


def _status_document(status: LibraryStatus, library: Library) -> dict[str, Any]:
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
                "last_scan_at": f.last_scan_at,
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
