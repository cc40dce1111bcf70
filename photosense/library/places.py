"""Places: where photos were taken, in words (``photosense places``, ``search --place``), and
how a query's dates and place names are read ("beach in Portugal last summer").

A photo's place is found offline from the GPS position in its file (see
:mod:`photosense.places.geocode`) when it is indexed; photos indexed before get theirs on the
next run, with no new vectors. A place filter is a name ("Lisbon", "Portugal": a town,
district, region or country) or a path of names ("Alfama, Lisbon, Portugal"; ", Georgia" is
the country only).
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Generator, Iterable
from datetime import date

from photosense.errors import PhotosenseError
from photosense.places.geocode import Geocoder, Place, data_source
from photosense.places.query import QueryReading, fold, read_query
from photosense.progress import CancelToken, Progress
from photosense.store.places import Located, PlaceCount, PlaceRecord
from photosense.store.repository import Store
from photosense.tagging.vocabulary import default_vocabulary

log = logging.getLogger(__name__)

LOCATE_BATCH = 2000

_shared_geocoder: Geocoder | None = None
_shared_lock = threading.Lock()


def shared_geocoder() -> Geocoder:
    """One geocoder per process: its data (tens of MB) loads once, on first use."""
    global _shared_geocoder
    with _shared_lock:
        if _shared_geocoder is None:
            _shared_geocoder = Geocoder()
        return _shared_geocoder


def place_label(place: PlaceRecord) -> str:
    """A place in words, most precise first: "Alfama, Lisbon, Portugal"."""
    parts = (place.city, place.district or place.region, place.country)
    return ", ".join(dict.fromkeys(p for p in parts if p))


def filter_label(place: str) -> str:
    """A place filter in words (", Georgia", the country only, reads "Georgia")."""
    return ", ".join(p.strip() for p in place.split(",") if p.strip())


def country_filter(country: str) -> str:
    """The filter for a country alone (not a region or town of the same name)."""
    return f", {country}"


def _matches(place: PlaceRecord, wanted: list[str]) -> bool:
    names = {fold(n) for n in (place.city, place.district, place.region) if n}
    country = fold(place.country or "")
    if len(wanted) == 1:
        code = (place.country_code or "").casefold()
        return wanted[0] in names or wanted[0] in (country, code)
    *inner, last = wanted
    if last and last != country:
        return False
    return all(part in names for part in inner if part)


class Places:
    """Locate photos from their GPS positions, list places, and filter photos by place."""

    def __init__(self, store: Store, geocoder: Geocoder | None = None) -> None:
        self._store = store
        self._geocoder = geocoder
        self._common: frozenset[str] | None = None
        self._counts: tuple[tuple[float, ...], builtins.list[PlaceCount]] | None = None
        self._names: tuple[tuple[float, ...], dict[str, str]] | None = None

    @property
    def geocoder(self) -> Geocoder:
        if self._geocoder is None:
            self._geocoder = shared_geocoder()
        return self._geocoder

    def pending(self) -> int:
        """How many photos with a position wait for their place."""
        return len(self._store.places.pending(data_source()))

    def locate(self, cancel: CancelToken | None = None) -> Generator[Progress, None, int]:
        """Find the place of every photo with a GPS position that has none yet (or was moved,
        or located with older data); returns how many were located. Photos with no town within
        reach get an empty place, so they are not looked up again. Raises
        ``PlacesUnavailableError`` when the place data cannot be read (nothing is lost: the
        positions stay, and the next run tries again)."""
        cancel = cancel or CancelToken()
        store, source = self._store.places, data_source()
        gone = store.unpositioned()
        if gone:
            store.forget(gone)
        todo = store.pending(source)
        if not todo:
            return 0
        yield Progress(0, len(todo), "finding places")
        done = 0
        for start in range(0, len(todo), LOCATE_BATCH):
            if cancel.cancelled:
                break
            chunk = todo[start : start + LOCATE_BATCH]
            found = self.geocoder.locate([(lat, lon) for _, lat, lon in chunk])
            located = [
                Located(photo_id, lat, lon, None if place is None else _record(place))
                for (photo_id, lat, lon), place in zip(chunk, found, strict=True)
            ]
            store.record(located, source)
            done += len(chunk)
            yield Progress(done, len(todo), "finding places")
        log.info("located %d photos", done)
        return done

    def of_photo(self, photo_id: int) -> PlaceRecord | None:
        """The photo's place (names all None: no town near its position); None when it has
        no position, or its place is not found yet."""
        return self._store.places.of_photos([photo_id]).get(photo_id)

    def of_photos(self, photo_ids: Iterable[int]) -> dict[int, PlaceRecord]:
        """Photo id -> place, for those of ``photo_ids`` that have one."""
        return self._store.places.of_photos(builtins.list(photo_ids))

    def _all(self) -> builtins.list[PlaceCount]:
        """Every place with photos, cached until a place changes (each search reads them)."""
        stamp = self._store.places.stamp()
        if self._counts is None or self._counts[0] != stamp:
            self._counts = (stamp, self._store.places.counts())
        return self._counts[1]

    def list(self) -> builtins.list[PlaceCount]:
        """Every place with photos and how many, by country, then region, then town."""
        counts = self._all()
        return sorted(
            counts,
            key=lambda c: tuple(
                fold(n or "")
                for n in (c.place.country, c.place.region, c.place.district, c.place.city)
            ),
        )

    def countries(self) -> builtins.list[tuple[str, int]]:
        """(country, photos) for every country with photos, most photos first."""
        totals: dict[str, int] = {}
        for entry in self._all():
            if entry.place.country:
                totals[entry.place.country] = totals.get(entry.place.country, 0) + entry.count
        return sorted(totals.items(), key=lambda item: (-item[1], fold(item[0])))

    def matching(self, place: str) -> builtins.list[PlaceRecord]:
        """The library's places that the filter ``place`` names."""
        wanted = [fold(part) for part in place.split(",")]
        if not any(wanted):
            raise PhotosenseError("the place is empty: give a town, region or country")
        return [c.place for c in self._all() if _matches(c.place, wanted)]

    def photo_ids(self, place: str) -> set[int]:
        """Ids of the photos taken at ``place`` (see the module's note on filters); an empty
        set when the library has no photo there."""
        places = self.matching(place)
        return self._store.places.photo_ids_at(places) if places else set()

    def names(self) -> dict[str, str]:
        """Folded name -> name, for every town, district, region and country with photos."""
        counts = self._all()
        assert self._counts is not None
        stamp = self._counts[0]
        if self._names is None or self._names[0] != stamp:
            names: dict[str, str] = {}
            for entry in counts:
                p = entry.place
                for name in (p.country, p.region, p.district, p.city):
                    if name:
                        names.setdefault(fold(name), name)
            self._names = (stamp, names)
        return self._names[1]

    def read(self, text: str, today: date | None = None) -> QueryReading:
        """How a search query is read: its dates and the library's places become filters,
        the rest is searched by meaning. Words that are also tags ("orange", "beach") are
        read as places only after "in", "near" or "around"."""
        if self._common is None:
            self._common = frozenset(fold(entry.name) for entry in default_vocabulary())
        return read_query(text, today=today, places=self.names(), common_words=self._common)

    def stats(self) -> tuple[int, int, int]:
        """(photos with a position, of them located, of them with a named place)."""
        return self._store.places.stats()


def _record(place: Place) -> PlaceRecord:
    return PlaceRecord(
        place.city,
        place.district,
        place.region,
        place.country,
        place.country_code,
        place.distance_km,
    )
