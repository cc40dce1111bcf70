"""The viewer: one photo at a time over the whole window, stepping through the grid's photos.

Photos are decoded whole on a pool thread (never on the GUI thread), the neighbours ahead of the
one shown first; a few decoded photos are kept, within a memory budget, so stepping back and
forth is instant. Until a photo is decoded its grid thumbnail stands in for it. The viewer reads
the photos from the grid's model, so it walks the current results in their order.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.errors import ImageSkipped
from photosense.gui.detail import describe_date
from photosense.gui.image_canvas import ImageCanvas
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.photo_grid_model import GridRole, PhotoGridModel
from photosense.gui.thumbnail_loader import ThumbnailLoader, pil_to_qimage, turned
from photosense.library import PhotoRecord
from photosense.library.photos import view_image

log = logging.getLogger(__name__)

MEMORY_BUDGET_BYTES = 256 * 1024 * 1024
KEEP_AT_LEAST = 3  # the photo shown and its two neighbours, whatever their size
MAX_IN_FLIGHT = 2
AHEAD = 2  # photos decoded ahead in the direction of travel (one behind)

KEYS = (
    ("→  ←", "Next / previous photo"),
    ("Home  End", "First / last photo"),
    ("+  −  (or the wheel)", "Zoom in / out"),
    ("0", "Fit the photo to the window"),
    ("1", "Actual size (100%)"),
    ("F11", "Full screen"),
    ("Esc", "Back to the photos"),
)
"""The viewer's keys, as the Help menu lists them."""


Key = tuple[int, int]  # photo id, rotation


def _key(record: PhotoRecord) -> Key:
    return (record.id, record.rotation)


@dataclass(frozen=True)
class Decoded:
    """A photo decoded whole, and the same shrunk to the screen (drawn when it fits)."""

    full: QImage
    screen: QImage

    @property
    def bytes(self) -> int:
        small = 0 if self.screen is self.full else self.screen.sizeInBytes()
        return int(self.full.sizeInBytes() + small)


def decode_for_viewing(path: str, screen: QSize, rotation: int = 0) -> Decoded | str:
    """Any thread: ``path`` decoded whole and upright (turned ``rotation`` degrees clockwise, as
    the user turned it), plus a copy that fits ``screen``; or why it cannot be shown."""
    try:
        image = pil_to_qimage(view_image(path)).convertToFormat(QImage.Format.Format_RGB32)
    except ImageSkipped as exc:
        return exc.reason
    image = turned(image, rotation)
    small = image
    if image.width() > screen.width() or image.height() > screen.height():
        small = image.scaled(
            screen, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return Decoded(image, small)


class PhotoDecoder(QObject):
    """Decodes photos for the viewer off the GUI thread and keeps the latest within a budget."""

    decoded = Signal(int)  # photo id: decoded, or failed (see ``failure``)

    def __init__(
        self, runner: JobRunner, budget: int = MEMORY_BUDGET_BYTES, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.budget = budget
        self.screen = QSize(1920, 1080)
        self._done: OrderedDict[Key, Decoded] = OrderedDict()
        self._failed: dict[Key, str] = {}
        self._wanted: list[PhotoRecord] = []
        self._in_flight: dict[QObject, Key] = {}  # a job's signals -> what it decodes

    def get(self, record: PhotoRecord) -> Decoded | None:
        decoded = self._done.get(_key(record))
        if decoded is not None:
            self._done.move_to_end(_key(record))
        return decoded

    def failure(self, record: PhotoRecord) -> str | None:
        return self._failed.get(_key(record))

    @property
    def cached(self) -> list[int]:
        """Ids of the photos kept decoded, oldest first."""
        return [photo_id for photo_id, _rotation in self._done]

    def want(self, records: Sequence[PhotoRecord]) -> None:
        """Decode these photos, the first first; earlier wishes not started are dropped."""
        self._wanted = [
            r for r in records if _key(r) not in self._done and _key(r) not in self._failed
        ]
        self._pump()

    def _pump(self) -> None:
        busy = set(self._in_flight.values())
        for record in list(self._wanted):
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                return
            self._wanted.remove(record)
            if _key(record) in busy:
                continue
            job = Job.call(
                decode_for_viewing,
                record.path,
                QSize(self.screen),
                record.rotation,
                name=f"view {record.id}",
                lane=Lane.THUMBNAILS,  # the grid, hidden behind the viewer, asks for none
            )
            self._in_flight[job.signals] = _key(record)
            job.signals.finished.connect(self._on_decoded)
            job.signals.failed.connect(self._on_failed)
            job.signals.done.connect(self._on_done)
            self.runner.start(job)

    def _on_decoded(self, result: object) -> None:
        key = self._in_flight.get(self.sender())
        if key is None:
            return
        if isinstance(result, Decoded):
            self._done[key] = result
            self._evict()
        else:
            self._failed[key] = str(result)
        self.decoded.emit(key[0])

    def _on_failed(self, exc: object) -> None:
        key = self._in_flight.get(self.sender())
        if key is not None:
            log.warning("could not decode photo %s for viewing: %s", key[0], exc)
            self._failed[key] = f"it could not be decoded: {exc}"
            self.decoded.emit(key[0])

    def _on_done(self) -> None:
        self._in_flight.pop(self.sender(), None)
        self._pump()

    def _evict(self) -> None:
        """Oldest first, past the budget; the newest few stay whatever their size."""
        total = sum(d.bytes for d in self._done.values())
        while total > self.budget and len(self._done) > KEEP_AT_LEAST:
            _, old = self._done.popitem(last=False)
            total -= old.bytes

    def forget(self) -> None:
        """Drop what is kept (the library changed: a file may be another photo now)."""
        self._done.clear()
        self._failed.clear()


def _tool_button(text: str, tip: str, name: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setObjectName(name)
    button.setAutoRaise(True)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrow keys step through photos
    return button


class PhotoViewer(QWidget):
    """One photo at a time; arrows step through the grid model's photos, Esc goes back.

    ``row_changed`` reports the photo shown (the grid follows it); ``closed`` asks the window
    to show the grid again; ``open_externally_requested`` hands the photo to the desktop.
    """

    row_changed = Signal(int)
    closed = Signal()
    open_externally_requested = Signal(list)  # list[PhotoRecord]
    full_screen_requested = Signal()

    def __init__(
        self,
        runner: JobRunner,
        model: PhotoGridModel,
        thumbnails: ThumbnailLoader | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("photoViewer")
        self.setAccessibleName("Photo viewer")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.model = model
        self.thumbnails = thumbnails
        self.decoder = PhotoDecoder(runner, parent=self)
        self.decoder.decoded.connect(self._on_decoded)
        self.row = -1
        self.photo_id: int | None = None
        self._step = 1  # the direction of travel, for decoding ahead

        self.canvas = ImageCanvas()
        self.canvas.zoom_changed.connect(self._update_zoom)
        self.title = QLabel()
        self.title.setObjectName("viewerTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.position = QLabel()
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(80)
        self.zoom_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.back_button = _tool_button("← Photos", "Back to the photos (Esc)", "viewerBack")
        self.back_button.clicked.connect(self.close_viewer)
        self.previous_button = _tool_button("‹", "Previous photo (←)", "viewerPrevious")
        self.previous_button.clicked.connect(lambda: self.step(-1))
        self.next_button = _tool_button("›", "Next photo (→)", "viewerNext")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.zoom_out_button = _tool_button("−", "Zoom out (−, or the wheel)", "viewerZoomOut")
        self.zoom_out_button.clicked.connect(self.canvas.zoom_out)
        self.zoom_in_button = _tool_button("+", "Zoom in (+, or the wheel)", "viewerZoomIn")
        self.zoom_in_button.clicked.connect(self.canvas.zoom_in)
        self.fit_button = _tool_button("Fit", "Fit the photo to the window (0)", "viewerFit")
        self.fit_button.clicked.connect(self.canvas.fit)
        self.actual_button = _tool_button("100%", "Actual size (1)", "viewerActual")
        self.actual_button.clicked.connect(lambda: self.canvas.actual_size())
        self.full_screen_button = _tool_button(
            "Full screen", "Full screen (F11)", "viewerFullScreen"
        )
        self.full_screen_button.clicked.connect(self.full_screen_requested)
        self.open_button = _tool_button(
            "Open in system viewer", "Open the photo in the system's image viewer", "viewerOpen"
        )
        self.open_button.clicked.connect(self._open_externally)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.back_button)
        bar.addWidget(self.previous_button)
        bar.addWidget(self.next_button)
        bar.addWidget(self.title, 1)
        bar.addWidget(self.position)
        for widget in (
            self.zoom_out_button,
            self.zoom_label,
            self.zoom_in_button,
            self.fit_button,
            self.actual_button,
            self.full_screen_button,
            self.open_button,
        ):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.canvas, 1)

        model.records_loaded.connect(self._on_records_loaded)
        model.modelReset.connect(self._on_model_reset)
        if thumbnails is not None:
            thumbnails.loaded.connect(self._on_decoded)  # the stand-in arrived

    # -- what is shown ----------------------------------------------------------------------

    @property
    def record(self) -> PhotoRecord | None:
        return self.model.record_at(self.row) if self.row >= 0 else None

    def show_row(self, row: int) -> None:
        """Show the photo in the model's ``row`` (clamped to the photos there are)."""
        count = self.model.rowCount()
        if count == 0:
            self.row, self.photo_id = -1, None
            self.canvas.set_stand_in(None, "No photos to show")
            self._update_title()
            return
        row = max(0, min(count - 1, row))
        changed = row != self.row
        self.row = row
        photo_id = self.model.index(row).data(GridRole.PhotoIdRole)
        self.photo_id = photo_id if isinstance(photo_id, int) else None
        self._show_current()
        if changed:
            self.row_changed.emit(row)

    def step(self, delta: int) -> None:
        """Move ``delta`` photos on (negative: back), stopping at either end."""
        if delta:
            self._step = 1 if delta > 0 else -1
        self.show_row(self.row + delta)

    def _show_current(self) -> None:
        record = self.record
        decoded = self.decoder.get(record) if record is not None else None
        failure = self.decoder.failure(record) if record is not None else None
        if decoded is not None:
            if self.canvas.full is not decoded.full:
                self.canvas.set_image(decoded.full, decoded.screen)
        elif record is not None and failure is not None:
            name = os.path.basename(record.path)
            self.canvas.set_stand_in(None, f"{name} cannot be shown: {failure}")
        else:
            pixmap = None
            if record is not None and self.thumbnails is not None:
                pixmap = self.thumbnails.pixmap(record)
            self.canvas.set_stand_in(pixmap, "" if pixmap is not None else "Loading…")
        self._update_title()
        self._decode_around()

    def _decode_around(self) -> None:
        """Decode the photo shown, then those ahead in the direction of travel, one behind."""
        screen = self.screen()
        self.decoder.screen = screen.size() * screen.devicePixelRatio()
        rows = [self.row + self._step * k for k in range(AHEAD + 1)] + [self.row - self._step]
        records = [self.model.record_at(r) for r in rows if 0 <= r < self.model.rowCount()]
        self.decoder.want([r for r in records if r is not None])

    def _update_title(self) -> None:
        record = self.record
        count = self.model.rowCount()
        if record is None:
            self.title.setText("Loading…" if count else "")
        else:
            when = describe_date(record)
            self.title.setText(f"{os.path.basename(record.path)}   ·   {when}")
            self.title.setToolTip(record.path)
        self.position.setText(f"{self.row + 1:,} of {count:,}" if count else "")
        self.previous_button.setEnabled(self.row > 0)
        self.next_button.setEnabled(0 <= self.row < count - 1)
        self.open_button.setEnabled(record is not None)

    def _update_zoom(self) -> None:
        self.zoom_label.setText(self.canvas.zoom_text())
        has_image = self.canvas.has_image
        for button in (self.zoom_in_button, self.zoom_out_button, self.fit_button):
            button.setEnabled(has_image)
        self.actual_button.setEnabled(has_image)

    # -- updates ----------------------------------------------------------------------------

    def _on_decoded(self, photo_id: int) -> None:
        if photo_id == self.photo_id and self.isVisible() and not self.canvas.has_image:
            self._show_current()

    def _on_records_loaded(self) -> None:
        if self.isVisible() and self.row >= 0 and not self.canvas.has_image:
            self._show_current()

    def _on_model_reset(self) -> None:
        """The grid shows other photos (a refresh): stay on this photo if it is still there."""
        if self.photo_id is None:
            return
        row = self.model.row_of(self.photo_id)
        self.row = -1
        if self.isVisible():
            self.show_row(row if row is not None else 0)

    # -- keys and buttons ---------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        plain = not event.modifiers() & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
        )
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Space, Qt.Key.Key_PageDown) and plain:
            self.step(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Backspace, Qt.Key.Key_PageUp) and plain:
            self.step(-1)
        elif key == Qt.Key.Key_Home and plain:
            self.show_row(0)
        elif key == Qt.Key.Key_End and plain:
            self.show_row(self.model.rowCount() - 1)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal) and plain:
            self.canvas.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore) and plain:
            self.canvas.zoom_out()
        elif key == Qt.Key.Key_0 and plain:
            self.canvas.fit()
        elif key == Qt.Key.Key_1 and plain:
            self.canvas.actual_size()
        elif key in (Qt.Key.Key_F11, Qt.Key.Key_F) and plain:
            self.full_screen_requested.emit()
        elif key == Qt.Key.Key_Escape or event.matches(QKeySequence.StandardKey.Back):
            self.close_viewer()
        else:
            super().keyPressEvent(event)

    def close_viewer(self) -> None:
        self.closed.emit()

    def _open_externally(self) -> None:
        record = self.record
        if record is not None:
            self.open_externally_requested.emit([record])


class ViewerMode(QObject):
    """Switches the window between its photos and the viewer (full screen on request), and
    leaves the grid on the photo last viewed."""

    def __init__(
        self, window: QMainWindow, stack: QStackedWidget, viewer: PhotoViewer, grid: QListView
    ) -> None:
        super().__init__(window)
        self.window, self.stack, self.viewer, self.grid = window, stack, viewer, grid
        self.back_to: QWidget | None = None
        self._was_maximized = False
        stack.addWidget(viewer)
        viewer.closed.connect(self.close)
        viewer.full_screen_requested.connect(self.toggle_full_screen)

    @property
    def active(self) -> bool:
        return self.stack.currentWidget() is self.viewer

    def or_selected(
        self, selected: Callable[[], list[PhotoRecord]]
    ) -> Callable[[], list[PhotoRecord]]:
        """What the photo actions (rate, rotate, export) act on: the photo in the viewer while
        it shows, else ``selected`` (the grid's selection)."""

        def records() -> list[PhotoRecord]:
            record = self.viewer.record if self.active else None
            return [record] if record is not None else selected()

        return records

    def open(self, records: Sequence[PhotoRecord]) -> None:
        """View the grid's current photo (else the first of ``records``) over the window."""
        index = self.grid.currentIndex()
        row = index.row() if index.isValid() else None
        if row is None and records:
            row = self.viewer.model.row_of(records[0].id)
        if row is None:
            return
        if not self.active:
            self.back_to = self.stack.currentWidget()
            self.stack.setCurrentWidget(self.viewer)
        self.viewer.show_row(row)
        self.viewer.setFocus()

    def close(self) -> None:
        """Back to the photos, the grid on the photo last viewed."""
        if not self.active:
            return
        if self.window.isFullScreen():
            self.toggle_full_screen()
        back_to = self.back_to or self.stack.widget(0)
        if back_to is not None:
            self.stack.setCurrentWidget(back_to)
        row = self.viewer.row
        model = self.grid.model()
        if 0 <= row < model.rowCount():
            index = model.index(row, 0)
            self.grid.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            self.grid.scrollTo(index)
        self.grid.setFocus()

    def toggle_full_screen(self) -> None:
        window = self.window
        if window.isFullScreen():
            window.showMaximized() if self._was_maximized else window.showNormal()
        else:
            self._was_maximized = window.isMaximized()
            window.showFullScreen()
