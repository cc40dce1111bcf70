"""``photosense tag`` (suggest tags) and ``photosense tags`` (the vocabulary, a photo's tags)."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import (
    EXIT_INTERRUPTED,
    Commands,
    cancel_on_ctrl_c,
    on_library,
)
from photosense.enums import TagState
from photosense.library import ExportReport, Library, TagReport


def register(commands: Commands) -> None:
    tag = commands.add_parser(
        "tag", help="suggest tags for photos and import their files' keywords"
    )
    tag.add_argument(
        "--retag", action="store_true", help="redo every photo (accepted/rejected tags are kept)"
    )
    tag.add_argument("--json", action="store_true", help="print the report as JSON")
    on_library(tag, _tag)

    tags = commands.add_parser("tags", help="the tag vocabulary and the tags on photos")
    actions = tags.add_subparsers(dest="tags_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="the tags on photos (confirmed, or suggested with confidence) and counts"
    )
    which = listing.add_mutually_exclusive_group()
    which.add_argument(
        "--all", action="store_true", help="the whole vocabulary, tags on no photo included"
    )
    which.add_argument(
        "--min-photos",
        type=int,
        default=1,
        metavar="N",
        help="only tags that count on at least N photos (default 1)",
    )
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
    on_library(tags, _tags)


def _tag(library: Library, args: argparse.Namespace) -> int:
    with cancel_on_ctrl_c() as cancel:
        job = library.tags.suggest(retag=args.retag, cancel=cancel)
        report: TagReport = render.drive(job, args.json, "photo")
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
        render.print_json(document)
        return status
    print(
        f"{report.photos} photos tagged, {report.suggestions} suggestions, "
        f"{report.keywords} keywords imported in {report.seconds:.1f} s "
        f"with {library.models.current().model_id}"
    )
    if report.cancelled:
        print("stopped early; run the same command again to finish")
    return status


def _tags(library: Library, args: argparse.Namespace) -> int:
    action: str = args.tags_command
    if action == "list":
        return _tags_list(library, 0 if args.all else args.min_photos, args.json)
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


def _tags_list(library: Library, min_photos: int, as_json: bool) -> int:
    tags = library.tags.list(min_photos=min_photos)
    if as_json:
        document = [
            {
                "name": t.name,
                "origin": t.origin,
                "enabled": t.enabled,
                "prompts": list(t.prompts) if t.prompts else None,
                "threshold": round(t.threshold, 4),
                "offset": round(t.offset, 4),
                "photos": t.photos,
                "accepted": t.accepted,
                "suggested": t.suggested,
                "rejected": t.rejected,
            }
            for t in tags
        ]
        render.print_json(document)
        return 0
    render.print_table(
        [
            render.Column("tag", 32),
            render.Column("origin", 10),
            render.Column("threshold", 9, right=True),
            render.Column("photos", 7, right=True),
            render.Column("accepted", 8, right=True),
            render.Column("suggested", 9, right=True),
        ],
        (
            [t.name, t.origin, f"{t.threshold:.2f}" if t.enabled else "off"]
            + [t.photos, t.accepted, t.suggested]
            for t in tags
        ),
    )
    if min_photos > 0 and not as_json:
        print(f"tags on at least {min_photos} photo(s); `photosense tags list --all` lists all")
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
        render.print_json({"photo": photo, "tags": document})
        return 0
    visible = [r for r in rows if r.shown or r.state == TagState.REJECTED]
    if not visible:
        print("no tags")
    for r in visible:
        score = f"{r.score:6.2f}" if r.score is not None else f"{'':6}"
        print(f"{r.state:<9} {score}  {r.tag}  ({r.source})")
    return 0


def _tags_export(library: Library, suggested: bool, as_json: bool) -> int:
    with cancel_on_ctrl_c() as cancel:
        job = library.tags.export_xmp(include_suggested=suggested, cancel=cancel)
        report: ExportReport = render.drive(job, as_json, "photo")
    return render.export_report(report, as_json)
