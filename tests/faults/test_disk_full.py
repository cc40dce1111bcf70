"""A full disk while indexing: one clear line, a non-zero exit, the library intact.

Two ways to fill it: a file-size limit on the child (``RLIMIT_FSIZE``: writes past it fail with
EFBIG, which SQLite reports as an I/O error), and, where this user may mount one, a small tmpfs
holding the library (writes fail with ENOSPC, SQLite's "disk full").
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import (
    assert_clean_failure,
    assert_complete,
    assert_kept,
    check_library,
    make_photos,
    photo_files,
    run_child,
)
from tests.faults.test_kill import indexed_library


def test_file_size_limit_during_indexing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    library, more = indexed_library(tmp_path, monkeypatch, hnsw=False)
    make_photos(more / "extra", 150, seed=11)
    allowed = photo_files(tmp_path / "photos") | photo_files(more)
    before = check_library(library, allowed)
    # Room for the files as they are plus a little: the log of the new batches overflows it.
    limit = max(p.stat().st_size for p in library.rglob("*") if p.is_file()) + 48 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    child = run_child("--library", library, "index", more, preexec=limited)
    tally["file-size limit hit during indexing"] += 1
    assert_clean_failure(child)
    assert "the disk may be full" in child.stderr
    after = check_library(library, allowed)
    assert_kept(before, after, allowed)

    child = run_child("--library", library, "index", more)  # room again: it finishes
    assert child.code == 0, child.stderr
    assert_complete(library, tmp_path)


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.slow(long_variant=True)
@pytest.mark.parametrize("size", ["320k", "700k", "1100k"])
def test_disk_full_during_indexing(tmp_path: Path, size: str, tally: Counter[str]) -> None:
    photos = tmp_path / "photos"
    make_photos(photos, 400, seed=5)
    with tmpfs(tmp_path / "disk", size) as disk:
        library = disk / "library"
        child = run_child("--library", library, "index", photos)
        tally["disk full (tmpfs) during indexing"] += 1
        assert_clean_failure(child)
        assert "the disk holding the library is full" in child.stderr
        if (library / "library.sqlite3").exists():
            check_library(library, photo_files(photos))
            searched = run_child("--library", library, "status")  # still readable
            assert searched.code == 0, searched.stderr
        db = library / "library.sqlite3"
        saved = disk.parent / "saved"
        if db.exists():  # move what was saved to a disk with room, and carry on there
            saved.mkdir()
            for path in library.iterdir():
                if path.is_file():
                    shutil.copy2(path, saved / path.name)
    if saved.exists():
        before = check_library(saved, photo_files(photos))
        child = run_child("--library", saved, "index", photos)
        assert child.code == 0, child.stderr
        assert_kept(before, assert_complete(saved, photos), photo_files(photos))


@pytest.mark.slow
def test_disk_full_while_fine_tuning_saves_its_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    from tests.faults.test_kill import FINETUNE, captions_csv

    library, _ = indexed_library(tmp_path, monkeypatch, hnsw=False)
    root = tmp_path / "photos"
    csv = captions_csv(root)
    before = check_library(library, photo_files(root))
    home = tmp_path / "home"  # its cache/ (fine-tuning's work files) is a two-page tmpfs
    home.mkdir()
    env = {"PHOTOSENSE_HOME": str(home)}
    args = ("--library", library, FINETUNE[0], "--captions", csv, *FINETUNE[1:])
    with tmpfs(home / "cache", "8k"):
        child = run_child(*args, env=env)
    tally["disk full while fine-tuning saves its progress"] += 1
    assert_clean_failure(child)
    assert "could not save" in child.stderr and "disk may be full" in child.stderr
    assert_kept(before, check_library(library, photo_files(root)), photo_files(root))
    assert not list((library / "models").glob("fine-tuned/*"))  # the library's models

    child = run_child(*args, env=env)  # room again: it finishes
    assert child.code == 0, child.stderr
    assert list((library / "models").glob("fine-tuned/*/model.safetensors"))
