"""The search bar's colour filter: browsing and searching keep the photos of that colour."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from photosense.analysis.colours import KIND, ColoursAnalyser
from photosense.gui.window import MainWindow
from photosense.library import analysis as analysis_module
from tests.conftest import save_photo
from tests.gui.conftest import WAIT_MS, grid_names, wait_for_grid
from tests.gui.test_annotations import add_folder_and_wait


@pytest.fixture
def colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every library of the test names its photos' colours."""
    monkeypatch.setitem(analysis_module.FACTORIES, KIND, ColoursAnalyser)


def test_the_colour_filter_keeps_the_photos_of_that_colour(
    colours: None, window: MainWindow, tmp_path: Path, qtbot: QtBot
) -> None:
    folder = tmp_path / "colours"
    for name in ("red", "green", "blue"):
        save_photo(folder / f"{name}.jpg", name)
    add_folder_and_wait(qtbot, window, folder)
    assert len(grid_names(window)) == 3
    filters = window.search_bar.filters
    filters.colour.setCurrentIndex(filters.colour.findData("green"))
    wait_for_grid(qtbot, window)
    qtbot.waitUntil(lambda: grid_names(window) == ["green.jpg"], timeout=WAIT_MS)
    assert window.search_bar.query.colour == "green"
    assert window.search_bar.query.filter_count == 1
