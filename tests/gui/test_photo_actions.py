"""Stars, turns, favourites, export and the duplicates review in the window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from photosense.gui.duplicates_dialog import DuplicatesDialog
from photosense.gui.sidebar import FAVOURITES, Scope
from photosense.gui.thumbnail_loader import turned
from photosense.gui.window import MainWindow
from photosense.library import Library
from tests.gui.conftest import WAIT_MS, grid_names, index_and_wait, wait_for_grid
from tests.gui.test_albums import select_names
from tests.test_duplicates import textured, trash_home  # noqa: F401  (a shared fixture)


def record_of(library: Library, name: str) -> object:
    return next(
        r for r in library.photos.get(library.photos.ids()).values() if r.path.endswith(name)
    )


def test_keys_rate_and_the_favourites_entry_shows_them(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    select_names(window, "red.jpg", "blue.jpg")
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_5)
    qtbot.waitUntil(lambda: len(gui_library.ratings.favourites()) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "rated ★★★★★" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert (photo_dir / "red.jpg.xmp").is_file()

    window.show_scope(Scope(FAVOURITES))
    wait_for_grid(qtbot, window)
    qtbot.waitUntil(lambda: sorted(grid_names(window)) == ["blue.jpg", "red.jpg"], timeout=WAIT_MS)
    assert window.search_scope.words() == "favourites"

    select_names(window, "red.jpg")
    qtbot.keyClick(window.grid, Qt.Key.Key_0)
    qtbot.waitUntil(lambda: grid_names(window) == ["blue.jpg"], timeout=WAIT_MS)

    # Typing a digit into the search field is text, not a rating.
    window.search_bar.field.setFocus()
    qtbot.keyClick(window.search_bar.field, Qt.Key.Key_3)
    assert window.search_bar.field.text() == "3"
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    assert gui_library.photos.ids(min_rating=1) == gui_library.ratings.favourites()


def test_rotate_turns_thumbnails_not_files(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    before = (photo_dir / "red.jpg").read_bytes()
    select_names(window, "red.jpg")
    window.photo_actions.rotate_right_action.trigger()
    qtbot.waitUntil(lambda: record_of(gui_library, "red.jpg").rotation == 90, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)  # the grid reloads the turned photo; its selection comes back
    window.photo_actions.rotate_left_action.trigger()
    window.photo_actions.rotate_left_action.trigger()
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)  # the turns queue up
    assert record_of(gui_library, "red.jpg").rotation == 270
    assert (photo_dir / "red.jpg").read_bytes() == before
    assert window.photo_actions.rotate_right_action.shortcut().toString() == "Ctrl+R"
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    # The photo shown next is the turned one: its record (and thumbnail key) carry the turn.
    red = next(r for r in window.grid.selected_records() if r.path.endswith("red.jpg"))
    assert red.rotation == 270
    assert window.thumbnails._key(red)[-1] == 270


def test_turned_image() -> None:
    from PySide6.QtGui import QImage

    image = QImage(40, 20, QImage.Format.Format_RGB888)
    assert turned(image, 90).size().toTuple() == (20, 40)
    assert turned(image, 0) is image


def test_export_copies_the_selection(
    window: MainWindow,
    gui_library: Library,
    photo_dir: Path,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    out = tmp_path / "out"
    out.mkdir()
    (out / "red.jpg").write_bytes(b"mine")
    select_names(window, "red.jpg", "green.jpg")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    window.photo_actions.export_action.trigger()
    qtbot.waitUntil(
        lambda: "Copied 2 photos" in window.statusBar().currentMessage(), timeout=WAIT_MS
    )
    assert "1 renamed" in window.statusBar().currentMessage()
    assert (out / "red.jpg").read_bytes() == b"mine"
    assert sorted(p.name for p in out.iterdir()) == ["green.jpg", "red (2).jpg", "red.jpg"]


def test_export_can_be_cancelled(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    job = window.photo_actions.export(gui_library.photos.ids(), str(tmp_path / "out"))
    job.cancel()
    # The job may be done before a waitSignal could start listening: wait for the runner to
    # let go of it instead.
    qtbot.waitUntil(lambda: job not in window.runner.jobs, timeout=WAIT_MS)
    assert "stopped" in window.statusBar().currentMessage() or "Copied" in (
        window.statusBar().currentMessage()
    )


def test_duplicates_review_keeps_the_ticked_and_trashes_the_rest(
    window: MainWindow,
    gui_library: Library,
    tmp_path: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    trash_home: Path,  # noqa: F811
) -> None:
    folder = tmp_path / "Dups"
    original = textured(folder / "a.jpg", 1, (320, 240))
    shutil.copy(original, folder / "a copy.jpg")
    textured(folder / "b.jpg", 2, (320, 240))
    index_and_wait(qtbot, window, folder)

    dialog = window.photo_actions.show_duplicates()
    assert isinstance(dialog, DuplicatesDialog)
    qtbot.waitUntil(lambda: bool(dialog.groups) and dialog.job is None, timeout=WAIT_MS)
    box = dialog.groups[0]
    assert [b.isChecked() for b in box.keep_boxes][0] is True
    assert "320×240" in box.findChildren(type(dialog.status))[1].text()
    names = [Path(i.photo.path).name for i in box.group.photos]
    # The user keeps the other copy instead of the suggested one.
    box.keep_boxes[0].setChecked(False)
    box.keep_boxes[1].setChecked(True)
    for extra in box.keep_boxes[2:]:
        extra.setChecked(True)
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    dialog.ask_trash()
    qtbot.waitUntil(lambda: "Moved 1 photo to the trash" in dialog.status.text(), timeout=WAIT_MS)
    assert [p.name for p in trash_home.iterdir()] == [names[0]]
    assert (folder / names[1]).exists()
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert names[0] not in grid_names(window)
    dialog.close()


def test_no_group_is_trashed_whole(
    window: MainWindow, gui_library: Library, tmp_path: Path, qtbot: QtBot
) -> None:
    folder = tmp_path / "Dups"
    original = textured(folder / "a.jpg", 1)
    shutil.copy(original, folder / "a copy.jpg")
    index_and_wait(qtbot, window, folder)
    dialog = DuplicatesDialog(gui_library, window.runner, window)
    qtbot.waitUntil(lambda: bool(dialog.groups) and dialog.job is None, timeout=WAIT_MS)
    for box in dialog.groups[0].keep_boxes:
        box.setChecked(False)
    assert dialog.choices() == []
    assert dialog.ask_trash() is None and "Nothing to move" in dialog.status.text()
    dialog.close()
