"""Hostile files through the whole indexer: each is indexed or skipped with a reason, nothing
crashes or hangs (a file that takes too long is skipped), and memory stays bounded.

The messy-library set (broken, exotic and hostile files, built by ``shared/datasets/fetch``)
is indexed in part with the suite and whole with ``-m slow``; without it those tests skip. The
time limit is tested on a decoder made to hang.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import threading
from collections import Counter
from contextlib import closing
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from photosense import embedding, indexing
from photosense.indexing import IndexReport
from photosense.media.scan import is_supported
from photosense.progress import run_to_end
from tests.conftest import dataset, save_photo
from tests.faults.harness import open_library, run_child, tree_snapshot
from tests.fuzz.targets import KINDS

PEAK_RSS_LIMIT_MIB = 2560
"""Peak memory of a whole messy-library run with two decoding threads (measured: ~1.3 GiB,
most of it the libraries; Pillow refuses images over 179 megapixels before decoding them)."""


def test_a_file_that_hangs_is_skipped_after_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    for name in ("a", "b", "hangs", "c", "d", "e"):
        save_photo(tmp_path / "photos" / f"{name}.jpg", (len(name) * 40, 90, 160))
    release = threading.Event()
    decode = embedding.decode_photo

    def hanging_decode(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "hangs.jpg":
            release.wait(60)  # a decoder stuck in a loop, or a drive that stopped answering
        return decode(path, *args, **kwargs)

    monkeypatch.setattr(embedding, "decode_photo", hanging_decode)
    monkeypatch.setattr(indexing, "FILE_TIMEOUT_S", 0.5)
    try:
        with open_library(tmp_path / "library", tagging=False) as lib:
            report = run_to_end(lib.folders.index([tmp_path / "photos"], workers=2, batch_size=2))
            tally["decoder hung (per-file time limit)"] += 1
            assert report.indexed == 5
            assert [(Path(s.path).name, s.kind) for s in report.skipped] == [
                ("hangs.jpg", "timeout")
            ]
            assert "took over 0 s" in report.skipped[0].reason
            again = run_to_end(
                lib.folders.index([tmp_path / "photos"])
            )  # not tried again unchanged
            assert (again.indexed, again.unchanged, len(again.skipped)) == (0, 5, 1)
    finally:
        release.set()


def manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def photo_rows(root: Path) -> list[dict[str, str]]:
    """The manifest's files that a scan yields: supported names, no hidden parts."""
    return [
        row
        for row in manifest(root)
        if is_supported(Path(row["path"]))
        and not any(p.startswith(".") for p in Path(row["path"]).parts)
    ]


def expectations_hold(root: Path) -> bool:
    """Whether ``expect`` (what Pillow could load when the set was built) applies here."""
    env = json.loads((root / "expect_env.json").read_text())
    try:
        here = {
            "pillow": metadata.version("pillow"),
            "pillow_heif": metadata.version("pillow-heif"),
        }
    except metadata.PackageNotFoundError:
        return False
    return all(env.get(key) == value for key, value in here.items())


def check_outcomes(
    root: Path,
    rows: list[dict[str, str]],
    located: dict[str, Path],
    indexed: set[str],
    skipped: dict[str, tuple[str, str]],
) -> Counter[str]:
    """Every file is indexed or skipped with a kind and a reason, as Pillow predicts."""
    outcomes: Counter[str] = Counter()
    strict = expectations_hold(root)
    for row in rows:
        path = str(located[row["path"]])
        if path in indexed:
            outcome = "ok"
        else:
            assert path in skipped, f"{row['path']} was neither indexed nor skipped"
            kind, reason = skipped[path]
            assert kind in KINDS and reason, row["path"]
            outcome = kind
        outcomes[outcome] += 1
        if strict and row["path"] != "images/pillow-heif/heif_special/200MP.heic":
            assert (outcome == "ok") == (row["expect"] == "ok"), (row["path"], outcome)
    return outcomes


def sample(messy: Path, into: Path, every: int) -> dict[str, Path]:
    """Links to every ``every``-th photo of the set, plus all the generated trouble makers."""
    shutil.copytree(messy / "images" / "generated", into / "images" / "generated", symlinks=True)
    located = {}
    for number, row in enumerate(photo_rows(messy)):
        relative = Path(row["path"])
        if relative.parts[1] == "generated":
            located[row["path"]] = into / relative
        elif number % every == 0:
            link = into / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(messy / relative, link)
            located[row["path"]] = link
    return located


@pytest.mark.datasets
def test_messy_library_sample(tmp_path: Path, tally: Counter[str]) -> None:
    messy = dataset("messy-library")
    located = sample(messy, tmp_path / "photos", every=8)
    rows = [row for row in photo_rows(messy) if row["path"] in located]
    with open_library(tmp_path / "library", tagging=False) as lib:
        report: IndexReport = run_to_end(lib.folders.index([tmp_path / "photos"]))
        indexed = {record.path for record in lib.photos.get(lib.photos.ids()).values()}
    skipped = {s.path: (s.kind, s.reason) for s in report.skipped}
    outcomes = check_outcomes(messy, rows, located, indexed, skipped)
    tally["messy-library files tried (sample)"] += len(rows)
    assert outcomes["ok"] > 0 and sum(outcomes.values()) == len(rows)
    with closing(sqlite3.connect(tmp_path / "library" / "library.sqlite3")) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.slow(long_variant=True)
@pytest.mark.datasets
def test_messy_library_whole(tmp_path: Path, tally: Counter[str]) -> None:
    messy = dataset("messy-library")
    before = tree_snapshot(messy)
    report_file = tmp_path / "report.json"
    child = run_child(
        "--library",
        tmp_path / "library",
        "index",
        messy,
        "--json",
        "--workers",
        "2",
        report=report_file,
    )
    assert child.code == 0, child.stderr
    run = json.loads(report_file.read_text())
    rows = photo_rows(messy)
    with closing(sqlite3.connect(tmp_path / "library" / "library.sqlite3")) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        indexed = {path for (path,) in db.execute("SELECT path FROM photos")}
        skipped = {p: (k, r) for p, k, r in db.execute("SELECT path, kind, reason FROM skipped")}
    outcomes = check_outcomes(
        messy, rows, {r["path"]: messy / r["path"] for r in rows}, indexed, skipped
    )
    tally["messy-library files tried (whole)"] += len(rows)
    tally["messy-library files ignored (not a photo format)"] += len(manifest(messy)) - len(rows)
    for outcome, count in outcomes.items():
        tally[f"messy-library outcome: {outcome}"] += count
    assert run["peak_rss_kib"] / 1024 < PEAK_RSS_LIMIT_MIB
    tally[f"messy-library peak memory MiB: {run['peak_rss_kib'] // 1024}"] += 1
    assert tree_snapshot(messy) == before  # nothing in the photo folders was touched
