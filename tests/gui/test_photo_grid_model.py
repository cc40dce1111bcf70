"""PhotoGridModel: a well-behaved Qt model that pages records in and loads thumbnails off-thread."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from photosense.gui.jobs import JobRunner
from photosense.gui.photo_grid_model import (
    PAGE_SIZE,
    GridRole,
    PhotoGridModel,
    PhotoRole,
    format_size,
    row_lookup,
)
from photosense.gui.thumbnail_loader import ThumbnailLoader
from photosense.media.thumbnails import ThumbnailCache
from photosense.store.records import PhotoRecord
from tests.conftest import save_photo
from tests.gui.conftest import WAIT_MS, assert_runner_idle


def record(photo_id: int, path: str, taken: datetime | None = None) -> PhotoRecord:
    return PhotoRecord(
        id=photo_id,
        path=path,
        folder_id=1,
        size=12_345,
        mtime_ns=1,
        content_hash=f"{photo_id:064x}",
        width=96,
        height=64,
        format="JPEG",
        taken_at=taken or datetime(2022, 1, photo_id % 28 + 1),
        taken_at_exif=True,
        camera_make=None,
        camera_model=None,
        latitude=None,
        longitude=None,
    )


class FakeRecords:
    """Stands in for ``library.photos``: records by id, counting calls."""

    def __init__(self, records: Sequence[PhotoRecord]) -> None:
        self.records = {r.id: r for r in records}
        self.calls: list[list[int]] = []

    def __call__(self, ids: Sequence[int]) -> dict[int, PhotoRecord]:
        self.calls.append(list(ids))
        return {i: self.records[i] for i in ids if i in self.records}


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    runner = JobRunner()
    yield runner
    runner.close()
    assert_runner_idle(runner)


def test_model_with_search_hits_passes_the_model_tester(
    qtmodeltester: ModelTester, runner: JobRunner
) -> None:
    records = [record(i, f"/photos/{i}.jpg") for i in range(1, 6)]
    model = PhotoGridModel(runner, FakeRecords([]))
    model.set_photos([r.id for r in records], [0.9, 0.8, 0.7, 0.6, 0.5], records)
    qtmodeltester.check(model)
    index = model.index(0)
    assert model.data(index, PhotoRole) == records[0]
    assert model.data(index, Qt.ItemDataRole.DisplayRole) == "1.jpg"
    assert model.data(index, GridRole.ScoreRole) == 0.9
    assert "score 0.900" in model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert isinstance(model.data(index, Qt.ItemDataRole.DecorationRole), QPixmap)


def test_good_matches_and_more_results_pass_the_model_tester(
    qtmodeltester: ModelTester, runner: JobRunner
) -> None:
    records = [record(i, f"/photos/{i}.jpg") for i in range(1, 5)]
    model = PhotoGridModel(runner, FakeRecords([]))
    model.set_photos([r.id for r in records], [0.9, 0.8, 0.3, 0.2], records, good=2)
    qtmodeltester.check(model)
    assert model.good_count == 2
    matches = [model.data(model.index(row), GridRole.MatchRole) for row in range(4)]
    assert matches == ["good", "good", "more", "more"]
    assert "a good match" in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(2), Qt.ItemDataRole.AccessibleTextRole) == "3.jpg, more results"

    model.set_photos([r.id for r in records], [0.9, 0.8, 0.3, 0.2], records)  # not judged
    assert model.good_count is None and model.data(model.index(0), GridRole.MatchRole) is None


def test_empty_model_passes_the_model_tester(qtmodeltester: ModelTester, runner: JobRunner) -> None:
    qtmodeltester.check(PhotoGridModel(runner, FakeRecords([])))


def test_records_are_paged_in_off_the_gui_thread(
    qtbot: QtBot, qtmodeltester: ModelTester, runner: JobRunner
) -> None:
    count = PAGE_SIZE * 2 + 10
    fetch = FakeRecords([record(i, f"/photos/{i}.jpg") for i in range(count)])
    model = PhotoGridModel(runner, fetch)
    model.set_photos(list(range(count)))
    assert model.data(model.index(0), PhotoRole) is None  # not loaded yet: asked for
    assert model.data(model.index(0), Qt.ItemDataRole.DisplayRole) == ""
    with qtbot.waitSignal(model.dataChanged, timeout=WAIT_MS):
        pass
    assert model.data(model.index(0), PhotoRole) == fetch.records[0]
    assert fetch.calls == [list(range(PAGE_SIZE))]  # only the page that was looked at
    qtmodeltester.check(model)
    qtbot.waitUntil(lambda: not model.loading, timeout=WAIT_MS)
    last = model.index(count - 1)
    qtbot.waitUntil(lambda: model.data(last, PhotoRole) is not None, timeout=WAIT_MS)


def test_photos_removed_meanwhile_are_not_asked_for_again(qtbot: QtBot, runner: JobRunner) -> None:
    fetch = FakeRecords([record(1, "/photos/1.jpg")])
    model = PhotoGridModel(runner, fetch)
    model.set_photos([1, 2])
    model.data(model.index(1), PhotoRole)
    qtbot.waitUntil(lambda: not model.loading, timeout=WAIT_MS)
    assert model.data(model.index(1), PhotoRole) is None
    assert model.data(model.index(0), PhotoRole) is not None
    assert len(fetch.calls) == 1


def test_a_stale_page_is_ignored_after_a_reset(qtbot: QtBot, runner: JobRunner) -> None:
    fetch = FakeRecords([record(i, f"/p/{i}.jpg") for i in range(10)])
    model = PhotoGridModel(runner, fetch)
    model.set_photos([1, 2, 3])
    model.data(model.index(0), PhotoRole)
    model.set_photos([7], [0.5], [fetch.records[7]])
    runner.wait(WAIT_MS)
    qtbot.wait(50)
    assert model.rowCount() == 1
    assert model.data(model.index(0), PhotoRole) == fetch.records[7]


def test_thumbnails_load_in_the_background_and_update_the_cell(
    qtbot: QtBot, qtmodeltester: ModelTester, runner: JobRunner, tmp_path: Path
) -> None:
    good = save_photo(tmp_path / "red.jpg", "red", size=(300, 200))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a photo")
    records = [record(1, str(good)), record(2, str(bad))]
    loader = ThumbnailLoader(runner, ThumbnailCache(tmp_path / "thumbs"), size=128, fit=64)
    model = PhotoGridModel(runner, FakeRecords(records), loader)
    model.set_photos([1, 2], None, records)
    assert model.data(model.index(0), GridRole.ThumbnailStateRole) == "loading"
    placeholder = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(placeholder, QPixmap)
    model.data(model.index(1), Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: loader.pending == 0, timeout=WAIT_MS)
    assert model.data(model.index(0), GridRole.ThumbnailStateRole) == "ready"
    pixmap = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(pixmap, QPixmap)
    assert pixmap.width() == 64 and 42 <= pixmap.height() <= 43
    assert model.data(model.index(1), GridRole.ThumbnailStateRole) == "failed"
    assert "no preview" in model.data(model.index(1), Qt.ItemDataRole.ToolTipRole)
    assert loader.memory_bytes > 0
    qtmodeltester.check(model)


def test_thumbnail_memory_is_bounded(qtbot: QtBot, runner: JobRunner, tmp_path: Path) -> None:
    records = [
        record(i, str(save_photo(tmp_path / f"{i}.jpg", "blue", size=(200, 200)))) for i in range(6)
    ]
    loader = ThumbnailLoader(
        runner, ThumbnailCache(tmp_path / "thumbs"), size=64, fit=64, memory_budget=64 * 64 * 4 * 3
    )
    for r in records:
        loader.pixmap(r)
    qtbot.waitUntil(lambda: loader.pending == 0, timeout=WAIT_MS)
    assert 0 < loader.memory_bytes <= 64 * 64 * 4 * 3


def test_rows_made_with_the_contents_find_each_photo(runner: JobRunner) -> None:
    ids = [30, 10, 20]
    model = PhotoGridModel(runner, FakeRecords([]))
    model.set_photos(ids, rows=row_lookup(ids))
    assert [model.row_of(i) for i in ids] == [0, 1, 2]
    assert model.row_of(40) is None
    model.set_photos([20, 30])  # made here when not given
    assert (model.row_of(20), model.row_of(30), model.row_of(10)) == (0, 1, None)


def test_format_size() -> None:
    assert format_size(512) == "512 bytes"
    assert format_size(12_345) == "12 KB"
    assert format_size(4_200_000) == "4.2 MB"
