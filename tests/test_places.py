"""Places through the library: photos located when indexed (and photos indexed before, on the
next run, with no new vectors), listed, filtered, and read from search queries."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from sqlalchemy import text

from photosense.enums import ReadingKind
from photosense.errors import PlacesUnavailableError
from photosense.library import Library, country_filter, filter_label, place_label
from photosense.library import places as places_module
from photosense.places.geocode import Geocoder
from photosense.progress import run_to_end
from tests.conftest import COLOURS


def dms(value: float) -> tuple[IFDRational, ...]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 100))


def save_geo_photo(
    path: Path, colour: str, taken: datetime, position: tuple[float, float] | None
) -> Path:
    """A one-colour JPEG with an EXIF date and, optionally, a GPS position."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if position is not None:
        lat, lon = position
        gps = exif.get_ifd(0x8825)
        gps.update({1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W"})
        gps[4] = dms(lon)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), COLOURS[colour]).save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.fixture
def trips(tmp_path: Path) -> Path:
    root = tmp_path / "Trips"
    save_geo_photo(root / "lisbon-red.jpg", "red", datetime(2023, 6, 10), (38.7115, -9.1286))
    save_geo_photo(root / "lisbon-blue.jpg", "blue", datetime(2024, 1, 5), (38.7120, -9.1280))
    save_geo_photo(root / "paris-red.jpg", "red", datetime(2023, 6, 12), (48.8606, 2.3376))
    save_geo_photo(root / "atlanta.jpg", "green", datetime(2022, 3, 1), (33.749, -84.388))
    save_geo_photo(root / "sea.jpg", "blue", datetime(2022, 8, 1), (0.5, -30.0))
    save_geo_photo(root / "no-fix.jpg", "yellow", datetime(2021, 2, 2), (0.0, 0.0))
    save_geo_photo(root / "home.jpg", "red", datetime(2021, 6, 3), None)
    return root


def index(library: Library, *paths: Path) -> None:
    run_to_end(library.folders.index(list(paths)))


def names(library: Library, ids: object) -> list[str]:
    records = library.photos.get(list(ids))  # type: ignore[call-overload]
    return sorted(Path(r.path).name for r in records.values())


def test_indexing_gives_photos_their_places(fake_library: Library, trips: Path) -> None:
    index(fake_library, trips)
    by_name = {
        Path(p.path).name: p for p in fake_library.photos.get(fake_library.photos.ids()).values()
    }
    lisbon = fake_library.places.of_photo(by_name["lisbon-red.jpg"].id)
    assert lisbon is not None and place_label(lisbon) == "Alfama, Lisbon, Portugal"
    sea = fake_library.places.of_photo(by_name["sea.jpg"].id)
    assert sea is not None and sea.country is None  # located: no town within reach
    assert fake_library.places.of_photo(by_name["home.jpg"].id) is None  # no position
    assert fake_library.places.of_photo(by_name["no-fix.jpg"].id) is None  # (0, 0): no fix
    assert fake_library.places.stats() == (5, 5, 4)
    assert fake_library.places.countries() == [
        ("Portugal", 2),
        ("France", 1),
        ("United States", 1),
    ]
    listed = [(e.place.country, e.place.city, e.count) for e in fake_library.places.list()]
    assert listed[0] == ("France", "Paris", 1)


def test_place_filters(fake_library: Library, trips: Path) -> None:
    index(fake_library, trips)
    ids = fake_library.photos.ids
    assert names(fake_library, ids(place="Lisbon")) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(fake_library, ids(place="portugal")) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(fake_library, ids(place="PT")) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert names(fake_library, ids(place="Georgia")) == ["atlanta.jpg"]  # the US state
    assert ids(place=country_filter("Georgia")) == []  # the country: no photo there
    assert names(fake_library, ids(place="Alfama, Lisbon, Portugal")) == [
        "lisbon-blue.jpg",
        "lisbon-red.jpg",
    ]
    assert ids(place="Alfama, France") == []
    assert ids(place="Atlantis") == []
    assert filter_label(country_filter("Georgia")) == "Georgia"


def test_search_reads_places_and_dates(fake_library: Library, trips: Path) -> None:
    index(fake_library, trips)
    results = fake_library.search.text("red in Lisbon")
    assert results.reading is not None and results.reading.query == "red"
    assert [p.kind for p in results.reading.parts] == [ReadingKind.PLACE]
    assert names(fake_library, [h.photo.id for h in results.hits]) == [
        "lisbon-blue.jpg",
        "lisbon-red.jpg",
    ]
    assert Path(results.hits[0].photo.path).name == "lisbon-red.jpg"  # red first
    june = fake_library.search.text("red in June")
    assert names(fake_library, [h.photo.id for h in june.hits]) == [
        "home.jpg",
        "lisbon-red.jpg",
        "paris-red.jpg",
    ]
    literal = fake_library.search.text("red in Lisbon", literal=True)
    assert literal.reading is not None and not literal.reading.read
    assert len(literal.hits) == 7


def test_a_query_of_filters_only_lists_photos_newest_first(
    fake_library: Library, trips: Path
) -> None:
    index(fake_library, trips)
    encoder = fake_library.runtime.encoder
    texts = encoder.texts_encoded  # type: ignore[attr-defined]
    results = fake_library.search.text("photos from 2023 in Paris")
    assert not results.scored and results.good is None
    assert [Path(h.photo.path).name for h in results.hits] == ["paris-red.jpg"]
    assert encoder.texts_encoded == texts  # type: ignore[attr-defined]
    all_2023 = fake_library.search.text("2023", place="Portugal")
    assert [Path(h.photo.path).name for h in all_2023.hits] == ["lisbon-red.jpg"]


def test_explicit_filters_and_read_ones_narrow_each_other(
    fake_library: Library, trips: Path
) -> None:
    index(fake_library, trips)
    results = fake_library.search.text("red 2023", after=datetime(2023, 6, 11))
    assert [Path(h.photo.path).name for h in results.hits] == ["paris-red.jpg"]
    assert fake_library.search.text("red in Paris", place="Lisbon").hits == []


def test_photos_indexed_before_get_places_on_the_next_run_without_new_vectors(
    fake_library: Library, trips: Path
) -> None:
    index(fake_library, trips)
    with fake_library.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM photo_places"))  # as a library made before places
    assert fake_library.places.pending() == 5
    encoder = fake_library.runtime.encoder
    before = encoder.images_encoded  # type: ignore[attr-defined]
    index(fake_library)
    assert fake_library.places.pending() == 0
    assert encoder.images_encoded == before  # type: ignore[attr-defined]
    assert [c for c, _ in fake_library.places.countries()][0] == "Portugal"


def test_missing_place_data_loses_nothing(
    fake_library: Library, trips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = Geocoder(tmp_path / "no-data")
    monkeypatch.setattr(fake_library.places, "_geocoder", broken)
    index(fake_library, trips)  # indexing goes on; the photos keep their positions
    assert len(fake_library.photos.ids()) == 7
    assert fake_library.places.pending() == 5
    with pytest.raises(PlacesUnavailableError):
        run_to_end(fake_library.places.locate())
    monkeypatch.setattr(fake_library.places, "_geocoder", places_module.shared_geocoder())
    index(fake_library)
    assert fake_library.places.pending() == 0


def test_cancel_keeps_what_was_located(
    fake_library: Library, trips: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosense.progress import CancelToken

    monkeypatch.setattr(places_module, "LOCATE_BATCH", 2)
    monkeypatch.setattr(fake_library.places, "_geocoder", places_module.shared_geocoder())
    index(fake_library, trips)
    with fake_library.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM photo_places"))
    cancel = CancelToken()
    job = fake_library.places.locate(cancel)
    next(job)  # started
    next(job)  # one batch of two kept
    cancel.cancel()
    assert run_to_end(job) == 2
    assert fake_library.places.pending() == 3
