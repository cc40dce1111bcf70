"""``photosense text``: the text read in photos; reading it, and writing it into sidecars."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import EXIT_INTERRUPTED, Commands, cancel_on_ctrl_c, on_library
from photosense.library import ExportReport, Library

LIMITED = {
    "lines": "reading stopped at the most lines read on one photo; the rest was left out",
    "time": "reading stopped at its time limit; the rest was left out",
}


def register(commands: Commands) -> None:
    text = commands.add_parser("text", help="text in photos (signs, receipts, documents)")
    actions = text.add_subparsers(dest="text_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the text read in a photo, line by line")
    show.add_argument("photo", type=Path)
    show.add_argument("--json", action="store_true")
    read = actions.add_parser(
        "read", help="read the text of the photos not read yet (stop any time; it resumes)"
    )
    read.add_argument("--again", action="store_true", help="read every photo again")
    read.add_argument("--json", action="store_true")
    status = actions.add_parser("status", help="how many photos were read and hold text")
    status.add_argument("--json", action="store_true")
    auto = actions.add_parser("auto", help="read text while indexing: on (default) or off")
    auto.add_argument("state", choices=["on", "off"])
    export = actions.add_parser(
        "export-xmp",
        help="write each photo's text into its XMP sidecar (exif:UserComment), never the photo",
    )
    export.add_argument("--json", action="store_true")
    on_library(text, _text)


def _text(library: Library, args: argparse.Namespace) -> int:
    action: str = args.text_command
    if action == "show":
        return _show(library, args.photo, args.json)
    if action == "read":
        return _read(library, args.again, args.json)
    if action == "status":
        return _status(library, args.json)
    if action == "auto":
        library.text.set_enabled(args.state == "on")
        print(f"reading text while indexing: {args.state}")
        return 0
    with cancel_on_ctrl_c() as cancel:
        report: ExportReport = render.drive(library.text.export_xmp(cancel), args.json, "photo")
    return render.export_report(report, args.json)


def _show(library: Library, photo: Path, as_json: bool) -> int:
    found = library.text.of_photo(photo)
    if as_json:
        render.print_json(
            {
                "photo": photo,
                "read": found.read,
                "failure": found.failure,
                "limited": found.limited,
                "text": found.text,
                "lines": [
                    {
                        "text": line.text,
                        "confidence": round(line.confidence, 4),
                        "box": {"x": line.x, "y": line.y, "w": line.w, "h": line.h},
                    }
                    for line in found.lines
                ],
            }
        )
        return 0
    if not found.read:
        print(f"{photo} has not been read yet; run `photosense text read`")
    elif found.failure is not None:
        print(f"{photo} could not be read: {found.failure}")
    elif not found.lines:
        print(f"no text found in {photo}")
    for line in found.lines:
        print(line.text)
    if found.limited is not None:
        print(f"note: {LIMITED.get(found.limited, found.limited)}")
    return 0


def _read(library: Library, again: bool, as_json: bool) -> int:
    if again:
        library.text.reread()
    with cancel_on_ctrl_c() as cancel:
        report = render.drive(library.text.read(cancel), as_json, "photo")
    status = library.text.status()
    if as_json:
        render.print_json(
            {
                "read": report.analysed.get("text", 0),
                "failed": report.failed.get("text", 0),
                "seconds": round(report.seconds, 3),
                "cancelled": report.cancelled,
                "photos_with_text": status.photos_with_text,
                "pending": status.pending,
            }
        )
    else:
        print(
            f"{report.analysed.get('text', 0)} photos read in {report.seconds:.1f} s "
            f"({report.failed.get('text', 0)} could not be); {status.photos_with_text} photos "
            "hold text"
        )
        if report.cancelled:
            print("stopped early; run the same command again to finish")
    return EXIT_INTERRUPTED if report.cancelled else 0


def _status(library: Library, as_json: bool) -> int:
    status = library.text.status()
    if as_json:
        render.print_json(status)
        return 0
    print(f"reading text while indexing: {'on' if status.enabled else 'off'}")
    print(f"photos read: {status.read} ({status.failed} could not be), waiting: {status.pending}")
    print(f"photos with text: {status.photos_with_text} ({status.lines} lines)")
    return 0
