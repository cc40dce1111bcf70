"""``photosense rate``, ``photosense favourites`` and ``photosense rotate``: stars and turns,
kept in the library and written to the photos' XMP sidecars (the photo files are not touched)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import Commands, on_library
from photosense.library import FAVOURITE, Library, MarkReport

STARS = range(0, FAVOURITE + 1)


def stars(count: int) -> str:
    """``★★★☆☆`` for 3 of 5 stars."""
    return "★" * count + "☆" * (FAVOURITE - count)


def rating(text: str) -> int:
    """An argument type: 0 to 5 stars."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value not in STARS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rating: give 0 to 5 stars")
    return value


def register(commands: Commands) -> None:
    rate = commands.add_parser(
        "rate",
        help="give photos 0-5 stars (5: a favourite; 0: unrated), also in their XMP sidecars",
    )
    rate.add_argument("stars", type=rating, metavar="STARS", help="0 to 5")
    rate.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    on_library(rate, _rate)

    favourites = commands.add_parser("favourites", help="list the favourite (5-star) photos")
    favourites.add_argument(
        "--min-rating",
        type=rating,
        default=FAVOURITE,
        metavar="STARS",
        help="or those rated at least this many stars",
    )
    favourites.add_argument("--json", action="store_true")
    on_library(favourites, _favourites)

    rotate = commands.add_parser(
        "rotate", help="turn photos as shown (the files stay as they are; XMP sidecars say so)"
    )
    rotate.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    turn = rotate.add_mutually_exclusive_group()
    for flag, quarters, text in (
        ("--right", 1, "a quarter turn clockwise (the default)"),
        ("--left", -1, "a quarter turn anticlockwise"),
        ("--half", 2, "upside down"),
        ("--reset", 0, "as the file says again"),
    ):
        turn.add_argument(flag, dest="quarters", action="store_const", const=quarters, help=text)
    rotate.set_defaults(quarters=1)
    on_library(rotate, _rotate)


def _report(report: MarkReport) -> int:
    if report.sidecars:
        print(f"wrote {report.sidecars} XMP sidecars", file=sys.stderr)
    for path, reason in report.failed:
        render.print_error(f"warning: the sidecar of {path} could not be written ({reason})")
    return 0


def _rate(library: Library, args: argparse.Namespace) -> int:
    report = library.ratings.rate(args.photos, args.stars)
    what = stars(args.stars) if args.stars else "unrated"
    print(f"{report.photos} photos {what} ({report.changed} changed)")
    return _report(report)


def _favourites(library: Library, args: argparse.Namespace) -> int:
    ids = library.photos.ids(min_rating=args.min_rating)
    records = library.photos.get(ids)
    photos = [records[i] for i in ids if i in records]
    if args.json:
        render.print_json(
            [{"path": p.path, "rating": p.rating, "taken_at": p.taken_at} for p in photos]
        )
        return 0
    if not photos:
        print("no photos rated that high yet: rate some with `photosense rate 5 PHOTO`")
    for photo in photos:
        print(f"{stars(photo.rating)}  {photo.taken_at:%Y-%m-%d}  {photo.path}")
    return 0


def _rotate(library: Library, args: argparse.Namespace) -> int:
    if args.quarters == 0:
        report = library.rotation.reset(args.photos)
        print(f"{report.photos} photos shown as their files say ({report.changed} changed)")
    else:
        report = library.rotation.rotate(args.photos, args.quarters)
        print(f"turned {report.photos} photos; the files are unchanged")
    return _report(report)
