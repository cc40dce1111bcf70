"""``photosense albums``: named, ordered sets of photos."""

from __future__ import annotations

import argparse
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import Commands, on_library
from photosense.library import Library


def register(commands: Commands) -> None:
    albums = commands.add_parser("albums", help="albums: named, ordered sets of photos")
    actions = albums.add_subparsers(dest="albums_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every album with its photo count")
    listing.add_argument("--json", action="store_true")
    create = actions.add_parser("create", help="make an empty album")
    create.add_argument("name")
    create.add_argument("--description", metavar="TEXT")
    rename = actions.add_parser("rename", help="rename an album")
    rename.add_argument("old")
    rename.add_argument("new")
    delete = actions.add_parser("delete", help="delete an album (its photos stay)")
    delete.add_argument("name")
    for name, text in (
        ("add", "add photos to an album (at its end)"),
        ("remove", "take photos out of an album (they stay in the library)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("name")
        action.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    show = actions.add_parser("show", help="an album's photos, in order, with their captions")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    on_library(albums, _albums)


def _albums(library: Library, args: argparse.Namespace) -> int:
    action: str = args.albums_command
    if action == "list":
        return _albums_list(library, args.json)
    if action == "show":
        return _albums_show(library, args.name, args.json)
    if action == "create":
        album = library.albums.create(args.name, args.description)
        print(f"album {album.name!r} created; add photos with `photosense albums add`")
    elif action == "rename":
        old = library.albums.get(args.old).name
        album = library.albums.rename(old, args.new)
        print(f"renamed album {old!r} to {album.name!r}")
    elif action == "delete":
        name = library.albums.get(args.name).name
        count = library.albums.delete(name)
        print(f"deleted album {name!r}; its {count} photos stay in the library")
    elif action == "add":
        added = library.albums.add(args.name, args.photos)
        already = len(set(args.photos)) - added
        note = f" ({already} already in it)" if already > 0 else ""
        print(f"added {added} photos to {args.name!r}{note}")
    elif action == "remove":
        removed = library.albums.remove(args.name, args.photos)
        print(f"took {removed} photos out of {args.name!r}")
    return 0


def _albums_list(library: Library, as_json: bool) -> int:
    albums = library.albums.list()
    if as_json:
        document = [
            {
                "name": a.name,
                "description": a.description,
                "photos": a.count,
                "created_at": a.created_at,
            }
            for a in albums
        ]
        render.print_json(document)
        return 0
    if not albums:
        print("no albums yet: make one with `photosense albums create NAME`")
    for a in albums:
        about = f"  {a.description}" if a.description else ""
        print(f"{a.name:<32} {a.count:>6} photos{about}")
    return 0


def _albums_show(library: Library, name: str, as_json: bool) -> int:
    album = library.albums.get(name)
    ids = library.albums.photo_ids(album.name)
    records = library.photos.get(ids)
    captions = library.captions.list(album=album.name)
    photos = [(records[i].path, captions.get(i)) for i in ids if i in records]
    if as_json:
        document = {
            "name": album.name,
            "description": album.description,
            "created_at": album.created_at,
            "photos": [
                {
                    "path": path,
                    "caption": caption.text if caption else None,
                    "source": caption.source if caption else None,
                }
                for path, caption in photos
            ],
        }
        render.print_json(document)
        return 0
    about = f", {album.description}" if album.description else ""
    print(f"{album.name}: {album.count} photos{about}")
    for path, caption in photos:
        print(f"{path}  {caption.text}" if caption else path)
    return 0
