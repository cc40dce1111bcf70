"""Photos and skipped files: what commit_batch writes, and the queries over them."""

from __future__ import annotations

from datetime import datetime

from photosense.store.records import Batch, Move, SkippedRecord
from photosense.store.repository import Store
from tests.store.conftest import MODEL, add_photos, fields, vector


def test_committed_photos_read_back_by_id_path_and_state(store: Store) -> None:
    [dated, undated] = add_photos(
        store, "/photos", ["dated.jpg", "undated.jpg"], taken=[datetime(2020, 5, 1), None]
    )
    records = store.photos.get([dated, undated, 999])
    assert set(records) == {dated, undated}
    assert records[dated].taken_at == datetime(2020, 5, 1) and records[dated].taken_at_exif
    # No date in the file: the photo is dated by its modification time.
    assert records[undated].taken_at == datetime.fromtimestamp(1_700_000_000)
    assert not records[undated].taken_at_exif
    assert store.photos.by_path("/photos/undated.jpg") == records[undated]
    assert store.photos.by_path("/photos/nowhere.jpg") is None
    folder = store.folders.all()[0]
    states = store.photos.states(folder.id)
    assert states["/photos/dated.jpg"].id == dated
    assert states["/photos/dated.jpg"].content_hash == "h:/photos/dated.jpg"


def test_ids_filter_by_folder_dates_and_album_newest_first(store: Store) -> None:
    days = [datetime(2024, 1, d) for d in (1, 2, 3)]
    a1, a2, a3 = add_photos(store, "/photos/a", ["1.jpg", "2.jpg", "3.jpg"], taken=days)
    [b1] = add_photos(store, "/photos/ab", ["1.jpg"], taken=[datetime(2024, 1, 5)])
    assert store.photos.ids() == [b1, a3, a2, a1]
    assert store.photos.ids(folder="/photos/a") == [a3, a2, a1]  # not /photos/ab
    assert store.photos.ids(folder="/photos/a/") == [a3, a2, a1]
    assert store.photos.ids(after=days[1], before=datetime(2024, 1, 5)) == [a3, a2]
    album = store.albums.create("Trip")
    store.albums.add_photos(album.id, [a1, b1])
    assert store.photos.ids(album_id=album.id) == [b1, a1]
    assert store.photos.ids(folder="/photos/a", album_id=album.id) == [a1]


def test_ids_for_paths_knows_only_library_paths(store: Store) -> None:
    [a] = add_photos(store, "/photos", ["a.jpg"])
    found = store.photos.ids_for_paths(["/photos/a.jpg", "/photos/b.jpg", "/photos/a.jpg"])
    assert found == {"/photos/a.jpg": a}


def test_moves_keep_the_id_and_vector_touches_and_removals_apply(store: Store) -> None:
    a, b, c = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg"])
    folder = store.folders.all()[0]
    batch = Batch(folder.id)
    batch.moves = [Move(a, "/photos/renamed.jpg", folder.id, 100, 5)]
    batch.touched = [(b, 222, 7)]
    batch.removed = [c]
    store.vectors.commit_batch(MODEL, batch)
    moved = store.photos.by_path("/photos/renamed.jpg")
    assert moved is not None and moved.id == a
    assert store.photos.by_path("/photos/a.jpg") is None
    touched = store.photos.get([b])[b]
    assert (touched.size, touched.mtime_ns) == (222, 7)
    ids, _ = store.vectors.load(MODEL)
    assert sorted(ids.tolist()) == sorted([a, b])
    assert store.photos.counts() == (2, 0)


def test_skipped_files_are_recorded_replaced_and_forgotten(store: Store) -> None:
    folder = store.folders.add("/photos")
    other = store.folders.add("/other")
    for target, path, reason in (
        (folder.id, "/photos/bad.jpg", "damaged"),
        (folder.id, "/photos/bad.jpg", "still damaged"),
        (other.id, "/other/empty.jpg", "empty"),
    ):
        batch = Batch(target)
        batch.skipped = [SkippedRecord(path, "unreadable", reason, 10, 20)]
        store.vectors.ensure_model(MODEL, 4)
        store.vectors.commit_batch(MODEL, batch)
    assert store.photos.counts() == (0, 2)
    assert store.photos.skipped_states(folder.id) == {
        "/photos/bad.jpg": SkippedRecord("/photos/bad.jpg", "unreadable", "still damaged", 10, 20)
    }
    assert [s.path for s in store.photos.skipped()] == ["/other/empty.jpg", "/photos/bad.jpg"]
    assert [s.path for s in store.photos.skipped([other.id])] == ["/other/empty.jpg"]
    store.photos.forget_skipped(["/photos/bad.jpg"])
    assert store.photos.skipped_states(folder.id) == {}
    assert store.photos.counts() == (0, 1)


def test_a_changed_photo_takes_its_new_fields(store: Store) -> None:
    [a] = add_photos(store, "/photos", ["a.jpg"])
    folder = store.folders.all()[0]
    batch = Batch(folder.id)
    changed = fields("/photos/a.jpg", size=555, taken=datetime(2019, 3, 3))
    batch.changed = [(a, changed, vector(9))]
    store.vectors.commit_batch(MODEL, batch)
    record = store.photos.get([a])[a]
    assert (record.size, record.taken_at) == (555, datetime(2019, 3, 3))
