"""``photosense colours``: the colours named in photos, and naming them."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import EXIT_INTERRUPTED, Commands, cancel_on_ctrl_c, on_library
from photosense.library import Library


def register(commands: Commands) -> None:
    colours = commands.add_parser("colours", help="the colours of photos, for search by colour")
    actions = colours.add_subparsers(dest="colours_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the colours of a photo, with their shares")
    show.add_argument("photo", type=Path)
    show.add_argument("--json", action="store_true")
    name = actions.add_parser(
        "name", help="name the colours of the photos not named yet (stop any time; it resumes)"
    )
    name.add_argument("--again", action="store_true", help="name every photo again")
    name.add_argument("--json", action="store_true")
    status = actions.add_parser("status", help="how many photos have their colours named")
    status.add_argument("--json", action="store_true")
    auto = actions.add_parser("auto", help="name colours while indexing: on (default) or off")
    auto.add_argument("state", choices=["on", "off"])
    on_library(colours, _colours)


def _colours(library: Library, args: argparse.Namespace) -> int:
    action: str = args.colours_command
    if action == "show":
        found = library.colours.of_photo(args.photo)
        if args.json:
            render.print_json(
                {
                    "photo": args.photo,
                    "colours": dict(found.shares),
                    "black_and_white": found.black_and_white,
                }
            )
            return 0
        if not found.shares:
            print(f"no colours named for {args.photo} yet; run `photosense colours name`")
        for colour, share in found.shares.items():
            print(f"{share:6.0%}  {colour}")
        if found.black_and_white:
            print("black and white")
        return 0
    if action == "auto":
        library.colours.set_enabled(args.state == "on")
        print(f"naming colours while indexing: {args.state}")
        return 0
    if action == "status":
        state = library.colours.status()
        if args.json:
            render.print_json(state)
            return 0
        print(f"naming colours while indexing: {'on' if state.enabled else 'off'}")
        print(
            f"photos named: {state.named} ({state.failed} could not be), waiting: {state.pending}"
        )
        print(f"black and white photos: {state.black_and_white}")
        return 0
    if args.again:
        library.colours.rename()
    with cancel_on_ctrl_c() as cancel:
        report = render.drive(library.colours.name(cancel), args.json, "photo")
    named, failed = report.analysed.get("colours", 0), report.failed.get("colours", 0)
    if args.json:
        render.print_json(
            {
                "named": named,
                "failed": failed,
                "seconds": round(report.seconds, 3),
                "cancelled": report.cancelled,
                "pending": library.colours.status().pending,
            }
        )
    else:
        print(f"{named} photos named in {report.seconds:.1f} s ({failed} could not be)")
        if report.cancelled:
            print("stopped early; run the same command again to finish")
    return EXIT_INTERRUPTED if report.cancelled else 0
