"""The Models page: the listing, switching (a job that re-embeds), downloads, imports, device."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from photosense.errors import ModelError
from photosense.gui import model_list, model_manager_page, model_removal
from photosense.gui.dialogs import AboutDialog
from photosense.gui.jobs import Job
from photosense.gui.model_list import ModelListModel
from photosense.gui.model_manager_page import DEVICE_SETTING, ModelsDialog
from photosense.gui.photo_grid_model import format_size
from photosense.gui.window import MainWindow
from photosense.library import Library, LibraryModel
from photosense.library.runtime import ACTIVE_MODEL_KEY, PENDING_MODEL_KEY
from photosense.models import hub, local
from photosense.models.fake import FAKE_MODEL_ID, MIN_DIM, FakeEncoder
from photosense.models.registry import STARTER_ID
from photosense.progress import CancelToken, Progress, run_to_end
from photosense.store.repository import Store
from tests.gui.conftest import WAIT_MS, index_and_wait
from tests.hub_cache import lay_out_hub_file

OTHER_MODEL = "fake/second"
IMPORTED = "imported/holiday"


@pytest.fixture
def switchable_library(tmp_path: Path) -> Iterator[Library]:
    """A library whose "starter" is a second fake model, so switching to it re-embeds."""

    def encoder(spec: str) -> FakeEncoder:
        return FakeEncoder(OTHER_MODEL) if spec == "starter" else FakeEncoder()

    directory = tmp_path / "switchable"
    library = Library(Store.open(directory), directory, encoder)
    library.store.settings.set(ACTIVE_MODEL_KEY, FAKE_MODEL_ID)
    yield library
    library.close()


def open_models(qtbot: QtBot, window: MainWindow) -> ModelsDialog:
    dialog = window.dialogs.show_models()
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
        qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS),
        qtbot.waitSignal(dialog.listing_loaded, timeout=WAIT_MS),
    ):
        dialog.use_button.click()
        assert window.indexing.switch_job is not None
        window.indexing.switch_job.signals.progressed.connect(progress.append)
        assert dialog.switch_row.isVisibleTo(dialog)
    assert any(p.total == 4 and p.done == 4 for p in progress)  # every photo re-embedded
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    state = switchable_library.models.progress()
    assert state.active == OTHER_MODEL and state.pending is None
    assert window.indexing.switch_job is None
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

    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        assert window.indexing.switch_model("starter", stop_after_a_batch) is not None
    assert cancelled == [True]
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    state = switchable_library.models.progress()
    assert state.active == FAKE_MODEL_ID and state.pending == OTHER_MODEL
    assert 0 < state.done < 120
    assert "Switching models stopped" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "stopped at" in dialog.switch_label.text(), timeout=WAIT_MS)
    assert not dialog.switch_cancel.isVisibleTo(dialog)
    assert rows(dialog)[OTHER_MODEL][1] == f"switching, {state.done} of 120"

    dialog.select("starter")  # the fake's name for the model being switched to
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        dialog.use_button.click()
    assert switchable_library.models.progress().active == OTHER_MODEL


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

    monkeypatch.setattr(model_manager_page, "pull_model", fake_pull)
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

    monkeypatch.setattr(model_manager_page, "check_device", fake_select)
    dialog = open_models(qtbot, window)
    qtbot.waitUntil(lambda: dialog.device_note.text() == "Models run on: cpu.", timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.device_checked, timeout=WAIT_MS) as blocker:
        dialog.device.setCurrentIndex(dialog.device.findData("cuda"))
    assert "not available" in blocker.args[0]
    assert settings.value(DEVICE_SETTING) == "cuda"
    assert model_manager_page.device_setting(settings) == "cuda"


def test_choosing_another_device_moves_the_models_at_once(
    window: MainWindow,
    gui_library: Library,
    settings: QSettings,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moved: list[str] = []
    monkeypatch.setattr(
        model_manager_page, "check_device", lambda choice: choice.replace("auto", "cpu")
    )
    monkeypatch.setattr(gui_library.models, "set_device", moved.append)
    dialog = open_models(qtbot, window)
    qtbot.waitUntil(lambda: dialog.device_note.text() == "Models run on: cpu.", timeout=WAIT_MS)

    dialog.device.setCurrentIndex(dialog.device.findData("cuda"))

    qtbot.waitUntil(lambda: dialog.device_note.text() == "Models run on: cuda.", timeout=WAIT_MS)
    assert moved == ["cuda"]
    assert dialog.device_in_use == "cuda" and window.dialogs.device == "cuda"
    assert settings.value(DEVICE_SETTING) == "cuda"


def test_a_device_that_cannot_be_used_leaves_the_models_where_they_are(
    window: MainWindow, gui_library: Library, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(device: str) -> None:
        raise ModelError(f"{device} went away")

    monkeypatch.setattr(
        model_manager_page, "check_device", lambda choice: choice.replace("auto", "cpu")
    )
    monkeypatch.setattr(gui_library.models, "set_device", refuse)
    dialog = open_models(qtbot, window)
    qtbot.waitUntil(lambda: dialog.device_note.text() == "Models run on: cpu.", timeout=WAIT_MS)
    before = window.dialogs.device

    with qtbot.waitSignal(dialog.device_checked, timeout=WAIT_MS) as blocker:
        dialog.device.setCurrentIndex(dialog.device.findData("mps"))

    assert "mps went away" in blocker.args[0]
    assert dialog.device_in_use == before and window.dialogs.device == before


def test_the_starter_note_shows_while_the_starter_answers(
    window: MainWindow, gui_library: Library, qtbot: QtBot
) -> None:
    gui_library.store.settings.set(ACTIVE_MODEL_KEY, STARTER_ID)
    dialog = open_models(qtbot, window)
    assert dialog.starter_note.isVisibleTo(dialog)
    note = dialog.starter_note.text()
    assert "works with no network" in note and "cannot read text" in note
    assert "ViT-B-32 (about 605 MB" in note


def test_the_models_table_is_a_well_behaved_model(
    qtmodeltester: ModelTester, gui_library: Library
) -> None:
    table = ModelListModel()
    listing = model_list.read_listing(gui_library)
    qtmodeltester.check(table)
    table.set_models(listing.models, listing.state)
    qtmodeltester.check(table)
    assert table.rowCount() == len(listing.models) >= 5
    assert table.row_of("ViT-B-32") is not None


def test_about_shows_the_version_licence_and_model(window: MainWindow, qtbot: QtBot) -> None:
    from photosense import __version__

    qtbot.waitUntil(lambda: window.overview is not None, timeout=WAIT_MS)
    window.help.about_action.trigger()
    dialog = window.dialogs.about_dialog
    assert isinstance(dialog, AboutDialog)
    assert dialog.fields["version"].text() == __version__
    assert dialog.fields["licence"].text() == "GPL-3.0-or-later"
    assert dialog.fields["model"].text() == window.library.models.spec
    dialog.close()


# -- removing models --------------------------------------------------------------------------


@pytest.fixture
def imported_library(tmp_path: Path, photo_dir: Path, empty_hub: Path) -> Iterator[Library]:
    """A library that embedded its photos with a stored model, ``imported/holiday``, and then
    switched to the colour fake: the imported model has files and 4 vectors, and is not active."""
    local.write_model(
        IMPORTED,
        {"weight": torch.zeros(1000)},
        architecture="photosense-tiny",
        embedding_size=MIN_DIM,
        image_size=32,
        source="holiday.safetensors",
    )

    def encoder(spec: str) -> FakeEncoder:
        return FakeEncoder(IMPORTED) if spec == IMPORTED else FakeEncoder()

    directory = tmp_path / "imported"
    library = Library(Store.open(directory), directory, encoder)
    library.store.settings.set(ACTIVE_MODEL_KEY, IMPORTED)
    run_to_end(library.folders.index([photo_dir]))
    run_to_end(library.models.use(FAKE_MODEL_ID))
    yield library
    library.close()


def listed(dialog: ModelsDialog, model_id: str) -> LibraryModel:
    assert dialog.listing is not None
    return next(m for m in dialog.listing.models if model_id in (m.info.id, m.info.model_id))


@dataclass(frozen=True)
class Question:
    """What a removal question said (the box itself is gone once answered)."""

    text: str
    details: str
    checkbox: str | None
    checked: bool


def answer_removal(dialog: ModelsDialog, seen: list[Question], *, tick: bool) -> None:
    """Answer the removal question as soon as it shows: tick the vectors box (or not), Remove."""

    def answer() -> None:
        for box in [box for box in dialog.findChildren(QMessageBox) if box.isVisible()]:
            check = box.checkBox()
            seen.append(
                Question(
                    box.text(),
                    box.informativeText(),
                    check.text() if check is not None else None,
                    check is not None and check.isChecked(),
                )
            )
            if tick and check is not None:
                check.setChecked(True)
            next(b for b in box.buttons() if b.objectName() == "remove").click()

    QTimer.singleShot(0, answer)


def remove_and_wait(qtbot: QtBot, dialog: ModelsDialog) -> None:
    """Click Remove…, wait for the job, then for the listing it reloads."""
    with qtbot.waitSignal(dialog.listing_loaded, timeout=WAIT_MS):
        dialog.remove_button.click()
        job = dialog.task
        assert job is not None
        assert dialog.task_label.text().startswith("Removing")
        assert not dialog.task_cancel.isVisibleTo(dialog)  # a removal takes a moment


def test_remove_is_offered_only_for_a_model_with_something_to_remove(
    make_window: Callable[..., MainWindow], imported_library: Library, qtbot: QtBot
) -> None:
    dialog = open_models(qtbot, make_window(imported_library))
    expected = {
        FAKE_MODEL_ID: "answers searches now: switch to another model first",
        "starter": "comes with photosense; there is nothing to remove",
        "ViT-B-32": "is not on this computer and has no vectors in this library",
        IMPORTED: "",
    }
    for model_id, why in expected.items():
        assert dialog.select(model_id)
        assert dialog.remove_button.isEnabled() == (not why), model_id
        assert (why or "Delete this model's files") in dialog.remove_button.toolTip()

    # A model being switched to is not removed from under the switch.
    imported_library.store.settings.set(PENDING_MODEL_KEY, IMPORTED)
    with qtbot.waitSignal(dialog.listing_loaded, timeout=WAIT_MS):
        dialog.refresh()
    assert dialog.select(IMPORTED)
    assert not dialog.remove_button.isEnabled()
    assert "switching to imported/holiday: switch to another model first" in (
        dialog.remove_button.toolTip()
    )


def test_removing_asks_then_frees_the_files_and_on_request_the_vectors(
    make_window: Callable[..., MainWindow], imported_library: Library, qtbot: QtBot
) -> None:
    folder = local.model_folder(IMPORTED)
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    dialog = open_models(qtbot, make_window(imported_library))
    assert dialog.select(IMPORTED)

    # First the files only: the box to forget the vectors is there, and off.
    seen: list[Question] = []
    answer_removal(dialog, seen, tick=False)
    remove_and_wait(qtbot, dialog)
    [question] = seen
    assert question.text == "Remove imported/holiday from this computer?"
    assert "import its file again" in question.details
    assert "This library holds 4 photo vectors made with it." in question.details
    assert question.checkbox == model_removal.FORGET_VECTORS and not question.checked
    assert not folder.exists()
    assert imported_library.store.vectors.dim(IMPORTED) == MIN_DIM  # the vectors stay
    freed = format_size(size)
    assert dialog.message.text() == f"Removed imported/holiday: {freed} freed."
    assert rows(dialog)[IMPORTED][:2] == ["other", "missing"]

    # The vectors are still there to forget; now there are no files, so only they are named.
    assert dialog.select(IMPORTED)
    assert dialog.remove_button.isEnabled()
    seen.clear()
    answer_removal(dialog, seen, tick=True)
    remove_and_wait(qtbot, dialog)
    [question] = seen
    assert question.checkbox is None
    assert question.text == "Forget this library's vectors of imported/holiday?"
    assert "No files are deleted" in question.details
    assert imported_library.store.vectors.dim(IMPORTED) is None
    assert dialog.message.text() == "Removed imported/holiday: 4 photo vectors forgotten."
    assert IMPORTED not in rows(dialog)
    assert imported_library.search.text("red").model_id == FAKE_MODEL_ID  # searches go on


def test_ticking_the_box_removes_files_and_vectors_at_once(
    make_window: Callable[..., MainWindow], imported_library: Library, qtbot: QtBot
) -> None:
    dialog = open_models(qtbot, make_window(imported_library))
    assert dialog.select(IMPORTED)
    seen: list[Question] = []
    answer_removal(dialog, seen, tick=True)
    remove_and_wait(qtbot, dialog)
    assert len(seen) == 1
    assert not local.model_folder(IMPORTED).exists()
    assert imported_library.store.vectors.dim(IMPORTED) is None
    assert dialog.message.text().endswith("freed and 4 photo vectors forgotten.")
    assert IMPORTED not in rows(dialog)


def test_a_download_is_removed_from_the_hugging_face_cache(
    window: MainWindow, qtbot: QtBot, empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = hub.hub_source("ViT-B-32", "laion2b_s34b_b79k")
    lay_out_hub_file(empty_hub, source.repo, source.filenames[0], b"weights" * 1000)
    asked: list[str] = []

    def ask(_parent: object, model: LibraryModel) -> bool:
        asked.append(model_removal.removal_box(model).informativeText())
        return False

    monkeypatch.setattr(model_manager_page, "ask_removal", ask)
    dialog = open_models(qtbot, window)
    assert rows(dialog)["ViT-B-32"][1] == "ready"
    assert dialog.select("ViT-B-32")
    remove_and_wait(qtbot, dialog)
    assert "frees 7 KB. You can download it again later." in asked[0]
    assert dialog.message.text() == "Removed ViT-B-32: 7 KB freed."
    assert not hub.is_downloaded("ViT-B-32", "laion2b_s34b_b79k")
    assert rows(dialog)["ViT-B-32"][1] == "not downloaded"


def test_the_question_names_the_download_size_when_the_size_on_disk_is_unknown(
    gui_library: Library, empty_hub: Path
) -> None:
    vit = next(m for m in gui_library.models.list() if m.info.id == "ViT-B-32")
    downloaded = LibraryModel(replace(vit.info, available=True), False, False, 1234)
    box = model_removal.removal_box(downloaded)
    assert "frees about 605 MB" in box.informativeText()
    assert "1,234 photo vectors" in box.informativeText()
    assert box.checkBox() is not None and not box.checkBox().isChecked()


def test_declining_removes_nothing(
    make_window: Callable[..., MainWindow],
    imported_library: Library,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(
        model_manager_page, "ask_removal", lambda _parent, model: asked.append(model.info.id)
    )
    dialog = open_models(qtbot, make_window(imported_library))
    assert dialog.select(IMPORTED)
    dialog.remove_button.click()
    assert asked == [IMPORTED]
    assert dialog.task is None
    assert not [job for job in dialog.runner.jobs if job.name.startswith("remove")]
    assert local.model_folder(IMPORTED).is_dir()
    assert listed(dialog, IMPORTED).vectors == 4


def test_a_failed_removal_is_shown_and_loses_nothing(
    make_window: Callable[..., MainWindow],
    imported_library: Library,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(model_manager_page, "ask_removal", lambda _parent, _model: True)
    dialog = open_models(qtbot, make_window(imported_library))
    assert dialog.select(IMPORTED)
    # Meanwhile a switch to it starts elsewhere (say from the command line).
    imported_library.store.settings.set(PENDING_MODEL_KEY, IMPORTED)
    job = dialog.remove_selected()
    assert job is not None
    # Wait on what the dialog shows, not on the signal: on a busy machine the job can fail on
    # its thread before a waiter here is connected, and a queued signal is not replayed.
    qtbot.waitUntil(
        lambda: dialog.task is None and dialog.message.isVisibleTo(dialog), timeout=WAIT_MS
    )
    assert "imported/holiday is the model this library is being switched to" in (
        dialog.message.text()
    )
    assert local.model_folder(IMPORTED).is_dir()
    assert imported_library.store.vectors.dim(IMPORTED) == MIN_DIM
    qtbot.waitUntil(lambda: not dialog.runner.busy(), timeout=WAIT_MS)
