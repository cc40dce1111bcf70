"""Two processes on one library: searches go on during indexing, indexing runs take turns, and
a writer that holds the database too long gets a clear message after the busy timeout."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from photosense.library import library as library_module
from photosense.progress import run_to_end
from photosense.store import db
from tests.cli_run import run
from tests.faults.child import fake_models
from tests.faults.harness import (
    REPO,
    assert_complete,
    check_library,
    make_photos,
    open_library,
    photo_files,
)


@pytest.mark.slow
def test_searches_go_on_while_another_process_indexes(tmp_path: Path, tally: Counter[str]) -> None:
    root = tmp_path / "photos"
    make_photos(root, 100, seed=21)
    first = sorted(photo_files(root))[:40]
    for path in sorted(photo_files(root))[40:]:  # the rest is indexed by the other process
        target = tmp_path / "more" / Path(path).relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        Path(path).rename(target)
    library = tmp_path / "library"
    with open_library(library) as lib:  # the window's library, open for the whole test
        run_to_end(lib.folders.index([root]))
        indexer = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.child", "--library", str(library), "index"]
            + [str(tmp_path / "more"), "--batch-size", "8"],
            cwd=REPO,
            env={**os.environ, "FAULT_SLOW_ENCODE_S": "0.02"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        searches, seen = 0, set()
        while indexer.poll() is None:
            hits = lib.search.similar(first[searches % len(first)], limit=500).hits
            seen.add(len(hits))
            searches += 1
        out, err = indexer.communicate()
        assert indexer.returncode == 0, err
        assert "60 indexed" in out
        final = lib.search.similar(first[0], limit=500).hits
    tally["searches during another process's indexing"] += searches
    assert searches > 0
    assert len(final) == 99  # the new photos are found once committed
    assert min(seen) >= 39
    assert_complete(library, tmp_path)


@pytest.mark.slow
def test_two_indexing_runs_take_turns(tmp_path: Path, tally: Counter[str]) -> None:
    make_photos(tmp_path / "a", 24, seed=31)
    make_photos(tmp_path / "b", 24, seed=32)
    library = tmp_path / "library"
    args = [sys.executable, "-m", "tests.faults.child", "--library", str(library), "index"]
    children = [
        subprocess.Popen(
            [*args, str(tmp_path / x), str(tmp_path / y), "--json"],
            cwd=REPO,
            env={**os.environ, "FAULT_SLOW_ENCODE_S": "0.02"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for x, y in (("a", "b"), ("b", "a"))
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    tally["indexing runs started at the same time"] += 2
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    state = check_library(library, photo_files(tmp_path))
    assert set(state.photos) == photo_files(tmp_path)  # each photo once, none lost


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", fake_models)


@pytest.mark.slow
@pytest.mark.usefixtures("fake_cli")
def test_a_writer_holding_the_database_gets_a_clear_message(
    tmp_path: Path,
    photo_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tally: Counter[str],
) -> None:
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 1)
    library = tmp_path / "library"
    assert run(capsys, "--library", library, "status")[0] == 0  # creates it
    with closing(sqlite3.connect(library / "library.sqlite3", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        code, out, err = run(capsys, "--library", library, "index", photo_dir)
        other.execute("ROLLBACK")
    tally["database locked by another writer past the timeout"] += 1
    assert code == 1
    assert err.startswith("photosense: the library database is busy: another program")
    assert "for over 1 s" in err

    # A writer that lets go within the timeout is simply waited for.
    monkeypatch.setattr(db, "BUSY_TIMEOUT_S", 30)
    database = library / "library.sqlite3"
    with closing(sqlite3.connect(database, isolation_level=None, check_same_thread=False)) as other:
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.5, other.execute, ["ROLLBACK"])
        release.start()
        code, out, err = run(capsys, "--library", library, "index", photo_dir)
        release.join()
    tally["database locked by another writer, then released"] += 1
    assert code == 0, err
    assert out.startswith("4 indexed")


class _Cursor:
    """A cursor whose first ``busy`` statements fail the way SQLite fails the loser of a race
    to switch a new database to WAL: SQLITE_BUSY at once."""

    def __init__(self, busy: int, code: int = 5) -> None:
        self.busy, self.code = busy, code
        self.statements: list[str] = []
        self.mode = "delete"

    def execute(self, sql: str) -> _Cursor:
        self.statements.append(sql)
        if self.busy:
            self.busy -= 1
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
            raise error
        if sql.endswith("=WAL"):
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_opening_a_new_library_waits_out_a_race_to_switch_it_to_wal() -> None:
    cursor = _Cursor(busy=3)
    db.use_wal(cursor, timeout_s=5)
    assert cursor.mode == "wal"
    assert cursor.statements[-2:] == ["PRAGMA journal_mode", "PRAGMA journal_mode=WAL"]

    already = _Cursor(busy=0)
    already.mode = "wal"
    db.use_wal(already)
    assert already.statements == ["PRAGMA journal_mode"]  # nothing to switch

    with pytest.raises(sqlite3.OperationalError):
        db.use_wal(_Cursor(busy=1_000_000), timeout_s=0.05)  # gives up after the timeout
    with pytest.raises(sqlite3.OperationalError):
        db.use_wal(_Cursor(busy=1, code=10), timeout_s=5)  # an I/O error is not waited out
