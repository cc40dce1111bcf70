"""The timeline's controls: the scrubber beside the photos (years and month ticks where they are
in the list; a click or a drag jumps there) and the View menu's grouping, remembered."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QMenu, QWidget

from photosense.gui.timeline import NO_DATE, Grouping, Section, TimelineView

UNDATED_LABEL = "Undated"
SETTING = "view/timeline"


@dataclass(frozen=True)
class Mark:
    """A place on the scrubber: a year's label, or a month's tick, at ``fraction`` of the way."""

    fraction: float
    year: int
    month: int
    label: str  # the year for a year's first mark, "" for a month


def scrubber_marks(sections: Sequence[Section], tops: Sequence[int], height: int) -> list[Mark]:
    """One mark per month (the first of its sections), labelled where the year changes; the
    photos with no date taken are labelled "Undated"."""
    marks: list[Mark] = []
    seen: tuple[int, int] | None = None
    year_seen: int | None = None
    for section, top in zip(sections, tops, strict=True):
        if section.year is None or section.month is None:
            if section.title == NO_DATE:
                marks.append(Mark(top / max(1, height), 0, 0, UNDATED_LABEL))
            continue
        if (section.year, section.month) == seen:
            continue
        seen = (section.year, section.month)
        label = str(section.year) if section.year != year_seen else ""
        year_seen = section.year
        marks.append(Mark(top / max(1, height), section.year, section.month, label))
    return marks


class TimelineScrubber(QWidget):
    """A strip beside the timeline: years and month ticks where they are in the list; a click or
    a drag jumps there, and the month under the pointer is shown."""

    WIDTH = 58

    def __init__(self, view: TimelineView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timelineScrubber")
        self.setAccessibleName("Timeline scrubber")
        self.setToolTip("Jump to a year or month: click or drag")
        self.setFixedWidth(self.WIDTH)
        self.setMouseTracking(True)
        self.view = view
        self.marks: list[Mark] = []
        self.pointer: int | None = None  # the y the pointer is at, while over the strip
        view.laid_out.connect(self._on_laid_out)
        view.verticalScrollBar().valueChanged.connect(lambda _value: self.update())

    def _on_laid_out(self) -> None:
        view = self.view
        self.marks = scrubber_marks(view.sections, view.tops, view.content_height())
        self.setVisible(view.dated)
        self.update()

    def _span(self) -> tuple[int, int]:
        metrics = self.fontMetrics()
        return metrics.height() // 2 + 2, max(1, self.height() - metrics.height() - 4)

    def _y_of(self, fraction: float) -> int:
        top, span = self._span()
        return top + round(fraction * span)

    def content_y(self, y: int) -> int:
        """The timeline's content height that the strip's ``y`` stands for."""
        top, span = self._span()
        fraction = min(1.0, max(0.0, (y - top) / span))
        return round(fraction * self.view.content_height())

    def jump_to(self, y: int) -> None:
        """Scroll the timeline to the place the strip's ``y`` stands for."""
        self.view.verticalScrollBar().setValue(self.content_y(y))

    def label_at(self, y: int) -> str:
        section = self.view.section_at(self.content_y(y))
        if section is None:
            return ""
        if section.year is None or section.month is None:
            return NO_DATE
        return f"{calendar.month_abbr[section.month]} {section.year}"

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        palette = self.palette()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = self.fontMetrics()
        text, faint = (
            palette.color(QPalette.ColorRole.Text),
            palette.color(QPalette.ColorRole.PlaceholderText),
        )
        last_label = -1000
        for mark in self.marks:
            y = self._y_of(mark.fraction)
            if mark.label and y - last_label > metrics.height():
                painter.setPen(text)
                painter.drawText(
                    QRect(0, y - metrics.height() // 2, self.width() - 8, metrics.height()),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    mark.label,
                )
                last_label = y
            elif y - last_label > metrics.height() // 2 + 2:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(faint)
                painter.drawEllipse(QPoint(self.width() - 5, y), 1, 1)
        height = max(1, self.view.content_height())
        bar = self.view.verticalScrollBar()
        here = self._y_of(bar.value() / height)
        painter.setPen(palette.color(QPalette.ColorRole.Highlight))
        painter.drawLine(4, here, self.width() - 2, here)
        if self.pointer is not None:
            label = self.label_at(self.pointer)
            box = QRect(
                0, self.pointer - metrics.height() // 2 - 2, self.width(), metrics.height() + 4
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(palette.color(QPalette.ColorRole.HighlightedText))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.jump_to(round(event.position().y()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.pointer = round(event.position().y())
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.jump_to(self.pointer)
        self.update()

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.pointer = None
        self.update()
        super().leaveEvent(event)


class Timeline(QObject):
    """The timeline's pieces for the window: the grid with its scrubber in one widget, and the
    View menu's grouping choice (remembered in the settings)."""

    def __init__(self, view: TimelineView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.scrubber = TimelineScrubber(view)
        self.scrubber.setVisible(False)
        self.widget = QWidget()
        layout = QHBoxLayout(self.widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(view, 1)
        layout.addWidget(self.scrubber)
        self.menu = QMenu("T&imeline", self.widget)
        group = QActionGroup(self)
        self.actions: dict[Grouping, QAction] = {}
        for grouping, text in (
            (Grouping.MONTH, "By &month"),
            (Grouping.DAY, "By &day"),
            (Grouping.OFF, "&Off (no date headers)"),
        ):
            action = self.menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(grouping is view.grouping)
            action.triggered.connect(lambda _checked=False, g=grouping: self.set_grouping(g))
            group.addAction(action)
            self.actions[grouping] = action

    def set_grouping(self, grouping: Grouping) -> None:
        self.actions[grouping].setChecked(True)
        self.view.set_grouping(grouping)

    def restore(self, settings: QSettings | None) -> None:
        value = str(settings.value(SETTING, Grouping.MONTH.value)) if settings else ""
        try:
            self.set_grouping(Grouping(value))
        except ValueError:
            self.set_grouping(Grouping.MONTH)

    def save(self, settings: QSettings) -> None:
        settings.setValue(SETTING, self.view.grouping.value)
