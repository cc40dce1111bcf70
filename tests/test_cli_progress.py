"""`photosense index` progress: a bar per phase in a terminal, nothing otherwise or with --json."""

from __future__ import annotations

import io
import sys
from collections.abc import Generator
from pathlib import Path

import pytest
import tqdm.std

from photosense import cli
from photosense.cli import render
from photosense.library import library as library_module
from photosense.models.fake import FakeEncoder
from photosense.progress import Progress


class Terminal(io.StringIO):
    """Standard error as a terminal that does not report its size (a bare pseudo-terminal)."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no descriptor")


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())


def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """Standard error is a terminal from now on (set in the test itself: pytest's capture
    puts its own stream back between the fixtures and the test)."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def phases() -> Generator[Progress, None, str]:
    yield Progress(0, None, "scanning /photos")
    yield Progress(0, 3, "adding photos")
    yield Progress(3, 3, "adding photos")
    yield Progress(0, None, "preparing the model")
    for done in range(0, 6, 2):
        yield Progress(done, 6, "indexing")
    return "report"


def test_a_terminal_shows_each_phase_with_its_own_count(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = terminal(monkeypatch)
    assert render.drive(phases(), False, "photo") == "report"
    shown = screen.getvalue()
    assert "scanning /photos" in shown
    assert "preparing the model [00:00]" in shown  # a phase of unknown length: its time
    assert "0/3" in shown and "0/6" in shown  # each phase counts from its own start
    assert "photo/s" in shown  # with a rate


def test_a_step_counts_its_time_from_its_own_start(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    screen = terminal(monkeypatch)

    def steps() -> Generator[Progress, None, None]:
        yield Progress(4, 4, "adding photos")
        yield Progress(0, None, "preparing the model")
        now[0] += 100.0  # a model that takes its time to load
        yield Progress(2, 4, "indexing")  # the same total as adding: still a new count
        now[0] += 2.0
        yield Progress(4, 4, "indexing")
        yield Progress(1, 3, "epoch 1: loss 0.9")
        now[0] += 3.0
        yield Progress(2, 3, "epoch 2: loss 0.7")  # the same count goes on: the same clock

    render.drive(steps(), False, "photo")
    shown = screen.getvalue()
    assert "4/4 [00:02<00:00" in shown  # the indexing step's own 2 s, not the model's 100
    assert "01:42" not in shown
    assert "2/3 [00:03<" in shown


def test_quiet_or_off_a_terminal_shows_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = terminal(monkeypatch)
    assert render.drive(phases(), True, "photo") == "report"
    assert screen.getvalue() == ""

    piped = io.StringIO()  # not a terminal: a log file, a pipe
    monkeypatch.setattr(sys, "stderr", piped)
    assert render.drive(phases(), False, "photo") == "report"
    assert piped.getvalue() == ""


def test_index_in_a_terminal_shows_progress_and_with_json_only_the_document(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    screen = terminal(monkeypatch)
    code = cli.main(["--library", str(tmp_path / "lib"), "index", str(photo_dir), "--json"])
    assert code == 0
    assert screen.getvalue() == ""
    assert '"indexed": 4' in capsys.readouterr().out

    (photo_dir / "more.jpg").write_bytes((photo_dir / "red.jpg").read_bytes())
    code = cli.main(["--library", str(tmp_path / "lib"), "index", str(photo_dir)])
    assert code == 0
    shown = screen.getvalue()
    assert "adding photos" in shown and "indexing" in shown
    assert "1 indexed, 4 unchanged" in capsys.readouterr().out
