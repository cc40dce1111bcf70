"""``photosense search`` and ``photosense similar``: photos by a description or by a photo."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photosense.cli import render
from photosense.cli.common import Commands, date, on_library, positive, score
from photosense.cli.marks import rating
from photosense.cli.places import reading_json, reading_line
from photosense.library import COLOUR_NAMES, Hit, Library, SearchResults


def register(commands: Commands) -> None:
    search = commands.add_parser("search", help="find photos by a description")
    search.add_argument(
        "text", nargs="?", default="", help="what to look for (optional with --person)"
    )
    search.add_argument("--limit", type=positive, default=20)
    search.add_argument("--min-score", type=score, help="drop results scoring below this (-1 to 1)")
    search.add_argument("--folder", type=Path, help="only photos inside this folder")
    search.add_argument("--after", type=date, help="only photos taken on or after this date")
    search.add_argument("--before", type=date, help="only photos taken before this date")
    search.add_argument("--sort", choices=["score", "date"], default="score")
    search.add_argument("--json", action="store_true")
    search.add_argument("--tag", metavar="TAG", help="only photos that carry this tag")
    search.add_argument("--album", metavar="NAME", help="only photos of this album")
    search.add_argument(
        "--min-rating",
        type=rating,
        metavar="STARS",
        help="only photos rated this many stars or more",
    )
    search.add_argument(
        "--person",
        action="append",
        default=[],
        metavar="NAME",
        help="only photos of this person (repeat, or 'Anna and Ben': photos with all of them)",
    )
    search.add_argument(
        "--place",
        metavar="PLACE",
        help="only photos taken there: a town, region or country (Lisbon, Portugal), or "
        "'Town, Region, Country' (see `photosense places`)",
    )
    search.add_argument(
        "--literal",
        action="store_true",
        help="search the words as typed: do not read dates, places and colours in the text "
        '("dog 2023", "beach in Portugal", "a red car")',
    )
    search.add_argument(
        "--has-text", action="store_true", help="only photos in which some text was read"
    )
    search.add_argument(
        "--colour",
        "--color",
        metavar="COLOUR",
        help=f"only photos that colour covers a tenth of or more: {', '.join(COLOUR_NAMES)}",
    )
    on_library(search, _search)

    similar = commands.add_parser("similar", help="find photos that look like a photo")
    similar.add_argument("photo", type=Path)
    similar.add_argument("--limit", type=positive, default=20)
    similar.add_argument("--json", action="store_true")
    on_library(similar, _similar)


def _search(library: Library, args: argparse.Namespace) -> int:
    if not args.text.strip() and args.person:
        results = library.search.people(
            args.person,
            limit=args.limit,
            folder=args.folder,
            after=args.after,
            before=args.before,
            tag=args.tag,
            album=args.album,
            min_rating=args.min_rating,
        )
        return _print_results(results, args.json)
    results = library.search.text(
        args.text,
        limit=args.limit,
        min_score=args.min_score,
        folder=args.folder,
        after=args.after,
        before=args.before,
        sort=args.sort,
        tag=args.tag,
        album=args.album,
        min_rating=args.min_rating,
        people=args.person,
        place=args.place,
        literal=args.literal,
        has_text=args.has_text,
        colour=args.colour,
    )
    render.fallback_warning(library)
    notice = library.models.reads(args.text)
    if notice is not None:
        print(f"note: {notice} See `photosense models list`.", file=sys.stderr)
    return _print_results(results, args.json)


def _similar(library: Library, args: argparse.Namespace) -> int:
    results = library.search.similar(args.photo, limit=args.limit)
    render.fallback_warning(library)
    return _print_results(results, args.json)


MORE_RESULTS = "── more results (not good matches) ──"


def _print_results(results: SearchResults, as_json: bool) -> int:
    """The hits, good matches first. ``good`` in the JSON counts them (null: not judged, as for
    similar photos) and each result says whether it is one, and why it matched: ``matched``
    is text, meaning or both, ``words`` the lines of its text that matched (or null)."""
    if as_json:
        document = {
            "query": results.query,
            "model": results.model_id,
            "good": results.good,
            "reading": reading_json(results.reading),
            "results": [
                {
                    "path": hit.photo.path,
                    "score": round(hit.score, 6) if results.scored else None,
                    "taken_at": hit.photo.taken_at,
                    "good": None if results.good is None else rank < results.good,
                    "matched": hit.matched,
                    "words": hit.words,
                }
                for rank, hit in enumerate(results.hits)
            ],
        }
        render.print_json(document)
        return 0
    line = reading_line(results.reading)
    if line is not None:
        print(line)
    if not results.hits:
        print("no matching photos")
    elif not results.scored:
        for hit in results.hits:
            print(f"{'':6}  {hit.photo.taken_at:%Y-%m-%d}  {hit.photo.path}")
        return 0
    elif results.no_good_match:
        print(f"no good match for “{results.query}”; the closest photos:")
    for hit in results.good_hits:
        _print_hit(hit)
    if results.more_hits and not results.no_good_match:
        print(MORE_RESULTS)
    for hit in results.more_hits:
        _print_hit(hit)
    print(f"model: {results.model_id}", file=sys.stderr)
    render.starter_hint(results.model_id)
    return 0


def _print_hit(hit: Hit) -> None:
    words = ""
    if hit.words is not None:
        found = " / ".join(hit.words.splitlines())
        words = f"  [{hit.matched}: “{found[:60]}{'…' if len(found) > 60 else ''}”]"
    print(f"{hit.score:6.3f}  {hit.photo.taken_at:%Y-%m-%d}  {hit.photo.path}{words}")
