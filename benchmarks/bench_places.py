"""Places and times: reverse geocoding speed and coverage, query-reading accuracy, and the cost
of places at 100,000 photos.

    .venv/bin/python benchmarks/bench_places.py [--photos 100000] [--skip-library]

1. Geocoding: load time, then photos/s over positions near real towns (a GeoNames town moved up
   to 20 km, seeded) and uniformly over the globe; agreement with reverse_geocode's own lookup
   (scipy's k-d tree on raw degrees) when scipy is there.
2. Camera files: every file of the camera-photos and messy-library sets with a usable GPS
   position, and the share that gets a place (each place printed, to check by eye).
3. Query reading: the list in tests/places/queries.tsv (exact reading: words left and filters)
   and the shipped everyday queries and captions (false readings); dateparser's search_dates
   on the same lists when it is importable (PYTHONPATH=/some/dir with dateparser installed).
4. At N photos with positions (a file library in a temporary folder): locating them all (with
   the writes), listing places, a place filter, and reading one query.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
from _common import DATASETS, machine, peak_rss_mib
from sqlalchemy import insert

from photosense.library import Library
from photosense.media.decode import read_metadata
from photosense.media.scan import is_supported
from photosense.models.fake import FakeEncoder
from photosense.paths import DATABASE_NAME
from photosense.places.geocode import Geocoder, valid_position
from photosense.places.query import read_query
from photosense.progress import run_to_end
from photosense.store.repository import Store
from photosense.store.schema import Photo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.places.test_query import KNOWN_MISSES, PLACES, TODAY, load_queries, summary  # noqa: E402


def positions_near_towns(
    geocoder: Geocoder, count: int, seed: int = 0, towns: int | None = None
) -> list[tuple[float, float]]:
    """Positions like photos': a random GeoNames town (one of ``towns`` drawn first, when
    given: a library's few places), moved up to 20 km in a random direction."""
    geocoder.locate([(38.7, -9.1)])  # loads the data
    points = geocoder._points  # noqa: SLF001 (the loaded unit vectors, to pick towns)
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, len(points), towns) if towns else np.arange(len(points))
    picks = points[pool[rng.integers(0, len(pool), count)]]
    lat = np.degrees(np.arcsin(picks[:, 2]))
    lon = np.degrees(np.arctan2(picks[:, 1], picks[:, 0]))
    distance = rng.uniform(0, 20, count) / 111.2
    angle = rng.uniform(0, 2 * math.pi, count)
    lat2 = np.clip(lat + distance * np.cos(angle), -89.9, 89.9)
    lon2 = (lon + distance * np.sin(angle) / np.maximum(np.cos(np.radians(lat2)), 0.05) + 180) % 360
    return list(zip(lat2.tolist(), (lon2 - 180).tolist(), strict=True))


TRIP_TOWNS = 300
"""Where a library's photos were taken: home and trips, not every town on Earth."""


def bench_geocoding(count: int) -> None:
    print("## Reverse geocoding")
    geocoder = Geocoder()
    start = time.perf_counter()
    geocoder.locate([(38.7, -9.1)])
    took = time.perf_counter() - start
    print(f"load: {took:.2f} s (155k GeoNames towns), peak RSS {peak_rss_mib():.0f} MiB")
    near = positions_near_towns(geocoder, count)
    start = time.perf_counter()
    found = geocoder.locate(near)
    elapsed = time.perf_counter() - start
    named = sum(p is not None for p in found)
    print(
        f"near towns: {count:,} positions in {elapsed:.2f} s = {count / elapsed:,.0f} photos/s; "
        f"{named / count:.1%} named"
    )
    rng = np.random.default_rng(1)
    globe = list(zip(np.degrees(np.arcsin(rng.uniform(-1, 1, count))).tolist(),
                     rng.uniform(-180, 180, count).tolist(), strict=True))  # fmt: skip
    start = time.perf_counter()
    anywhere = geocoder.locate(globe)
    elapsed = time.perf_counter() - start
    print(
        f"anywhere on the globe: {count / elapsed:,.0f} photos/s; "
        f"{sum(p is not None for p in anywhere) / count:.1%} within 50 km of a town"
    )
    try:
        import reverse_geocode  # imports scipy
    except ImportError:
        print("reverse_geocode's own lookup: not importable (scipy missing); not compared")
        return
    sample = near[: min(count, 20000)]
    start = time.perf_counter()
    theirs = reverse_geocode.search(sample)
    elapsed = time.perf_counter() - start
    ours = geocoder.locate(sample)
    same = sum(
        o is not None and o.city == t["city"] and o.country_code == t["country_code"]
        for o, t in zip(ours, theirs, strict=True)
    )
    located = sum(o is not None for o in ours)
    print(
        f"reverse_geocode.search (scipy k-d tree on degrees, load included): "
        f"{len(sample) / elapsed:,.0f} photos/s; same town as ours for {same / located:.1%} "
        "of the positions we name (the rest: its flat-degree distance picks another "
        "neighbour)"
    )


def bench_camera_files() -> None:
    print("\n## Camera files with GPS")
    rows = []
    for name in ("camera-photos", "messy-library"):
        root = DATASETS / name
        if not root.is_dir():
            print(f"{name}: not found in {DATASETS}; skipped")
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file() or not is_supported(path):
                continue
            try:
                meta = read_metadata(path)
            except Exception:  # noqa: BLE001 (broken files are the messy set's point)
                continue
            if valid_position(meta.latitude, meta.longitude):
                assert meta.latitude is not None and meta.longitude is not None
                rows.append((f"{name}/{path.relative_to(root)}", meta.latitude, meta.longitude))
    places = Geocoder().locate([(lat, lon) for _, lat, lon in rows])
    for (name, lat, lon), place in zip(rows, places, strict=True):
        where = (
            "no town within 50 km"
            if place is None
            else (f"{place.city}, {place.region}, {place.country} ({place.distance_km} km)")
        )
        print(f"- {name} ({lat:.4f}, {lon:.4f}): {where}")
    named = sum(p is not None for p in places)
    print(
        f"{named} of {len(rows)} files with a usable GPS position get a place "
        f"({named / max(len(rows), 1):.0%})"
    )


def _shipped() -> list[str]:
    from importlib import resources

    lines = []
    for name in ("everyday_queries.txt", "background_captions.txt"):
        text = resources.files("photosense").joinpath("resources", name).read_text("utf-8")
        lines += [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return lines


def bench_reading() -> None:
    print("\n## Query reading")
    rows = load_queries()
    exact = 0
    misses = []
    start = time.perf_counter()
    for query, left, expected in rows:
        reading = read_query(query, today=TODAY, places=PLACES)
        if (reading.query, summary(reading)) == (left, expected):
            exact += 1
        else:
            misses.append(query)
    elapsed = time.perf_counter() - start
    dated = [r for r in rows if {"after", "before", "months"} & set(r[2])]
    undated = [r for r in rows if not {"after", "before", "months"} & set(r[2])]
    print(
        f"{len(rows)} queries ({len(dated)} name a date, {len(undated)} do not): "
        f"{exact} read exactly ({exact / len(rows):.1%}); "
        f"{elapsed / len(rows) * 1e6:.0f} µs a query"
    )
    print(f"not read as expected: {misses} (known: {sorted(KNOWN_MISSES)})")
    shipped = _shipped()
    false = [q for q in shipped if read_query(q, today=TODAY, places=PLACES).read]
    print(
        f"shipped everyday queries and captions: {len(false)} of {len(shipped)} read as a date "
        "or place"
    )
    date_found = [
        bool(
            {"after", "before", "months"} & set(summary(read_query(q, today=TODAY, places=PLACES)))
        )
        for q, _, _ in rows
    ]
    ours_false = sum(f and not ({"after", "before", "months"} & set(e))
                     for f, (_, _, e) in zip(date_found, rows, strict=True))  # fmt: skip
    ours_missed = sum(not f and bool({"after", "before", "months"} & set(e))
                      for f, (_, _, e) in zip(date_found, rows, strict=True))  # fmt: skip
    print(
        f"dates only, photosense: {ours_false} false readings of {len(undated)} undated "
        f"queries, {ours_missed} missed of {len(dated)} dated"
    )
    try:
        from dateparser.search import search_dates
    except ImportError:
        print("dateparser: not importable; not compared")
        return
    base = datetime.combine(TODAY, datetime.min.time())
    settings = {"RELATIVE_BASE": base}
    start = time.perf_counter()
    theirs = [bool(search_dates(q, languages=["en"], settings=settings)) for q, _, _ in rows]
    elapsed = time.perf_counter() - start
    false = sum(f and not ({"after", "before", "months"} & set(e))
                for f, (_, _, e) in zip(theirs, rows, strict=True))  # fmt: skip
    missed = sum(not f and bool({"after", "before", "months"} & set(e))
                 for f, (_, _, e) in zip(theirs, rows, strict=True))  # fmt: skip
    shipped_false = sum(bool(search_dates(q, languages=["en"], settings=settings)) for q in shipped)
    print(
        f"dates only, dateparser.search_dates: {false} false readings of {len(undated)} "
        f"undated queries, {missed} missed of {len(dated)} dated; {shipped_false} of "
        f"{len(shipped)} shipped queries read as dates; {elapsed / len(rows) * 1e3:.1f} ms a "
        "query (it finds a point in time, not a span: 'last winter' and 'in the fall' have "
        "no reading as a filter)"
    )


def bench_library(count: int) -> None:
    print(
        f"\n## A library of {count:,} photos with GPS positions (around {TRIP_TOWNS} towns "
        "of the world, up to 20 km from each)"
    )
    geocoder = Geocoder()
    positions = positions_near_towns(geocoder, count, seed=2, towns=TRIP_TOWNS)
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        store = Store.open(directory)
        library = Library(store, directory, lambda _spec: FakeEncoder())
        root = store.folders.add("/photos")
        now = datetime(2024, 1, 1)
        rows = [
            {
                "folder_id": root.id, "path": f"/photos/{i:06d}.jpg", "size": 1000,
                "mtime_ns": 0, "content_hash": f"{i:064d}", "taken_at": now,
                "taken_at_exif": True, "latitude": lat, "longitude": lon, "indexed_at": now,
            }
            for i, (lat, lon) in enumerate(positions)
        ]  # fmt: skip
        with store.engine.begin() as connection:
            connection.execute(insert(Photo), rows)
        start = time.perf_counter()
        located = run_to_end(library.places.locate())
        elapsed = time.perf_counter() - start
        print(
            f"locating every photo (with the writes, data loaded): {elapsed:.1f} s = "
            f"{located / elapsed:,.0f} photos/s"
        )
        start = time.perf_counter()
        assert run_to_end(library.places.locate()) == 0
        print(
            f"the next index run's check (nothing to locate): {time.perf_counter() - start:.2f} s"
        )
        start = time.perf_counter()
        places = library.places.list()
        print(f"places.list(): {len(places):,} places in {time.perf_counter() - start:.2f} s")
        country = library.places.countries()[0][0]
        start = time.perf_counter()
        ids = library.photos.ids(place=country)
        print(
            f"photos.ids(place={country!r}): {len(ids):,} photos in "
            f"{time.perf_counter() - start:.2f} s"
        )
        for when in ("first", "next"):  # the next reads the cached place names
            start = time.perf_counter()
            reading = library.places.read(f"beach in {country} last summer", today=TODAY)
            took = time.perf_counter() - start
            print(
                f"reading a query ({when}) against the library's "
                f"{len(library.places.names()):,} place names: {took:.2f} s ({reading.place})"
            )
        size = os.path.getsize(directory / DATABASE_NAME)
        print(f"database: {size / 1e6:.1f} MB; peak RSS {peak_rss_mib():.0f} MiB")
        library.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--skip-library", action="store_true")
    args = parser.parse_args()
    print(f"# bench_places on {machine()}, {date.today()}, load {os.getloadavg()[0]:.1f}\n")
    bench_geocoding(args.photos)
    bench_camera_files()
    bench_reading()
    if not args.skip_library:
        bench_library(args.photos)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
