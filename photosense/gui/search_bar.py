"""The search bar: free text searched as the user types (debounced), and the search filters.

The folder filter is the folder selected in the sidebar; date range, relevance cut-off and sort
order live in the "Filters" menu. Every change ends in one debounced ``query_changed``.
"""

from __future__ import annotations

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
    QWidget,
    QWidgetAction,
)

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
    def filtered(self) -> bool:
        return bool(self.after or self.before or self.min_score is not None)


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


class FilterPanel(QWidget):
    """Date range, relevance cut-off and sort order, shown in the Filters menu."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QFormLayout(self)
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

    def apply_to(self, query: SearchQuery) -> SearchQuery:
        after = _to_date(self.after_edit.date()) if self.after_enabled.isChecked() else None
        before = _to_date(self.before_edit.date()) if self.before_enabled.isChecked() else None
        score = self.min_score.value()
        return replace(
            query,
            after=after,
            before=before,
            min_score=score if score > 0 else None,
            sort=str(self.sort.currentData()),
        )

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
        self.field.setPlaceholderText("Describe a photo: “dog on the beach at sunset”   (Ctrl+F)")
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
        self.filter_button.setToolTip("Date range, minimum relevance and sort order")
        self.filter_button.setMenu(menu)
        self.filter_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.filter_button)

        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(debounce_ms)
        self.debounce.timeout.connect(self.commit)

    @property
    def query(self) -> SearchQuery:
        """The query as the user sees it now (pending edits included)."""
        return self.filters.apply_to(replace(self._query, text=self.field.text().strip()))

    def restore(self, query: SearchQuery) -> None:
        """Put saved filters back (no signal: the window loads the grid itself)."""
        self._query = query
        self.filters.set_from(query)
        self._update_filter_button()

    def set_text(self, text: str) -> None:
        """Replace the text as if typed (debounced)."""
        self.field.setText(text)
        self._on_text_edited(text)

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
        self.debounce.start()

    def _on_text_changed(self, text: str) -> None:
        if not text and self._query.text:
            self.debounce.start()

    def _on_filters_changed(self) -> None:
        self._update_filter_button()
        self.debounce.start()

    def _update_filter_button(self) -> None:
        query = self.filters.apply_to(self._query)
        count = sum(x is not None for x in (query.after, query.before, query.min_score))
        self.filter_button.setText(f"Filters ({count})" if count else "Filters")
