"""The main flow to the store: index, search, open the detail pane, accept a tag, caption."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from photosense.gui.sidebar import TAG, Scope
from photosense.gui.window import MainWindow
from photosense.library import Library
from photosense.store.records import PhotoRecord
from tests.gui.conftest import WAIT_MS, grid_names, search_and_wait, select_row, wait_for_grid


def add_folder_and_wait(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    """Add ``folder`` the way the user does (welcome, button or drop all call add_folders)."""
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.add_folders([str(folder)])
    wait_for_grid(qtbot, window)


def show_photo(qtbot: QtBot, window: MainWindow, row: int) -> PhotoRecord:
    """Select ``row`` and wait until the detail pane shows its tags and caption."""
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        record = select_row(window, row)
    return record


def tag_states(library: Library, path: str) -> dict[str, str]:
    return {row.tag: row.state for row in library.tags.of_photo(path) if row.shown or row.state}


def test_index_search_detail_accept_a_tag_and_caption_it(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    assert window.model.rowCount() == 4

    search_and_wait(qtbot, window, "red")
    assert grid_names(window)[0] == "red.jpg"

    red = show_photo(qtbot, window, 0)
    editor = window.detail.tag_editor
    assert [t.tag for t in editor.tags] == ["red"]  # the fake model sees exactly that
    assert editor.tags[0].state == "suggested"

    accept, _reject = editor.buttons["red"]
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)
    assert tag_states(gui_library, red.path)["red"] == "accepted"
    accept, reject = window.detail.tag_editor.buttons["red"]
    assert accept.isChecked() and not accept.isEnabled() and reject.isEnabled()

    caption = window.detail.caption
    assert caption.text == "" and not caption.save_button.isEnabled()
    qtbot.keyClicks(caption.edit, "Grandma's red tablecloth")
    assert caption.save_button.isEnabled()
    with qtbot.waitSignal(window.detail.caption_saved, timeout=WAIT_MS):
        qtbot.mouseClick(caption.save_button, Qt.MouseButton.LeftButton)
    saved = gui_library.captions.get(red.path)
    assert saved is not None and saved.text == "Grandma's red tablecloth"
    assert saved.source == "user"
    assert not caption.modified and not caption.save_button.isEnabled()
    assert "saved" in window.statusBar().currentMessage()
    assert not Path(red.path + ".xmp").exists()  # the sidecar box was not ticked


def test_reject_a_tag_and_add_one(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    row = grid_names(window).index("green.jpg")
    green = show_photo(qtbot, window, row)
    editor = window.detail.tag_editor
    _accept, reject = editor.buttons["green"]
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        reject.click()
    assert tag_states(gui_library, green.path)["green"] == "rejected"
    shown = {t.tag: t.state for t in window.detail.tag_editor.tags}
    assert shown == {"green": "rejected"}  # still listed, struck out, so it can be undone
    assert window.detail.tag_editor.buttons["green"][0].isEnabled()

    # A tag the vocabulary lacks is added to it and confirmed on the photo.
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        qtbot.keyClicks(window.detail.tag_editor.add_field, "lawn")
        qtbot.keyClick(window.detail.tag_editor.add_field, Qt.Key.Key_Return)
    assert tag_states(gui_library, green.path)["lawn"] == "accepted"
    assert "lawn" in [t.name for t in gui_library.tags.list()]


def test_tags_in_the_sidebar_filter_the_grid(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    qtbot.waitUntil(lambda: bool(window.sidebar.tag_items()), timeout=WAIT_MS)
    counts = {item.text(0): item.text(1) for item in window.sidebar.tag_items()}
    assert counts == {"blue": "1", "green": "1", "red": "1", "yellow": "1"}

    window.show_scope(Scope(TAG, "blue"))
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["blue.jpg"]
    assert window.results_label.text().startswith("Photos tagged “blue” · 1")
    assert window.search_bar.filters.tag.currentData() == "blue"
    assert window.search_bar.filter_button.text() == "Filters (1)"

    # A search stays within the tag.
    search_and_wait(qtbot, window, "red")
    assert grid_names(window) == ["blue.jpg"]
    assert "in photos tagged “blue”" in window.results_label.text()


def test_the_sidebar_lists_tags_that_count_on_photos(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    qtbot.waitUntil(lambda: bool(window.sidebar.tag_items()), timeout=WAIT_MS)
    gui_library.tags.reject(photo_dir / "trips" / "blue.jpg", "blue")  # its only photo
    gui_library.tags.add("sky")
    gui_library.tags.accept(photo_dir / "trips" / "blue.jpg", "sky")
    gui_library.tags.accept(photo_dir / "red.jpg", "sky")
    # Green's photo keeps a suggestion of "grey" from a model that no longer answers.
    store = gui_library.runtime.store
    green_photo = gui_library.photos.resolve(photo_dir / "green.jpg")
    grey = store.tags.named("grey")
    assert grey is not None
    store.tags.replace_suggestions(
        "old/model", "old", [green_photo.id], [(green_photo.id, grey.id, 9.0)]
    )

    window.refresh_tags()

    def listed() -> dict[str, str]:
        return {item.text(0): item.text(1) for item in window.sidebar.tag_items()}

    qtbot.waitUntil(lambda: "sky" in listed(), timeout=WAIT_MS)
    assert listed() == {"sky": "2", "red": "1", "yellow": "1"}
    assert window.tags is not None
    vocabulary = {t.name: t for t in window.tags}
    assert vocabulary["grey"].suggested == 1 and vocabulary["blue"].rejected == 1  # still tags


def test_an_unsaved_caption_is_saved_when_another_photo_is_shown(
    window: MainWindow, gui_library: Library, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    first = show_photo(qtbot, window, 0)
    window.detail.caption.sidecar.setChecked(True)
    qtbot.keyClicks(window.detail.caption.edit, "Dessert in Tokyo")
    with qtbot.waitSignal(window.detail.caption_saved, timeout=WAIT_MS):
        show_photo(qtbot, window, 1)
    saved = gui_library.captions.get(first.path)
    assert saved is not None and saved.text == "Dessert in Tokyo"
    sidecar = Path(first.path + ".xmp")
    assert "Dessert in Tokyo" in sidecar.read_text(encoding="utf-8")
    assert window.detail.caption.text == ""  # the second photo has none

    # Back on the first photo, the caption is there; clearing it removes it.
    show_photo(qtbot, window, 0)
    assert window.detail.caption.text == "Dessert in Tokyo"
    assert "Written here" in window.detail.caption.note.text()
    window.detail.caption.edit.clear()
    with qtbot.waitSignal(window.detail.caption_saved, timeout=WAIT_MS):
        window.detail.caption.save()
    assert gui_library.captions.get(first.path) is None


def test_a_caption_that_cannot_be_saved_says_why(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    add_folder_and_wait(qtbot, window, photo_dir)
    record = show_photo(qtbot, window, 0)
    Path(record.path).unlink()  # gone from disk: the library no longer knows it after a rescan
    with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
        window.indexing.rescan(None)
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=WAIT_MS)
    window.detail.record = record  # the pane still shows it, as after a slow refresh
    window.detail.caption.setEnabled(True)
    window.detail.caption.edit.setPlainText("too late")
    with qtbot.waitSignal(window.detail.failed, timeout=WAIT_MS) as blocker:
        window.detail.caption.save()
    assert blocker.args[0] == (
        f"{record.path} is no longer in the library (moved or deleted?): rescan with F5."
    )
