"""Captions: the user's own are never replaced by anything automatic."""

from __future__ import annotations

from photosense.enums import CaptionSource
from photosense.store.repository import Store
from tests.store.conftest import add_photos


def test_set_get_and_remove(store: Store) -> None:
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    store.captions.set(a, "first", CaptionSource.CSV)
    info = store.captions.set(a, "mine", CaptionSource.USER)
    assert (info.text, info.source) == ("mine", CaptionSource.USER)
    store.captions.set(b, "other", CaptionSource.FILE)
    assert {k: v.text for k, v in store.captions.get([a, b, 999]).items()} == {
        a: "mine",
        b: "other",
    }
    assert set(store.captions.get()) == {a, b}
    assert store.captions.get([a])[a].source is CaptionSource.USER
    assert store.captions.remove(a) is True
    assert store.captions.remove(a) is False
    assert set(store.captions.get()) == {b}


def test_captions_of_an_album(store: Store) -> None:
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    store.captions.set(a, "in the album", CaptionSource.USER)
    store.captions.set(b, "not in it", CaptionSource.USER)
    album = store.albums.create("Trip")
    store.albums.add_photos(album.id, [a])
    assert {k: v.text for k, v in store.captions.get(album_id=album.id).items()} == {
        a: "in the album"
    }
    assert store.captions.get([b], album_id=album.id) == {}


def test_an_import_keeps_user_captions_unless_told_to_overwrite(store: Store) -> None:
    a, b, c = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg"])
    store.captions.set(a, "mine", CaptionSource.USER)
    store.captions.set(b, "from a file", CaptionSource.FILE)
    found = {a: "csv a", b: "csv b", c: "csv c"}
    assert store.captions.import_many(found, source=CaptionSource.CSV) == (1, 1, 1)
    texts = {k: (v.text, v.source) for k, v in store.captions.get().items()}
    assert texts[a] == ("mine", CaptionSource.USER)
    assert texts[b] == ("csv b", CaptionSource.CSV)
    assert store.captions.import_many(found, source=CaptionSource.CSV) == (0, 0, 1)
    assert store.captions.import_many(found, source=CaptionSource.CSV, overwrite=True) == (
        0,
        1,
        0,
    )
    assert store.captions.get([a])[a].text == "csv a"


def test_captions_from_files_follow_the_files_only(store: Store) -> None:
    a, b, c, d = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
    store.captions.set(a, "mine", CaptionSource.USER)
    store.captions.set(b, "from csv", CaptionSource.CSV)
    store.captions.set(c, "old sidecar", CaptionSource.SIDECAR)
    found = {
        a: ("file a", CaptionSource.FILE),
        b: ("file b", CaptionSource.FILE),
        c: None,  # the sidecar went away
        d: ("file d", CaptionSource.FILE),
    }
    marks = {a: "fa", b: "fb", c: "fc", d: "fd", 999: "gone"}
    assert store.captions.record_from_files(found, marks) == 2
    texts = {k: v.text for k, v in store.captions.get().items()}
    assert texts == {a: "mine", b: "from csv", d: "file d"}
    states = {row[0]: row[4] for row in store.captions.read_states()}
    assert states == {a: "fa", b: "fb", c: "fc", d: "fd"}
    # Read again with nothing new: nothing changes; a changed file caption is replaced.
    assert store.captions.record_from_files(found, marks) == 0
    found[d] = ("file d, edited", CaptionSource.FILE)
    assert store.captions.record_from_files(found, {d: "fd2"}) == 1
    assert store.captions.get([d])[d].text == "file d, edited"


def test_read_states_cover_online_folders_only(store: Store) -> None:
    [a] = add_photos(store, "/photos", ["a.jpg"])
    [b] = add_photos(store, "/offline", ["b.jpg"])
    offline = next(f for f in store.folders.all() if f.path == "/offline")
    store.folders.mark(offline.id, online=False)
    states = store.captions.read_states()
    assert [(row[0], row[1], row[4]) for row in states] == [(a, "/photos/a.jpg", None)]
    assert b not in {row[0] for row in states}
