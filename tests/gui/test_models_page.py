"""The Models page: the listing, switching (a job that re-embeds), downloads, imports, device."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from photosense.errors import ModelError
from photosense.gui import models_page
from photosense.gui.dialogs import AboutDialog
from photosense.gui.jobs import Job
from photosense.gui.models_page import DEVICE_SETTING, ModelListModel, ModelsDialog
from photosense.gui.window import MainWindow
from photosense.library import ACTIVE_MODEL_KEY, Library
from photosense.models.fake import FAKE_MODEL_ID, FakeEncoder
from photosense.models.registry import STARTER_ID
from photosense.progress import CancelToken, Progress
from photosense.store.repository import Store
from tests.gui.conftest import WAIT_MS, index_and_wait

OTHER_MODEL = "fake/second"


@pytest.fixture
def switchable_library(tmp_path: Path) -> Iterator[Library]:
    """A library whose "starter" is a second fake model, so switching to it re-embeds."""

    def encoder(spec: str) -> FakeEncoder:
        return FakeEncoder(OTHER_MODEL) if spec == "starter" else FakeEncoder()

    directory = tmp_path / "switchable"
    library = Library(Store.open(directory), directory, encoder)
    library.store.set_setting(ACTIVE_MODEL_KEY, FAKE_MODEL_ID)
    yield library
    library.close()


def open_models(qtbot: QtBot, window: MainWindow) -> ModelsDialog:
    dialog = window.show_models()
    qtbot.waitUntil(lambda: dialog.listing is not None, timeout=WAIT_MS)
    return dialog


def rows(dialog: ModelsDialog) -> dict[str, list[str]]:
    model = dialog.table_model
    return {
        str(model.index(r, 0).data()): [str(model.index(r, c).data()) for c in range(1, 5)]
        for r in range(model.rowCount())
    }


def test_the_page_lists_the_models_and_switching_runs_a_job(
    make_window: Callable[..., MainWindow],
    switchable_library: Library,
    photo_dir: Path,
    qtbot: QtBot,
) -> None:
    window = make_window(switchable_library)
    index_and_wait(qtbot, window, photo_dir)
    dialog = open_models(qtbot, window)
    listed = rows(dialog)
    assert listed["starter"][:2] == ["starter", "ready"]
    assert listed["ViT-B-32"][:3] == ["catalogue", "not downloaded", "605 MB download"]
    assert listed["ViT-B-32"][3] == "MIT"
    assert listed[FAKE_MODEL_ID][1] == "active"
    assert "Searches are answered by fake/colours-v1" in dialog.active_label.text()

    # A catalogue model that is not downloaded offers Download, not Use.
    assert dialog.select("ViT-B-32")
    assert dialog.download_button.isVisibleTo(dialog)
    assert not dialog.use_button.isEnabled()
    assert "The all-rounder" in dialog.description.text()

    # Switching to a ready model runs the window's job: progress, then the new model answers.
    assert dialog.select("starter")
    assert dialog.use_button.isEnabled()
    progress: list[Progress] = []
    with (
        qtbot.waitSignal(window.indexing_ended, timeout=WAIT_MS),
        qtbot.waitSignal(dialog.listing_loaded, timeout=WAIT_MS),
    ):
        dialog.use_button.click()
        assert window.switch_job is not None
        window.switch_job.signals.progressed.connect(progress.append)
        assert dialog.switch_row.isVisibleTo(dialog)
    assert any(p.total == 4 and p.done == 4 for p in progress)  # every photo re-embedded
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    state = switchable_library.model_progress()
    assert state.active == OTHER_MODEL and state.pending is None
    assert window.switch_job is None
    assert "Searches now use fake/second" in window.statusBar().currentMessage()
    assert rows(dialog)[OTHER_MODEL][1] == "active"
    assert not dialog.switch_row.isVisibleTo(dialog)


def test_a_switch_can_be_stopped_and_resumes(
    make_window: Callable[..., MainWindow],
    switchable_library: Library,
    many_photos: Path,
    qtbot: QtBot,
) -> None:
    window = make_window(switchable_library, index_batch_size=4)
    index_and_wait(qtbot, window, many_photos)
    dialog = open_models(qtbot, window)
    dialog.select("starter")

    cancelled: list[bool] = []

    def stop_after_a_batch(job: Job) -> None:
        def on_progress(progress: Progress) -> None:
            if progress.total is not None and progress.done > 0:
                dialog.switch_cancel.click()  # "Stop switching"

        dialog.track_switch(job, "starter")
        job.signals.progressed.connect(on_progress)
        job.signals.cancelled.connect(lambda: cancelled.append(True))

    with qtbot.waitSignal(window.indexing_ended, timeout=WAIT_MS):
        assert window.switch_model("starter", stop_after_a_batch) is not None
    assert cancelled == [True]
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    state = switchable_library.model_progress()
    assert state.active == FAKE_MODEL_ID and state.pending == OTHER_MODEL
    assert 0 < state.done < 120
    assert "Switching models stopped" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "stopped at" in dialog.switch_label.text(), timeout=WAIT_MS)
    assert not dialog.switch_cancel.isVisibleTo(dialog)
    assert rows(dialog)[OTHER_MODEL][1] == f"switching, {state.done} of 120"

    dialog.select("starter")  # the fake's name for the model being switched to
    with qtbot.waitSignal(window.indexing_ended, timeout=WAIT_MS):
        dialog.use_button.click()
    assert switchable_library.model_progress().active == OTHER_MODEL


def test_download_reports_progress_and_can_be_cancelled(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = threading.Event()

    def fake_pull(
        spec: str,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        assert spec == "ViT-B-32" and on_progress is not None and cancel is not None
        on_progress(Progress(50_000_000, 605_000_000, f"downloading {spec}"))
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.01)

    monkeypatch.setattr(models_page.inventory, "pull", fake_pull)
    dialog = open_models(qtbot, window)
    dialog.select("ViT-B-32")
    job = dialog.download_selected()
    assert job is not None
    qtbot.waitUntil(lambda: "50.0 MB of 605.0 MB" in dialog.task_label.text(), timeout=WAIT_MS)
    assert dialog.task_bar.value() == 50_000_000
    assert not dialog.import_button.isEnabled()
    with qtbot.waitSignal(job.signals.cancelled, timeout=WAIT_MS):
        dialog.task_cancel.click()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT_MS)
    assert "Stopped" in dialog.message.text()
    assert not dialog.task_row.isVisibleTo(dialog)


def test_a_download_without_a_network_says_how_to_get_the_model(
    window: MainWindow, qtbot: QtBot, empty_hub: Path
) -> None:
    dialog = open_models(qtbot, window)
    dialog.select("ViT-B-32")
    job = dialog.download_selected()
    assert job is not None
    with qtbot.waitSignal(job.signals.failed, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT_MS)
    assert "cannot be downloaded now" in dialog.message.text()


def test_importing_a_file_that_is_no_checkpoint_is_refused(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    junk = tmp_path / "holiday.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    dialog = open_models(qtbot, window)
    job = dialog.import_file(junk)
    assert job is not None
    with qtbot.waitSignal(job.signals.failed, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: dialog.task is None, timeout=WAIT_MS)
    assert dialog.message.text()
    assert "imported/holiday" not in rows(dialog)


def test_the_device_choice_is_checked_and_kept(
    window: MainWindow, settings: QSettings, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_select(choice: str) -> str:
        if choice == "cuda":
            raise ModelError("CUDA was requested but is not available")
        return "cpu"

    monkeypatch.setattr(models_page, "select_device", fake_select)
    dialog = open_models(qtbot, window)
    qtbot.waitUntil(lambda: dialog.device_note.text() == "Models run on: cpu.", timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.device_checked, timeout=WAIT_MS) as blocker:
        dialog.device.setCurrentIndex(dialog.device.findData("cuda"))
    assert "not available" in blocker.args[0]
    assert settings.value(DEVICE_SETTING) == "cuda"
    assert models_page.device_setting(settings) == "cuda"


def test_the_starter_note_shows_while_the_starter_answers(
    window: MainWindow, gui_library: Library, qtbot: QtBot
) -> None:
    gui_library.store.set_setting(ACTIVE_MODEL_KEY, STARTER_ID)
    dialog = open_models(qtbot, window)
    assert dialog.starter_note.isVisibleTo(dialog)
    note = dialog.starter_note.text()
    assert "works with no network" in note and "cannot read text" in note
    assert "ViT-B-32 (about 605 MB" in note


def test_the_models_table_is_a_well_behaved_model(
    qtmodeltester: ModelTester, gui_library: Library
) -> None:
    table = ModelListModel()
    listing = models_page.read_listing(gui_library)
    qtmodeltester.check(table)
    table.set_models(listing.models, listing.state)
    qtmodeltester.check(table)
    assert table.rowCount() == len(listing.models) >= 5
    assert table.row_of("ViT-B-32") is not None


def test_about_shows_the_version_licence_and_model(window: MainWindow, qtbot: QtBot) -> None:
    from photosense import __version__

    qtbot.waitUntil(lambda: window.overview is not None, timeout=WAIT_MS)
    window.about_action.trigger()
    dialog = window.about_dialog
    assert isinstance(dialog, AboutDialog)
    assert dialog.fields["version"].text() == __version__
    assert dialog.fields["licence"].text() == "GPL-3.0-or-later"
    assert dialog.fields["model"].text() == window.library.model_spec
    dialog.close()
