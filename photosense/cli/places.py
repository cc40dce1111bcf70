"""``photosense places``: where the photos were taken, by country and town, with counts; and
how ``photosense search`` says it read the dates and places of a query."""

from __future__ import annotations

import argparse
from typing import Any

from photosense.cli import render
from photosense.cli.common import Commands, on_library
from photosense.library import Library, PlaceCount, QueryReading, place_label


def register(commands: Commands) -> None:
    places = commands.add_parser(
        "places", help="where the photos were taken: countries and towns with photo counts"
    )
    places.add_argument("--json", action="store_true")
    on_library(places, _places)


def _places(library: Library, args: argparse.Namespace) -> int:
    entries = library.places.list()
    positioned, located, named = library.places.stats()
    waiting = positioned - located
    if args.json:
        render.print_json(
            {
                "photos_with_position": positioned,
                "located": located,
                "named": named,
                "waiting": waiting,
                "places": [_place_json(entry) for entry in entries],
            }
        )
        return 0
    country = None
    for entry in entries:
        place = entry.place
        if place.country != country:
            country = place.country
            total = sum(e.count for e in entries if e.place.country == country)
            print(f"{country} ({total:,})")
        town = ", ".join(dict.fromkeys(p for p in (place.city, place.district, place.region) if p))
        print(f"  {entry.count:6,}  {town}")
    if not entries:
        print("no photo has a place yet")
    summary = f"{named:,} of {positioned:,} photos with a GPS position have a place"
    if located > named:
        summary += f"; {located - named:,} were taken far from any town"
    print(summary)
    if waiting:
        print(f"{waiting:,} photos wait for their place: run `photosense index`")
    return 0


def _place_json(entry: PlaceCount) -> dict[str, Any]:
    place = entry.place
    return {
        "label": place_label(place),
        "city": place.city,
        "district": place.district,
        "region": place.region,
        "country": place.country,
        "country_code": place.country_code,
        "photos": entry.count,
    }


def reading_json(reading: QueryReading | None) -> dict[str, Any] | None:
    """How the query was read, for ``search --json`` (None for photos like a photo)."""
    if reading is None:
        return None
    return {
        "text": reading.text,
        "query": reading.query,
        "after": reading.after,
        "before": reading.before,
        "months": list(reading.months),
        "place": reading.place,
        "colours": list(reading.colours),
        "parts": [
            {"kind": str(p.kind), "words": p.words, "meaning": p.meaning} for p in reading.parts
        ],
    }


def reading_line(reading: QueryReading | None) -> str | None:
    """One line saying how a query was read ("read as: “beach” · place Portugal · dates Jun
    2026 – Aug 2026"), with the way back, and a second when a colour re-orders the model's
    hits (their printed scores then read out of order); None when nothing was read."""
    if reading is None or not reading.read:
        return None
    said = [f"“{reading.query}”"] if reading.query else ["any photo"]
    said += [f"{p.kind.value} {p.meaning}" for p in reading.parts]
    line = f"read as: {' · '.join(said)} (--literal searches the words as typed)"
    if reading.colours and reading.query:  # the scores printed are the model's, re-ordered
        line += "\nphotos of that colour come first among close matches; scores are the model's"
    return line
