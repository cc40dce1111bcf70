"""scan_folder: recursion, hidden entries, extensions, links, problems and cancelling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photosense.errors import Cancelled
from photosense.media import scan
from photosense.media.scan import ScannedFile, ScanProblem, is_supported, scan_folder
from photosense.progress import CancelToken

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX")


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def split(root: Path) -> tuple[list[ScannedFile], list[ScanProblem]]:
    results = list(scan_folder(root))
    files = [r for r in results if isinstance(r, ScannedFile)]
    problems = [r for r in results if isinstance(r, ScanProblem)]
    assert len(files) + len(problems) == len(results)
    return files, problems


def test_finds_supported_files_recursively_with_size_and_mtime(tmp_path: Path) -> None:
    a = touch(tmp_path / "a.jpg", b"12345")
    b = touch(tmp_path / "2023" / "summer" / "b.PNG")
    c = touch(tmp_path / "2023" / "c.HeIc")
    d = touch(tmp_path / "x" / "y" / "z" / "d.tiff")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "2023" / "b.xmp")
    touch(tmp_path / "raw.cr2")
    touch(tmp_path / "jpg")  # no extension at all
    (tmp_path / "folder.jpg").mkdir()

    files, problems = split(tmp_path)

    assert problems == []
    assert sorted(f.path for f in files) == sorted([a, b, c, d])
    by_path = {f.path: f for f in files}
    assert by_path[a].size == 5
    assert by_path[a].mtime_ns == a.stat().st_mtime_ns


def test_skips_hidden_files_and_folders(tmp_path: Path) -> None:
    keep = touch(tmp_path / "keep.jpg")
    touch(tmp_path / ".hidden.jpg")
    touch(tmp_path / "._keep.jpg")  # macOS AppleDouble companion
    touch(tmp_path / ".thumbnails" / "t.jpg")
    touch(tmp_path / "ok" / ".cache" / "deep" / "c.jpg")

    files, _ = split(tmp_path)

    assert [f.path for f in files] == [keep]


def test_root_may_be_hidden_itself(tmp_path: Path) -> None:
    photo = touch(tmp_path / ".photos" / "p.jpg")
    files, _ = split(tmp_path / ".photos")
    assert [f.path for f in files] == [photo]


def test_unicode_and_space_names(tmp_path: Path) -> None:
    photo = touch(tmp_path / "Été 2023 – 東京" / "Crème brûlée 01.JPEG")
    files, _ = split(tmp_path)
    assert [f.path for f in files] == [photo]


def test_relative_root_gives_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path / "lib" / "p.jpg")
    monkeypatch.chdir(tmp_path)
    files, _ = split(Path("lib"))
    assert [f.path for f in files] == [tmp_path / "lib" / "p.jpg"]
    assert files[0].path.is_absolute()


@needs_symlinks
def test_self_link_loop_ends_and_yields_each_file_once(tmp_path: Path) -> None:
    photo = touch(tmp_path / "loop" / "p.jpg")
    (tmp_path / "loop" / "self").symlink_to(".")
    (tmp_path / "loop" / "parent").symlink_to("..")

    files, problems = split(tmp_path)

    assert [f.path for f in files] == [photo]
    assert problems == []


@needs_symlinks
def test_follows_linked_folders_without_resolving_the_path(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    touch(outside / "o.jpg")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(outside, target_is_directory=True)
    (root / "linked-again").symlink_to(outside, target_is_directory=True)

    files, _ = split(root)

    assert len(files) == 1  # the same real folder is scanned once
    assert files[0].path.parent.parent == root
    assert files[0].path.parent.name in {"linked", "linked-again"}


@needs_symlinks
def test_linked_file_is_yielded_under_its_link_name(tmp_path: Path) -> None:
    real = touch(tmp_path / "store" / "real.dat", b"abc")
    link = tmp_path / "lib" / "link.jpg"
    link.parent.mkdir()
    link.symlink_to(real)
    files, _ = split(tmp_path / "lib")
    assert files == [ScannedFile(link, 3, real.stat().st_mtime_ns)]


@needs_symlinks
def test_dangling_link_and_link_loop_are_problems(tmp_path: Path) -> None:
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    (tmp_path / "ping.jpg").symlink_to("pong.jpg")
    (tmp_path / "pong.jpg").symlink_to("ping.jpg")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")  # not a photo: ignored

    files, problems = split(tmp_path)

    assert files == []
    by_name = {p.path.name: p for p in problems}
    assert set(by_name) == {"dangling.jpg", "ping.jpg", "pong.jpg"}
    assert by_name["dangling.jpg"].kind == "missing"
    assert "broken link" in by_name["dangling.jpg"].reason
    assert "does not exist" in by_name["dangling.jpg"].reason
    assert by_name["ping.jpg"].kind == "unreadable"
    assert "symbolic link loop" in by_name["ping.jpg"].reason


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_with_photo_name_is_a_problem_not_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    files, problems = split(tmp_path)
    assert files == []
    assert [(p.path.name, p.kind) for p in problems] == [("pipe.jpg", "unreadable")]
    assert "not a regular file" in problems[0].reason


def test_unreadable_folder_is_a_permission_problem_and_the_scan_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = touch(tmp_path / "ok" / "p.jpg")
    touch(tmp_path / "locked" / "q.jpg")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if path.endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(scan.os, "scandir", scandir)  # works even when the tests run as root

    files, problems = split(tmp_path)

    assert [f.path for f in files] == [ok]
    assert [(p.path, p.kind) for p in problems] == [(tmp_path / "locked", "permission")]
    assert "permission denied" in problems[0].reason
    assert "check its permissions" in problems[0].reason


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folder_on_disk(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    touch(locked / "q.jpg")
    locked.chmod(0)
    try:
        _, problems = split(tmp_path)
    finally:
        locked.chmod(0o755)
    assert [(p.path, p.kind) for p in problems] == [(locked, "permission")]


def test_missing_root_is_reported_as_missing(tmp_path: Path) -> None:
    files, problems = split(tmp_path / "unplugged-drive")
    assert files == []
    assert [p.kind for p in problems] == ["missing"]
    assert "does not exist" in problems[0].reason


def test_root_that_is_a_file_is_a_problem(tmp_path: Path) -> None:
    _, problems = split(touch(tmp_path / "p.jpg"))
    assert [p.kind for p in problems] == ["unreadable"]
    assert "not a folder" in problems[0].reason


def test_cancel_before_start_raises_cancelled(tmp_path: Path) -> None:
    touch(tmp_path / "p.jpg")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list(scan_folder(tmp_path, token))


def test_cancel_stops_between_folders(tmp_path: Path) -> None:
    for i in range(5):
        touch(tmp_path / f"d{i}" / "p.jpg")
    token = CancelToken()
    seen = []
    with pytest.raises(Cancelled):
        for item in scan_folder(tmp_path, token):
            seen.append(item)
            token.cancel()
    assert len(seen) == 1


def test_is_supported() -> None:
    assert is_supported(Path("a/IMG_0001.JPG"))
    assert is_supported(Path("b.heic"))
    assert is_supported(Path("c.Hif"))
    assert not is_supported(Path("d.txt"))
    assert not is_supported(Path("jpg"))
    assert {".jpg", ".jpeg", ".png", ".heic", ".avif", ".gif"} <= scan.SUPPORTED_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in scan.SUPPORTED_EXTENSIONS)
