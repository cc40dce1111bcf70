"""The search bar: free text searched as the user types (debounced), and the search filters.

The folder filter is the folder selected in the sidebar; album, tag, date range, relevance
cut-off, sort order and "only photos with text" live in the "Filters" menu (selecting an album
or a tag in the sidebar sets the same filter). Every change ends in one debounced ``query_changed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from photosense.gui.query_reading import ReadingBar
from photosense.library import COLOUR_NAMES

DEBOUNCE_MS = 300


@dataclass(frozen=True)
class SearchQuery:
    """What the grid should show: search text (empty: all photos) and filters."""

    text: str = ""
    folder: str | None = None
    after: date | None = None
    before: date | None = None  # inclusive for the user; exclusive day after for the library
    min_score: float | None = None
    sort: str = "score"
    album: str | None = None
    tag: str | None = None
    min_rating: int | None = None
    person: str | None = None
    place: str | None = None  # a place filter (the sidebar's Places)
    literal: bool = False  # search the words as typed: no dates or places read from them
    has_text: bool = False  # only photos in which some text was read
    colour: str | None = None  # only photos that colour covers a tenth of or more

    @property
    def after_datetime(self) -> datetime | None:
        return datetime.combine(self.after, time()) if self.after else None

    @property
    def before_datetime(self) -> datetime | None:
        """The library's bound is exclusive, so "before 3 May" includes the whole of 3 May."""
        if self.before is None:
            return None
        return datetime.combine(self.before, time()) + timedelta(days=1)

    @property
    def filter_count(self) -> int:
        """How many filters of the Filters menu are set."""
        values = (self.after, self.before, self.min_score, self.album, self.tag, self.person)
        return sum(value is not None for value in (*values, self.colour)) + self.has_text

    @property
    def filtered(self) -> bool:
        return self.filter_count > 0


def _to_date(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class SearchField(QLineEdit):
    """The text field; Down moves into the results, Escape clears."""

    down_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            self.textEdited.emit("")
            return
        super().keyPressEvent(event)


ANY = "any"


class FilterPanel(QWidget):
    """Album, tag, date range, relevance cut-off and sort order, shown in the Filters menu."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
        self.album = QComboBox()
        self.album.setAccessibleName("Album filter")
        self.album.setToolTip("Only photos in this album")
        self.tag = QComboBox()
        self.tag.setAccessibleName("Tag filter")
        self.tag.setToolTip("Only photos with this tag (accepted, or suggested and not rejected)")
        self.person = QComboBox()
        self.person.setAccessibleName("Person filter")
        self.person.setToolTip("Only photos of this person (People page: Show photos)")
        for combo in (self.album, self.tag, self.person):
            combo.addItem(ANY, None)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(16)
            combo.currentIndexChanged.connect(self.changed)
        layout.addRow("Album", self.album)
        layout.addRow("Tag", self.tag)
        layout.addRow("Person", self.person)
        today = QDate.currentDate()
        self.after_enabled = QCheckBox("Taken on or after")
        self.after_edit = QDateEdit(today.addYears(-1))
        self.before_enabled = QCheckBox("Taken on or before")
        self.before_edit = QDateEdit(today)
        for edit in (self.after_edit, self.before_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.dateChanged.connect(self.changed)
        self.after_enabled.toggled.connect(self.after_edit.setEnabled)
        self.before_enabled.toggled.connect(self.before_edit.setEnabled)
        self.after_enabled.toggled.connect(self.changed)
        self.before_enabled.toggled.connect(self.changed)
        layout.addRow(self.after_enabled, self.after_edit)
        layout.addRow(self.before_enabled, self.before_edit)

        self.min_score = QDoubleSpinBox()
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setDecimals(2)
        self.min_score.setSpecialValueText("any")
        self.min_score.setToolTip(
            "Hide search results whose similarity to the text is below this (0 shows all)"
        )
        self.min_score.valueChanged.connect(self.changed)
        layout.addRow("Minimum relevance", self.min_score)

        self.sort = QComboBox()
        self.sort.addItem("Relevance", "score")
        self.sort.addItem("Date, newest first", "date")
        self.sort.currentIndexChanged.connect(self.changed)
        layout.addRow("Sort results by", self.sort)
        self.has_text = QCheckBox("Only photos with text in them")
        self.has_text.setObjectName("hasTextFilter")
        self.has_text.setToolTip(
            "Signs, receipts, documents, screenshots: photos where text was read"
        )
        self.has_text.toggled.connect(self.changed)
        layout.addRow(self.has_text)
        self.colour = QComboBox()
        self.colour.setObjectName("colourFilter")
        self.colour.setAccessibleName("Colour filter")
        self.colour.setToolTip("Only photos this colour covers a tenth of or more")
        self.colour.addItem(ANY, None)
        for name in COLOUR_NAMES:
            self.colour.addItem(name, name)
        self.colour.currentIndexChanged.connect(self.changed)
        layout.addRow("Colour", self.colour)

    def apply_to(self, query: SearchQuery) -> SearchQuery:
        after = _to_date(self.after_edit.date()) if self.after_enabled.isChecked() else None
        before = _to_date(self.before_edit.date()) if self.before_enabled.isChecked() else None
        score = self.min_score.value()
        album, tag = self.album.currentData(), self.tag.currentData()
        person = self.person.currentData()
        return replace(
            query,
            after=after,
            before=before,
            min_score=score if score > 0 else None,
            sort=str(self.sort.currentData()),
            album=str(album) if album else None,
            tag=str(tag) if tag else None,
            person=str(person) if person else None,
            has_text=self.has_text.isChecked(),
            colour=self.colour.currentData() or None,
        )

    def set_choices(
        self,
        albums: Sequence[str] | None,
        tags: Sequence[str] | None,
        people: Sequence[str] | None = None,
    ) -> None:
        """Offer these albums, tags and people (None: keep the list), keeping the choice made."""
        self.blockSignals(True)
        try:
            for combo, names in ((self.album, albums), (self.tag, tags), (self.person, people)):
                if names is None:
                    continue
                chosen = combo.currentData()
                combo.clear()
                combo.addItem(ANY, None)
                for name in names:
                    combo.addItem(name, name)
                if chosen and combo.findData(chosen) < 0:
                    combo.addItem(chosen, chosen)  # not listed (yet): still the filter in force
                combo.setCurrentIndex(max(0, combo.findData(chosen)))
        finally:
            self.blockSignals(False)

    def set_from(self, query: SearchQuery) -> None:
        """Show ``query``'s filters (restoring saved settings) without emitting ``changed``."""
        self.blockSignals(True)
        try:
            for enabled, edit, value in (
                (self.after_enabled, self.after_edit, query.after),
                (self.before_enabled, self.before_edit, query.before),
            ):
                enabled.setChecked(value is not None)
                edit.setEnabled(value is not None)
                if value is not None:
                    edit.setDate(QDate(value.year, value.month, value.day))
            self.min_score.setValue(query.min_score or 0.0)
            self.sort.setCurrentIndex(max(0, self.sort.findData(query.sort)))
            self.has_text.setChecked(query.has_text)
            self.colour.setCurrentIndex(max(0, self.colour.findData(query.colour)))
            for combo, name in (
                (self.album, query.album),
                (self.tag, query.tag),
                (self.person, query.person),
            ):
                if name is not None and combo.findData(name) < 0:
                    combo.addItem(name, name)
                combo.setCurrentIndex(max(0, combo.findData(name)) if name else 0)
        finally:
            self.blockSignals(False)


class SearchBar(QWidget):
    """Text field plus filters; emits ``query_changed`` ~300 ms after the user stops typing."""

    query_changed = Signal(object)  # SearchQuery
    results_focus_requested = Signal()

    def __init__(self, parent: QWidget | None = None, debounce_ms: int = DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._query = SearchQuery()
        self.field = SearchField(self)
        self.field.setObjectName("searchField")
        self.show_scope("")
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Search photos")
        self.field.textEdited.connect(self._on_text_edited)
        self.field.returnPressed.connect(self.commit)
        self.field.down_pressed.connect(self.results_focus_requested)
        # The clear button changes the text without textEdited.
        self.field.textChanged.connect(self._on_text_changed)

        self.filters = FilterPanel()
        self.filters.changed.connect(self._on_filters_changed)
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.filters)
        menu.addAction(action)
        self.filter_button = QToolButton(self)
        self.filter_button.setText("Filters")
        self.filter_button.setToolTip(
            "Album, tag, date range, minimum relevance, sort order, photos with text"
        )
        self.filter_button.setMenu(menu)
        self.filter_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.field, 1)
        row.addWidget(self.filter_button)
        self.reading = ReadingBar(self)  # how the last search was read, and the way back
        self.reading.literal_changed.connect(self._on_literal_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.reading)

        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(debounce_ms)
        self.debounce.timeout.connect(self.commit)

    @property
    def query(self) -> SearchQuery:
        """The query as the user sees it now (pending edits included)."""
        return self.filters.apply_to(replace(self._query, text=self.field.text().strip()))

    def restore(self, query: SearchQuery) -> None:
        """Show ``query``'s filters (saved settings, a sidebar choice) without a signal: the
        window loads the grid itself."""
        self._query = replace(query, text=self._query.text)
        self.filters.set_from(query)
        self._update_filter_button()

    def set_text(self, text: str) -> None:
        """Replace the text as if typed (debounced)."""
        self.field.setText(text)
        self._on_text_edited(text)

    def clear_text(self) -> None:
        """Empty the field without a search (the window shows something else now)."""
        self.debounce.stop()
        self.field.blockSignals(True)
        self.field.clear()
        self.field.blockSignals(False)
        self._query = replace(self._query, text="")

    def show_scope(self, words: str) -> None:
        """Say in the empty field where a search will look (``words``: "" for everywhere)."""
        if words:
            self.field.setPlaceholderText(f"Search in {words}   (Ctrl+F)")
        else:
            self.field.setPlaceholderText(
                "Describe a photo: “dog on the beach at sunset”   (Ctrl+F)"
            )

    def focus_field(self) -> None:
        self.field.setFocus()
        self.field.selectAll()

    def commit(self) -> None:
        """Emit the current query now (Enter, a filter change, or the debounce timer)."""
        self.debounce.stop()
        query = self.query
        self._query = query
        self._update_filter_button()
        self.query_changed.emit(query)

    def _on_text_edited(self, _text: str) -> None:
        self._query = replace(self._query, literal=False)  # new words are read afresh
        self.debounce.start()

    def _on_literal_changed(self, literal: bool) -> None:
        self._query = replace(self._query, literal=literal)
        self.commit()

    def _on_text_changed(self, text: str) -> None:
        if not text and self._query.text:
            self.debounce.start()

    def _on_filters_changed(self) -> None:
        self._update_filter_button()
        self.debounce.start()

    def _update_filter_button(self) -> None:
        count = self.filters.apply_to(self._query).filter_count
        self.filter_button.setText(f"Filters ({count})" if count else "Filters")
