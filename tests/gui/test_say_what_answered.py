"""The window says which model answers, what it cannot read (in one line by the results), and
keeps the last indexing outcome reachable after the status bar's message has gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from photosense.gui.window import MainWindow
from photosense.gui.words import model_name
from photosense.library import Library
from photosense.library.models import STARTER_ID, Models
from photosense.library.reading import query_notice
from tests.gui.conftest import WAIT_MS, index_and_wait


def search(qtbot: QtBot, window: MainWindow, text: str) -> None:
    window.search_bar.set_text(text)
    window.search_bar.commit()
    qtbot.waitUntil(
        lambda: window.search_scope.query.text == text and not window.runner.busy(),
        timeout=WAIT_MS,
    )


def test_the_status_bar_names_the_model(window: MainWindow, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: window.overview is not None, timeout=WAIT_MS)
    assert window.overview is not None
    assert model_name(window.overview.active_model) in window.count_label.text()
    assert model_name(STARTER_ID) == "starter model"


def test_a_query_the_model_cannot_read_gets_a_notice_by_the_results(
    window: MainWindow,
    photo_dir: Path,
    qtbot: QtBot,
    gui_library: Library,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The fake encoder is no catalogue model: answer as the English-only starter would.
    monkeypatch.setattr(
        Models,
        "reads",
        lambda _self, q: query_notice(q, "The starter model", ("en",), "xlm-roberta-base-ViT-B-32"),
    )
    index_and_wait(qtbot, window, photo_dir)
    search(qtbot, window, "猫")
    banner = window.results_label.text()
    assert "reads English only" in banner and "xlm-roberta-base-ViT-B-32" in banner
    assert "Models page" in banner and "photosense" not in banner  # no command lines here
    assert banner.count("\n") == 1  # the results line, and one line of notice

    search(qtbot, window, "red")
    assert "reads English only" not in window.results_label.text()


def test_the_last_outcome_stays_after_the_message_goes(
    window: MainWindow, photo_dir: Path, qtbot: QtBot
) -> None:
    index_and_wait(qtbot, window, photo_dir)
    status = window.indexing_status
    assert window.statusBar().currentMessage().startswith("Indexed 4 photos")
    assert not status.last_label.isVisible()  # the message says it for now
    window.statusBar().clearMessage()
    status._reveal.stop()
    status._reveal.timeout.emit()  # the message's time is up
    assert status.isVisible() and status.last_label.isVisible()
    assert status.last_label.text().startswith("Last run: Indexed 4 photos")
    assert "Indexed 4 photos" in status.last_label.toolTip()
    assert not status.bar.isVisible() and not status.cancel_button.isVisible()

    status.begin()  # a new run shows its progress instead
    assert status.bar.isVisible() and not status.last_label.isVisible()
    status.end()
    assert status.last_label.isVisible()
