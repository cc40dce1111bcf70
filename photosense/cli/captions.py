"""``photosense captions``: photo captions, written, imported or read from the files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import EXIT_INTERRUPTED, Commands, cancel_on_ctrl_c, on_library
from photosense.library import Library


def register(commands: Commands) -> None:
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
    on_library(captions, _captions)


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
        with cancel_on_ctrl_c() as cancel:
            changed = render.drive(library.captions.read_files(cancel), args.json, "photo")
        if args.json:
            render.print_json({"changed": changed, "cancelled": cancel.cancelled})
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
            "photo": photo,
            "caption": info.text if info else None,
            "source": info.source if info else None,
            "updated_at": info.updated_at if info else None,
            "albums": library.albums.of_photo(photo),
        }
        render.print_json(document)
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
        render.print_json(report)
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
                "updated_at": c.updated_at,
            }
            for path, c in rows
        ]
        render.print_json(document)
        return 0
    if not rows:
        print("no captions")
    for path, c in rows:
        print(f"{path}\t{c.source}\t{c.text}")
    return 0
