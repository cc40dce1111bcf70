"""Thumbnail size (slider, Ctrl +/−, Ctrl+0, remembered), the Help menu, and how a click on a
folder, album or tag, or "Similar photos", treats the text being searched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from photosense.gui.grid import CELL
from photosense.gui.help_menu import DocsDialog, LibraryLocationDialog, ShortcutsDialog
from photosense.gui.sidebar import FOLDER, Scope
from photosense.gui.thumbnail_size import LARGEST, SMALLEST, STEP
from photosense.gui.window import MainWindow
from tests.gui.conftest import WAIT_MS, index_and_wait, search_and_wait, select_row, wait_for_grid


def test_thumbnail_size_follows_keys_and_slider_and_is_remembered(
    make_window: Callable[..., MainWindow], settings: QSettings, photo_dir: Path, qtbot: QtBot
) -> None:
    window = make_window()
    index_and_wait(qtbot, window, photo_dir)
    sizer = window.thumbnail_size
    assert sizer.size == CELL and sizer.slider.value() == CELL
    window.activateWindow()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert sizer.size == CELL + STEP and sizer.slider.value() == CELL + STEP
    assert window.grid.gridSize().width() >= CELL + STEP  # cells stretch to fill the width
    qtbot.keyClick(window.grid, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert sizer.size == CELL
    sizer.slider.setValue(SMALLEST)
    assert window.grid.min_cell == SMALLEST and not sizer.smaller_action.isEnabled()
    sizer.smaller_action.trigger()
    assert sizer.size == SMALLEST  # bounded
    sizer.slider.setValue(LARGEST)
    window.close()
    assert settings.value("view/thumbnail_size") in (LARGEST, str(LARGEST))
    again = make_window()
    assert again.thumbnail_size.size == LARGEST and again.grid.min_cell == LARGEST


def test_an_unreadable_saved_size_falls_back(
    make_window: Callable[..., MainWindow], settings: QSettings
) -> None:
    settings.setValue("view/thumbnail_size", "huge")
    assert make_window().thumbnail_size.size == CELL


def test_clicking_a_folder_clears_the_search_and_says_so(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    search_and_wait(qtbot, window, "red")
    window.sidebar.select(Scope(FOLDER, str(photo_dir)))
    wait_for_grid(qtbot, window)
    assert window.search_scope.query.text == "" and window.search_bar.field.text() == ""
    assert not window.model.has_scores  # the folder's photos, not a search within it
    message = window.statusBar().currentMessage()
    assert "the search “red” was cleared" in message and "Pictures" in message
    assert "Search in Pictures" in window.search_bar.field.placeholderText()
    # A search typed now looks in the folder, and the banner says so.
    search_and_wait(qtbot, window, "blue")
    assert "in Pictures" in window.results_label.text()


def test_similar_photos_clear_the_search_text(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    search_and_wait(qtbot, window, "green")
    record = select_row(window, 0)
    window.grid.similar_action.trigger()
    qtbot.waitUntil(lambda: window.search_scope.similar_to == record, timeout=WAIT_MS)
    assert window.search_bar.field.text() == ""
    assert "the search “green” was cleared" in window.statusBar().currentMessage()
    wait_for_grid(qtbot, window)
    assert "look like" in window.results_label.text()


def test_help_lists_the_shortcuts_of_the_menus_the_grid_and_the_viewer(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.help.dialog
    assert isinstance(dialog, ShortcutsDialog) and dialog.isVisible()
    rows = dialog.rows()
    sections = {section for section, _keys, _what in rows}
    assert {"Photos", "Viewer", "File", "View", "Help"} <= sections
    assert ("View", "Ctrl+0", "Default thumbnail size") in rows
    assert any(what == "Find" for _s, _k, what in rows)
    dialog.filter.setText("zoom")
    assert rows != dialog.rows() and all(
        "zoom" in f"{s} {k} {w}".casefold() for s, k, w in dialog.rows()
    )


def test_help_shows_the_docs_and_where_the_library_lives(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.help.docs_action.trigger()
    docs = window.help.dialog
    assert isinstance(docs, DocsDialog)
    assert "photosense" in docs.browser.toPlainText()
    assert any(name.lower() == "gui" for name in docs.pages)
    docs.choice.setCurrentText("Search")
    assert "good match" in docs.browser.toPlainText()

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window.help.location_action.trigger()
    where = window.help.dialog
    assert isinstance(where, LibraryLocationDialog)
    assert where.field.text() == str(window.library.path)
    where.open_button.click()
    assert opened == [QUrl.fromLocalFile(str(window.library.path))]
