"""The fine-tuning dialog: a run with its plot, activation and revert, cancel and resume, too
little data, choosing albums, and closing while training."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from photosense.enums import FineTuneVerdict
from photosense.gui.finetune_dialog import FineTuneDialog, Stage
from photosense.gui.finetune_sources import Source
from photosense.gui.jobs import Job
from photosense.gui.window import MainWindow
from photosense.learn.finetune import FineTuneSettings, TrainingProgress
from photosense.library import Library, LibraryCheck
from photosense.progress import run_to_end
from tests.conftest import save_photo
from tests.gui.conftest import WAIT_MS

COLOURS = ["red", "green", "blue", "yellow"]
SMALL = FineTuneSettings(epochs=2, views=1, rank=4)


def add_photos(library: Library, folder: Path, count: int, *, captions: bool = True) -> list[int]:
    """Index ``count`` small photos of four colours; caption each when ``captions``."""
    for i in range(count):
        colour = COLOURS[i % len(COLOURS)]
        save_photo(folder / f"{colour}-{i:02d}.jpg", colour, size=(48, 40))
    run_to_end(library.folders.index([folder]))
    ids = sorted(library.photos.ids())
    if captions:
        for i, photo_id in enumerate(ids):
            library.captions.set(photo_id, f"my {COLOURS[i % len(COLOURS)]} thing number {i // 4}")
    return ids


@pytest.fixture
def captioned(gui_library: Library, tmp_path: Path) -> Library:
    """The GUI library with 24 captioned photos."""
    add_photos(gui_library, tmp_path / "Teach", 24)
    return gui_library


def open_dialog(
    qtbot: QtBot, window: MainWindow, settings: FineTuneSettings = SMALL
) -> FineTuneDialog:
    window.finetune_action.trigger()  # Tools → Teach the model… (Ctrl+Shift+T)
    dialog = window.findChild(FineTuneDialog)
    assert isinstance(dialog, FineTuneDialog) and dialog.isVisible()
    dialog.set_settings(settings)
    qtbot.waitUntil(lambda: dialog.sources_box.pair_count is not None, timeout=WAIT_MS)
    return dialog


def wait_for(qtbot: QtBot, dialog: FineTuneDialog, stage: Stage) -> None:
    def reached() -> None:
        assert dialog.stage is stage and dialog.job is None and dialog.switch_job is None

    qtbot.waitUntil(reached, timeout=WAIT_MS)


def on_training(job: Job, react: Callable[[TrainingProgress], None]) -> None:
    """Call ``react`` on the pool thread with each epoch's progress, before the next epoch."""

    def seen(progress: object) -> None:
        if isinstance(progress, TrainingProgress) and progress.phase == "training":
            react(progress)

    job.signals.progressed.connect(seen, Qt.ConnectionType.DirectConnection)


def test_fine_tune_runs_plots_activates_and_reverts(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    assert dialog.sources_box.pair_count == 24
    assert "24 photos with captions" in dialog.sources_box.pairs_label.text()
    assert dialog.start_button.isEnabled()

    dialog.start_button.click()
    assert dialog.stage is Stage.RUNNING and dialog.cancel_button.isVisible()
    wait_for(qtbot, dialog, Stage.FINISHED)

    report = dialog.report
    assert report is not None and report.model_id.startswith("fine-tuned/colours-v1-")
    assert [epoch for epoch, _, _ in dialog.plot.points] == [1, 2]
    assert all(0.0 <= recall <= 1.0 for _, _, recall in dialog.plot.points)
    before = report.result.heldout_before["t2i_r5"]
    assert dialog.result_box.cells["t2i_r5"][0].text() == f"{before * 100:.0f}%"
    assert dialog.result_box.isVisible() and dialog.result_box.verdict_label.text()
    assert report.model_id in dialog.result_box.summary_label.text()
    assert dialog.activate_button.isVisible() and dialog.discard_button.isVisible()

    dialog.activate_button.click()
    wait_for(qtbot, dialog, Stage.ACTIVATED)
    assert captioned.models.progress().active == report.model_id
    assert dialog.revert_button.isVisible()
    assert dialog.revert_button.text() == "Revert to fake/colours-v1"
    assert not dialog.discard_button.isVisible()  # the active model cannot be deleted

    dialog.revert_button.click()
    wait_for(qtbot, dialog, Stage.REVERTED)
    assert captioned.models.progress().active == "fake/colours-v1"
    assert any(m.id == report.model_id for m in captioned.finetune.models())


def test_the_library_check_shows_and_a_moved_library_is_not_the_default(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library, tmp_path: Path
) -> None:
    add_photos(captioned, tmp_path / "Others", 24, captions=False)  # photos it does not learn
    window = make_window()
    dialog = open_dialog(qtbot, window)
    dialog.start_button.click()
    wait_for(qtbot, dialog, Stage.FINISHED)
    report = dialog.report
    assert report is not None and report.result.library is not None
    assert report.result.library.photos == 24
    panel = dialog.result_box
    assert panel.cells["library"][1].text()  # beside the held-out rows
    assert dialog.activate_button.isDefault() == report.improved
    assert dialog.close_button.isDefault() != report.improved

    # The same run had it moved the search among photos unlike the ones it learned from.
    moved = LibraryCheck(photos=200, unlike=150, queries=50, k=10, neighbours=0.9, answers=0.4)
    better = {"t2i_r1": 0.5, "t2i_r5": 0.9, "t2i_r10": 1.0}
    result = replace(report.result, heldout_after=better, library=moved)
    assert result.verdict is FineTuneVerdict.CHANGES_LIBRARY
    dialog._on_finished(replace(report, result=result))
    assert panel.cells["library"][1].text() == "<b>40%</b>"
    assert panel.cells["library"][2].text() == "-60 points"
    text = panel.verdict_label.text()
    assert "other photos" in text and "150 photos" in text and "40%" in text
    assert dialog.activate_button.text() == "Activate anyway"
    assert not dialog.activate_button.isDefault() and dialog.close_button.isDefault()


def test_cancel_says_it_can_resume_and_resumes_then_discards(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window, FineTuneSettings(epochs=4, views=1, rank=4))

    first = dialog.start(lambda job: on_training(job, lambda _progress: job.cancel()))
    assert first is not None
    wait_for(qtbot, dialog, Stage.CANCELLED)
    assert "carry on" in dialog.message_label.text()
    assert [epoch for epoch, _, _ in dialog.plot.points] == [1]
    assert dialog.start_button.isVisible() and dialog.start_button.text() == "Start again"
    assert dialog.report is None and not captioned.finetune.models()

    resumed: list[int] = []
    dialog.start(lambda job: on_training(job, lambda progress: resumed.append(progress.epoch)))
    wait_for(qtbot, dialog, Stage.FINISHED)
    assert resumed == [2, 3, 4]  # carried on after the first epoch
    assert [epoch for epoch, _, _ in dialog.plot.points] == [1, 2, 3, 4]

    assert dialog.report is not None
    dialog.discard(confirm=False)
    wait_for(qtbot, dialog, Stage.DISCARDED)
    assert not captioned.finetune.models()
    assert "Deleted" in dialog.message_label.text()


def test_too_few_captioned_photos_gets_a_message(
    qtbot: QtBot, make_window: Callable[..., MainWindow], gui_library: Library, tmp_path: Path
) -> None:
    add_photos(gui_library, tmp_path / "Few", 6)
    window = make_window()
    dialog = open_dialog(qtbot, window)
    assert dialog.sources_box.pair_count == 6
    assert "needs at least 20" in dialog.sources_box.pairs_label.text()
    assert not dialog.start_button.isEnabled()

    dialog.start()  # the core refuses too: the same words, and nothing is stored
    wait_for(qtbot, dialog, Stage.FAILED)
    assert dialog.message_label.text().startswith("Not enough to learn from")
    assert "at least 20" in dialog.message_label.text()
    assert "photosense captions" not in dialog.message_label.text()  # no CLI advice here
    assert not gui_library.finetune.models()


def test_choosing_an_album_counts_its_photos(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library
) -> None:
    ids = sorted(captioned.photos.ids())
    captioned.albums.create("Garden")
    captioned.albums.add("Garden", ids[:8])
    window = make_window()
    dialog = open_dialog(qtbot, window)
    qtbot.waitUntil(lambda: dialog.sources_box.album_list.count() == 1, timeout=WAIT_MS)
    assert dialog.sources_box.album_list.item(0).text() == "Garden (8 photos)"

    dialog.sources_box.choose_source(Source.ALBUMS, albums=("Garden",))
    qtbot.waitUntil(lambda: dialog.sources_box.pair_count == 8, timeout=WAIT_MS)
    assert not dialog.start_button.isEnabled()

    dialog.sources_box.choose_source(Source.ALL)
    qtbot.waitUntil(lambda: dialog.sources_box.pair_count == 24, timeout=WAIT_MS)
    assert dialog.start_button.isEnabled()


def test_closing_the_dialog_cancels_the_run(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window, FineTuneSettings(epochs=4, views=1, rank=4))
    job = dialog.start()
    assert job is not None
    dialog.close()
    assert job.cancelled
    wait_for(qtbot, dialog, Stage.CANCELLED)
    assert job not in window.runner.jobs  # it has stopped and reported
    assert not captioned.finetune.models()
    # Opening it again shows what happened and can start again.
    assert window.dialogs.show_finetune() is dialog
    assert dialog.start_button.isVisible()


def write_csv(folder: Path, rows: list[tuple[str, str]]) -> Path:
    import csv

    path = folder / "captions.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "caption"])
        writer.writerows(rows)
    return path


def test_a_typed_csv_path_is_taken_as_typed_with_a_preview_of_what_is_used(
    qtbot: QtBot, make_window: Callable[..., MainWindow], gui_library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "Teach"
    add_photos(gui_library, folder, 24, captions=False)
    names = sorted(p.name for p in folder.glob("*.jpg"))
    rows = [(name, f"my {name.split('-')[0]} thing") for name in names[:22]]
    rows.append((names[22], "© 2019 Jane Doe. All rights reserved."))
    rows.append((names[23], "https://www.flickr.com/photos/janedoe/4815162342/"))
    csv_path = write_csv(folder, rows)
    window = make_window()
    dialog = open_dialog(qtbot, window)
    sources = dialog.sources_box

    sources.file_radio.setChecked(True)
    sources.file_field.setFocus()
    qtbot.keyClicks(sources.file_field, str(tmp_path / "nope.csv"))
    qtbot.waitUntil(lambda: "No file at" in sources.pairs_label.text(), timeout=WAIT_MS)
    assert not dialog.start_button.isEnabled()

    sources.file_field.clear()
    qtbot.keyClicks(sources.file_field, str(csv_path))  # no Enter, the field keeps the focus
    qtbot.waitUntil(lambda: sources.pair_count == 22, timeout=WAIT_MS)
    assert sources.file_field.hasFocus() or not window.isActiveWindow()
    assert dialog.start_button.isEnabled()
    preview = sources.preview_label.text()
    assert "“my blue thing”" in preview and "… and 17 more" in preview
    assert "Left out 2 captions" in preview
    assert "1 a licence or copyright notice" in preview and "1 only a web address" in preview


def test_the_new_model_gets_its_name_and_the_result_fits_the_screen(
    qtbot: QtBot, make_window: Callable[..., MainWindow], captioned: Library
) -> None:
    window = make_window()
    dialog = open_dialog(qtbot, window)
    dialog.advanced_toggle.setChecked(True)
    screen = dialog.screen()
    assert screen is not None
    dialog.plot.setMinimumHeight(screen.availableGeometry().height())  # more than fits
    qtbot.keyClicks(dialog.name_field, "garden-words")
    assert dialog.start() is not None
    wait_for(qtbot, dialog, Stage.FINISHED)
    assert dialog.report is not None and dialog.report.model_id == "fine-tuned/garden-words"
    assert [m.id for m in captioned.finetune.models()] == ["fine-tuned/garden-words"]
    assert dialog.result_box.isVisible()
    qtbot.wait(50)  # the fit runs after the stage's widgets are shown
    assert dialog.height() > 600  # it grew for the result, up to the screen, and scrolls
    assert dialog.scroller.verticalScrollBar().maximum() > 0
    assert screen.availableGeometry().contains(dialog.frameGeometry())
