"""Albums: unique names ignoring case, album order, deleting keeps the photos."""

from __future__ import annotations

import pytest

from photosense.errors import AlbumNotFoundError, PhotosenseError
from photosense.store.repository import Store
from tests.store.conftest import add_photos


def test_names_are_unique_ignoring_case(store: Store) -> None:
    album = store.albums.create("Holiday", "summer 2024")
    with pytest.raises(PhotosenseError, match="'Holiday' already exists"):
        store.albums.create("HOLIDAY")
    other = store.albums.create("Garden")
    with pytest.raises(PhotosenseError, match="already exists"):
        store.albums.update(other.id, name="holiday")
    renamed = store.albums.update(album.id, name="HOLIDAY")  # its own name in another case
    assert (renamed.name, renamed.description) == ("HOLIDAY", "summer 2024")
    found = store.albums.named("holiday")
    assert found is not None and found.id == album.id
    assert store.albums.named("nowhere") is None


def test_albums_are_listed_by_name_ignoring_case_with_counts(store: Store) -> None:
    [photo] = add_photos(store, "/photos", ["a.jpg"])
    zoo = store.albums.create("zoo")
    store.albums.create("Beach")
    store.albums.create("apples")
    store.albums.add_photos(zoo.id, [photo])
    listed = store.albums.all()
    assert [(a.name, a.count) for a in listed] == [("apples", 0), ("Beach", 0), ("zoo", 1)]


def test_photos_keep_album_order_and_are_not_added_twice(store: Store) -> None:
    a, b, c = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg"])
    album = store.albums.create("Trip")
    assert store.albums.add_photos(album.id, [c, a, c]) == 2
    assert store.albums.add_photos(album.id, [a, b]) == 1  # a is in it already
    assert store.albums.photo_ids(album.id) == [c, a, b]
    assert store.albums.remove_photos(album.id, [a, a, 999]) == 1
    assert store.albums.photo_ids(album.id) == [c, b]
    assert store.albums.add_photos(album.id, [a]) == 1
    assert store.albums.photo_ids(album.id) == [c, b, a]  # back at the end


def test_of_photo_names_its_albums_by_name(store: Store) -> None:
    [photo] = add_photos(store, "/photos", ["a.jpg"])
    for name in ("zoo", "Beach", "apples"):
        store.albums.add_photos(store.albums.create(name).id, [photo])
    assert store.albums.of_photo(photo) == ["apples", "Beach", "zoo"]


def test_delete_keeps_the_photos(store: Store) -> None:
    ids = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    album = store.albums.create("Trip")
    store.albums.add_photos(album.id, ids)
    assert store.albums.delete(album.id) == 2
    assert store.albums.all() == []
    assert sorted(store.photos.get(ids)) == sorted(ids)
    assert store.albums.of_photo(ids[0]) == []


def test_a_missing_album_is_an_album_not_found_error(store: Store) -> None:
    for call in (
        lambda: store.albums.delete(42),
        lambda: store.albums.update(42, name="x"),
        lambda: store.albums.add_photos(42, [1]),
        lambda: store.albums.remove_photos(42, [1]),
    ):
        with pytest.raises(AlbumNotFoundError, match="album 42 does not exist"):
            call()
