"""The line under the search field that says how a query was read ("Read as: “beach”
[Place: Portugal] [Taken: Jun 2026 – Aug 2026]") with one click to search the words literally,
and back."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from photosense.enums import ReadingKind
from photosense.library import QueryReading, ReadPart

KINDS = {
    ReadingKind.PLACE: "Place",
    ReadingKind.DATES: "Taken",
    ReadingKind.MONTHS: "Taken in",
    ReadingKind.COLOUR: "Colour",
}
CHIP_STYLE = (
    "QLabel { border: 1px solid palette(mid); border-radius: 8px; padding: 1px 6px; "
    "background: palette(alternate-base); }"
)


def chip_text(part: ReadPart) -> str:
    """A read part as its chip shows it: "Place: Portugal", "Taken in: June"."""
    return f"{KINDS.get(part.kind, part.kind.value)}: {part.meaning}"


class ReadingBar(QWidget):
    """Chips for the filters read from the query and a link to take the words literally;
    hidden when the query names no date or place. ``literal_changed(bool)`` asks for the same
    text searched literally (True) or read again (False)."""

    literal_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryReading")
        self.setAccessibleName("How the search was read")
        self.label = QLabel("Read as:")
        self.chips: list[QLabel] = []
        self.toggle = QToolButton(self)
        self.toggle.setAutoRaise(True)
        self.toggle.clicked.connect(self._on_toggle)
        self._literal = False
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(2, 0, 2, 0)
        self._layout.setSpacing(4)
        self._layout.addWidget(self.label)
        self._layout.addStretch(1)
        self._layout.addWidget(self.toggle)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setVisible(False)

    def show_reading(self, reading: QueryReading | None, *, literal: bool = False) -> None:
        """Show how ``reading`` took the query; with ``literal``, say the words were searched
        as typed and offer to read them again."""
        for chip in self.chips:
            self._layout.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        self._literal = literal
        if literal:
            self.label.setText("Searched the words as typed.")
            self.toggle.setText("Read dates and places")
            self.toggle.setToolTip("Read the dates, place names and colours in the text")
            self.setVisible(True)
            return
        if reading is None or not reading.read:
            self.setVisible(False)
            return
        self.label.setText("Read as:")
        parts: list[tuple[str, str]] = []
        if reading.query:
            parts.append((f"“{reading.query}”", "Searched by meaning"))
        parts += [(chip_text(p), f"From “{p.words}”") for p in reading.parts]
        for position, (text, tip) in enumerate(parts, start=1):
            chip = QLabel(text, self)
            chip.setStyleSheet(CHIP_STYLE)
            chip.setToolTip(tip)
            self._layout.insertWidget(position, chip)
            self.chips.append(chip)
        self.toggle.setText(f"Search “{reading.text.strip()}” literally")
        self.toggle.setToolTip("Search every word by meaning, with no date or place filter")
        self.setVisible(True)

    def _on_toggle(self) -> None:
        self.literal_changed.emit(not self._literal)
