"""``photosense duplicates``: groups of the same photo; the copies not kept go to the trash."""

from __future__ import annotations

import argparse
import sys

from photosense.cli import render
from photosense.cli.common import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    Commands,
    cancel_on_ctrl_c,
    on_library,
    score,
)
from photosense.library import Choice, DuplicateGroup, DuplicatePhoto, Library


def register(commands: Commands) -> None:
    duplicates = commands.add_parser(
        "duplicates",
        help="find the same photo more than once (copies, resized or re-encoded ones, bursts); "
        "--trash moves all but the best of each group to the system trash",
    )
    duplicates.add_argument("--exact", action="store_true", help="only byte-identical copies")
    duplicates.add_argument(
        "--min-score",
        type=score,
        metavar="COSINE",
        help="how alike two photos' vectors must be to have their pixels compared",
    )
    duplicates.add_argument(
        "--trash",
        action="store_true",
        help="move every photo but the first (kept) of each group to the system trash",
    )
    duplicates.add_argument("--yes", action="store_true", help="do not ask before --trash")
    duplicates.add_argument("--json", action="store_true")
    on_library(duplicates, _duplicates)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 1e5 else f"{count / 1e3:.0f} kB"


def _line(item: DuplicatePhoto, keep: bool) -> str:
    photo = item.photo
    dims = f"{photo.width}×{photo.height}" if photo.width and photo.height else "?"
    sharp = f"sharpness {item.sharpness:.0f}" if item.sharpness is not None else ""
    return (
        f"  {'keep ' if keep else 'trash'}  {dims:>11}  {_size(photo.size):>8}  "
        f"{photo.taken_at:%Y-%m-%d %H:%M:%S}  {sharp:<15} {photo.path}"
    )


def _document(groups: list[DuplicateGroup]) -> list[dict[str, object]]:
    return [
        {
            "kind": str(group.kind),
            "score": round(group.score, 4),
            "likeness": round(group.likeness, 4),
            "photos": [
                {
                    "path": item.photo.path,
                    "keep": index == 0,
                    "width": item.photo.width,
                    "height": item.photo.height,
                    "size": item.photo.size,
                    "taken_at": item.photo.taken_at,
                    "sharpness": None if item.sharpness is None else round(item.sharpness, 1),
                }
                for index, item in enumerate(group.photos)
            ],
        }
        for group in groups
    ]


def _duplicates(library: Library, args: argparse.Namespace) -> int:
    options: dict[str, object] = {"near": not args.exact}
    if args.min_score is not None:
        options["min_score"] = args.min_score
    with cancel_on_ctrl_c() as cancel:
        job = library.duplicates.find(cancel=cancel, **options)  # type: ignore[arg-type]
        groups = render.drive(job, args.json, "photos")
    if args.json and not args.trash:
        render.print_json(_document(groups))
        return 0
    extra = sum(len(g.others) for g in groups)
    if not args.json:
        if not groups:
            print("no duplicates found")
        for number, group in enumerate(groups, 1):
            how = (
                "identical files"
                if group.kind == "exact"
                else f"alike (cosine {group.score:.3f}, pixels {group.likeness:.2f})"
            )
            print(f"group {number} · {len(group.photos)} photos, {how}")
            for index, item in enumerate(group.photos):
                print(_line(item, index == 0))
        if groups and not args.trash:
            print(
                f"{extra} photos could go; `photosense duplicates --trash` moves them to the "
                "system trash (the first of each group is kept)",
                file=sys.stderr,
            )
    if not args.trash or not groups:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            render.print_error("--trash asks first: give --yes to run it without a terminal")
            return EXIT_ERROR
        answer = input(f"Move {extra} photos to the system trash? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing moved")
            return 0
    choices = [Choice([g.keep.photo.id], [i.photo.id for i in g.others]) for g in groups]
    with cancel_on_ctrl_c() as cancel:
        report = render.drive(library.duplicates.trash(choices, cancel), args.json, "photos")
    if args.json:
        render.print_json({"groups": _document(groups), "trash": report})
    else:
        print(f"moved {len(report.trashed)} photos to the trash")
        if report.vanished:
            print(f"{len(report.vanished)} were gone already; the library forgot them")
    for path, reason in report.failed:
        render.print_error(f"left {path} where it is: {reason}")
    for paths in report.refused:
        render.print_error(
            f"left a group of {len(paths) + 1} whole: the photo to keep is gone or changed"
        )
    if cancel.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if report.failed or report.refused else 0
