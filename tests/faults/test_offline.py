"""A library folder that goes away mid-run (a drive unplugged or unmounted): its photos are
kept and the folder is marked offline; once it is back, nothing needs doing again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photosense import embedding, indexing
from photosense.indexing import IndexReport
from photosense.library import Library
from photosense.progress import run_to_end
from tests.faults.harness import check_library, make_photos, open_library, photo_files

ALL_PHOTOS: dict[Path, set[str]] = {}
"""The photos on each test's drive while it is plugged in."""


@pytest.fixture
def drive(tmp_path: Path) -> Path:
    """A "drive" of 36 photos, of which 24 are indexed; 12 were added since."""
    root = tmp_path / "drive" / "Photos"
    photos = make_photos(root, 36, seed=41)
    for path in photos[24:]:
        path.rename(path.with_suffix(".later"))
    with open_library(tmp_path / "library", tagging=False) as lib:
        run_to_end(lib.folders.index([root]))
    for path in photos[24:]:
        path.with_suffix(".later").rename(path)
    ALL_PHOTOS[root] = photo_files(root)
    return root


def unplug(root: Path) -> Callable[[], None]:
    """Make ``root`` vanish (as an unmounted drive's folder does); returns the replug."""
    away = root.with_name(root.name + ".unplugged")
    root.rename(away)
    return lambda: away.rename(root)


def index(lib: Library, root: Path) -> IndexReport:
    return run_to_end(lib.folders.index([root]))


def after_calls(count: int, original: Callable[..., Any], action: Callable[[], None]) -> Any:
    """``original`` that runs ``action`` once, just before its ``count``-th call."""
    calls = 0

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == count:
            action()
        return original(*args, **kwargs)

    return wrapper


def check_unplugged(lib: Library, root: Path, report: IndexReport, before: dict[str, int]) -> None:
    """Offline, every photo indexed before kept (same id), no file remembered as bad."""
    assert report.offline == [str(root)]
    assert [s for s in report.skipped if s.kind != "missing"] == []
    assert [f.online for f in lib.folders.list()] == [False]
    state = check_library(lib.path, ALL_PHOTOS[root])
    assert before.items() <= state.photos.items()  # every indexed photo kept, same id
    assert lib.folders.skipped() == []  # nothing is remembered as a bad file


def replug_and_finish(lib: Library, root: Path, replug: Callable[[], None]) -> None:
    replug()
    report = index(lib, root)
    assert report.offline == [] and report.removed == 0 and report.skipped == []
    state = check_library(lib.path, photo_files(root))
    assert set(state.photos) == photo_files(root)
    assert [f.online for f in lib.folders.list()] == [True]


@pytest.mark.parametrize("after", [1, 25])
def test_drive_unplugged_during_the_scan(
    drive: Path, monkeypatch: pytest.MonkeyPatch, after: int, tally: Counter[str]
) -> None:
    replug: list[Callable[[], None]] = []

    def scan(root: Path, cancel: Any = None) -> Iterator[Any]:
        for number, entry in enumerate(indexing_scan(root, cancel), 1):
            if number == after:
                replug.append(unplug(drive))
            yield entry

    indexing_scan = indexing.scan_files
    monkeypatch.setattr(indexing, "scan_files", scan)
    with open_library(drive.parent.parent / "library") as lib:
        before = check_library(lib.path, photo_files(drive)).photos
        report = index(lib, drive)
        tally["folder unplugged during the scan"] += 1
        check_unplugged(lib, drive, report, before)
        monkeypatch.setattr(indexing, "scan_files", indexing_scan)
        replug_and_finish(lib, drive, replug[0])


def test_drive_unplugged_while_its_photos_are_read(
    drive: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    replug: list[Callable[[], None]] = []
    decode = embedding.decode_photo
    monkeypatch.setattr(
        embedding, "decode_photo", after_calls(8, decode, lambda: replug.append(unplug(drive)))
    )
    with open_library(drive.parent.parent / "library") as lib:
        before = check_library(lib.path, photo_files(drive)).photos
        report = run_to_end(lib.folders.index([drive], workers=1, batch_size=4))
        tally["folder unplugged while its photos were read"] += 1
        check_unplugged(lib, drive, report, before)
        assert report.indexed >= 4  # batches committed before it went are kept
        monkeypatch.setattr(embedding, "decode_photo", decode)
        replug_and_finish(lib, drive, replug[0])


def test_an_empty_mount_point_is_offline_not_emptied(drive: Path, tally: Counter[str]) -> None:
    """An unmounted drive leaves its mount point behind, empty: that is not "all deleted"."""
    mounted = drive.with_name("mounted")
    drive.rename(mounted)
    drive.mkdir()
    with open_library(drive.parent.parent / "library") as lib:
        before = check_library(lib.path, ALL_PHOTOS[drive]).photos
        report = index(lib, drive)
        tally["empty mount point where photos were"] += 1
        check_unplugged(lib, drive, report, before)
        drive.rmdir()
        replug_and_finish(lib, drive, lambda: mounted.rename(drive))


def test_a_folder_deleted_for_real_is_forgotten(drive: Path) -> None:
    """The other side: files deleted from a folder that is still there are removed."""
    album = drive / "album2"
    for path in album.iterdir():
        path.unlink()
    album.rmdir()
    with open_library(drive.parent.parent / "library") as lib:
        report = index(lib, drive)
        assert report.offline == [] and report.removed == 6
        assert set(check_library(lib.path, photo_files(drive)).photos) == photo_files(drive)


def test_unplugged_before_the_run(drive: Path) -> None:
    library = drive.parent.parent / "library"
    before = check_library(library, photo_files(drive)).photos
    replug = unplug(drive)
    with open_library(library) as lib:
        check_unplugged(lib, drive, index(lib, drive), before)
        replug_and_finish(lib, drive, replug)
