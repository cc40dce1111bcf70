"""The detail pane: a large upright preview of the current photo and what is known about it."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

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

from photosense.errors import TagNotFoundError
from photosense.gui.annotations import (
    CaptionEditor,
    PhotoNotes,
    TagEditor,
    describe_caption_source,
    visible_tags,
)
from photosense.gui.dialogs import heading
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.people_page import preview_with_faces
from photosense.gui.photo_grid_model import format_size
from photosense.gui.text_panel import TextPanel, draw_boxes
from photosense.gui.words import user_message
from photosense.library import (
    PREVIEW_SIZE,
    Library,
    PhotoRecord,
    PlaceRecord,
    TextLine,
    ThumbnailCache,
    place_label,
)

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


def describe_position(record: PhotoRecord) -> str:
    if record.latitude is None or record.longitude is None:
        return NO_VALUE
    lat, lon = record.latitude, record.longitude
    return f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° {'E' if lon >= 0 else 'W'}"


def describe_place(record: PhotoRecord, place: PlaceRecord | None = None) -> str:
    """The town, region and country where the photo was taken; its position when it has no
    place yet; "—" when the file has no GPS position."""
    position = describe_position(record)
    if place is None or position == NO_VALUE:
        return position
    if place.country is None:
        return f"{position} (far from any town)"
    return place_label(place)


def describe_dimensions(record: PhotoRecord) -> str:
    if not record.width or not record.height:
        return NO_VALUE
    megapixels = record.width * record.height / 1e6
    return f"{record.width} × {record.height} ({megapixels:.1f} MP)"


class ElidedLabel(QLabel):
    """One line of text shortened in the middle to fit ("/home/me/…/2023/Trips"), whole in
    its tooltip; for paths, whose both ends matter."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_full_text(text)

    @property
    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str, tooltip: str | None = None) -> None:
        self._full = text
        self.setToolTip(tooltip if tooltip is not None else text)
        self.setAccessibleName(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), self.minimumWidth())
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))


class PreviewLabel(QLabel):
    """Shows a pixmap scaled to fit its width, keeping the aspect ratio as the pane resizes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.overlays: list[Callable[[QPixmap], QPixmap]] = []
        """Drawn over the scaled photo in turn (the text panel's boxes…)."""
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
        for overlay in self.overlays:
            scaled = overlay(scaled)
        self.setPixmap(scaled)

    def redraw(self) -> None:
        """Draw the photo and its overlays again (an overlay changed)."""
        self._rescale()


class DetailPane(QScrollArea):
    """Preview and facts of the current photo, its tags and caption, and what can be done."""

    open_requested = Signal(list)  # list[PhotoRecord]
    similar_requested = Signal(object)  # PhotoRecord
    show_in_folder_requested = Signal(object)  # PhotoRecord
    preview_shown = Signal()  # the preview of the current photo is on screen
    notes_shown = Signal()  # the current photo's tags and caption are on screen
    tags_changed = Signal()  # the user accepted, rejected or added a tag
    caption_saved = Signal(str)  # the path of the photo whose caption was saved
    failed = Signal(str)  # a change could not be saved: why, in words

    def __init__(
        self,
        runner: JobRunner,
        cache: ThumbnailCache,
        library: Library | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.cache = cache
        self.library = library
        self.record: PhotoRecord | None = None
        self.notes: PhotoNotes | None = None
        self._preview_jobs: dict[QObject, int] = {}  # signals -> photo id
        self._notes_jobs: dict[QObject, int] = {}
        self._saving = 0  # changes on their way to the library
        self.setObjectName("detailPane")
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(260)

        body = QWidget()
        layout = QVBoxLayout(body)
        self.preview = PreviewLabel()
        layout.addWidget(self.preview)
        self.title = ElidedLabel()
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        title_font.setBold(True)
        self.title.setFont(title_font)
        layout.addWidget(self.title)

        form = self.form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        for key, label in (
            ("date", "Taken"),
            ("camera", "Camera"),
            ("place", "Place"),
            ("dimensions", "Size"),
            ("file", "File"),
            ("folder", "Folder"),
            ("score", "Relevance"),
            ("albums", "Albums"),
        ):
            value: QLabel
            if key == "folder":
                value = ElidedLabel(NO_VALUE)
            else:
                value = QLabel(NO_VALUE)
                value.setWordWrap(True)
                value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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

        self.tag_editor = TagEditor()
        self.tag_editor.accept_requested.connect(self.accept_tag)
        self.tag_editor.reject_requested.connect(self.reject_tag)
        self.caption = CaptionEditor()
        self.caption.save_requested.connect(self.save_caption)
        self.notes_box = QWidget()
        notes = QVBoxLayout(self.notes_box)
        notes.setContentsMargins(0, 6, 0, 0)
        notes.addWidget(heading("Tags"))
        notes.addWidget(self.tag_editor)
        notes.addSpacing(6)
        notes.addWidget(heading("Caption"))
        notes.addWidget(self.caption)
        notes.addSpacing(6)
        self.text_panel = TextPanel()
        self.text_panel.boxes_toggled.connect(self.preview.redraw)
        self.preview.overlays.append(lambda pixmap: draw_boxes(pixmap, self._text_boxes()))
        notes.addWidget(heading("Text in the photo"))
        notes.addWidget(self.text_panel)
        layout.addWidget(self.notes_box)
        layout.addStretch(1)
        self.setWidget(body)
        self.show_records([])

    def show_records(
        self,
        records: Sequence[PhotoRecord],
        current: PhotoRecord | None = None,
        score: float | None = None,
    ) -> None:
        """Show ``current`` (or the only selected photo); a summary line for a multi-selection.

        A caption edited and not saved is saved before another photo is shown.
        """
        record = current if current is not None else (records[0] if len(records) == 1 else None)
        if self.record is not None and self.caption.modified and record != self.record:
            self.save_caption(self.caption.text, self.caption.sidecar.isChecked())
        self.record = record
        for button in (self.open_button, self.folder_button, self.similar_button):
            button.setEnabled(record is not None)
        self.facts.setVisible(record is not None)
        self.buttons.setVisible(record is not None)
        self.notes_box.setVisible(record is not None and self.library is not None)
        if record is None:
            self.notes = None
            self.preview.set_image(None, "Select a photo to see it here" if not records else "")
            self.title.set_full_text(
                f"{len(records)} photos selected, {format_size(sum(r.size for r in records))}"
                if records
                else ""
            )
            for label in self.fields.values():
                label.setText(NO_VALUE)
            self.form.setRowVisible(self.fields["score"], False)
            return
        name = os.path.basename(record.path)
        if len(records) > 1:
            self.title.set_full_text(f"{name}  (1 of {len(records)} selected)", record.path)
        else:
            self.title.set_full_text(name, record.path)
        self.fields["date"].setText(describe_date(record))
        self.fields["camera"].setText(describe_camera(record))
        notes = self.notes if self.notes is not None and self.notes.photo_id == record.id else None
        self.fields["place"].setText(describe_place(record, notes.place if notes else None))
        self.fields["dimensions"].setText(describe_dimensions(record))
        kind = record.format or os.path.splitext(record.path)[1].lstrip(".").upper()
        self.fields["file"].setText(f"{kind}, {format_size(record.size)}")
        folder = self.fields["folder"]
        assert isinstance(folder, ElidedLabel)
        folder.set_full_text(os.path.dirname(record.path), record.path)
        self.fields["score"].setText(NO_VALUE if score is None else f"{score:.3f}")
        self.form.setRowVisible(self.fields["score"], score is not None)
        self._load_preview(record)
        if self.notes is None or self.notes.photo_id != record.id:
            self._show_notes(None)
            self.load_notes()

    # -- preview ----------------------------------------------------------------------------

    def _text_boxes(self) -> list[TextLine]:
        """The text boxes to draw: none on a photo the user turned (they are of the photo as
        it was taken), as for faces."""
        if self.record is None or self.record.rotation % 360:
            return []
        return self.text_panel.boxes

    def _load_preview(self, record: PhotoRecord) -> None:
        self.preview.set_image(None, "Loading preview…")
        job = Job.call(
            preview_with_faces,
            self.library,
            self.cache,
            record,
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

    # -- tags, caption, albums --------------------------------------------------------------

    def load_notes(self) -> Job | None:
        """Reload the current photo's tags, caption and albums in the background."""
        record, library = self.record, self.library
        if record is None or library is None:
            return None
        job = Job.call(read_notes, library, record, name=f"notes {record.id}", lane=Lane.READ)
        self._notes_jobs[job.signals] = record.id
        job.signals.finished.connect(self._on_notes_loaded)
        job.signals.failed.connect(self._on_notes_failed)
        job.signals.done.connect(self._on_notes_done)
        return self.runner.start(job)

    def _on_notes_done(self) -> None:
        self._notes_jobs.pop(self.sender(), None)

    def _on_notes_loaded(self, notes: PhotoNotes) -> None:
        if self.record is not None and notes.photo_id == self.record.id:
            self._show_notes(notes)
            self.notes_shown.emit()

    def _on_notes_failed(self, exc: object) -> None:
        photo_id = self._notes_jobs.get(self.sender())
        if self.record is not None and photo_id == self.record.id:
            log.warning("could not load the photo's tags and caption: %s", exc)
            self.tag_editor.empty.setText(f"Tags unavailable: {exc}")
            self.tag_editor.empty.setVisible(True)

    def _show_notes(self, notes: PhotoNotes | None) -> None:
        self.notes = notes
        self.tag_editor.empty.setText("No tags yet." if notes is not None else "Loading…")
        self.tag_editor.set_tags(visible_tags(notes.tags) if notes is not None else [])
        self.tag_editor.set_busy(notes is None or self._saving > 0)
        self.text_panel.show_text(notes.text if notes is not None else None)
        self.preview.redraw()
        if notes is None:
            self.caption.set_caption("")
            self.caption.setEnabled(False)
            self.fields["albums"].setText(NO_VALUE)
            return
        if not self.caption.modified or not self.caption.isEnabled():
            self.caption.set_caption(notes.caption, notes.caption_note)
        self.caption.setEnabled(True)
        self.fields["albums"].setText(", ".join(notes.albums) if notes.albums else NO_VALUE)
        if self.record is not None:
            self.fields["place"].setText(describe_place(self.record, notes.place))
            self.fields["place"].setToolTip(describe_position(self.record))

    def accept_tag(self, tag: str) -> Job | None:
        """Confirm (or add) ``tag`` on the current photo."""
        library = self.library
        if library is None or self.record is None:
            return None
        path = self.record.path
        return self._change(
            lambda: accept_or_add_tag(library, path, tag), f"tag {tag}", self._on_tagged
        )

    def reject_tag(self, tag: str) -> Job | None:
        """Say ``tag`` is wrong on the current photo."""
        library = self.library
        if library is None or self.record is None:
            return None
        path = self.record.path
        return self._change(
            lambda: library.tags.reject(path, tag), f"reject {tag}", self._on_tagged
        )

    def _on_tagged(self, _result: object) -> None:
        self.tags_changed.emit()

    def save_caption(self, text: str, sidecar: bool) -> Job | None:
        """Save the caption of the photo shown (an empty text removes it)."""
        library = self.library
        if library is None or self.record is None:
            return None
        path = self.record.path
        return self._change(
            lambda: write_caption(library, path, text, sidecar=sidecar),
            "caption",
            lambda note: self._on_caption_saved(path, text, note),
        )

    def _on_caption_saved(self, path: str, text: str, note: object) -> None:
        if self.record is not None and self.record.path == path:
            self.caption.mark_saved(text, str(note))
        self.caption_saved.emit(path)

    def _change(
        self, function: Callable[[], object], name: str, on_finished: Callable[[object], None]
    ) -> Job:
        """Run a change to the current photo on the write lane, then show the photo again."""
        self._saving += 1
        self.tag_editor.set_busy(True)
        job = Job.call(function, name=name, lane=Lane.WRITE)
        job.signals.finished.connect(on_finished)
        job.signals.failed.connect(lambda exc: self.failed.emit(user_message(exc)))
        job.signals.done.connect(self._on_change_done)
        return self.runner.start(job)

    def _on_change_done(self) -> None:
        self._saving -= 1
        if self._saving == 0:
            self.tag_editor.set_busy(self.notes is None)
            self.load_notes()

    # -- buttons ----------------------------------------------------------------------------

    def _open(self) -> None:
        if self.record is not None:
            self.open_requested.emit([self.record])

    def _show_in_folder(self) -> None:
        if self.record is not None:
            self.show_in_folder_requested.emit(self.record)

    def _similar(self) -> None:
        if self.record is not None:
            self.similar_requested.emit(self.record)


def read_notes(library: Library, record: PhotoRecord) -> PhotoNotes:
    """Any thread: the photo's tags, caption and albums from the library."""
    tags = library.tags.of_photo(record.path)
    caption = library.captions.get(record.path)
    albums = library.albums.of_photo(record.path)
    return PhotoNotes(
        record.id,
        tags,
        caption.text if caption is not None else "",
        describe_caption_source(caption.source, caption.updated_at) if caption else "",
        albums,
        library.places.of_photo(record.id),
        library.text.of_photo(record.id),
    )


def accept_or_add_tag(library: Library, path: str, tag: str) -> None:
    """Any thread: confirm ``tag`` on the photo, adding it to the vocabulary if it is new."""
    try:
        library.tags.accept(path, tag)
    except TagNotFoundError:
        library.tags.add(tag)
        library.tags.accept(path, tag)


def write_caption(library: Library, path: str, text: str, *, sidecar: bool) -> str:
    """Any thread: save (or, when empty, remove) the caption; returns a note on where it is."""
    saved = library.captions.set(path, text, sidecar=sidecar)
    if saved is None:
        return ""
    note = describe_caption_source(saved.source, saved.updated_at)
    return note + (" · also in the XMP sidecar" if sidecar else "")
