"""The timeline: photos listed by date are grouped under month (or day) headers, photos with no
date taken in a last group of their own (the scrubber beside them is in timeline_controls).

The grid's rows stay the model's rows (the headers are drawn between them, not rows of their own),
so selection, drag and drop and the viewer see the same photos in the same order. The layout is
arithmetic over the groups (one header and a block of equal cells each), so placing 100,000
photos costs a few thousand additions, not a pass over every photo; the dates come from the grid's
job, as day numbers, and are grouped with numpy.
"""

from __future__ import annotations

import calendar
import enum
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QFont,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QRegion,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyle,
    QStyleOptionRubberBand,
    QStyleOptionViewItem,
    QWidget,
)

from photosense.gui.grid import PhotoGridView

Days = npt.NDArray[np.int32]
"""One day number per grid row (days since 1970-01-01), :data:`UNDATED` for no date taken."""

UNDATED = np.iinfo(np.int32).min
EPOCH = date(1970, 1, 1).toordinal()
NO_DATE = "No date taken"
SPARSE_MONTHS = 2.0
"""By month, a library whose dated months hold fewer photos than this on average (most months one
photo: a header and a near-empty row each) is grouped by year instead."""
SPARSE_MIN_MONTHS = 6
"""...when it spans at least this many months (a few month headers read well)."""
ModelIndex = QModelIndex | QPersistentModelIndex


class Grouping(enum.Enum):
    MONTH = "month"
    DAY = "day"
    OFF = "off"


@dataclass(frozen=True)
class Section:
    """``count`` photos from row ``start`` under one header (``title`` "": no header)."""

    start: int
    count: int
    title: str
    year: int | None = None  # None: no date taken
    month: int | None = None


# -- the dates (any thread) ---------------------------------------------------------------------


def undated_last(dated: Sequence[bool], good: int | None = None) -> list[int]:
    """The row order that puts photos with no date after the dated ones, each kept in its order;
    a search's first ``good`` photos (its good matches) are ordered apart from the rest."""
    parts = [(0, len(dated))] if good is None else [(0, good), (good, len(dated))]
    order: list[int] = []
    for first, end in parts:
        rows = range(first, end)
        order += [r for r in rows if dated[r]] + [r for r in rows if not dated[r]]
    return order


def day_numbers(dates: Sequence[datetime | None]) -> Days:
    """Day numbers of ``dates`` (:data:`UNDATED` for None)."""
    return np.fromiter(
        (UNDATED if d is None else d.toordinal() - EPOCH for d in dates),
        dtype=np.int32,
        count=len(dates),
    )


def date_sections(days: Days, grouping: Grouping) -> list[Section]:
    """Runs of photos taken in the same month (or day); the undated ones under "No date". By
    month, a library with about one photo a month is grouped by year (see
    :data:`SPARSE_MONTHS`)."""
    count = len(days)
    if count == 0:
        return []
    # A group can only start where the day changes: one comparison per photo, the rest is per
    # run of photos of one day (thousands at most), so a million photos group in milliseconds.
    runs = np.concatenate(([0], np.flatnonzero(days[1:] != days[:-1]) + 1))
    run_days = days[runs]
    undated = run_days == UNDATED
    if grouping is Grouping.DAY:
        keys = run_days.astype(np.int64)
    else:
        months = np.where(undated, 0, run_days).astype("datetime64[D]").astype("datetime64[M]")
        keys = np.where(undated, UNDATED, months.astype(np.int64))
    firsts = np.concatenate(([0], np.flatnonzero(keys[1:] != keys[:-1]) + 1))  # of the runs
    by_year = False
    if grouping is Grouping.MONTH:
        dated_months = int(np.count_nonzero(keys[firsts] != UNDATED))
        dated = int(np.count_nonzero(days != UNDATED))
        by_year = dated_months >= SPARSE_MIN_MONTHS and dated / dated_months < SPARSE_MONTHS
        if by_year:
            years = np.where(undated, UNDATED, months.astype("datetime64[Y]").astype(np.int64))
            firsts = np.concatenate(([0], np.flatnonzero(years[1:] != years[:-1]) + 1))
    starts, keys = runs[firsts], keys[firsts]
    # The locale's names, looked up once: each lookup in ``calendar`` formats a date anew.
    month_names, day_names = list(calendar.month_name), list(calendar.day_name)
    ends = np.append(starts[1:], count)
    sections = []
    for start, end, key in zip(starts.tolist(), ends.tolist(), keys.tolist(), strict=True):
        if key == UNDATED:
            sections.append(Section(start, end - start, NO_DATE))
        elif by_year:
            year, month = 1970 + key // 12, key % 12 + 1  # the month of the group's first photo
            sections.append(Section(start, end - start, str(year), year, month))
        elif grouping is Grouping.DAY:
            day = date.fromordinal(EPOCH + key)
            title = f"{day_names[day.weekday()]} {day.day} {month_names[day.month]} {day.year}"
            sections.append(Section(start, end - start, title, day.year, day.month))
        else:
            year, month = 1970 + key // 12, key % 12 + 1
            title = f"{month_names[month]} {year}"
            sections.append(Section(start, end - start, title, year, month))
    return sections


# -- the view -----------------------------------------------------------------------------------


class TimelineView(PhotoGridView):
    """The photo grid, laid out in sections under date headers when it has the rows' dates.

    Everything about geometry is this class's own (QListView's layout is never run): cells are
    the grid size, as many columns as fit, and each section starts on a new line.
    """

    laid_out = Signal()  # the sections or their positions changed (the scrubber redraws)

    # Qt calls the overrides below while the base class is built, before ``__init__`` sets
    # these: the class gives them their empty values.
    grouping = Grouping.MONTH
    sections: Sequence[Section] = ()
    tops: Sequence[int] = ()
    _days: Days | None = None
    _grouped: tuple[Days, Grouping] | None = None  # what ``sections`` were made from
    _starts: Sequence[int] = ()
    _columns = 1
    _height = 0
    _hover: QPersistentModelIndex | None = None
    _band_origin: QPoint | None = None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grouping = Grouping.MONTH
        self._days = None
        self.sections = []
        self._starts = []
        self.tops = []  # content y of each section's top (its header)
        self._band_origin = None  # content coordinates
        self._band = QRect()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.header_font = font
        self.header_height = self.fontMetrics().height() * 2 + 14

    # -- contents ---------------------------------------------------------------------------

    def set_days(self, days: Days | None) -> None:
        """The rows' dates for the next photos shown (None: not listed by date, no headers)."""
        self._days = days

    def set_grouping(self, grouping: Grouping) -> None:
        if grouping is not self.grouping:
            self.grouping = grouping
            top = self.indexAt(QPoint(8, self.header_height + 8))
            self.doItemsLayout()
            if top.isValid():
                self.scrollTo(top, QAbstractItemView.ScrollHint.PositionAtTop)

    @property
    def dated(self) -> bool:
        """Whether the photos shown are grouped by date (the scrubber is of use)."""
        return any(section.title for section in self.sections)

    # -- layout -----------------------------------------------------------------------------

    def _cell(self) -> QSize:
        size = self.gridSize()
        if size.isValid():
            return size
        return QSize(self.min_cell, self.min_cell + self.fontMetrics().height() + 6)

    def _header(self, section: Section) -> int:
        return self.header_height if section.title else 0

    def doItemsLayout(self) -> None:  # noqa: N802
        model = self.model()
        count = model.rowCount() if model is not None else 0
        days = self._days
        if days is not None and len(days) == count and self.grouping is not Grouping.OFF:
            grouped = self._grouped
            if grouped is None or grouped[0] is not days or grouped[1] is not self.grouping:
                self.sections = date_sections(days, self.grouping)  # once, not on every resize
                self._grouped = (days, self.grouping)
        else:
            self.sections = [Section(0, count, "")] if count else []
            self._grouped = None
        self._starts = [s.start for s in self.sections]
        cell = self._cell()
        self._columns = max(1, self.viewport().width() // max(1, cell.width()))
        tops, y = [], 0
        for section in self.sections:
            tops.append(y)
            rows = -(-section.count // self._columns)
            y += self._header(section) + rows * cell.height()
        self.tops, self._height = tops, y
        QAbstractItemView.doItemsLayout(self)  # scroll range, then a repaint
        self.laid_out.emit()

    def reset(self) -> None:
        super().reset()
        self.doItemsLayout()  # at once: restoring the selection and scrolling need the geometry

    def updateGeometries(self) -> None:  # noqa: N802
        bar = self.verticalScrollBar()
        page = self.viewport().height()
        bar.setPageStep(page)
        bar.setRange(0, max(0, self._height - page))
        self.horizontalScrollBar().setRange(0, 0)
        QAbstractItemView.updateGeometries(self)

    def content_height(self) -> int:
        return self._height

    def verticalOffset(self) -> int:  # noqa: N802
        return self.verticalScrollBar().value()

    def horizontalOffset(self) -> int:  # noqa: N802
        return 0

    def _locate(self, row: int) -> tuple[int, int, int]:
        """(section, line, column) of ``row``."""
        i = bisect_right(self._starts, row) - 1
        line, column = divmod(row - self.sections[i].start, self._columns)
        return i, line, column

    def visualRect(self, index: ModelIndex) -> QRect:  # noqa: N802
        if not index.isValid() or not self.sections or index.row() >= self._end():
            return QRect()
        i, line, column = self._locate(index.row())
        cell = self._cell()
        top = self.tops[i] + self._header(self.sections[i]) + line * cell.height()
        return QRect(
            column * cell.width(), top - self.verticalOffset(), cell.width(), cell.height()
        )

    def _end(self) -> int:
        last = self.sections[-1]
        return last.start + last.count

    def header_rect(self, i: int) -> QRect:
        """Where section ``i``'s header is, in viewport coordinates."""
        return QRect(
            0,
            self.tops[i] - self.verticalOffset(),
            self.viewport().width(),
            self._header(self.sections[i]),
        )

    def _row_at(self, x: int, y: int, nearest: bool = False) -> int | None:
        """The row whose cell is at content point (x, y); ``nearest``: the closest one."""
        if not self.sections:
            return None
        i = max(0, bisect_right(self.tops, y) - 1)
        section, cell = self.sections[i], self._cell()
        y -= self.tops[i] + self._header(section)
        if y < 0 and not nearest:
            return None
        line, column = max(0, y) // cell.height(), x // cell.width()
        if column >= self._columns or x < 0:
            if not nearest:
                return None
            column = min(max(0, column), self._columns - 1)
        k = line * self._columns + column
        if k >= section.count:
            if not nearest:
                return None
            k = section.count - 1
        return section.start + k

    def indexAt(self, point: QPoint) -> QModelIndex:  # noqa: N802
        row = self._row_at(point.x(), point.y() + self.verticalOffset())
        return self.model().index(row, 0) if row is not None else QModelIndex()

    def scrollTo(  # noqa: N802
        self,
        index: ModelIndex,
        hint: QAbstractItemView.ScrollHint = QAbstractItemView.ScrollHint.EnsureVisible,
    ) -> None:
        rect = self.visualRect(index)
        if rect.isNull():
            return
        bar, height = self.verticalScrollBar(), self.viewport().height()
        i, line, _column = self._locate(index.row())
        header = self._header(self.sections[i]) if line == 0 else 0  # show a first line's header
        Hint = QAbstractItemView.ScrollHint
        if hint == Hint.PositionAtTop:
            bar.setValue(bar.value() + rect.top() - header)
        elif hint == Hint.PositionAtBottom:
            bar.setValue(bar.value() + rect.bottom() - height)
        elif hint == Hint.PositionAtCenter:
            bar.setValue(bar.value() + rect.center().y() - height // 2)
        elif rect.top() - header < 0:
            bar.setValue(bar.value() + rect.top() - header)
        elif rect.bottom() > height:
            bar.setValue(bar.value() + rect.bottom() - height + 1)

    def moveCursor(  # noqa: N802
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        model = self.model()
        count = model.rowCount()
        current = self.currentIndex()
        if count == 0 or not self.sections:
            return QModelIndex()
        if not current.isValid():
            return model.index(0, 0)
        row = current.row()
        Move = QAbstractItemView.CursorAction
        if action in (Move.MoveLeft, Move.MovePrevious):
            row -= 1
        elif action in (Move.MoveRight, Move.MoveNext):
            row += 1
        elif action == Move.MoveUp:
            row = self._line_above(row)
        elif action == Move.MoveDown:
            row = self._line_below(row)
        elif action == Move.MoveHome:
            row = 0
        elif action == Move.MoveEnd:
            row = count - 1
        elif action in (Move.MovePageUp, Move.MovePageDown):
            rect = self.visualRect(current)
            page = self.viewport().height() * (-1 if action == Move.MovePageUp else 1)
            y = rect.center().y() + self.verticalOffset() + page
            row = self._row_at(rect.center().x(), max(0, y), nearest=True) or 0
        return model.index(max(0, min(count - 1, row)), 0)

    def _line_above(self, row: int) -> int:
        i, line, column = self._locate(row)
        if line > 0:
            return row - self._columns
        if i == 0:
            return row
        previous = self.sections[i - 1]
        last_line = (previous.count - 1) // self._columns
        return previous.start + min(previous.count - 1, last_line * self._columns + column)

    def _line_below(self, row: int) -> int:
        i, line, column = self._locate(row)
        section = self.sections[i]
        if (line + 1) * self._columns < section.count:
            return min(section.start + section.count - 1, row + self._columns)
        if i + 1 >= len(self.sections):
            return row
        following = self.sections[i + 1]
        return following.start + min(following.count - 1, column)

    def _rows_in(self, rect: QRect) -> list[tuple[int, int]]:
        """Runs (first, last) of the rows whose cells meet ``rect`` (viewport coordinates)."""
        if not self.sections:
            return []
        cell, offset = self._cell(), self.verticalOffset()
        top, bottom = rect.top() + offset, rect.bottom() + offset
        first_column = max(0, rect.left() // cell.width())
        last_column = min(self._columns - 1, rect.right() // cell.width())
        if first_column > last_column:
            return []
        runs = []
        i = max(0, bisect_right(self.tops, top) - 1)
        while i < len(self.sections) and self.tops[i] <= bottom:
            section = self.sections[i]
            body = self.tops[i] + self._header(section)
            last_line = (section.count - 1) // self._columns
            first_line = max(0, (top - body) // cell.height())
            end_line = min(last_line, (bottom - body) // cell.height())
            for line in range(first_line, end_line + 1):
                first = line * self._columns + first_column
                last = min(line * self._columns + last_column, section.count - 1)
                if first <= last:
                    runs.append((section.start + first, section.start + last))
            i += 1
        return runs

    def rows_on_screen(self) -> list[int]:
        """The rows whose cells are on screen now, in order."""
        return [
            r
            for first, last in self._rows_in(self.viewport().rect())
            for r in range(first, last + 1)
        ]

    def setSelection(  # noqa: N802
        self, rect: QRect, command: QItemSelectionModel.SelectionFlag
    ) -> None:
        """A rubber band selects the cells it covers; Shift with a click or the arrows selects
        every photo from the anchor (``rect``'s first corner) to the current one, in order."""
        model, selection = self.model(), QItemSelection()
        if self.state() == QAbstractItemView.State.DragSelectingState:
            runs = self._rows_in(rect.normalized())
        else:
            offset = self.verticalOffset()
            ends = [
                self._row_at(p.x(), p.y() + offset, nearest=True)
                for p in (rect.topLeft(), rect.bottomRight())
            ]
            rows = [r for r in ends if r is not None]
            runs = [(min(rows), max(rows))] if rows else []
        for first, last in runs:
            selection.select(model.index(first, 0), model.index(last, 0))
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:  # noqa: N802
        shown = self._rows_in(self.viewport().rect())
        region = QRegion()
        if not shown:
            return region
        low, high = shown[0][0], shown[-1][1]
        model = self.model()
        for part in (selection.at(i) for i in range(selection.count())):
            for row in range(max(low, part.top()), min(high, part.bottom()) + 1):
                region += self.visualRect(model.index(row, 0))
        return region

    # -- painting and the mouse ---------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        area = event.rect()
        self._paint_headers(painter, area)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        model, selection = self.model(), self.selectionModel()
        current = self.currentIndex()
        focus = self.hasFocus() or self.viewport().hasFocus()
        delegate = self.itemDelegate()
        for first, last in self._rows_in(area):
            for row in range(first, last + 1):
                index = model.index(row, 0)
                cell = QStyleOptionViewItem(option)
                cell.rect = self.visualRect(index)
                if selection.isSelected(index):
                    cell.state |= QStyle.StateFlag.State_Selected
                if focus and index == current:
                    cell.state |= QStyle.StateFlag.State_HasFocus
                if self._hover is not None and self._hover == index:
                    cell.state |= QStyle.StateFlag.State_MouseOver
                delegate.paint(painter, cell, index)
        if not self._band.isNull():
            band = QStyleOptionRubberBand()
            band.initFrom(self)
            band.rect = self._band
            band.shape = band.shape.Rectangle
            band.opaque = False
            self.style().drawControl(QStyle.ControlElement.CE_RubberBand, band, painter, self)
        painter.end()

    def _paint_headers(self, painter: QPainter, area: QRect) -> None:
        if not self.dated:
            return
        offset = self.verticalOffset()
        palette = self.palette()
        i = max(0, bisect_right(self.tops, area.top() + offset) - 1)
        while i < len(self.sections) and self.tops[i] - offset <= area.bottom():
            section = self.sections[i]
            rect = self.header_rect(i).adjusted(8, 6, -12, -4)
            if section.title and rect.intersects(area):
                painter.setFont(self.header_font)
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                painter.drawText(rect, align, section.title)
                painter.setFont(self.font())
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                count = "1 photo" if section.count == 1 else f"{section.count:,} photos"
                right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                painter.drawText(rect, right, count)
            i += 1

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = event.position().toPoint()
        if event.button() == Qt.MouseButton.LeftButton and not self.indexAt(point).isValid():
            self._band_origin = QPoint(point.x(), point.y() + self.verticalOffset())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = event.position().toPoint()
        hover = self.indexAt(point)
        previous = self._hover
        self._hover = QPersistentModelIndex(hover) if hover.isValid() else None
        if previous != self._hover:
            for index in (previous, self._hover):
                if index is not None and index.isValid():
                    self.viewport().update(self.visualRect(index))
        if self._band_origin is not None and event.buttons() & Qt.MouseButton.LeftButton:
            origin = QPoint(self._band_origin.x(), self._band_origin.y() - self.verticalOffset())
            old, self._band = self._band, QRect(origin, point).normalized()
            self.viewport().update(old.united(self._band).adjusted(-2, -2, 2, 2))
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if not self._band.isNull():
            self.viewport().update(self._band.adjusted(-2, -2, 2, 2))
        self._band_origin, self._band = None, QRect()
        super().mouseReleaseEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Leave and self._hover is not None:
            hover, self._hover = self._hover, None
            if hover.isValid():
                self.viewport().update(self.visualRect(hover))
        return super().viewportEvent(event)

    # -- dates for the scrubber ---------------------------------------------------------------

    def section_at(self, y: int) -> Section | None:
        """The section at content height ``y``."""
        if not self.sections:
            return None
        return self.sections[max(0, bisect_right(self.tops, y) - 1)]
