"""Starting the app from the command line, and rendering the window to a PNG headless."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

import photosense.gui.app as gui_app
from photosense import cli
from photosense.gui.jobs import Job, JobRunner
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from photosense.vectors import cache as vector_cache
from tests.gui.conftest import WAIT_MS


def build_library(directory: Path, photos: Path) -> None:
    library = Library(Store.open(directory), directory, lambda _spec: FakeEncoder())
    with library:
        run_to_end(library.folders.index([photos]))


def test_render_screenshot_offscreen(qapp: object, photo_dir: Path, tmp_path: Path) -> None:
    directory = tmp_path / "library"
    build_library(directory, photo_dir)
    out = tmp_path / "shots" / "window.png"
    gui_app.render_screenshot(directory, "auto", "cpu", out, size=(1000, 700))
    with Image.open(out) as shot:
        assert shot.format == "PNG"
        assert shot.size == (1000, 700)
        # Thumbnails were drawn: the blue photo's colour is somewhere in the picture (it is
        # second in the timeline, and the detail pane shows the first, a yellow one).
        colours = shot.convert("RGB").getcolors(1_000_000) or []
        assert any(b > 200 and r < 60 and g < 60 for _count, (r, g, b) in colours)
    assert (directory / "thumbnails").is_dir()


def test_render_screenshot_of_a_new_library_shows_the_welcome(qapp: object, tmp_path: Path) -> None:
    out = tmp_path / "welcome.png"
    gui_app.render_screenshot(tmp_path / "empty-library", "auto", "cpu", out, size=(800, 600))
    assert out.stat().st_size > 0


def test_no_command_opens_the_window(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(gui_app, "run_app", lambda *args: calls.append(args) or 0)
    assert cli.main(["--library", str(tmp_path), "--device", "cpu"]) == 0
    assert calls == [(tmp_path, "auto", "cpu")]


def test_screenshot_option_renders_and_exits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(gui_app, "render_screenshot", lambda *args: calls.append(args))
    out = tmp_path / "shot.png"
    assert cli.main(["--library", str(tmp_path), "--screenshot", str(out)]) == 0
    assert calls == [(tmp_path, "auto", "auto", out)]


def test_screenshot_with_a_command_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--screenshot", str(tmp_path / "x.png"), "status"])
    assert exit_info.value.code == 2


def test_the_command_line_does_not_load_qt() -> None:
    import subprocess
    import sys

    code = (
        "import sys, photosense.cli, photosense.library, photosense.media.thumbnails; "
        "sys.exit(any(m.startswith('PySide6') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_app_runs_models_on_the_saved_device(
    qapp: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from photosense.gui.model_manager_page import DEVICE_SETTING
    from photosense.gui.window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue(DEVICE_SETTING, "cpu")
    opened: list[str] = []
    served: list[bool] = []
    libraries: list[Library] = []
    windows: list[MainWindow] = []

    def fake_open(
        directory: Path | None, *, model: str, device: str, served_indexes: bool = False
    ) -> Library:
        opened.append(device)
        served.append(served_indexes)
        library = Library(Store.open(tmp_path / "lib"), tmp_path / "lib", lambda _: FakeEncoder())
        libraries.append(library)
        return library

    def fake_exec(_app: QApplication) -> int:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow) and widget.library is libraries[-1]:
                windows.append(widget)
                widget.close()
        return 0

    frozen: list[bool] = []
    monkeypatch.setattr(gui_app, "freeze_long_lived_objects", lambda: frozen.append(True))
    monkeypatch.setattr(gui_app, "default_settings", lambda: settings)
    monkeypatch.setattr(gui_app.Library, "open", staticmethod(fake_open))
    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert gui_app.run_app(tmp_path, "auto", "auto") == 0
    assert opened == ["cpu"]
    assert served == [True]  # the window's search graphs load in a helper process
    assert [w.dialogs.device for w in windows] == ["cpu"]
    assert frozen == [True]  # the start-up heap is spared from garbage collection
    # A device given on the command line wins over the saved one.
    assert gui_app.run_app(tmp_path, "auto", "mps") == 0
    assert opened[-1] == "mps"


def test_the_heap_is_frozen_again_once_the_model_code_has_loaded(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen: list[bool] = []
    monkeypatch.setattr(gui_app, "freeze_long_lived_objects", lambda: frozen.append(True))
    runner = JobRunner()
    gui_app.freeze_once_the_model_is_loaded(runner, module="model_code_under_test")

    def run(job: Job) -> None:
        with qtbot.waitSignal(runner.job_done, timeout=WAIT_MS):
            runner.start(job)

    try:
        run(Job.call(lambda: None))
        assert frozen == []  # nothing loaded yet
        monkeypatch.setitem(sys.modules, "model_code_under_test", ModuleType("model code"))
        release = threading.Event()
        slow = runner.start(Job.call(release.wait, WAIT_MS / 1000))
        run(Job.call(lambda: None))
        assert frozen == []  # another job is still running: it may be halfway through an import
        with qtbot.waitSignal(slow.signals.done, timeout=WAIT_MS):
            release.set()
        assert frozen == [True]
        run(Job.call(lambda: None))
        assert frozen == [True]  # once
    finally:
        runner.close()


def test_the_model_and_index_load_in_the_background_once_the_window_is_up(
    qtbot: QtBot, tmp_path: Path, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_library(tmp_path / "lib", photo_dir)
    loads: list[str] = []
    index_loads: list[str] = []
    load_index = vector_cache.load_index

    def factory(spec: str) -> FakeEncoder:
        loads.append(spec)
        return FakeEncoder()

    def counted_load_index(*args: Any, **kwargs: Any) -> Any:
        index_loads.append(args[1])
        return load_index(*args, **kwargs)

    monkeypatch.setattr(vector_cache, "load_index", counted_load_index)
    library = Library(Store.open(tmp_path / "lib"), tmp_path / "lib", factory)
    runner = JobRunner()
    try:
        with qtbot.waitSignal(runner.job_done, timeout=WAIT_MS) as loaded:
            gui_app.warm_up_model(runner, library, delay_ms=10)
            assert loads == [] and index_loads == []  # not while the window is being shown
        assert loaded.args[0].name == "load model"
        assert len(loads) == 1 and index_loads == [FakeEncoder().model_id]
        assert library.search.text("red").hits[0].photo.path.endswith("red.jpg")
        assert len(loads) == 1 and len(index_loads) == 1  # the first search found both ready
    finally:
        runner.close()
        library.close()


def test_a_closed_window_loads_no_model(qtbot: QtBot, tmp_path: Path) -> None:
    loads: list[str] = []
    library = Library(
        Store.open(tmp_path / "lib"), tmp_path / "lib", lambda s: loads.append(s) or FakeEncoder()
    )
    runner = JobRunner()
    gui_app.warm_up_model(runner, library, delay_ms=10)
    runner.close()
    qtbot.wait(100)
    library.close()
    assert loads == []
