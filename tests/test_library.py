"""Indexing and search through the Library API, with the deterministic colour encoder."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Generator
from datetime import datetime
from pathlib import Path

import pytest

from photosense import embedding, indexing
from photosense.errors import ModelError, NothingIndexedError, NotIndexedError, PhotosenseError
from photosense.indexing import IndexReport
from photosense.library import Library
from photosense.library import runtime as runtime_module
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, Progress, run_to_end
from photosense.store.repository import Store
from photosense.vectors import cache as vector_cache
from tests.conftest import save_photo


def index(library: Library, *paths: Path, cancel: CancelToken | None = None) -> IndexReport:
    report: IndexReport = run_to_end(library.folders.index(list(paths), cancel))
    return report


def top(library: Library, text: str, **filters: object) -> list[str]:
    return [Path(h.photo.path).name for h in library.search.text(text, **filters).hits]  # type: ignore[arg-type]


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every full decode the pipeline does."""
    calls: list[Path] = []
    real = embedding.decode_photo

    def counting(path: Path, min_side: int = 224) -> object:
        calls.append(path)
        return real(path, min_side=min_side)

    monkeypatch.setattr(embedding, "decode_photo", counting)
    return calls


def test_index_then_search_finds_the_matching_photo_first(
    fake_library: Library, photo_dir: Path
) -> None:
    report = index(fake_library, photo_dir)

    assert report.indexed == 4
    assert report.unchanged == 0
    assert [Path(s.path).name for s in report.skipped] == ["broken.jpg"]
    assert (
        "not recognised" in report.skipped[0].reason or "not an image" in report.skipped[0].reason
    )
    assert top(fake_library, "a red thing")[0] == "red.jpg"
    assert top(fake_library, "something blue")[0] == "blue.jpg"
    assert top(fake_library, "yellow")[0] == "Crème brûlée – 東京.jpg"


def test_hidden_files_and_non_images_are_ignored(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    paths = {Path(h.photo.path).name for h in fake_library.search.text("red", limit=50).hits}
    assert "secret.jpg" not in paths
    assert "notes.txt" not in paths
    assert len(paths) == 4


def test_rescan_of_unchanged_folder_decodes_nothing(
    fake_library: Library, photo_dir: Path, decode_calls: list[Path]
) -> None:
    index(fake_library, photo_dir)
    decode_calls.clear()

    report = index(fake_library)  # no paths: rescan the known folders

    assert decode_calls == []
    assert (report.indexed, report.unchanged, report.removed) == (0, 4, 0)
    assert len(report.skipped) == 1  # still reported, not retried


def test_renamed_file_keeps_its_row_and_vector(
    fake_library: Library, photo_dir: Path, decode_calls: list[Path]
) -> None:
    index(fake_library, photo_dir)
    before = fake_library.store.photos.by_path(str(photo_dir / "red.jpg"))
    assert before is not None
    decode_calls.clear()

    (photo_dir / "albums").mkdir()
    (photo_dir / "red.jpg").rename(photo_dir / "albums" / "scarlet.jpg")
    report = index(fake_library, photo_dir)

    assert (report.moved, report.indexed, report.removed) == (1, 0, 0)
    assert decode_calls == []
    after = fake_library.store.photos.by_path(str(photo_dir / "albums" / "scarlet.jpg"))
    assert after is not None and after.id == before.id
    assert top(fake_library, "red")[0] == "scarlet.jpg"


def test_deleted_file_disappears_from_results(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    (photo_dir / "green.jpg").unlink()

    report = index(fake_library, photo_dir)

    assert report.removed == 1
    assert "green.jpg" not in top(fake_library, "green", limit=10)
    assert fake_library.status().photos == 3


def test_changed_file_is_encoded_again(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    save_photo(photo_dir / "red.jpg", "green", size=(120, 80))

    report = index(fake_library, photo_dir)

    assert report.indexed == 1
    assert top(fake_library, "red")[0] != "red.jpg"
    assert set(top(fake_library, "green", limit=2)) == {"red.jpg", "green.jpg"}


def test_copy_reuses_the_vector_without_decoding(
    fake_library: Library, photo_dir: Path, decode_calls: list[Path]
) -> None:
    index(fake_library, photo_dir)
    decode_calls.clear()
    shutil.copy2(photo_dir / "trips" / "blue.jpg", photo_dir / "blue copy.jpg")

    report = index(fake_library, photo_dir)

    assert (report.indexed, report.moved) == (1, 0)
    assert decode_calls == []
    assert set(top(fake_library, "blue", limit=2)) == {"blue.jpg", "blue copy.jpg"}


def test_missing_folder_is_kept_offline_not_purged(
    fake_library: Library, photo_dir: Path, tmp_path: Path
) -> None:
    index(fake_library, photo_dir)
    photo_dir.rename(tmp_path / "unplugged")

    report = index(fake_library)

    assert report.offline == [str(photo_dir)]
    assert report.removed == 0
    status = fake_library.status()
    assert status.photos == 4
    assert [f.online for f in status.folders] == [False]
    assert top(fake_library, "red")[0] == "red.jpg"  # still searchable

    (tmp_path / "unplugged").rename(photo_dir)
    index(fake_library)
    assert [f.online for f in fake_library.status().folders] == [True]


def test_skipped_file_is_retried_once_fixed(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    save_photo(photo_dir / "broken.jpg", "yellow")

    report = index(fake_library, photo_dir)

    assert report.indexed == 1
    assert report.skipped == []
    assert fake_library.status().skipped == 0


def test_cancel_keeps_committed_work_and_next_run_finishes(
    tmp_path: Path, fake_library: Library
) -> None:
    folder = tmp_path / "many"
    for i in range(40):
        save_photo(folder / f"p{i:02}.jpg", (i * 6, 100, 200 - i * 4))
    cancel = CancelToken()
    job = fake_library.folders.index([folder], cancel, batch_size=4, workers=2)
    done_before_cancel = 0
    try:
        while True:
            progress = next(job)
            if progress.done >= 8:
                done_before_cancel = progress.done
                cancel.cancel()
    except StopIteration as stop:
        first: IndexReport = stop.value

    assert first.cancelled
    assert 8 <= fake_library.status().photos < 40
    assert done_before_cancel >= 8

    second = index(fake_library, folder)
    assert not second.cancelled
    assert fake_library.status().photos == 40
    assert second.indexed == 40 - first.indexed


def test_search_filters_by_folder_and_date(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)

    in_trips = top(fake_library, "red", folder=photo_dir / "trips")
    assert set(in_trips) == {"blue.jpg", "Crème brûlée – 東京.jpg"}
    recent = top(fake_library, "red", after=datetime(2022, 1, 1))
    assert "red.jpg" not in recent and len(recent) == 3
    old = top(fake_library, "red", before=datetime(2022, 1, 1))
    assert old == ["red.jpg"]
    window = top(fake_library, "red", after=datetime(2022, 1, 1), before=datetime(2024, 1, 1))
    assert set(window) == {"green.jpg", "blue.jpg"}


def test_sort_by_date_limit_and_min_score(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)

    # Newest first among the good matches (red), then newest first among the more results.
    by_date = top(fake_library, "red", sort="date")
    assert by_date == ["red.jpg", "Crème brûlée – 東京.jpg", "blue.jpg", "green.jpg"]
    assert len(top(fake_library, "red", limit=2)) == 2
    hits = fake_library.search.text("red", min_score=0.9).hits
    assert [Path(h.photo.path).name for h in hits] == ["red.jpg"]
    assert all(h.score >= 0.9 for h in hits)


def test_similar_returns_neighbours_without_the_photo_itself(
    fake_library: Library, photo_dir: Path
) -> None:
    save_photo(photo_dir / "darker red.jpg", (180, 20, 20))
    index(fake_library, photo_dir)

    results = fake_library.search.similar(photo_dir / "red.jpg", limit=3)

    names = [Path(h.photo.path).name for h in results.hits]
    assert names[0] == "darker red.jpg"
    assert "red.jpg" not in names


def test_similar_of_unknown_photo_is_a_clear_error(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    with pytest.raises(NotIndexedError, match="not in the library"):
        fake_library.search.similar(photo_dir / "nope.jpg")


def test_search_before_indexing_says_what_to_do(fake_library: Library) -> None:
    with pytest.raises(NothingIndexedError) as raised:
        fake_library.search.text("red")
    assert raised.value.model_id == fake_library.models.current().model_id


def test_index_of_missing_folder_is_an_error(fake_library: Library, tmp_path: Path) -> None:
    with pytest.raises(PhotosenseError, match="folder not found"):
        index(fake_library, tmp_path / "does-not-exist")


@pytest.mark.parametrize("damage", ["delete", "garbage", "stale"])
def test_index_file_is_rebuilt_from_the_store(
    fake_library: Library, photo_dir: Path, damage: str
) -> None:
    index(fake_library, photo_dir)
    expected = top(fake_library, "blue")
    files = [p for p in (fake_library.path / "index").iterdir() if p.is_file()]
    assert files
    for path in files:
        if damage == "delete":
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"\x00garbage" * 10)
    if damage == "stale":
        model_id = fake_library.models.current().model_id
        with fake_library.store.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE models SET generation = generation + 5 WHERE id = ?", (model_id,)
            )

    encoder = fake_library.models.current()
    reopened = Library(fake_library.store, fake_library.path, lambda _spec: encoder)
    assert reopened.runtime.indexes.state(reopened.models.current().model_id) != "current"
    assert top(reopened, "blue") == expected
    # A stale file is caught up in memory; the file follows with the next save (the end of an
    # indexing run): writing a large graph takes seconds, which a search must not wait for.
    reopened.runtime.indexes.save_all()
    assert reopened.runtime.indexes.state(reopened.models.current().model_id) == "current"


def test_status_reports_counts_models_and_index(fake_library: Library, photo_dir: Path) -> None:
    index(fake_library, photo_dir)
    status = fake_library.status()
    assert (status.photos, status.skipped) == (4, 1)
    assert status.folders[0].path == str(photo_dir)
    assert status.folders[0].photos == 4
    [model] = status.models
    assert model.active and model.vectors == 4 and model.index == "current"


def test_exif_date_and_file_date(fake_library: Library, photo_dir: Path) -> None:
    from PIL import Image

    Image.new("RGB", (50, 50), (10, 10, 10)).save(photo_dir / "plain.png")
    index(fake_library, photo_dir)
    red = fake_library.store.photos.by_path(str(photo_dir / "red.jpg"))
    plain = fake_library.store.photos.by_path(str(photo_dir / "plain.png"))
    assert red is not None and red.taken_at == datetime(2021, 6, 1, 12, 0) and red.taken_at_exif
    assert plain is not None and not plain.taken_at_exif
    assert abs(plain.taken_at.timestamp() - (photo_dir / "plain.png").stat().st_mtime) < 2


def test_unlistable_subfolder_keeps_its_photos(
    fake_library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from photosense.media.scan import ScanProblem

    index(fake_library, photo_dir)
    real_scan = indexing.scan_files
    trips = photo_dir / "trips"

    def scan_without_trips(root: Path, cancel: CancelToken | None = None) -> object:
        for entry in real_scan(root, cancel):
            if trips not in Path(entry.path).parents:
                yield entry
        yield ScanProblem(trips, "permission", "permission denied: cannot list this folder")

    monkeypatch.setattr(indexing, "scan_files", scan_without_trips)
    report = index(fake_library, photo_dir)

    assert report.removed == 0
    assert fake_library.status().photos == 4
    assert any(s.path == str(trips) for s in report.skipped)


def test_removing_a_folder_updates_the_search_index_in_place(
    fake_library: Library, photo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "Other"
    save_photo(other / "crimson.jpg", (200, 10, 10))
    save_photo(other / "navy.jpg", (10, 10, 120))
    run_to_end(fake_library.folders.index([photo_dir, other]))
    assert any(h.photo.path.endswith("crimson.jpg") for h in fake_library.search.text("red").hits)
    builds: list[str] = []
    build_index = vector_cache.build_index
    monkeypatch.setattr(
        vector_cache, "build_index", lambda *a, **k: builds.append(a[0]) or build_index(*a, **k)
    )

    assert fake_library.folders.remove(other) == 2

    paths = [h.photo.path for h in fake_library.search.text("red", limit=50).hits]
    assert paths and not any(p.startswith(str(other)) for p in paths)
    assert builds == []  # no rebuild of the whole index
    model_id = fake_library.models.current().model_id
    assert fake_library.runtime.indexes.state(model_id) == "current"  # saved as it is now
    again = Library(
        fake_library.store, fake_library.path, lambda _spec: fake_library.models.current()
    )
    assert [h.photo.path for h in again.search.text("red", limit=50).hits] == paths
    assert builds == []  # and loaded from its file next time
    assert fake_library.folders.remove(other) == 0  # already gone


def test_an_unchanged_rescan_neither_loads_nor_writes_the_search_index(
    fake_library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index(fake_library, photo_dir)
    loads: list[str] = []
    saves: list[str] = []
    load_index, save_index = vector_cache.load_index, vector_cache.save_index
    monkeypatch.setattr(
        vector_cache, "load_index", lambda *a, **k: loads.append(a[1]) or load_index(*a, **k)
    )
    monkeypatch.setattr(
        vector_cache, "save_index", lambda *a, **k: saves.append(a[0].model_id) or save_index(*a)
    )
    reopened = Library(fake_library.store, fake_library.path, lambda _spec: FakeEncoder())

    assert index(reopened).unchanged == 4
    assert (loads, saves) == ([], [])  # nothing to embed: the index stays on disk

    assert reopened.search.text("red").hits  # loaded for the search
    assert len(loads) == 1
    assert index(reopened).unchanged == 4
    assert saves == []  # loaded, unchanged: not written again

    save_photo(photo_dir / "navy.jpg", (10, 10, 120))
    report = index(reopened)
    assert report.indexed == 1
    assert saves == [FakeEncoder().model_id]  # changed: written
    assert any(h.photo.path.endswith("navy.jpg") for h in reopened.search.text("blue").hits)
    again = Library(fake_library.store, fake_library.path, lambda _spec: FakeEncoder())
    assert any(h.photo.path.endswith("navy.jpg") for h in again.search.text("blue").hits)
    assert len(loads) == 2 and saves == [FakeEncoder().model_id]  # the file was current
    reopened.close()
    again.close()


def test_set_device_moves_the_model_without_reopening(
    tmp_path: Path, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []

    def factory_for(device: str) -> Callable[[str], FakeEncoder]:
        def load(_spec: str) -> FakeEncoder:
            loads.append(device)
            return FakeEncoder()

        return load

    directory = tmp_path / "library"
    library = Library(
        Store.open(directory), directory, factory_for("cpu"), factory_for_device=factory_for
    )
    with library:
        run_to_end(library.folders.index([photo_dir]))
        before = [h.photo.path for h in library.search.text("red").hits]
        assert loads == ["cpu"]

        with pytest.raises(ModelError):
            library.models.set_device("tpu")  # not a device: refused, nothing changes
        assert library.search.text("red").hits and loads == ["cpu"]

        monkeypatch.setattr(runtime_module, "select_device", lambda device: device)
        library.models.set_device("cuda")
        assert loads == ["cpu"]  # nothing loads until a model is needed
        assert [h.photo.path for h in library.search.text("red").hits] == before
        assert loads == ["cpu", "cuda"]

    fixed = Library(Store.open(directory), directory, factory_for("cpu"))
    with fixed, pytest.raises(ModelError):
        fixed.models.set_device("cpu")  # a ready-made loader cannot move


class _LazyEncoder(FakeEncoder):
    """A fake that, like the starter, finishes loading on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    def load(self) -> None:
        self.loads += 1


def messages_of(job: Generator[Progress, None, object]) -> list[str]:
    return [progress.message for progress in job]


def test_a_lazy_model_loads_before_the_first_batch_under_its_own_name(
    tmp_path: Path, photo_dir: Path
) -> None:
    encoder = _LazyEncoder()
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: encoder) as library:
        messages = messages_of(library.folders.index([photo_dir]))
        first_batch = messages.index("indexing")
        assert messages.index("preparing the model") < first_batch
        assert encoder.loads == 1  # once per run, not per folder or batch

        messages = messages_of(library.folders.index())
        assert "preparing the model" not in messages  # nothing to encode: nothing to load
        assert encoder.loads == 1


def test_indexing_a_folder_inside_an_indexed_one_rescans_it(
    fake_library: Library, photo_dir: Path
) -> None:
    run_to_end(fake_library.folders.index([photo_dir]))
    before = fake_library.status().photos
    report = run_to_end(fake_library.folders.index([photo_dir / "trips"]))
    assert report.indexed == 0 and report.removed == 0
    assert fake_library.status().photos == before
    assert [f.path for f in fake_library.folders.list()] == [str(photo_dir)]


def test_text_searches_ask_the_index_for_a_text_query_and_similar_does_not(
    fake_library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index(fake_library, photo_dir)
    asked: list[bool] = []
    vector_index = fake_library.runtime.index()
    real = vector_index.search

    def spy(*args: object, text: bool = False, **kwargs: object) -> object:
        asked.append(text)
        return real(*args, text=text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(vector_index, "search", spy)
    hits = fake_library.search.text("blue").hits
    fake_library.search.similar(hits[0].photo.path)
    assert asked == [True, False]


def test_closing_the_library_stops_a_background_index_rebuild(
    fake_library: Library, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index(fake_library, photo_dir)
    stopped: list[bool] = []
    monkeypatch.setattr(fake_library.runtime.indexes, "close", lambda: stopped.append(True))
    fake_library.close()
    assert stopped == [True]
