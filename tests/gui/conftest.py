"""GUI fixtures: a window over a fake-encoder library, and a check that no job thread is left.

Libraries here tag with the colour vocabulary the fake encoder understands (``red``, ``green``…),
so a red photo is tagged "red" and nothing else, as predictably as search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from photosense.gui.jobs import JobRunner
from photosense.gui.photo_grid_model import GridRole
from photosense.gui.window import MainWindow
from photosense.indexing import IndexReport
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.store.records import PhotoRecord
from photosense.store.repository import Store
from tests.conftest import save_photo
from tests.tagging.conftest import colour_vocabulary  # noqa: F401  (a shared fixture)

WAIT_MS = 30_000
LEAK_GRACE_MS = 2_000
"""How long a job that has reported may take to return from ``run`` before it counts as left."""


def assert_runner_idle(runner: JobRunner) -> None:
    """After close(): every pool of the runner has no thread running and no job is kept."""
    for lane, pool in runner.pools.items():
        assert pool.activeThreadCount() == 0, f"{lane} pool still has a thread running"
    assert not runner.jobs


def grid_names(window: MainWindow) -> list[str]:
    model = window.model
    return [
        str(model.data(model.index(row), Qt.ItemDataRole.DisplayRole))
        for row in range(model.rowCount())
    ]


def search_and_wait(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Search ``text`` through the search bar and wait until the grid shows the results."""
    window.search_bar.set_text(text)
    qtbot.waitUntil(
        lambda: window.search_scope.query.text == text and window.model.has_scores, timeout=WAIT_MS
    )
    wait_for_grid(qtbot, window)


def index_and_wait(qtbot: QtBot, window: MainWindow, folder: Path) -> IndexReport:
    """Add ``folder`` through the window and wait for the job and the refresh after it."""
    job = window.indexing.create_job([str(folder)])
    with (
        qtbot.waitSignal(job.signals.finished, timeout=WAIT_MS) as blocker,
        qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS),
    ):
        window.indexing.start(job)
    report = blocker.args[0]
    assert isinstance(report, IndexReport)
    wait_for_grid(qtbot, window)
    return report


def wait_for_grid(qtbot: QtBot, window: MainWindow) -> None:
    """Until no job is pending and every row's record is loaded."""

    def settled() -> bool:
        if window.runner.busy():
            return False
        names = grid_names(window)
        return all(names)

    qtbot.waitUntil(settled, timeout=WAIT_MS)


def select_row(window: MainWindow, row: int) -> PhotoRecord:
    index = window.model.index(row)
    window.grid.setCurrentIndex(index)
    record = index.data(GridRole.PhotoRole)
    assert isinstance(record, PhotoRecord)
    return record


class RunnerWatch:
    """Every :class:`JobRunner` made during a test, to check that none is left running a job."""

    def __init__(self) -> None:
        self.runners: list[JobRunner] = []

    def running(self, grace_ms: int) -> list[str]:
        """The pools of live runners with a job thread still running after ``grace_ms`` (a job
        that has just reported may still be returning from ``run``)."""
        left = []
        for runner in self.runners:
            for lane, pool in runner.pools.items() if shiboken6.isValid(runner) else ():
                if shiboken6.isValid(pool) and not pool.waitForDone(grace_ms):
                    jobs = sorted(job.name for job in runner.jobs if job.lane is lane)
                    left.append(f"{lane.value} pool: {pool.activeThreadCount()} running {jobs}")
        return left

    def stop_all(self) -> None:
        """Cancel and wait for whatever is left, so that one leak does not spill into the next
        test."""
        for runner in self.runners:
            if shiboken6.isValid(runner):
                runner.close()


@pytest.fixture(autouse=True)
def no_job_threads_left(qapp: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunnerWatch]:
    """Fail any test that leaves a job thread running on a runner it made (a window's or its
    own): whatever starts a thread also stops it (``runner.close()``, closing the window)."""
    watch = RunnerWatch()
    made = JobRunner.__init__

    def init(runner: JobRunner, *args: Any, **kwargs: Any) -> None:
        made(runner, *args, **kwargs)
        watch.runners.append(runner)

    monkeypatch.setattr(JobRunner, "__init__", init)
    yield watch
    left = watch.running(grace_ms=LEAK_GRACE_MS)
    watch.stop_all()
    assert not left, f"job threads left running: {left}"


@pytest.fixture(autouse=True)
def colour_tags(request: pytest.FixtureRequest) -> object:
    """Every library opened in a GUI test gets the colour tags instead of the default ones."""
    return request.getfixturevalue("colour_vocabulary")


@pytest.fixture
def gui_library(tmp_path: Path) -> Iterator[Library]:
    """A file-backed library over the deterministic colour encoder."""
    directory = tmp_path / "library"
    library = Library(Store.open(directory), directory, lambda _spec: FakeEncoder())
    yield library
    library.close()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(
    qtbot: QtBot, gui_library: Library, settings: QSettings, tmp_path: Path
) -> Iterator[Callable[..., MainWindow]]:
    """Build MainWindows over ``gui_library``; each is closed and checked for leftover threads."""
    windows: list[MainWindow] = []

    def make(library: Library | None = None, **kwargs: object) -> MainWindow:
        kwargs.setdefault("settings", settings)
        kwargs.setdefault("pictures_folder", str(tmp_path / "no-pictures-here"))
        window = MainWindow(library or gui_library, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert_runner_idle(window.runner)


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


@pytest.fixture
def many_photos(tmp_path: Path) -> Path:
    """120 small photos of shifting colours with distinct dates."""
    root = tmp_path / "Many"
    for i in range(120):
        colour = (i * 2 % 256, 255 - i * 2 % 256, (i * 7) % 256)
        save_photo(
            root / f"p{i:03d}.jpg",
            colour,
            taken=datetime(2020, 1, 1) + timedelta(days=i),
            size=(24, 16),
        )
    return root
