"""Albums in the window: create, add (menu, drag and drop), filter, remove, rename, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from photosense.gui.photo_grid_model import photo_ids_from_mime
from photosense.gui.sidebar import ALBUM, Scope
from photosense.gui.window import MainWindow
from photosense.library import Library
from tests.gui.conftest import WAIT_MS, grid_names, index_and_wait, wait_for_grid


def select_names(window: MainWindow, *names: str) -> list[int]:
    """Select the photos called ``names`` in the grid; returns their ids."""
    window.grid.clearSelection()
    rows = [grid_names(window).index(name) for name in names]
    selection = window.grid.selectionModel()
    selection.setCurrentIndex(window.model.index(rows[0]), selection.SelectionFlag.NoUpdate)
    for row in rows:
        selection.select(window.model.index(row), selection.SelectionFlag.Select)
    return window.grid.selected_ids()


def wait_for_album(qtbot: QtBot, window: MainWindow, name: str, count: int) -> None:
    def shown() -> bool:
        items = {i.text(0): i.text(1) for i in window.sidebar.album_items()}
        return items.get(name) == f"{count:,}" and not window.runner.busy()

    qtbot.waitUntil(shown, timeout=WAIT_MS)


def album_of(library: Library, name: str) -> list[str]:
    records = library.photos.get(library.albums.photo_ids(name))
    return sorted(Path(r.path).name for r in records.values())


def test_create_an_album_add_photos_and_filter_by_it(
    window: MainWindow,
    gui_library: Library,
    photo_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    assert window.sidebar.album_items() == []

    # "New album with these photos…" from the grid's menu asks for a name.
    ids = select_names(window, "red.jpg", "blue.jpg")
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Reds", True)))
    window.grid.new_album_action.trigger()
    wait_for_album(qtbot, window, "Reds", 2)
    assert sorted(gui_library.albums.photo_ids("Reds")) == sorted(ids)
    assert "Album “Reds” created with 2 photos" in window.statusBar().currentMessage()

    # "Add to album" lists the albums; choosing one adds the selection.
    select_names(window, "green.jpg")
    menu = window.grid.album_menu()
    entries = {a.text(): a for a in menu.actions() if a.text()}
    assert "Reds" in entries
    entries["Reds"].trigger()
    wait_for_album(qtbot, window, "Reds", 3)

    # Clicking the album shows only its photos; a search stays inside it.
    window.show_scope(Scope(ALBUM, "Reds"))
    wait_for_grid(qtbot, window)
    assert sorted(grid_names(window)) == ["blue.jpg", "green.jpg", "red.jpg"]
    assert window.results_label.text().startswith("Album “Reds” · 3")
    assert window.search_bar.filters.album.currentData() == "Reds"
    window.search_bar.set_text("yellow")
    window.search_bar.commit()
    qtbot.waitUntil(lambda: window.model.has_scores, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert "Crème brûlée – 東京.jpg" not in grid_names(window)
    window.back_to_all()
    wait_for_grid(qtbot, window)

    # The detail pane lists the photo's albums.
    row = grid_names(window).index("red.jpg")
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        window.grid.setCurrentIndex(window.model.index(row))
    assert window.detail.fields["albums"].text() == "Reds"


def test_delete_key_takes_photos_out_of_the_album_shown(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    ids = select_names(window, "red.jpg", "green.jpg")
    window.album_actions.create("Trip", ids)
    wait_for_album(qtbot, window, "Trip", 2)

    # Not in an album: Delete does nothing to the library.
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    assert not window.runner.busy()

    window.show_scope(Scope(ALBUM, "Trip"))
    wait_for_grid(qtbot, window)
    assert window.grid.remove_from_album_action.isEnabled()
    select_names(window, "red.jpg")
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Delete)
    wait_for_album(qtbot, window, "Trip", 1)
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["green.jpg"]
    assert album_of(gui_library, "Trip") == ["green.jpg"]
    assert gui_library.photos.ids() and len(gui_library.photos.ids()) == 4  # the photo stays


# PySide marks QDragMoveEvent's constructor deprecated; Qt has no other way to make one.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_drag_photos_from_the_grid_onto_an_album(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.album_actions.create("Favourites")
    wait_for_album(qtbot, window, "Favourites", 0)
    select_names(window, "blue.jpg", "green.jpg")
    indexes = window.grid.selectionModel().selectedIndexes()
    mime = window.model.mimeData(indexes)
    assert sorted(photo_ids_from_mime(mime)) == sorted(window.grid.selected_ids())
    assert len(mime.urls()) == 2  # other programs get the files

    tree = window.sidebar.tree
    item = window.sidebar.album_items()[0]
    point = QPointF(tree.visualItemRect(item).center())
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    move = QDragMoveEvent(point.toPoint(), *args)
    tree.dragMoveEvent(move)
    assert move.isAccepted()
    # Over a folder the drop is refused.
    folder_point = tree.visualItemRect(window.sidebar.folder_items()[0]).center()
    refused = QDragMoveEvent(folder_point, *args)
    tree.dragMoveEvent(refused)
    assert not refused.isAccepted()

    tree.dropEvent(QDropEvent(point, *args))
    wait_for_album(qtbot, window, "Favourites", 2)
    assert album_of(gui_library, "Favourites") == ["blue.jpg", "green.jpg"]


def test_rename_and_delete_an_album(
    window: MainWindow,
    gui_library: Library,
    photo_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.album_actions.create("Holidy", select_names(window, "red.jpg"))
    wait_for_album(qtbot, window, "Holidy", 1)
    window.show_scope(Scope(ALBUM, "Holidy"))
    wait_for_grid(qtbot, window)

    menu = window.sidebar.context_menu(window.sidebar.album_items()[0])
    assert menu is not None
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert {"Rename album…", "Delete album…", "New album…"} <= set(actions)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("Holiday", True)))
    actions["Rename album…"].trigger()
    wait_for_album(qtbot, window, "Holiday", 1)
    assert window.search_scope.query.album == "Holiday"  # the grid follows the album it shows
    assert window.sidebar.scope == Scope(ALBUM, "Holiday")
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["red.jpg"]

    # A name already taken is refused, and the user is told.
    window.album_actions.create("holiday")
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    assert "holiday" in window.statusBar().currentMessage().lower()
    assert [a.name for a in gui_library.albums.list()] == ["Holiday"]

    # Deleting asks first; the photos stay and the grid goes back to all photos.
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    window.sidebar.remove_button.click()
    qtbot.waitUntil(
        lambda: window.search_scope.query.album is None and not window.runner.busy(),
        timeout=WAIT_MS,
    )
    wait_for_grid(qtbot, window)
    assert gui_library.albums.list() == []
    assert window.model.rowCount() == 4
    assert window.sidebar.album_items() == []


def test_album_filter_in_the_filters_menu(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    window.album_actions.create("Blues", select_names(window, "blue.jpg"))
    wait_for_album(qtbot, window, "Blues", 1)
    filters = window.search_bar.filters
    assert [filters.album.itemText(i) for i in range(filters.album.count())] == ["any", "Blues"]
    filters.album.setCurrentIndex(filters.album.findData("Blues"))
    window.search_bar.commit()
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["blue.jpg"]
    assert window.sidebar.scope == Scope(ALBUM, "Blues")  # the sidebar shows where we are
    assert window.search_bar.filter_button.text() == "Filters (1)"
