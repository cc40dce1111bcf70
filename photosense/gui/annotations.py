"""What the user adds to a photo, edited in the detail pane: its tags and its caption.

:class:`TagEditor` lists a photo's tags with accept / reject buttons and adds new ones;
:class:`CaptionEditor` edits the caption. Both only show and report; the detail pane runs the
library calls in jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.enums import CaptionSource, TagSource, TagState
from photosense.library import PhotoTagInfo, PhotoText, PlaceRecord


@dataclass(frozen=True)
class PhotoNotes:
    """What the library knows about one photo beyond its file: tags, caption, albums, text."""

    photo_id: int
    tags: list[PhotoTagInfo] = field(default_factory=list)
    caption: str = ""
    caption_note: str = ""  # where the caption came from, and when
    albums: list[str] = field(default_factory=list)
    place: PlaceRecord | None = None  # None: no position, or not located yet
    text: PhotoText | None = None  # the text read in the photo


def visible_tags(rows: Sequence[PhotoTagInfo]) -> list[PhotoTagInfo]:
    """The tags worth showing: those that count, and those the user rejected (to undo)."""
    return [r for r in rows if r.shown or r.state in (TagState.ACCEPTED, TagState.REJECTED)]


def describe_caption_source(source: str, updated_at: datetime | None) -> str:
    """ "Written here, 3 May 2024" / "From the photo's XMP sidecar, …"."""
    words: dict[str, str] = {
        CaptionSource.USER: "Written here",
        CaptionSource.SIDECAR: "From a sidecar file next to the photo",
        CaptionSource.FILE: "From the photo's own metadata",
        CaptionSource.CSV: "Imported from a CSV file",
    }
    text = words.get(source, f"From {source}")
    if updated_at is not None:
        text += f", {updated_at.day} {updated_at:%B %Y}"
    return text


class TagEditor(QWidget):
    """A photo's tags: accept (✓) or reject (✕) each, and a field to add one."""

    accept_requested = Signal(str)
    reject_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = QGridLayout()
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setHorizontalSpacing(6)
        self.rows.setVerticalSpacing(2)
        self.rows.setColumnStretch(0, 1)
        self.empty = QLabel("No tags yet.")
        self.empty.setEnabled(False)
        self.empty.setWordWrap(True)
        self.add_field = QLineEdit()
        self.add_field.setPlaceholderText("Add a tag…")
        self.add_field.setAccessibleName("Add a tag")
        self.add_field.setClearButtonEnabled(True)
        self.add_field.returnPressed.connect(self._add)
        self.vocabulary = QStringListModel(self)
        completer = QCompleter(self.vocabulary, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.add_field.setCompleter(completer)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.rows)
        layout.addWidget(self.empty)
        layout.addWidget(self.add_field)
        self.tags: list[PhotoTagInfo] = []
        self.buttons: dict[str, tuple[QToolButton, QToolButton]] = {}

    def set_vocabulary(self, names: Sequence[str]) -> None:
        """Tag names the add field completes."""
        self.vocabulary.setStringList(list(names))

    def set_tags(self, rows: Sequence[PhotoTagInfo]) -> None:
        """Show ``rows`` (already filtered to what is worth showing), best first."""
        while self.rows.count():
            item = self.rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.tags = list(rows)
        self.buttons = {}
        for row, info in enumerate(self.tags):
            name = QLabel(info.tag)
            name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            font = QFont(name.font())
            font.setBold(info.state == TagState.ACCEPTED)
            font.setStrikeOut(info.state == TagState.REJECTED)
            name.setFont(font)
            name.setEnabled(info.state != TagState.REJECTED)
            name.setToolTip(self._explain(info))
            accept = self._button(
                "✓", f"Yes, this photo shows {info.tag}", info.state == TagState.ACCEPTED
            )
            accept.clicked.connect(lambda _c=False, t=info.tag: self.accept_requested.emit(t))
            reject = self._button(
                "✕", f"No, this photo is not {info.tag}", info.state == TagState.REJECTED
            )
            reject.clicked.connect(lambda _c=False, t=info.tag: self.reject_requested.emit(t))
            self.rows.addWidget(name, row, 0)
            self.rows.addWidget(accept, row, 1)
            self.rows.addWidget(reject, row, 2)
            self.buttons[info.tag] = (accept, reject)
        self.empty.setVisible(not self.tags)

    @staticmethod
    def _explain(info: PhotoTagInfo) -> str:
        if info.state == TagState.ACCEPTED:
            return "You confirmed this tag"
        if info.state == TagState.REJECTED:
            return "You said this tag is wrong; it is not suggested here again (✓ undoes it)"
        if info.source == TagSource.IMPORTED:
            return "From the photo's keywords"
        strength = f" (match strength {info.score:.1f})" if info.score is not None else ""
        return f"Suggested by the model{strength}: confirm it (✓) or reject it (✕)"

    def _button(self, text: str, tip: str, checked: bool) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setCheckable(True)
        button.setChecked(checked)
        button.setEnabled(not checked)  # doing it again would change nothing
        button.setAutoRaise(True)
        return button

    def set_busy(self, busy: bool) -> None:
        """Disable the buttons while a change is being saved."""
        for accept, reject in self.buttons.values():
            accept.setEnabled(not busy and not accept.isChecked())
            reject.setEnabled(not busy and not reject.isChecked())
        self.add_field.setEnabled(not busy)

    def _add(self) -> None:
        name = " ".join(self.add_field.text().split())
        if name:
            self.add_field.clear()
            self.accept_requested.emit(name)


class CaptionEditor(QWidget):
    """An editable caption, saved to the library (and optionally to an XMP sidecar)."""

    save_requested = Signal(str, bool)  # text (empty: remove the caption), also to a sidecar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QPlainTextEdit()
        self.edit.setAccessibleName("Caption")
        self.edit.setPlaceholderText("Describe this photo: who, where, what happened…")
        self.edit.setTabChangesFocus(True)
        self.edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 4 + 12)
        self.edit.textChanged.connect(self._update_button)
        self.sidecar = QCheckBox("Also write it to an XMP sidecar")
        self.sidecar.setToolTip(
            "Save the caption in a .xmp file next to the photo, where other photo programs "
            "read it (the photo itself is never changed)"
        )
        self.save_button = QPushButton("Save caption")
        self.save_button.setToolTip("Save the caption (Ctrl+Enter)")
        self.save_button.clicked.connect(self.save)
        self.note = QLabel()
        self.note.setEnabled(False)
        self.note.setWordWrap(True)
        shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.edit)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(self.save)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sidecar, 1)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit)
        layout.addLayout(row)
        layout.addWidget(self.note)
        self._saved = ""
        self._update_button()

    @property
    def text(self) -> str:
        return self.edit.toPlainText().strip()

    @property
    def modified(self) -> bool:
        """Whether the text differs from what is saved."""
        return self.text != self._saved

    def set_caption(self, text: str, note: str = "") -> None:
        """Show the saved caption (replacing any edit)."""
        self._saved = text.strip()
        self.edit.setPlainText(text)
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._update_button()

    def mark_saved(self, text: str, note: str) -> None:
        """The library has ``text`` now; keep what the user typed since."""
        self._saved = text.strip()
        self.note.setText(note)
        self.note.setVisible(bool(note))
        self._update_button()

    def save(self) -> None:
        if self.modified:
            self.save_button.setEnabled(False)
            self.save_requested.emit(self.text, self.sidecar.isChecked())

    def _update_button(self) -> None:
        self.save_button.setEnabled(self.modified)
