"""The detail pane: a large upright preview of the current photo and what is known about it."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.models import format_size
from photosense.gui.thumbnail_loader import load_thumbnail_image
from photosense.media.thumbnails import PREVIEW_SIZE, ThumbnailCache
from photosense.store.repository import PhotoRecord

log = logging.getLogger(__name__)

NO_VALUE = "—"


def describe_date(record: PhotoRecord) -> str:
    taken = record.taken_at
    text = f"{taken:%A} {taken.day} {taken:%B %Y, %H:%M}"
    return text if record.taken_at_exif else f"{text} (file date; the photo has no EXIF date)"


def describe_camera(record: PhotoRecord) -> str:
    make, model = record.camera_make or "", record.camera_model or ""
    if make and model.lower().startswith(make.lower().split()[0]):
        make = ""  # "Canon" + "Canon EOS 5D" reads as "Canon EOS 5D"
    return " ".join(part for part in (make, model) if part) or NO_VALUE


def describe_place(record: PhotoRecord) -> str:
    if record.latitude is None or record.longitude is None:
        return NO_VALUE
    lat, lon = record.latitude, record.longitude
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"


def describe_dimensions(record: PhotoRecord) -> str:
    if not record.width or not record.height:
        return NO_VALUE
    megapixels = record.width * record.height / 1e6
    return f"{record.width} × {record.height} ({megapixels:.1f} MP)"


def _wrappable(path: str) -> str:
    """Let a label wrap a long path after its separators."""
    return path.replace(os.sep, os.sep + "\u200b")


class PreviewLabel(QLabel):
    """Shows a pixmap scaled to fit its width, keeping the aspect ratio as the pane resizes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(160, 160))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Preview")

    def set_image(self, pixmap: QPixmap | None, message: str = "") -> None:
        self._pixmap = pixmap
        if pixmap is None:
            self.setPixmap(QPixmap())
            self.setText(message)
        self._rescale()

    def has_image(self) -> bool:
        return self._pixmap is not None

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap is None:
            return
        ratio = self.devicePixelRatioF()
        width = max(1, self.width())
        height = max(1, int(width * 1.1))
        scaled = self._pixmap.scaled(
            QSize(int(width * ratio), int(height * ratio)),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        scaled.setDevicePixelRatio(ratio)
        self.setPixmap(scaled)


class DetailPane(QScrollArea):
    """Preview and facts of the current photo; buttons for what can be done with it."""

    open_requested = Signal(list)  # list[PhotoRecord]
    similar_requested = Signal(object)  # PhotoRecord
    show_in_folder_requested = Signal(object)  # PhotoRecord
    preview_shown = Signal()  # the preview of the current photo is on screen

    def __init__(
        self, runner: JobRunner, cache: ThumbnailCache, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.cache = cache
        self.record: PhotoRecord | None = None
        self._preview_jobs: dict[QObject, int] = {}  # signals -> photo id
        self.setObjectName("detailPane")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setMinimumWidth(240)

        body = QWidget()
        layout = QVBoxLayout(body)
        self.preview = PreviewLabel()
        layout.addWidget(self.preview)
        self.title = QLabel()
        self.title.setWordWrap(True)
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)

        form = self.form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("date", "Taken"),
            ("camera", "Camera"),
            ("place", "Place"),
            ("dimensions", "Size"),
            ("file", "File"),
            ("folder", "Folder"),
            ("score", "Relevance"),
        ):
            value = QLabel(NO_VALUE)
            value.setWordWrap(True)
            value.setObjectName(f"detail_{key}")
            form.addRow(label, value)
            self.fields[key] = value
        form.setContentsMargins(0, 0, 0, 0)
        self.facts = QWidget()
        self.facts.setLayout(form)
        layout.addWidget(self.facts)

        self.buttons = QWidget()
        buttons = QHBoxLayout(self.buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open in the system's image viewer (Enter)")
        self.open_button.clicked.connect(self._open)
        self.folder_button = QPushButton("Show in folder")
        self.folder_button.clicked.connect(self._show_in_folder)
        self.similar_button = QPushButton("Similar photos")
        self.similar_button.setToolTip("Find photos that look like this one (Ctrl+Shift+F)")
        self.similar_button.clicked.connect(self._similar)
        for button in (self.similar_button, self.open_button, self.folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.buttons)
        layout.addStretch(1)
        self.setWidget(body)
        self.show_records([])

    def show_records(
        self,
        records: Sequence[PhotoRecord],
        current: PhotoRecord | None = None,
        score: float | None = None,
    ) -> None:
        """Show ``current`` (or the only selected photo); a summary line for a multi-selection."""
        record = current if current is not None else (records[0] if len(records) == 1 else None)
        self.record = record
        for button in (self.open_button, self.folder_button, self.similar_button):
            button.setEnabled(record is not None)
        self.facts.setVisible(record is not None)
        self.buttons.setVisible(record is not None)
        if record is None:
            self.preview.set_image(None, "Select a photo to see it here" if not records else "")
            self.title.setText(
                f"{len(records)} photos selected, {format_size(sum(r.size for r in records))}"
                if records
                else ""
            )
            for label in self.fields.values():
                label.setText(NO_VALUE)
            self.form.setRowVisible(self.fields["score"], False)
            return
        self.title.setText(os.path.basename(record.path))
        if len(records) > 1:
            self.title.setText(f"{os.path.basename(record.path)}  (1 of {len(records)} selected)")
        self.fields["date"].setText(describe_date(record))
        self.fields["camera"].setText(describe_camera(record))
        self.fields["place"].setText(describe_place(record))
        self.fields["dimensions"].setText(describe_dimensions(record))
        kind = record.format or os.path.splitext(record.path)[1].lstrip(".").upper()
        self.fields["file"].setText(f"{kind}, {format_size(record.size)}")
        self.fields["folder"].setText(_wrappable(os.path.dirname(record.path)))
        self.fields["folder"].setToolTip(record.path)
        self.fields["score"].setText(NO_VALUE if score is None else f"{score:.3f}")
        self.form.setRowVisible(self.fields["score"], score is not None)
        self._load_preview(record)

    def _load_preview(self, record: PhotoRecord) -> None:
        self.preview.set_image(None, "Loading preview…")
        job = Job.call(
            load_thumbnail_image,
            self.cache,
            record.path,
            PREVIEW_SIZE,
            name=f"preview {record.id}",
            lane=Lane.READ,
        )
        self._preview_jobs[job.signals] = record.id
        job.signals.finished.connect(self._on_preview_loaded)
        job.signals.failed.connect(self._on_preview_failed)
        job.signals.done.connect(self._on_preview_done)
        self.runner.start(job)

    def _current_sender(self) -> bool:
        photo_id = self._preview_jobs.get(self.sender())
        return self.record is not None and photo_id == self.record.id

    def _on_preview_loaded(self, result: object) -> None:
        if not self._current_sender():
            return
        if isinstance(result, QImage):
            self.preview.set_image(QPixmap.fromImage(result))
        else:
            self.preview.set_image(None, f"No preview: {result}")
        self.preview_shown.emit()

    def _on_preview_failed(self, exc: object) -> None:
        if self._current_sender():
            log.warning("preview failed: %s", exc)
            self.preview.set_image(None, f"No preview: {exc}")

    def _on_preview_done(self) -> None:
        self._preview_jobs.pop(self.sender(), None)

    def _open(self) -> None:
        if self.record is not None:
            self.open_requested.emit([self.record])

    def _show_in_folder(self) -> None:
        if self.record is not None:
            self.show_in_folder_requested.emit(self.record)

    def _similar(self) -> None:
        if self.record is not None:
            self.similar_requested.emit(self.record)
