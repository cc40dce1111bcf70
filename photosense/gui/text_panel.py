"""The detail pane's "Text in the photo": the lines read in it, a button that copies them, and
a switch for their boxes on the preview (drawn by :func:`draw_boxes`)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photosense.library import PhotoText, TextLine

BOX_COLOUR = QColor(0, 229, 255)
"""Cyan, rarely the colour of signs themselves, drawn over a dark edge so it shows on light
and dark photos alike."""
LIMITED = {
    "lines": "Only the largest lines were read: the photo holds more text than is read on one.",
    "time": "Reading stopped at its time limit; some text may be missing.",
}


def draw_boxes(pixmap: QPixmap, lines: Sequence[TextLine]) -> QPixmap:
    """A copy of ``pixmap`` with a rectangle around each line (boxes are fractions of the
    upright photo, which the pixmap shows whole)."""
    if not lines:
        return pixmap
    drawn = QPixmap(pixmap)
    ratio = drawn.devicePixelRatio()
    width, height = drawn.width() / ratio, drawn.height() / ratio
    painter = QPainter(drawn)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rects = [
            QRectF(line.x * width, line.y * height, line.w * width, line.h * height)
            for line in lines
        ]
        edge = QPen(QColor(0, 0, 0, 160))
        edge.setWidthF(3.5)
        painter.setPen(edge)
        painter.setBrush(QColor(0, 229, 255, 36))
        for rect in rects:
            painter.drawRect(rect)
        pen = QPen(BOX_COLOUR)
        pen.setWidthF(1.5)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rect in rects:
            painter.drawRect(rect)
    finally:
        painter.end()
    return drawn


class TextPanel(QWidget):
    """The text read in the current photo; ``boxes_toggled`` when the user shows or hides its
    boxes on the preview, ``copied`` with the text put on the clipboard."""

    boxes_toggled = Signal(bool)
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text: PhotoText | None = None
        self.status = QLabel("Loading…")
        self.status.setObjectName("textStatus")
        self.status.setWordWrap(True)
        self.status.setEnabled(False)
        self.view = QPlainTextEdit()
        self.view.setObjectName("photoText")
        self.view.setReadOnly(True)
        self.view.setAccessibleName("Text in the photo")
        self.view.setMaximumHeight(140)
        self.view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.copy_button = QPushButton("Copy text")
        self.copy_button.setToolTip("Copy the text read in the photo to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.show_boxes = QCheckBox("Show on photo")
        self.show_boxes.setToolTip("Draw a box around each line of text on the preview")
        self.show_boxes.setChecked(True)
        self.show_boxes.toggled.connect(self.boxes_toggled)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.copy_button)
        row.addWidget(self.show_boxes)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.view)
        layout.addLayout(row)
        self.show_text(None)

    @property
    def boxes(self) -> list[TextLine]:
        """The boxes to draw on the preview (none when hidden)."""
        if self.text is None or not self.show_boxes.isChecked():
            return []
        return self.text.lines

    def show_text(self, text: PhotoText | None, loading: bool = True) -> None:
        """Show what was read in the photo (None: not known yet, or no library)."""
        self.text = text
        has_lines = text is not None and bool(text.lines)
        self.view.setPlainText(text.text if text is not None else "")
        self.view.setVisible(has_lines)
        self.copy_button.setEnabled(has_lines)
        self.show_boxes.setVisible(has_lines)
        self.copy_button.setVisible(has_lines)
        self.status.setText(self._describe(text, loading))
        self.status.setVisible(bool(self.status.text()))

    @staticmethod
    def _describe(text: PhotoText | None, loading: bool) -> str:
        if text is None:
            return "Loading…" if loading else ""
        if not text.read:
            return "Not read yet: text is read when its folder is indexed or rescanned."
        if text.failure is not None:
            return f"Could not be read: {text.failure}"
        if not text.lines:
            return "No text found in this photo."
        return LIMITED.get(text.limited or "", "")

    def copy(self) -> None:
        """Put the photo's text on the clipboard."""
        if self.text is None or not self.text.lines:
            return
        QGuiApplication.clipboard().setText(self.text.text)
        self.copied.emit(self.text.text)
