"""The People page, the Person filter and face boxes, over faces the tests choose."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from photosense.gui.people_page import with_face_boxes
from photosense.gui.window import MainWindow
from photosense.library import FaceRecord
from tests.gui.conftest import grid_names, wait_for_grid
from tests.test_people import _album, people_library

WAIT_MS = 20_000


def test_people_page_names_in_place_and_shows_a_persons_photos(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    library = people_library(tmp_path / "faces-library", _album(tmp_path / "people"))
    try:
        window = make_window(library)
        page = window.people.open()
        qtbot.waitUntil(lambda: page.list.count() == 2, timeout=WAIT_MS)
        item = page.list.item(0)
        assert "Unnamed" in item.text() and "3 photos" in item.text()
        assert not item.icon().isNull()  # the round face crop
        page.list.editItem(item)  # naming in place: the editor holds the name alone
        editor = page.list.findChild(QLineEdit)
        assert editor is not None and editor.text() == ""
        editor.setText("Anna")
        page.names.commitData.emit(editor)
        qtbot.waitUntil(lambda: "Anna" in page.list.item(0).text(), timeout=WAIT_MS)
        combo = window.search_bar.filters.person
        qtbot.waitUntil(lambda: combo.findData("Anna") >= 0, timeout=WAIT_MS)

        page.show_person.emit("Anna")
        qtbot.waitUntil(lambda: window.search_scope.query.person == "Anna", timeout=WAIT_MS)
        wait_for_grid(qtbot, window)
        names = grid_names(window)
        assert len(names) == 3 and all(n.startswith(("red", "green")) for n in names)
        page.close()
        window.close()
    finally:
        library.close()


def test_face_boxes_are_drawn_where_the_faces_are() -> None:
    image = QImage(100, 80, QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    face = FaceRecord(1, 1, 0.2, 0.25, 0.5, 0.5, 1.0, None, None, False)
    boxed = with_face_boxes(image, [face])
    assert boxed.pixelColor(20, 40) != QColor("black")  # the box's left edge
    assert boxed.pixelColor(45, 45) == QColor("black")  # inside it: the face is not covered
    assert with_face_boxes(image, []) is image
