"""The indexing queue shows photos as they are added, before the model has embedded any."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from photosense.arrays import Vectors
from photosense.gui import indexing_controller
from photosense.gui.window import MainWindow
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.store.repository import Store
from tests.gui.conftest import WAIT_MS, grid_names, wait_for_grid


class GatedEncoder(FakeEncoder):
    """The colour fake, whose batches wait until the test lets them through (a slow model)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.batches = 0

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        self.batches += 1
        self.gate.wait(WAIT_MS / 1000)
        return super().encode_prepared(prepared)


def vectors(library: Library) -> int:
    return sum(model.vectors for model in library.status().models)


def test_the_grid_fills_as_photos_are_added_before_any_is_embedded(
    make_window: Callable[..., MainWindow],
    many_photos: Path,
    tmp_path: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No refresh on the clock: only the photos' arrival can fill the grid.
    monkeypatch.setattr(indexing_controller, "LIVE_REFRESH_S", float("inf"))
    encoder = GatedEncoder()
    directory = tmp_path / "gated"
    with Library(Store.open(directory), directory, lambda _spec: encoder) as library:
        window = make_window(library)
        job = window.indexing.create_job([str(many_photos)])
        with qtbot.waitSignal(window.indexing.ended, timeout=WAIT_MS):
            window.indexing.start(job)
            # Every photo is shown, with its record, while the model holds its first batch.
            qtbot.waitUntil(
                lambda: len(grid_names(window)) == 120 and all(grid_names(window)),
                timeout=WAIT_MS,
            )
            assert vectors(library) == 0
            encoder.gate.set()
        wait_for_grid(qtbot, window)
        assert vectors(library) == 120
        window.close()
