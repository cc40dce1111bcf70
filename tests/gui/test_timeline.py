"""The timeline: photos listed by date under month (or day) headers, those with no date taken
in a last group, a scrubber to jump by year and month, and keyboard and mouse over the groups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, QRect, QSettings, Qt
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from photosense.gui.jobs import JobRunner
from photosense.gui.photo_grid_model import PhotoGridModel
from photosense.gui.timeline import (
    NO_DATE,
    UNDATED,
    Grouping,
    Section,
    TimelineView,
    date_sections,
    day_numbers,
    undated_last,
)
from photosense.gui.timeline_controls import TimelineScrubber, scrubber_marks
from photosense.gui.window import MainWindow
from tests.conftest import save_photo
from tests.gui.conftest import index_and_wait, search_and_wait

Move = QAbstractItemView.CursorAction


def test_sections_by_month_and_by_day_with_the_undated_last() -> None:
    dates = [
        datetime(2024, 3, 9, 18),
        datetime(2024, 3, 9, 8),
        datetime(2024, 3, 2),
        datetime(2023, 12, 31),
        None,
        None,
    ]
    days = day_numbers(dates)
    assert days[4] == UNDATED
    by_month = date_sections(days, Grouping.MONTH)
    assert by_month == [
        Section(0, 3, "March 2024", 2024, 3),
        Section(3, 1, "December 2023", 2023, 12),
        Section(4, 2, NO_DATE),
    ]
    by_day = date_sections(days, Grouping.DAY)
    assert [(s.start, s.count, s.title) for s in by_day] == [
        (0, 2, "Saturday 9 March 2024"),
        (2, 1, "Saturday 2 March 2024"),
        (3, 1, "Sunday 31 December 2023"),
        (4, 2, NO_DATE),
    ]
    assert date_sections(day_numbers([]), Grouping.MONTH) == []


def test_undated_photos_go_last_among_good_matches_and_among_the_rest() -> None:
    assert undated_last([True, False, True, False, True]) == [0, 2, 4, 1, 3]
    assert undated_last([False, True, False, True, True], good=2) == [1, 0, 3, 4, 2]


def test_scrubber_marks_a_year_once_and_each_month() -> None:
    sections = [
        Section(0, 5, "d", 2024, 3),
        Section(5, 5, "d", 2024, 3),  # another day of March: no second mark
        Section(10, 5, "d", 2024, 1),
        Section(15, 5, "d", 2023, 12),
        Section(20, 2, NO_DATE),
    ]
    marks = scrubber_marks(sections, [0, 100, 200, 300, 400], 500)
    assert [(m.year, m.month, m.label) for m in marks] == [
        (2024, 3, "2024"),
        (2024, 1, ""),
        (2023, 12, "2023"),
        (0, 0, "Undated"),
    ]
    assert marks[1].fraction == pytest.approx(0.4)


@pytest.fixture
def view(qtbot: QtBot) -> Iterator[TimelineView]:
    """A timeline over 50 photos: 7 in May 2024, 20 in April, 13 in January, 10 undated."""
    runner = JobRunner()
    model = PhotoGridModel(runner, lambda ids: {})
    view = TimelineView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(4 * 180 + 40, 600)  # four columns
    view.show()
    dates: list[datetime | None] = [datetime(2024, 5, 20 - i) for i in range(7)]
    dates += [datetime(2024, 4, 28 - i) for i in range(20)]
    dates += [datetime(2024, 1, 25 - i) for i in range(13)]
    dates += [None] * 10
    view.set_days(day_numbers(dates))
    model.set_photos(list(range(1, 51)))
    view.doItemsLayout()
    yield view
    runner.close()


def test_layout_puts_each_month_under_its_header(view: TimelineView) -> None:
    assert [s.title for s in view.sections] == ["May 2024", "April 2024", "January 2024", NO_DATE]
    assert view._columns == 4
    model = view.model()
    first, eighth = view.visualRect(model.index(0, 0)), view.visualRect(model.index(7, 0))
    assert first.top() == view.header_height  # below May's header
    # April starts on a new line, below its own header, in the first column.
    last_of_may = view.visualRect(model.index(6, 0))
    assert eighth.left() == 0 and eighth.top() == last_of_may.bottom() + 1 + view.header_height
    for row in (0, 6, 7, 26, 27, 40, 49):
        rect = view.visualRect(model.index(row, 0))
        assert view.indexAt(rect.center()).row() == row
    assert not view.indexAt(QPoint(20, 10)).isValid()  # a header
    assert not view.indexAt(last_of_may.center() + QPoint(rect.width(), 0)).isValid()  # past May


def test_shift_down_selects_a_run_of_photos(view: TimelineView, qtbot: QtBot) -> None:
    view.setFocus()
    view.setCurrentIndex(view.model().index(1, 0))
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    assert view.currentIndex().row() == 5
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == [1, 2, 3, 4, 5]


def test_arrow_keys_move_across_groups(view: TimelineView) -> None:
    model = view.model()
    view.setCurrentIndex(model.index(5, 0))  # May, second line, second column
    assert view.moveCursor(Move.MoveDown, Qt.KeyboardModifier.NoModifier).row() == 8  # April col 2
    view.setCurrentIndex(model.index(8, 0))
    assert view.moveCursor(Move.MoveUp, Qt.KeyboardModifier.NoModifier).row() == 5
    view.setCurrentIndex(model.index(1, 0))
    assert view.moveCursor(Move.MoveDown, Qt.KeyboardModifier.NoModifier).row() == 5
    view.setCurrentIndex(model.index(3, 0))  # May's last column: the line below is shorter
    assert view.moveCursor(Move.MoveDown, Qt.KeyboardModifier.NoModifier).row() == 6
    view.setCurrentIndex(model.index(7, 0))
    assert view.moveCursor(Move.MoveLeft, Qt.KeyboardModifier.NoModifier).row() == 6
    assert view.moveCursor(Move.MoveEnd, Qt.KeyboardModifier.NoModifier).row() == 49
    view.setCurrentIndex(model.index(0, 0))
    down = view.moveCursor(Move.MovePageDown, Qt.KeyboardModifier.NoModifier).row()
    assert 8 <= down < 50


def test_rubber_band_selects_across_groups_and_scroll_to_shows_the_header(
    view: TimelineView,
) -> None:
    model = view.model()
    a, b = view.visualRect(model.index(1, 0)), view.visualRect(model.index(10, 0))
    # Shift with a click or the arrows: every photo from the anchor to the current one.
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
    view.setSelection(QRect(b.center(), a.center()), flags)
    assert sorted(i.row() for i in view.selectionModel().selectedIndexes()) == list(range(1, 11))
    # A rubber band: the cells it covers.
    view.setState(QAbstractItemView.State.DragSelectingState)
    view.setSelection(QRect(a.center(), b.center()), flags)
    view.setState(QAbstractItemView.State.NoState)
    selected = sorted(i.row() for i in view.selectionModel().selectedIndexes())
    assert selected == [1, 2, 3, 5, 6, 8, 9, 10]  # columns 1-3 of May's two lines, April's first
    assert not view.visualRegionForSelection(view.selectionModel().selection()).isEmpty()
    view.scrollTo(model.index(45, 0))
    rect = view.visualRect(model.index(45, 0))
    assert view.viewport().rect().contains(rect)
    view.scrollTo(model.index(40, 0), QAbstractItemView.ScrollHint.PositionAtTop)
    assert view.visualRect(model.index(40, 0)).top() == view.header_height  # header in view
    view.grab()  # paints headers and cells


def test_grouping_by_day_or_off(view: TimelineView) -> None:
    view.set_grouping(Grouping.DAY)
    assert len(view.sections) == 41 and view.sections[0].title == "Monday 20 May 2024"
    view.set_grouping(Grouping.OFF)
    assert [s.title for s in view.sections] == [""] and not view.dated
    assert view.visualRect(view.model().index(0, 0)).top() == 0


def test_scrubber_jumps_to_a_month(view: TimelineView, qtbot: QtBot) -> None:
    scrubber = TimelineScrubber(view)
    qtbot.addWidget(scrubber)
    scrubber.resize(TimelineScrubber.WIDTH, 400)
    scrubber._on_laid_out()
    assert [m.label for m in scrubber.marks if m.label] == ["2024", "Undated"]
    january = view.tops[2]
    y = scrubber._y_of(january / view.content_height()) + 1
    assert scrubber.label_at(y) == "Jan 2024"
    qtbot.mouseClick(scrubber, Qt.MouseButton.LeftButton, pos=QPoint(20, y))
    bar = view.verticalScrollBar()
    assert bar.value() == min(bar.maximum(), scrubber.content_y(y))
    assert scrubber.label_at(scrubber.height() - 2) == NO_DATE
    scrubber.grab()


@pytest.fixture
def dated_folder(tmp_path: Path) -> Path:
    root = tmp_path / "Trip"
    save_photo(root / "a.jpg", "red", taken=datetime(2024, 6, 3, 10))
    save_photo(root / "b.jpg", "green", taken=datetime(2024, 6, 1, 10))
    save_photo(root / "c.jpg", "blue", taken=datetime(2023, 12, 24, 9))
    save_photo(root / "scan.jpg", "yellow")  # no date taken
    return root


def test_window_shows_all_photos_as_a_timeline(
    make_window: Callable[..., MainWindow], settings: QSettings, dated_folder: Path, qtbot: QtBot
) -> None:
    window = make_window()
    index_and_wait(qtbot, window, dated_folder)
    grid = window.grid
    assert [s.title for s in grid.sections] == ["June 2024", "December 2023", NO_DATE]
    assert window.timeline.scrubber.isVisible()
    names = [Path(r.path).name for r in grid.selected_records()]
    assert names == []
    last = window.model.record_at(3)
    assert last is not None and Path(last.path).name == "scan.jpg"  # undated, last
    # A search by relevance is not a timeline; sorted by date it is.
    search_and_wait(qtbot, window, "red")
    assert not grid.dated and not window.timeline.scrubber.isVisible()
    window.timeline.actions[Grouping.DAY].trigger()
    window.back_to_all()
    qtbot.waitUntil(lambda: grid.dated, timeout=30_000)
    assert grid.sections[0].title == "Monday 3 June 2024"
    window.close()
    assert settings.value("view/timeline") == "day"
    again = make_window()
    assert again.grid.grouping is Grouping.DAY
    assert again.timeline.actions[Grouping.DAY].isChecked()


def test_days_of_another_length_are_ignored(view: TimelineView) -> None:
    view.set_days(np.zeros(3, dtype=np.int32))  # not one per photo: no headers, no crash
    view.doItemsLayout()
    assert [s.title for s in view.sections] == [""]


def test_a_library_with_a_photo_a_month_is_grouped_by_year() -> None:
    dates = [datetime(2024, m, 1) for m in (9, 7, 5, 2)]
    dates += [datetime(2022, m, 4) for m in (11, 7)] + [datetime(2022, 7, 2), None]
    sections = date_sections(day_numbers(dates), Grouping.MONTH)
    assert [(s.start, s.count, s.title, s.year) for s in sections] == [
        (0, 4, "2024", 2024),
        (4, 3, "2022", 2022),
        (7, 1, NO_DATE, None),
    ]
    assert sections[0].month == 9  # the scrubber's mark sits at the group's first month
    # Day headers are what the user asked for: never coarsened; nor are a few months.
    assert len(date_sections(day_numbers(dates), Grouping.DAY)) == 8
    assert len(date_sections(day_numbers(dates[4:]), Grouping.MONTH)) == 3
