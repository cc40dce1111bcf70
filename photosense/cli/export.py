"""``photosense export``: copies of photos in a folder (nothing there is overwritten)."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    Commands,
    cancel_on_ctrl_c,
    on_library,
)
from photosense.cli.marks import rating
from photosense.errors import PhotosenseError
from photosense.library import Library


def register(commands: Commands) -> None:
    export = commands.add_parser(
        "export",
        help="copy photos (with their XMP sidecars) into a folder; a name taken there becomes "
        "'name (2).jpg', nothing is overwritten",
    )
    export.add_argument("photos", nargs="*", type=Path, metavar="PHOTO")
    export.add_argument("--to", type=Path, required=True, metavar="DIR", help="the folder")
    export.add_argument("--album", metavar="NAME", help="the photos of this album")
    export.add_argument(
        "--min-rating",
        type=rating,
        metavar="STARS",
        help="the photos rated this many stars or more",
    )
    export.add_argument("--json", action="store_true")
    on_library(export, _export)


def _export(library: Library, args: argparse.Namespace) -> int:
    chosen: list[int | Path] = list(args.photos)
    if args.album is not None or args.min_rating is not None:
        chosen += library.photos.ids(album=args.album, min_rating=args.min_rating)
    if not chosen:
        raise PhotosenseError("nothing to export: give photos, --album or --min-rating")
    with cancel_on_ctrl_c() as cancel:
        report = render.drive(library.export.copy(chosen, args.to, cancel), args.json, "photos")
    if args.json:
        render.print_json(report)
    else:
        renamed = f" ({report.renamed} renamed: their names were taken)" if report.renamed else ""
        print(f"copied {len(report.copied)} photos to {report.destination}{renamed}")
        for path, reason in report.failed:
            render.print_error(f"could not copy {path}: {reason}")
    if report.cancelled:
        render.print_error("stopped; the photos copied so far stay")
        return EXIT_INTERRUPTED
    return EXIT_ERROR if report.failed else 0
