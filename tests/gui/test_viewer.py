"""The viewer: Enter or a double-click views the photo over the window, the arrow keys step
through the results, zoom, Esc goes back to the grid on the photo last viewed; photos are
decoded off the GUI thread and their neighbours ahead of time."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

import photosense.gui.window as window_module
from photosense.gui.image_canvas import ImageCanvas
from photosense.gui.photo_grid_model import GridRole
from photosense.gui.viewer import decode_for_viewing
from photosense.gui.window import MainWindow
from tests.gui.conftest import WAIT_MS, grid_names, index_and_wait, select_row


def shown_name(window: MainWindow) -> str:
    return window.viewer.title.text().split("   ·   ")[0]


def wait_decoded(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.viewer.canvas.has_image, timeout=WAIT_MS)


def test_enter_views_the_photo_and_arrows_step_through_the_results(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    names = grid_names(window)
    window.grid.setFocus()
    select_row(window, 1)
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.viewer
    assert shown_name(window) == names[1]
    assert window.viewer.position.text() == "2 of 4"
    wait_decoded(qtbot, window)
    assert window.viewer.canvas.full.size().width() == 96  # whole, not the thumbnail
    # The photo ahead (and the one behind) are decoded before the user gets there.
    qtbot.waitUntil(
        lambda: (
            {window.model.index(r).data(GridRole.PhotoIdRole) for r in (0, 2, 3)}
            <= set(window.viewer.decoder.cached)
        ),
        timeout=WAIT_MS,
    )
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    assert shown_name(window) == names[2]
    assert window.viewer.canvas.has_image  # already decoded: no wait
    qtbot.keyClick(window.viewer, Qt.Key.Key_End)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)  # stops at the last photo
    assert window.viewer.position.text() == "4 of 4"
    assert not window.viewer.next_button.isEnabled()
    qtbot.keyClick(window.viewer, Qt.Key.Key_Left)
    assert shown_name(window) == names[2]
    qtbot.keyClick(window.viewer, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.splitter
    assert window.grid.currentIndex().row() == 2  # the grid is on the photo last viewed
    assert window.grid.hasFocus() or window.focusWidget() is window.grid


def test_double_click_views_and_the_back_button_returns(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    rect = window.grid.visualRect(window.model.index(3))
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.viewer_mode.active
    assert shown_name(window) == grid_names(window)[3]
    window.viewer.back_button.click()
    assert not window.viewer_mode.active


def test_zoom_fit_and_actual_size(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2000, 1000), (40, 90, 200)).save(path)
    decoded = decode_for_viewing(str(path), QSize(400, 300))
    assert not isinstance(decoded, str)
    assert decoded.full.width() == 2000 and decoded.screen.width() == 400
    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    canvas.set_image(decoded.full, decoded.screen)
    assert canvas.fitted and canvas.scale == pytest.approx(0.25)
    assert canvas.zoom_text() == "Fit (25%)"
    canvas.zoom_in()
    assert canvas.scale == pytest.approx(0.3125) and not canvas.fitted
    canvas.actual_size()
    assert canvas.scale == 1.0 and canvas.zoom_text() == "100%"
    # Zooming with the wheel keeps the point under the cursor in place.
    point = QPointF(100, 100)
    before = canvas._to_image(point)
    canvas.zoom_to(2.0, point)
    assert canvas._to_image(point).x() == pytest.approx(before.x())
    canvas.grab()  # paints the part on screen of the whole photo
    canvas.fit()
    assert canvas.scale == pytest.approx(0.25)
    canvas.zoom_to(1000)
    assert canvas.scale == 16.0  # bounded


def test_viewer_keys_zoom(window: MainWindow, tmp_path: Path, qtbot: QtBot) -> None:
    (tmp_path / "pics").mkdir()
    Image.new("RGB", (3000, 2000), (200, 90, 40)).save(tmp_path / "pics" / "big.jpg")
    index_and_wait(qtbot, window, tmp_path / "pics")
    select_row(window, 0)
    window.grid.open_action.trigger()
    wait_decoded(qtbot, window)
    canvas = window.viewer.canvas
    assert canvas.fitted
    qtbot.keyClick(window.viewer, Qt.Key.Key_1)
    assert canvas.scale == 1.0 and window.viewer.zoom_label.text() == "100%"
    qtbot.keyClick(window.viewer, Qt.Key.Key_Minus)
    assert canvas.scale == pytest.approx(0.8)
    qtbot.keyClick(window.viewer, Qt.Key.Key_0)
    assert canvas.fitted and window.viewer.zoom_label.text().startswith("Fit")


def test_a_photo_that_cannot_be_decoded_says_why(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    record = select_row(window, 0)
    Path(record.path).unlink()  # gone since it was indexed
    window.grid.open_action.trigger()
    qtbot.waitUntil(lambda: "cannot be shown" in window.viewer.canvas.message, timeout=WAIT_MS)
    assert Path(record.path).name in window.viewer.canvas.message


def test_open_in_system_viewer_says_so_when_there_is_none(
    window: MainWindow, photo_dir: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window_module, "open_files", lambda paths: 0)  # nothing registered
    index_and_wait(qtbot, window, photo_dir)
    record = select_row(window, 0)
    window.grid.open_action.trigger()
    window.viewer.open_button.click()
    box = window.no_viewer_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "No application on this computer is set to open JPG files" in box.text()
    assert record.path in box.informativeText()
    box.close()


def test_rotate_turns_the_photo_in_the_viewer_not_the_grid_selection(
    window: MainWindow, tmp_path: Path, qtbot: QtBot
) -> None:
    root = tmp_path / "wide"
    for name in ("a.jpg", "b.jpg"):
        root.mkdir(exist_ok=True)
        Image.new("RGB", (300, 100), (200, 90, 40)).save(root / name)
    index_and_wait(qtbot, window, root)
    first = select_row(window, 0)
    window.grid.open_action.trigger()
    qtbot.keyClick(window.viewer, Qt.Key.Key_Right)
    viewed = window.viewer.record
    assert viewed is not None and viewed.id != first.id
    wait_decoded(qtbot, window)
    assert window.viewer.canvas.full.width() == 300
    job = window.photo_actions.rotate_selected(1)  # Ctrl+R
    assert job is not None
    qtbot.waitUntil(
        lambda: window.viewer.record is not None and window.viewer.record.rotation == 90,
        timeout=WAIT_MS,
    )
    assert window.viewer.record.id == viewed.id
    qtbot.waitUntil(
        lambda: window.viewer.canvas.has_image and window.viewer.canvas.full.width() == 100,
        timeout=WAIT_MS,
    )
    assert window.viewer_mode.active  # the library's refresh did not leave the viewer
    assert window.model.record_at(window.model.row_of(first.id)).rotation == 0
