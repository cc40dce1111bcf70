"""``photosense people``: faces grouped into people; naming, merging, splitting, hiding, and
face analysis itself (switch it off, forget every face)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import Commands, cancel_on_ctrl_c, on_library, positive
from photosense.library import FaceRecord, Library, PersonRecord


def register(commands: Commands) -> None:
    people = commands.add_parser("people", help="people: faces found in photos, named by you")
    actions = people.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every person with their photo and face counts")
    listing.add_argument("--hidden", action="store_true", help="also the people you hid")
    listing.add_argument("--json", action="store_true")
    show = actions.add_parser("show", help="a person's faces, with their photos")
    show.add_argument("person", help="a name or a person's number")
    show.add_argument("--json", action="store_true")
    faces = actions.add_parser("faces", help="the faces of one photo, with their numbers")
    faces.add_argument("photo", type=Path)
    faces.add_argument("--json", action="store_true")
    unknown = actions.add_parser("unknown", help="faces of no person yet, the clearest first")
    unknown.add_argument("--limit", type=positive, default=50)
    unknown.add_argument("--json", action="store_true")
    name = actions.add_parser("name", help="name a person")
    name.add_argument("person", help="a name or a person's number")
    name.add_argument("name")
    merge = actions.add_parser("merge", help="two people are one: SOURCE's faces become INTO's")
    merge.add_argument("source")
    merge.add_argument("into")
    split = actions.add_parser("split", help="take faces out of their person into a new one")
    split.add_argument("faces", nargs="+", type=int, metavar="FACE")
    split.add_argument("--name", help="the new person's name")
    add = actions.add_parser("add", help="these faces are this person")
    add.add_argument("person")
    add.add_argument("faces", nargs="+", type=int, metavar="FACE")
    remove = actions.add_parser("remove-face", help="a face is not its person (never put back)")
    remove.add_argument("faces", nargs="+", type=int, metavar="FACE")
    hide = actions.add_parser("hide", help="hide a person from the people list and filters")
    hide.add_argument("person")
    unhide = actions.add_parser("unhide", help="show a hidden person again")
    unhide.add_argument("person")
    actions.add_parser("status", help="how far face analysis got")
    scan = actions.add_parser("scan", help="find faces in photos not yet looked at (resumable)")
    scan.add_argument("--quiet", action="store_true")
    cluster = actions.add_parser("cluster", help="group faces into people again (keeps names)")
    cluster.add_argument("--full", action="store_true", help="a full re-cluster now")
    actions.add_parser("export-xmp", help="write face regions and names to XMP sidecars")
    actions.add_parser("off", help="switch face analysis off (what was found is kept)")
    actions.add_parser("on", help="switch face analysis on")
    forget = actions.add_parser(
        "forget", help="delete every face, person and name of this library (face analysis off)"
    )
    forget.add_argument("--yes", action="store_true", help="do not ask")
    on_library(people, _people)


def _people(library: Library, args: argparse.Namespace) -> int:
    action: str = args.people_command
    people = library.people
    if action == "list":
        return _list(people.list(hidden=args.hidden), args.json)
    if action == "show":
        person = people.get(args.person)
        return _faces(library, people.faces(person.id), args.json, _title(person))
    if action == "faces":
        return _faces(library, people.of_photo(args.photo), args.json, str(args.photo))
    if action == "unknown":
        return _faces(library, people.unknown(args.limit), args.json, "faces of no person")
    if action == "status":
        return _status(library)
    if action == "scan":
        with cancel_on_ctrl_c() as cancel:
            report = render.drive(library.analysis.run(["faces"], cancel), args.quiet, "photo")
        done = report.analysed.get("faces", 0)
        print(
            f"looked at {done} photos"
            + (" (stopped; run it again to go on)" if report.cancelled else "")
        )
        return _status(library)
    if action == "cluster":
        with cancel_on_ctrl_c() as cancel:
            result = render.drive(people.settle(cancel, full=args.full or None), False, "face")
        kind = "re-clustered" if result.full else "grouped new faces of"
        print(
            f"{kind} {result.faces} faces: {result.assigned} in people, "
            f"{result.new_people} new people"
        )
    elif action == "name":
        person = people.name(args.person, args.name)
        print(f"person {person.id} is now {person.name!r} ({person.photos} photos)")
    elif action == "merge":
        source = _title(people.get(args.source))
        person = people.merge(args.source, args.into)
        print(
            f"merged {source} into {_title(person)}: {person.faces} faces, {person.photos} photos"
        )
    elif action == "split":
        person = people.split(args.faces, args.name)
        print(f"{len(args.faces)} faces are now {_title(person)}")
    elif action == "add":
        person = people.move(args.faces, args.person)
        print(f"{len(args.faces)} faces are now {_title(person)}'s")
    elif action == "remove-face":
        for face in args.faces:
            people.remove_face(face)
        print(f"took {len(args.faces)} faces out of their people; they will not be put back")
    elif action in ("hide", "unhide"):
        person = people.hide(args.person, action == "hide")
        print(f"{_title(person)} is {'hidden' if person.hidden else 'shown again'}")
    elif action == "export-xmp":
        with cancel_on_ctrl_c() as cancel:
            written = render.drive(people.export_xmp(cancel), False, "photo")
        print(f"wrote face regions to {len(written)} sidecars (the photos were not touched)")
    elif action in ("on", "off"):
        people.set_enabled(action == "on")
        print(
            f"face analysis is {action}"
            + ("" if action == "on" else "; `photosense people forget` deletes what it found")
        )
    elif action == "forget":
        if not args.yes and not _confirm():
            print("nothing was deleted")
            return 1
        people.set_enabled(False)
        removed = people.forget()
        print(f"deleted {removed} faces and every person and name; face analysis is off")
    return 0


def _title(person: PersonRecord) -> str:
    return repr(person.name) if person.name else f"person {person.id}"


def _confirm() -> bool:
    if not sys.stdin.isatty():
        print("photosense: add --yes to delete every face (no terminal to ask)", file=sys.stderr)
        return False
    answer = input("Delete every face, person and name of this library? [y/N] ")
    return answer.strip().casefold() in ("y", "yes")


def _list(people: list[PersonRecord], as_json: bool) -> int:
    if as_json:
        render.print_json(
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "photos": p.photos,
                    "faces": p.faces,
                    "hidden": p.hidden,
                }
                for p in people
            ]
        )
        return 0
    if not people:
        print("no people yet: faces are found by `photosense index` (or `photosense people scan`)")
        return 0
    render.print_table(
        [
            render.Column("#", 5, right=True),
            render.Column("name", 28, gap="  "),
            render.Column("photos", 6, right=True),
            render.Column("faces", 6, right=True),
        ],
        [
            (p.id, (p.name or "(unnamed)") + (" (hidden)" if p.hidden else ""), p.photos, p.faces)
            for p in people
        ],
    )
    return 0


def _faces(library: Library, faces: list[FaceRecord], as_json: bool, title: str) -> int:
    photos = library.photos.get(sorted({f.photo_id for f in faces}))
    if as_json:
        render.print_json(
            [
                {
                    "face": f.id,
                    "photo": photos[f.photo_id].path if f.photo_id in photos else None,
                    "box": [round(v, 4) for v in (f.x, f.y, f.w, f.h)],
                    "person": f.person_id,
                    "name": f.person_name,
                    "confirmed": f.locked,
                }
                for f in faces
            ]
        )
        return 0
    print(f"{title}: {len(faces)} faces")
    for f in faces:
        who = f.person_name or (f"person {f.person_id}" if f.person_id else "unknown")
        path = photos[f.photo_id].path if f.photo_id in photos else "?"
        print(f"  face {f.id:>5}  {who}{' (confirmed)' if f.locked else ''}  {path}")
    return 0


def _status(library: Library) -> int:
    s = library.people.status()
    print(
        f"face analysis is {'on' if s.enabled else 'off'}: {s.analysed} photos looked at, "
        f"{s.pending} waiting, {s.failed} could not be read; {s.faces} faces in "
        f"{s.photos_with_faces} photos, {s.unknown} of no person"
    )
    return 0
