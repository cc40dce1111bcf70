"""What a fine-tuning run learns from: every captioned photo, some albums, or a ``path,caption``
file; the group box that chooses it and counts the image–text pairs it gives, in the background.
"""

from __future__ import annotations

import enum
import html
import os
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.words import photos, user_message
from photosense.library import (
    MIN_HELDOUT,
    MIN_PAIRS,
    AlbumInfo,
    FineTuneSettings,
    Library,
    PairsPreview,
)

TYPING_PAUSE_MS = 400
"""A typed path is taken this long after the last key (or at once on Enter)."""
PREVIEW_CHARS = 90


class Source(enum.Enum):
    ALL = "all"
    ALBUMS = "albums"
    FILE = "file"


@dataclass(frozen=True)
class Choice:
    """What to learn from, as ``Library.finetune`` takes it."""

    albums: tuple[str, ...] | None = None  # None: every captioned photo (or only the file)
    captions: str | None = None

    def preview(self, library: Library) -> PairsPreview:
        return library.finetune.preview(albums=self.albums, captions=self.captions)


class FineTuneSources(QGroupBox):
    """ "Learn from": the choice of photos and the count of pairs it gives (the latest wins)."""

    changed = Signal()  # the choice, the count or the albums offered changed

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__("Learn from", parent)
        self.library = library
        self.runner = runner
        self.count_job: Job | None = None
        self.pair_count: int | None = None  # of the current choice; None while counting
        self.preview: PairsPreview | None = None  # of the current choice, once counted
        self.heldout_fraction = FineTuneSettings().heldout_fraction  # for the words only
        self.all_radio = QRadioButton("All captioned photos in the library")
        self.albums_radio = QRadioButton(
            "Photos in these albums (the album's name captions photos without one)"
        )
        self.file_radio = QRadioButton("Captions from a file (CSV with path,caption)")
        self.source_group = QButtonGroup(self)
        for radio in (self.all_radio, self.albums_radio, self.file_radio):
            self.source_group.addButton(radio)
        self.all_radio.setChecked(True)
        self.album_list = QListWidget()
        self.album_list.setMaximumHeight(120)
        self.album_list.setAccessibleName("Albums to learn from")
        self.file_field = QLineEdit()
        self.file_field.setPlaceholderText("captions.csv")
        self.browse_button = QPushButton("Browse…")
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_field, 1)
        file_row.addWidget(self.browse_button)
        self.file_timer = QTimer(self)
        self.file_timer.setSingleShot(True)
        self.file_timer.setInterval(TYPING_PAUSE_MS)
        self.pairs_label = QLabel("Counting captioned photos…")
        self.pairs_label.setWordWrap(True)
        self.preview_label = QLabel()
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextFormat(Qt.TextFormat.RichText)
        self.preview_label.setAccessibleName("Captions it will learn from")
        sources = QVBoxLayout(self)
        sources.addWidget(self.all_radio)
        sources.addWidget(self.albums_radio)
        sources.addWidget(self.album_list)
        sources.addWidget(self.file_radio)
        sources.addLayout(file_row)
        sources.addWidget(self.pairs_label)
        sources.addWidget(self.preview_label)

        self.source_group.buttonToggled.connect(self._on_choice_changed)
        self.album_list.itemChanged.connect(self._on_album_checked)
        self.file_field.editingFinished.connect(self._on_file_edited)
        self.file_field.textEdited.connect(lambda _text: self.file_timer.start())
        self.file_timer.timeout.connect(self._on_file_edited)
        self.browse_button.clicked.connect(self.browse)

    def set_albums(self, albums: list[AlbumInfo]) -> None:
        """Offer ``albums`` (with their counts), keeping the ones checked checked."""
        checked = set(self.chosen_albums())
        self.album_list.blockSignals(True)
        self.album_list.clear()
        for album in albums:
            item = QListWidgetItem(f"{album.name} ({photos(album.count)})")
            item.setData(Qt.ItemDataRole.UserRole, album.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if album.name in checked else Qt.CheckState.Unchecked
            )
            self.album_list.addItem(item)
        self.album_list.blockSignals(False)
        self.albums_radio.setEnabled(bool(albums) or self.albums_radio.isChecked())
        self.changed.emit()

    def set_choosing(self, choosing: bool) -> None:
        """Enable the album list and the file field only while choosing, for their source."""
        self.album_list.setEnabled(choosing and self.albums_radio.isChecked())
        file_mode = choosing and self.file_radio.isChecked()
        self.file_field.setEnabled(file_mode)
        self.browse_button.setEnabled(file_mode)

    def chosen_albums(self) -> list[str]:
        items = (self.album_list.item(row) for row in range(self.album_list.count()))
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for item in items
            if item is not None and item.checkState() == Qt.CheckState.Checked
        ]

    def source(self) -> Source:
        if self.albums_radio.isChecked():
            return Source.ALBUMS
        return Source.FILE if self.file_radio.isChecked() else Source.ALL

    def choose_source(
        self, source: Source, *, albums: tuple[str, ...] = (), file: str = ""
    ) -> None:
        """Select a source (as the user would), checking ``albums`` and filling in ``file``."""
        for row in range(self.album_list.count()):
            item = self.album_list.item(row)
            if item is not None and albums:
                name = item.data(Qt.ItemDataRole.UserRole)
                state = Qt.CheckState.Checked if name in albums else Qt.CheckState.Unchecked
                self.album_list.blockSignals(True)
                item.setCheckState(state)
                self.album_list.blockSignals(False)
        if file:
            self.file_field.setText(file)
        radio = {Source.ALL: self.all_radio, Source.ALBUMS: self.albums_radio}
        radio.get(source, self.file_radio).setChecked(True)
        self.count()

    def choice(self) -> Choice:
        source = self.source()
        if source is Source.ALBUMS:
            return Choice(albums=tuple(self.chosen_albums()))
        if source is Source.FILE:
            return Choice(captions=self.file_field.text().strip())
        return Choice()

    def browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Captions file", self.file_field.text(), "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.choose_source(Source.FILE, file=path)

    def _on_choice_changed(self, _button: object, checked: bool) -> None:
        if checked:
            self.count()

    def _on_album_checked(self, _item: QListWidgetItem) -> None:
        if not self.albums_radio.isChecked():
            self.albums_radio.setChecked(True)  # counts through _on_choice_changed
        else:
            self.count()

    def _on_file_edited(self) -> None:
        """Take the typed path (after a pause in typing, on Enter or on leaving the field)."""
        self.file_timer.stop()
        if self.file_field.text().strip() and not self.file_radio.isChecked():
            self.file_radio.setChecked(True)
        elif self.file_radio.isChecked():
            self.count()

    def count(self) -> None:
        """Count the pairs of the current choice in the background (a CSV is read, files
        checked); the latest count wins."""
        choice = self.choice()
        self.pair_count = None
        self.preview = None
        self.preview_label.clear()
        if choice.albums == () or choice.captions == "":
            what = "Choose one or more albums." if choice.albums == () else "Choose a file."
            self._set_count(0, what)
            return
        if choice.captions is not None and not os.path.isfile(os.path.expanduser(choice.captions)):
            self._set_count(0, f"No file at {choice.captions}: check the path, or Browse….")
            return
        self.pairs_label.setText("Counting captioned photos…")
        job = Job.call(choice.preview, self.library, name="count pairs", lane=Lane.READ)
        job.signals.finished.connect(self._on_counted)
        job.signals.failed.connect(self._on_count_failed)
        self.count_job = job
        self.runner.start(job)
        self.changed.emit()

    def _on_counted(self, preview: PairsPreview) -> None:
        if self.count_job is None or self.sender() is not self.count_job.signals:
            return  # an older choice's count
        self.preview = preview
        self._set_count(preview.count)
        self.preview_label.setText(describe_preview(preview))

    def _on_count_failed(self, exc: object) -> None:
        if self.count_job is None or self.sender() is not self.count_job.signals:
            return
        self.pair_count = 0
        self.pairs_label.setText(user_message(exc))
        self.changed.emit()

    def _set_count(self, count: int, hint: str = "") -> None:
        self.pair_count = count
        if count >= MIN_PAIRS:
            kept = max(MIN_HELDOUT, round(self.heldout_fraction * count))
            text = (
                f"{photos(count)} with captions to learn from; {kept:,} of them are kept aside "
                "to measure the result."
            )
        else:
            text = hint or (
                f"{photos(count)} with captions here; fine-tuning needs at least {MIN_PAIRS}. "
                "Caption more photos (select one and press Ctrl+E) or add photos to the albums "
                "you learn from."
            )
        self.pairs_label.setText(text)
        self.changed.emit()


def describe_preview(preview: PairsPreview) -> str:
    """A few of the pairs it will learn from, and what was left out and why (rich text)."""
    lines = []
    for pair in preview.samples:
        text = pair.text if len(pair.text) <= PREVIEW_CHARS else pair.text[:PREVIEW_CHARS] + "…"
        name = os.path.basename(pair.path)
        lines.append(f"“{html.escape(text)}” <i>({html.escape(name)})</i>")
    if preview.count > len(preview.samples):
        lines.append(f"… and {preview.count - len(preview.samples):,} more")
    left = sum(preview.left_out.values())
    if left:
        why = ", ".join(
            f"{count:,} {reason}"
            for reason, count in sorted(preview.left_out.items(), key=lambda kv: -kv[1])
        )
        lines.append(
            f"Left out {left:,} caption{'s' if left != 1 else ''} that came with the "
            f"files: {html.escape(why)}."
        )
    return "<br>".join(lines)
