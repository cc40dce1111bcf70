"""Folders: registering, merging folders inside a new one, forgetting, marking."""

from __future__ import annotations

from photosense.store.repository import Store
from tests.store.conftest import MODEL, add_photos


def test_add_is_idempotent_and_folders_are_listed_by_path(store: Store) -> None:
    second = store.folders.add("/photos/b")
    first = store.folders.add("/photos/a")
    again = store.folders.add("/photos/b")
    assert again.id == second.id
    assert [f.path for f in store.folders.all()] == ["/photos/a", "/photos/b"]
    assert first.online and first.last_scan_at is None


def test_adding_a_parent_merges_the_folders_inside_it(store: Store) -> None:
    [inner_photo] = add_photos(store, "/photos/trips", ["beach.jpg"])
    store.folders.add("/photos-old")  # a name that only starts the same is not inside
    parent = store.folders.add("/photos")
    assert [f.path for f in store.folders.all()] == ["/photos", "/photos-old"]
    assert store.photos.get([inner_photo])[inner_photo].folder_id == parent.id
    assert store.photos.counts_by_folder() == {parent.id: 1}


def test_remove_forgets_photos_and_outdates_every_model(store: Store) -> None:
    ids = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    store.vectors.ensure_model("other", 4)
    before = {m: store.vectors.generation(m) for m in (MODEL, "other")}
    removed = store.folders.remove("/photos")
    assert sorted(removed) == sorted(ids)
    assert store.photos.get(ids) == {}
    assert store.folders.all() == []
    assert all(store.vectors.generation(m) == before[m] + 1 for m in before)
    assert store.folders.remove("/photos") == []


def test_mark_records_offline_and_the_scan_time(store: Store) -> None:
    folder = store.folders.add("/photos")
    store.folders.mark(folder.id, online=False)
    [marked] = store.folders.all()
    assert not marked.online and marked.last_scan_at is None
    store.folders.mark(folder.id, online=True, scanned=True)
    [scanned] = store.folders.all()
    assert scanned.online and scanned.last_scan_at is not None


def test_a_folder_inside_a_registered_one_is_that_folder(store: Store) -> None:
    outer = store.folders.add("/photos")
    assert store.folders.add("/photos/2023/summer") == outer
    assert store.folders.add("/photos-other").id != outer.id  # a sibling, not inside
    assert [f.path for f in store.folders.all()] == ["/photos", "/photos-other"]
