"""Places in the window: the sidebar's countries and towns, the detail pane's place, and the
line under the search field that says how a query was read, with its literal way back."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from photosense.enums import ReadingKind
from photosense.gui.places_controller import place_entries
from photosense.gui.query_reading import chip_text
from photosense.gui.sidebar import PLACE, Scope
from photosense.gui.window import MainWindow
from photosense.library import PlaceCount, PlaceRecord, ReadPart
from tests.gui.conftest import WAIT_MS, grid_names, index_and_wait, select_row, wait_for_grid
from tests.test_places import trips  # noqa: F401 (a fixture)

SHOTS = os.environ.get("PHOTOSENSE_SCREENSHOTS")


def shoot(window: MainWindow, name: str) -> None:
    if SHOTS:
        window.grab().save(str(Path(SHOTS) / name))


def test_place_entries_group_towns_under_countries() -> None:
    def count(city: str, region: str | None, country: str, n: int) -> PlaceCount:
        return PlaceCount(PlaceRecord(city, None, region, country, None), n)

    entries = place_entries(
        [
            count("Porto", "Porto", "Portugal", 2),
            count("Alfama", "Lisbon", "Portugal", 3),
            count("Paris", "Île-de-France", "France", 9),
            count("Nowhere", None, "Portugal", 1),
        ]
    )
    assert [(e.name, e.count, e.value) for e in entries] == [
        ("France", 9, ", France"),
        ("Portugal", 6, ", Portugal"),
    ]
    assert [(t.name, t.value) for t in entries[1].children] == [
        ("Alfama (Lisbon)", "Alfama, Lisbon, Portugal"),
        ("Porto", "Porto, Porto, Portugal"),
        ("Nowhere", "Nowhere, , Portugal"),
    ]
    assert chip_text(ReadPart(ReadingKind.PLACE, "in Paris", "Paris")) == "Place: Paris"
    assert chip_text(ReadPart(ReadingKind.MONTHS, "in June", "June")) == "Taken in: June"


def test_places_in_the_sidebar_detail_and_search(
    make_window: object,
    qtbot: QtBot,
    trips: Path,  # noqa: F811
) -> None:
    window = make_window()  # type: ignore[operator]
    index_and_wait(qtbot, window, trips)
    sidebar = window.sidebar
    qtbot.waitUntil(lambda: len(sidebar.place_items()) == 6, timeout=WAIT_MS)
    countries = [sidebar.places_section.child(i) for i in range(3)]
    assert [(c.text(0), c.text(1)) for c in countries] == [
        ("Portugal", "2"),
        ("France", "1"),
        ("United States", "1"),
    ]

    sidebar.select(Scope(PLACE, ", Portugal"))
    wait_for_grid(qtbot, window)
    assert sorted(grid_names(window)) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    assert window.results_label.text().startswith("Photos taken in Portugal · 2")

    select_row(window, 0)
    qtbot.waitUntil(lambda: window.detail.notes is not None, timeout=WAIT_MS)
    assert window.detail.fields["place"].text() == "Alfama, Lisbon, Portugal"
    assert "° N" in window.detail.fields["place"].toolTip()
    sidebar.select(Scope())
    wait_for_grid(qtbot, window)
    assert window.detail.fields["place"].text() == "Alfama, Lisbon, Portugal"  # kept
    countries[0].setExpanded(True)
    shoot(window, "places-sidebar.png")

    window.search_bar.set_text("red in Lisbon")
    qtbot.waitUntil(lambda: window.search_scope.query.text == "red in Lisbon", timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    reading = window.search_bar.reading
    qtbot.waitUntil(reading.isVisible, timeout=WAIT_MS)
    assert [chip.text() for chip in reading.chips] == ["“red”", "Place: Lisbon"]
    assert sorted(grid_names(window)) == ["lisbon-blue.jpg", "lisbon-red.jpg"]
    shoot(window, "places-reading.png")

    qtbot.mouseClick(reading.toggle, Qt.MouseButton.LeftButton)  # search the words literally
    qtbot.waitUntil(lambda: window.search_scope.query.literal, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert len(grid_names(window)) == 7
    assert reading.isVisible() and reading.chips == []
    assert reading.toggle.text() == "Read dates and places"
    qtbot.mouseClick(reading.toggle, Qt.MouseButton.LeftButton)  # and back
    qtbot.waitUntil(lambda: not window.search_scope.query.literal, timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert len(grid_names(window)) == 2

    window.search_bar.set_text("red in June 2023")
    qtbot.waitUntil(lambda: window.search_scope.query.text == "red in June 2023", timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    shoot(window, "places-dates.png")
    assert [chip.text() for chip in reading.chips] == ["“red”", "Taken: June 2023"]

    window.search_bar.set_text("photos from 2023")
    qtbot.waitUntil(lambda: window.search_scope.query.text == "photos from 2023", timeout=WAIT_MS)
    wait_for_grid(qtbot, window)
    assert grid_names(window) == ["paris-red.jpg", "lisbon-red.jpg"]
    assert window.results_label.text() == "2 photos for “photos from 2023”, newest first"
    assert not window.search_bar.query.literal
