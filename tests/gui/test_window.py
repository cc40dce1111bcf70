"""Main window flows over a fake-encoder library: index, browse, search, similar, cancel."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QPalette
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from photosense.gui.folder_drop import dropped_folders
from photosense.gui.jobs import Job
from photosense.gui.photo_grid_model import GridRole
from photosense.gui.search_bar import DEBOUNCE_MS
from photosense.gui.window import MainWindow
from photosense.library import Library
from photosense.progress import Progress
from tests.conftest import save_photo
from tests.gui.conftest import (
    WAIT_MS,
    grid_names,
    index_and_wait,
    search_and_wait,
    select_row,
    wait_for_grid,
)


def test_first_run_shows_the_welcome_panel(window: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: window.overview is not None, timeout=WAIT_MS)
    assert window.stack.currentWidget() is window.welcome
    assert not window.welcome.pictures_button.isEnabled()  # the fixture has no Pictures folder


def test_welcome_adds_the_pictures_folder_and_indexes_it(
    make_window: Callable[..., MainWindow], photo_dir: Path, qtbot: QtBot
) -> None:
    window = make_window(pictures_folder=str(photo_dir))
    qtbot.waitUntil(lambda: window.overview is not None, timeout=WAIT_MS)
    assert window.welcome.pictures_button.isEnabled()
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        qtbot.mouseClick(window.welcome.pictures_button, Qt.MouseButton.LeftButton)
    wait_for_grid(qtbot, window)
    assert window.stack.currentWidget() is window.splitter
    assert window.sidebar.folder_paths() == [str(photo_dir)]
    assert window.model.rowCount() == 4


def test_add_index_browse_search_and_detail(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    report = index_and_wait(qtbot, window, photo_dir)
    assert report.indexed == 4 and len(report.skipped) == 1

    # No search text: every photo, newest first.
    assert grid_names(window) == ["Crème brûlée – 東京.jpg", "blue.jpg", "green.jpg", "red.jpg"]
    assert window.sidebar.folder_paths() == [str(photo_dir)]
    assert window.sidebar.folders_section.child(0).text(1) == "4"
    assert window.skipped_button.isVisible() and "1 skipped" in window.skipped_button.text()

    # Typing searches after the debounce, without pressing Enter.
    qtbot.keyClicks(window.search_bar.field, "red")
    assert window.search_bar.debounce.isActive()
    qtbot.waitUntil(
        lambda: window.search_scope.query.text == "red" and not window.runner.busy(),
        timeout=WAIT_MS,
    )
    assert grid_names(window)[0] == "red.jpg"
    assert window.model.has_scores
    assert window.results_label.text() == "1 good match for “red”, then 3 more results"

    # Selecting the photo fills the detail pane.
    select_row(window, 0)
    assert window.detail.title.text() == "red.jpg"
    date_text = window.detail.fields["date"].text()
    assert "1 June 2021" in date_text and "12:00" in date_text
    assert window.detail.fields["dimensions"].text().startswith("96 × 64")
    assert float(window.detail.fields["score"].text()) > 0.9
    qtbot.waitUntil(window.detail.preview.has_image, timeout=WAIT_MS)

    # Back to all photos.
    window.back_to_all()
    qtbot.waitUntil(lambda: not window.model.has_scores, timeout=WAIT_MS)
    assert window.search_bar.field.text() == ""
    assert window.model.rowCount() == 4


def test_good_matches_come_first_and_a_search_without_one_says_so(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)

    search_and_wait(qtbot, window, "red")
    model = window.model
    assert model.good_count == 1
    assert [model.index(row).data(GridRole.MatchRole) for row in range(4)] == [
        "good",
        "more",
        "more",
        "more",
    ]
    assert "more results" in model.index(1).data(Qt.ItemDataRole.ToolTipRole)

    # The divider: the first of the more results carries a bar in the accent colour.
    window.grid.resize(800, 600)
    image = window.grid.viewport().grab().toImage()
    rect = window.grid.visualRect(model.index(1))
    accent = window.grid.palette().color(QPalette.ColorRole.Highlight)
    bar = image.pixelColor(rect.left() + 3, rect.center().y())
    assert bar.rgb() == accent.rgb()
    first = window.grid.visualRect(model.index(0))
    assert image.pixelColor(first.left() + 3, first.center().y()).rgb() != accent.rgb()

    search_and_wait(qtbot, window, "magenta")
    assert model.good_count == 0 and model.rowCount() == 4
    assert window.results_label.text() == "No good match for “magenta” · the 4 closest photos"


def test_search_waits_for_the_typing_to_stop(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    searches: list[Job] = []
    window.runner.job_started.connect(
        lambda job: searches.append(job) if job.name == "search" else None
    )
    for text in ("b", "bl", "blu", "blue"):
        window.search_bar.set_text(text)
        qtbot.wait(DEBOUNCE_MS // 6)
    qtbot.waitUntil(lambda: window.search_scope.query.text == "blue", timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert len(searches) == 1
    assert grid_names(window)[0] == "blue.jpg"


def test_search_filters_and_folder_selection(
    window: MainWindow, photo_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    other = tmp_path / "Other"
    save_photo(other / "cyan.jpg", (20, 220, 220))
    index_and_wait(qtbot, window, photo_dir)
    index_and_wait(qtbot, window, other)
    assert window.model.rowCount() == 5
    # The folder selected in the sidebar restricts browsing and searching.
    window.sidebar.select_folder(str(other))
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["cyan.jpg"]
    assert window.results_label.text().startswith("Other · 1")
    window.search_bar.set_text("red")
    window.search_bar.commit()
    qtbot.waitUntil(lambda: window.model.has_scores, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["cyan.jpg"]
    window.back_to_all()
    window.sidebar.select_folder(None)
    wait_for_grid(qtbot, window)
    assert window.model.rowCount() == 5

    # Date filters (inclusive for the user).
    filters = window.search_bar.filters
    filters.after_enabled.setChecked(True)
    filters.after_edit.setDate(filters.after_edit.date().fromString("2022-07-02", "yyyy-MM-dd"))
    filters.before_enabled.setChecked(True)
    filters.before_edit.setDate(filters.before_edit.date().fromString("2023-08-03", "yyyy-MM-dd"))
    window.search_bar.commit()
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["blue.jpg", "green.jpg"]
    assert window.search_bar.filter_button.text() == "Filters (2)"


def test_similar_photos_from_the_context_menu(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    row = grid_names(window).index("red.jpg")
    red = select_row(window, row)
    menu = window.grid.context_menu()
    actions = {a.text().replace("&", ""): a for a in menu.actions() if a.text()}
    assert set(actions) == {
        "Similar photos",
        "View",
        "Open in system viewer",
        "Show in folder",
        "Add to album",
    }
    actions["Similar photos"].trigger()
    qtbot.waitUntil(
        lambda: window.search_scope.similar_to == red and window.model.has_scores, timeout=WAIT_MS
    )
    expected = gui_library.search.similar(red.path, limit=200)
    assert window.model.photo_ids == [h.photo.id for h in expected.hits]
    assert red.id not in window.model.photo_ids
    assert "look like red.jpg" in window.results_label.text()
    assert window.back_button.isVisible()
    window.back_button.click()
    qtbot.waitUntil(lambda: window.search_scope.similar_to is None and window.model.rowCount() == 4)


def test_open_and_show_in_folder_hand_the_photo_to_the_desktop(
    window: MainWindow, photo_dir: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import photosense.gui.window as window_module

    opened: list[list[str]] = []
    shown: list[str] = []
    monkeypatch.setattr(window_module, "open_files", lambda paths: opened.append(paths) or 1)
    monkeypatch.setattr(window_module, "show_in_folder", lambda path: shown.append(path) or True)
    index_and_wait(qtbot, window, photo_dir)
    window.grid.setFocus()
    record = select_row(window, 0)
    window.grid.open_externally_action.trigger()
    assert opened == [[record.path]]
    assert window.grid.open_externally_action in window.grid.context_menu().actions()
    window.grid.show_in_folder_action.trigger()
    assert shown == [window.grid.current_record().path]  # type: ignore[union-attr]


def test_keyboard_navigation_and_multi_select(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.activateWindow()
    window.find_action.trigger()
    assert window.search_bar.field.hasFocus() or window.focusWidget() is window.search_bar.field
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_Down)
    assert window.grid.currentIndex().row() == 0
    qtbot.keyClick(window.grid, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert len(window.grid.selected_records()) == 2
    assert "2 photos selected" in window.detail.title.text() or "of 2 selected" in (
        window.detail.title.text()
    )


def test_cancel_indexing_leaves_a_consistent_library(
    make_window: Callable[..., MainWindow],
    gui_library: Library,
    many_photos: Path,
    qtbot: QtBot,
) -> None:
    window = make_window(index_batch_size=2)
    job = window.indexing.create_job([str(many_photos)])

    def cancel_after_first_batch(progress: Progress) -> None:
        if progress.message == "indexing" and progress.done > 0:
            job.cancel()

    job.signals.progressed.connect(cancel_after_first_batch)
    finished: list[object] = []
    job.signals.finished.connect(finished.append)
    with (
        qtbot.waitSignal(job.signals.cancelled, timeout=WAIT_MS),
        qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS),
    ):
        window.indexing.start(job)
    assert not finished
    wait_for_grid(qtbot, window)
    assert "Indexing stopped" in window.statusBar().currentMessage()
    assert not window.indexing_status.isVisible()

    # Every photo was added (and is shown) before the model embedded them; some have vectors.
    photos, _skipped = gui_library.store.photos.counts()
    assert photos == 120
    vectors = sum(n for _m, _dim, _gen, n in gui_library.store.vectors.models())
    assert 0 < vectors < 120
    assert window.model.rowCount() == photos

    # A rescan picks up where it stopped: it embeds the rest.
    report = index_and_wait(qtbot, window, many_photos)
    assert report.indexed == 120 - vectors and report.unchanged == vectors
    assert sum(n for _m, _dim, _gen, n in gui_library.store.vectors.models()) == 120
    assert window.model.rowCount() == 120


def test_cancel_button_in_the_status_bar(
    make_window: Callable[..., MainWindow], gui_library: Library, many_photos: Path, qtbot: QtBot
) -> None:
    window = make_window(index_batch_size=1)
    job = window.indexing.create_job([str(many_photos)])
    window.indexing.start(job)
    # Waited for on the GUI thread's own state, not on the job's progress signal: that is
    # emitted from the pool thread many times a second, and a wait that disconnects from it
    # while it fires has crashed the process.
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=WAIT_MS)
    assert window.indexing_status.isVisible()
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.indexing_status.cancel_button.click()
    assert job.cancelled


def test_progress_shows_speed_and_eta(window: MainWindow) -> None:
    clock = iter([0.0, 2.0, 4.0])
    window.indexing_status.meter.clock = lambda: next(clock)
    window.indexing_status.begin()
    for done in (0, 20, 40):
        window.indexing_status.update_progress(Progress(done, 100, "indexing"))
    text = window.indexing_status.label.text()
    assert "Indexing 40 of 100" in text
    assert "10.0 photos/s" in text
    assert "about 5 s left" in text


def test_skipped_files_dialog_lists_reasons(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.skipped_button.click()
    qtbot.waitUntil(lambda: window.dialogs.skipped_dialog is not None, timeout=WAIT_MS)
    dialog = window.dialogs.skipped_dialog
    assert dialog is not None
    assert dialog.visible_paths() == [str(photo_dir / "broken.jpg")]
    assert "not recognised" in dialog.table.topLevelItem(0).text(2)
    dialog.filter.setText("nothing like this")
    assert dialog.visible_paths() == []
    dialog.close()


def test_remove_folder_returns_to_the_welcome(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    job = window.indexing.remove_folder(str(photo_dir), confirm=False)
    assert job is not None
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert window.model.rowCount() == 0
    assert window.sidebar.folder_paths() == []


def test_choose_folder_and_drop_a_folder(
    window: MainWindow,
    photo_dir: Path,
    tmp_path: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(photo_dir / "trips"))
    )
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.welcome.choose_button.click()
    wait_for_grid(qtbot, window)
    assert window.model.rowCount() == 2

    other = tmp_path / "Dropped"
    other.mkdir()
    save_photo(other / "cyan.jpg", (20, 220, 220))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other)), QUrl.fromLocalFile(str(photo_dir / "red.jpg"))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    assert dropped_folders(event) == [str(other)]
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.folder_drop.eventFilter(window, event)  # as Qt delivers a drop to the window
    wait_for_grid(qtbot, window)
    assert window.model.rowCount() == 3
    assert sorted(os.path.basename(p) for p in window.sidebar.folder_paths()) == [
        "Dropped",
        "trips",
    ]


def test_settings_persist_between_windows(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    first = make_window()
    first.resize(640, 480)  # inside the offscreen screen, which restoreGeometry clamps to
    first.search_bar.filters.sort.setCurrentIndex(1)
    first.search_bar.filters.min_score.setValue(0.25)
    first.close()
    second = make_window()
    assert second.search_scope.query.sort == "date"
    assert second.search_scope.query.min_score == 0.25
    assert second.search_bar.filters.sort.currentData() == "date"
    assert second.size().width() == 640


def test_a_failing_search_says_why(window: MainWindow, qtbot: QtBot) -> None:
    window.search_bar.set_text("red")
    window.search_bar.commit()
    qtbot.waitUntil(lambda: bool(window.last_error), timeout=WAIT_MS)
    assert "No photos are indexed yet" in window.results_label.text()


def test_a_missing_folder_is_shown_offline_and_its_photos_kept(
    window: MainWindow, photo_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    photo_dir.rename(tmp_path / "unplugged")
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.indexing.rescan(None)
    wait_for_grid(qtbot, window)
    qtbot.waitUntil(
        lambda: "(offline)" in window.sidebar.folder_items()[0].text(0), timeout=WAIT_MS
    )
    item = window.sidebar.folder_items()[0]
    assert "its photos are kept" in item.toolTip(0)
    assert item.text(1) == "4"
    assert window.model.rowCount() == 4
    assert "offline" in window.statusBar().currentMessage()


def test_a_long_folder_path_is_shortened_in_the_middle(
    window: MainWindow, tmp_path: Path, qtbot: QtBot
) -> None:
    deep = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i}" for i in range(8)])
    save_photo(deep / "deep.jpg", "blue")
    index_and_wait(qtbot, window, deep)
    window.resize(1000, 700)
    select_row(window, 0)
    folder = window.detail.fields["folder"]
    shown = folder.text()
    assert "…" in shown
    assert shown.startswith(str(tmp_path)[:5]) and shown.endswith("folder-name-7")
    assert folder.toolTip() == str(deep / "deep.jpg")
    body = window.detail.widget()
    assert body.width() <= window.detail.viewport().width()  # nothing cut off on the right


def test_keyboard_reaches_the_caption_and_tags(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.activateWindow()
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        select_row(window, 0)
    window.caption_action.trigger()
    assert window.focusWidget() is window.detail.caption.edit
    window.tag_action.trigger()
    assert window.focusWidget() is window.detail.tag_editor.add_field
    texts = [a.text().replace("&", "") for a in window.photo_menu.actions() if a.text()]
    assert {"Add a tag", "Edit caption", "Add to album", "New album…"} <= set(texts)


def test_a_palette_change_redraws_placeholders(window: MainWindow, qtbot: QtBot) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = window.model._placeholder_pixmap().toImage().pixelColor(0, 0)
    light = app.palette()
    dark = QPalette(light)
    dark.setColor(QPalette.ColorRole.Mid, QColor(20, 20, 20))
    try:
        app.setPalette(dark)
        qtbot.waitUntil(
            lambda: window.model._placeholder_pixmap().toImage().pixelColor(0, 0) != before
        )
        assert window.model._placeholder_pixmap().toImage().pixelColor(0, 0) == QColor(20, 20, 20)
    finally:
        app.setPalette(light)


def test_the_caption_sidecar_and_panes_persist(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    first = make_window()
    first.detail.caption.sidecar.setChecked(True)
    first.show_detail_action.trigger()  # hides the detail pane
    first.close()
    second = make_window()
    assert second.detail.caption.sidecar.isChecked()
    assert not second.show_detail_action.isChecked() and not second.detail.isVisible()
    assert second.sidebar.isVisible()
