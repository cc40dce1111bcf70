"""Places of photos: which photos wait for one, keeping them, counting and filtering, and the
months-of-any-year filter on photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from photosense.store.places import Located, PlaceRecord
from photosense.store.repository import Store
from tests.store.conftest import add_photos

LISBON = PlaceRecord("Alfama", "Lisbon", "Lisbon", "Portugal", "PT", 0.1)
PORTO = PlaceRecord("Porto", None, "Porto", "Portugal", "PT", 1.0)


def _position(store: Store, photo_id: int, lat: float | None, lon: float | None) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE photos SET latitude = :lat, longitude = :lon WHERE id = :id"),
            {"lat": lat, "lon": lon, "id": photo_id},
        )


def test_pending_until_located_then_again_when_moved_or_new_data(store: Store) -> None:
    a, b, c = add_photos(store, "/p", ["a.jpg", "b.jpg", "c.jpg"])
    _position(store, a, 38.71, -9.13)
    _position(store, b, 41.15, -8.61)
    assert store.places.pending("data 1") == [(a, 38.71, -9.13), (b, 41.15, -8.61)]
    store.places.record(
        [Located(a, 38.71, -9.13, LISBON), Located(b, 41.15, -8.61, None)], "data 1"
    )
    assert store.places.pending("data 1") == []  # b: no town near, not asked again
    assert store.places.of_photos([a, b, c]) == {
        a: LISBON,
        b: PlaceRecord(None, None, None, None, None),
    }
    _position(store, b, 41.16, -8.62)  # the file changed
    assert store.places.pending("data 1") == [(b, 41.16, -8.62)]
    assert [p[0] for p in store.places.pending("data 2")] == [a, b]
    assert store.places.stats() == (2, 2, 1)


def test_a_photo_that_lost_its_position_is_found_and_forgotten(store: Store) -> None:
    [a] = add_photos(store, "/p", ["a.jpg"])
    _position(store, a, 38.71, -9.13)
    store.places.record([Located(a, 38.71, -9.13, LISBON)], "d")
    _position(store, a, None, None)
    assert store.places.unpositioned() == [a]
    store.places.forget([a])
    assert store.places.of_photos([a]) == {}


def test_photos_removed_meanwhile_are_left_out(store: Store) -> None:
    [a] = add_photos(store, "/p", ["a.jpg"])
    store.places.record([Located(a, 1.0, 1.0, LISBON), Located(999, 1.0, 1.0, PORTO)], "d")
    assert set(store.places.of_photos([a, 999])) == {a}


def test_counts_and_photos_at_places(store: Store) -> None:
    a, b, c = add_photos(store, "/p", ["a.jpg", "b.jpg", "c.jpg"])
    store.places.record(
        [Located(a, 1, 1, LISBON), Located(b, 1, 1, LISBON), Located(c, 2, 2, PORTO)], "d"
    )
    counts = {(entry.place.city, entry.count) for entry in store.places.counts()}
    assert counts == {("Alfama", 2), ("Porto", 1)}
    assert store.places.photo_ids_at([PORTO]) == {c}  # a None district matches None only
    assert store.places.photo_ids_at([LISBON, PORTO]) == {a, b, c}
    assert store.places.photo_ids_at([]) == set()


def test_photos_deleted_take_their_place_with_them(store: Store) -> None:
    [a] = add_photos(store, "/p", ["a.jpg"])
    store.places.record([Located(a, 1, 1, LISBON)], "d")
    store.folders.remove("/p")
    assert store.places.counts() == []


def test_ids_in_months_of_any_year(store: Store) -> None:
    days = [
        datetime(2020, 6, 1),
        datetime(2021, 6, 30),
        datetime(2021, 7, 1),
        datetime(2022, 12, 31),
    ]
    june1, june2, july, december = add_photos(store, "/p", ["1", "2", "3", "4"], taken=days)
    assert store.photos.ids(months=[6]) == [june2, june1]
    assert store.photos.ids(months=[12, 7]) == [december, july]
    assert store.photos.ids(months=[6], after=datetime(2021, 1, 1)) == [june2]
