"""The detail pane's text: the lines read in the photo, copied, their boxes on the preview;
and the search bar's "only photos with text" filter."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPixmap
from pytestqt.qtbot import QtBot

from photosense.gui.text_panel import BOX_COLOUR, draw_boxes
from photosense.gui.window import MainWindow
from photosense.library import TextLine
from tests.conftest import save_photo
from tests.gui.conftest import WAIT_MS, grid_names, select_row, wait_for_grid
from tests.gui.test_annotations import add_folder_and_wait
from tests.test_text import ColourReader, reader, signs  # noqa: F401  (shared fixtures)


def show_named(qtbot: QtBot, window: MainWindow, name: str) -> None:
    with qtbot.waitSignal(window.detail.notes_shown, timeout=WAIT_MS):
        select_row(window, grid_names(window).index(name))


def test_the_detail_pane_shows_copies_and_boxes_the_text(
    reader: ColourReader,  # noqa: F811  (first: the window's library reads with it)
    window: MainWindow,
    signs: Path,  # noqa: F811
    qtbot: QtBot,
) -> None:
    add_folder_and_wait(qtbot, window, signs)
    show_named(qtbot, window, "green.jpg")
    panel = window.detail.text_panel
    assert panel.status.text() == ""
    assert panel.view.toPlainText() == "Main Street\nHardware Store"
    assert panel.view.isVisible() and panel.copy_button.isEnabled()
    assert len(panel.boxes) == 2
    with qtbot.waitSignal(panel.copied, timeout=WAIT_MS):
        qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "Main Street\nHardware Store"
    panel.show_boxes.setChecked(False)
    assert panel.boxes == []


def test_a_photo_without_text_says_so(
    reader: ColourReader,  # noqa: F811
    window: MainWindow,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    folder = tmp_path / "plain"
    save_photo(folder / "white.jpg", (250, 250, 250))
    add_folder_and_wait(qtbot, window, folder)
    show_named(qtbot, window, "white.jpg")
    panel = window.detail.text_panel
    assert panel.status.text() == "No text found in this photo."
    assert not panel.copy_button.isVisible()


def test_only_photos_with_text_filter(
    reader: ColourReader,  # noqa: F811
    window: MainWindow,
    signs: Path,  # noqa: F811
    qtbot: QtBot,
) -> None:
    save_photo(signs / "white.jpg", (250, 250, 250))  # no text in it
    add_folder_and_wait(qtbot, window, signs)
    assert len(grid_names(window)) == 5
    window.search_bar.filters.has_text.setChecked(True)
    wait_for_grid(qtbot, window)
    qtbot.waitUntil(lambda: len(grid_names(window)) == 4, timeout=WAIT_MS)
    assert "white.jpg" not in grid_names(window)
    assert window.search_bar.query.filter_count == 1


def test_boxes_are_drawn_where_the_lines_are(qtbot: QtBot) -> None:
    pixmap = QPixmap(200, 100)
    pixmap.fill(QColor("black"))
    drawn = draw_boxes(pixmap, [TextLine("EXIT", 0.9, 0.25, 0.2, 0.5, 0.4)]).toImage()
    assert drawn.pixelColor(50, 40).red() == BOX_COLOUR.red()  # the box's top-left corner
    assert drawn.pixelColor(10, 10) == QColor("black")
    assert drawn.pixelColor(100, 50).red() < 100  # inside: only a faint tint
