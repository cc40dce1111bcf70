"""Malformed input to every command, and odd paths: a clear message and a non-zero exit, or
(for odd but valid paths) the photo indexed; never a traceback.

Each command runs in-process (``cli.main``): an exception escaping it fails the test, which is
what a traceback would be for the user. Usage errors are argparse's (exit 2, "error:").
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photosense import cli
from photosense.library import library as library_module
from photosense.media import _files, scan
from photosense.progress import run_to_end
from tests.conftest import save_photo
from tests.faults.child import fake_models
from tests.faults.harness import open_library


def attempt(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Run a command as ``photosense`` would; argparse's usage errors exit with status 2."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as usage:
        code = usage.code if isinstance(usage.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(autouse=True)
def fake_models_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", fake_models)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A library over two photos, a text file, a CSV that is not one, and a damaged copy."""
    tmp = tmp_path_factory.mktemp("bad-input")
    photos = tmp / "photos"
    save_photo(photos / "red.jpg", "red")
    save_photo(photos / "blue.jpg", "blue")
    (photos / "notes.txt").write_text("not a photo")
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp / "a-file").write_text("a file, not a folder")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(library_module, "load_encoder", fake_models)
        with open_library(tmp / "library") as lib:
            run_to_end(lib.folders.index([photos]))
    damaged = tmp / "damaged"
    damaged.mkdir()
    data = (tmp / "library" / "library.sqlite3").read_bytes()
    (damaged / "library.sqlite3").write_bytes(data[:100] + b"\x00garbage" * 500)
    (tmp / "not-sqlite").mkdir()
    (tmp / "not-sqlite" / "library.sqlite3").write_text("id,name\n1,this is a CSV\n")
    yield tmp, photos


P = "{photos}"
T = "{tmp}"
BAD_COMMANDS: dict[str, list[str]] = {
    # search and similar
    "search: a date that does not exist": ["search", "red", "--after", "2024-13-45"],
    "search: a word for a date": ["search", "red", "--before", "yesterday"],
    "search: a limit that is not a number": ["search", "red", "--limit", "ten"],
    "search: a limit of zero": ["search", "red", "--limit", "0"],
    "search: a negative limit": ["search", "red", "--limit", "-3"],
    "search: a score that is not a number": ["search", "red", "--min-score", "high"],
    "search: an unknown sort": ["search", "red", "--sort", "random"],
    "search: empty text": ["search", "  "],
    "search: an unknown tag": ["search", "red", "--tag", "no-such-tag"],
    "similar: a missing file": ["similar", "/no/such/photo.jpg"],
    "similar: a file that is not a photo": ["similar", f"{P}/notes.txt"],
    "similar: a limit that is not a number": ["similar", f"{P}/red.jpg", "--limit", "x"],
    # index
    "index: a missing folder": ["index", "/no/such/folder"],
    "index: a file instead of a folder": ["index", f"{P}/red.jpg"],
    "index: workers that are not a number": ["index", P, "--workers", "many"],
    "index: a batch size of zero": ["index", P, "--batch-size", "0"],
    # the library folder
    "--library: a photo folder": ["--library", P, "status"],
    "--library: a file": ["--library", f"{T}/a-file", "search", "red"],
    "--library: a folder that cannot be made": ["--library", "/proc/no/library", "status"],
    "--library: a damaged database": ["--library", f"{T}/damaged", "status"],
    "--library: a CSV named like the database": ["--library", f"{T}/not-sqlite", "status"],
    # models
    "--model: garbage": ["--model", "no/such/model/at/all", "search", "red"],
    "models use: garbage": ["models", "use", "!!garbage!!"],
    "models use: an unknown catalogue id": ["models", "use", "ViT-Q-99"],
    "models pull: an unknown id": ["models", "pull", "no-such-model"],
    "models remove: an unknown id": ["models", "remove", "imported/nothing", "--yes"],
    "models import: a missing file": ["models", "import", "/no/such/model.safetensors"],
    "models import: a text file": ["models", "import", f"{P}/notes.txt"],
    "models import: a photo": ["models", "import", f"{P}/red.jpg"],
    "models import: a bad name": ["models", "import", f"{P}/notes.txt", "--name", "../../etc"],
    # tags
    "tags show: a photo not in the library": ["tags", "show", "/no/such/photo.jpg"],
    "tags accept: a photo not in the library": ["tags", "accept", "/no/such.jpg", "dog"],
    "tags reject: a photo not in the library": ["tags", "reject", "/no/such.jpg", "dog"],
    "tags rename: an unknown tag": ["tags", "rename", "no-such-tag", "other"],
    "tags remove: an unknown tag": ["tags", "remove", "no-such-tag"],
    "tags add: an empty name": ["tags", "add", " "],
    # albums and captions
    "albums show: an unknown album": ["albums", "show", "no-such-album"],
    "albums add: an unknown album": ["albums", "add", "no-such-album", f"{P}/red.jpg"],
    "albums create: an empty name": ["albums", "create", ""],
    "albums rename: an unknown album": ["albums", "rename", "no-such-album", "x"],
    "captions set: a photo not in the library": ["captions", "set", "/no/such.jpg", "a dog"],
    "captions show: a photo not in the library": ["captions", "show", "/no/such.jpg"],
    "captions import: a missing file": ["captions", "import", "/no/such/captions.csv"],
    "captions import: a photo, not a CSV": ["captions", "import", f"{P}/red.jpg"],
    "captions import: binary bytes": ["captions", "import", f"{T}/binary.csv"],
    # eval
    "eval: a missing data set": ["eval", "/no/such/dataset"],
    "eval: a folder that is not a data set": ["eval", P],
    # finetune (its runs are tested with the fine-tuning loop)
    "finetune: a missing caption file": ["finetune", "--captions", "/no/such/captions.csv"],
    "finetune: zero epochs": ["finetune", "--epochs", "0"],
    "finetune: a learning rate that is not a number": ["finetune", "--learning-rate", "fast"],
    # no command at all, and unknown ones
    "an unknown command": ["frobnicate"],
    "an unknown option": ["search", "red", "--hue", "red"],
}


@pytest.mark.parametrize("case", list(BAD_COMMANDS))
def test_malformed_input_gets_a_clear_message(
    case: str,
    indexed: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    tally: Counter[str],
) -> None:
    tmp, photos = indexed
    argv = [a.format(photos=photos, tmp=tmp) for a in BAD_COMMANDS[case]]
    if argv[0] != "--library":
        argv = ["--library", str(tmp / "library"), *argv]
    before = sorted(p.name for p in photos.iterdir())
    code, out, err = attempt(capsys, *argv)
    tally["malformed command lines"] += 1
    assert code in (1, 2), (code, out, err)
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("photosense: ") or "error: " in last, err
    assert len(last) > len("photosense: ") + 10  # says something
    assert sorted(p.name for p in photos.iterdir()) == before  # nothing written among photos


def test_a_csv_with_bad_rows_imports_the_good_ones(
    indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, photos = indexed
    csv = tmp / "captions.csv"
    csv.write_text(
        "path,caption\n"
        f"{photos / 'red.jpg'},a red square\n"
        "/no/such/photo.jpg,a photo that is not there\n"
        "just one column\n"
        f'"{photos / "blue.jpg"}","unterminated\n',
        encoding="utf-8",
    )
    argv = ("--library", tmp / "library", "captions", "import", csv, "--json")
    code, out, err = attempt(capsys, *argv)
    assert code == 0, err
    report = json.loads(out)
    assert report["imported"] == 2  # Python's csv reads an unterminated quote to the end
    assert report["unmatched"] == ["/no/such/photo.jpg"]
    assert [p.split(":")[0] for p in report["problems"]] == ["line 4"]


# -- odd paths -------------------------------------------------------------------------------

ODD_NAMES = [
    "space name.jpg",
    "tab\tname.jpg",
    "new\nline.jpg",
    unicodedata.normalize("NFD", "crème brûlée.jpg"),
    unicodedata.normalize("NFC", "crème brûlée 2.jpg"),
    "東京 📷.jpg",
    "-rf.jpg",
    "--help.jpg",
    "x" * 250 + ".jpg",  # 254 bytes: the longest name, too long to add ".xmp" to
    "back\\slash.jpg",
    "quote'\"s.jpg",
    "semi;colon $(echo hi).jpg",
]


def odd_folder(root: Path) -> dict[str, str]:
    """Photos with odd names and the things that cannot be photos; name -> expected kind."""
    expected = {}
    for number, name in enumerate(ODD_NAMES):
        save_photo(root / name, (number * 20, 100, 200 - number * 10))
        expected[str(root / name)] = "ok"
    latin1 = os.fsencode(root) + b"/caf\xe9 latin-1.jpg"
    shutil.copy(root / "-rf.jpg", latin1)
    expected[str(root / "caf\ufffd latin-1.jpg")] = "unreadable"
    (root / "folder.jpg").mkdir()
    os.mkfifo(root / "pipe.jpg")
    expected[str(root / "pipe.jpg")] = "unreadable"
    links = root / "links"
    links.mkdir()
    os.symlink("..", links / "loop")
    os.symlink("ping.jpg", links / "pong.jpg")
    os.symlink("pong.jpg", links / "ping.jpg")
    os.symlink("missing.jpg", links / "dangling.jpg")
    expected.update(
        {str(links / n): k for n, k in [("ping.jpg", "unreadable"), ("pong.jpg", "unreadable")]}
    )
    expected[str(links / "dangling.jpg")] = "missing"
    # Folders nested past PATH_MAX (4096 bytes): made through directory descriptors.
    fd = os.open(root, os.O_RDONLY)
    deep = root
    for _ in range(18):
        os.mkdir("d" * 250, dir_fd=fd)
        inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd, deep = inner, deep / ("d" * 250)
    with os.fdopen(os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
        f.write((root / "-rf.jpg").read_bytes())
    os.close(fd)
    return expected


def test_odd_paths_are_indexed_or_skipped_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tally: Counter[str]
) -> None:
    root = tmp_path / "Odd photos"
    expected = odd_folder(root)
    library = tmp_path / "library"
    code, out, err = attempt(capsys, "--library", library, "index", root, "--json")
    assert code == 0, err
    report = json.loads(out)
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    status = json.loads(attempt(capsys, "--library", library, "status", "--json")[1])
    kinds = {s["path"]: s["kind"] for s in status["skipped_files"]}
    assert report["indexed"] == len(ODD_NAMES)
    for path, kind in expected.items():
        if kind != "ok":
            assert kinds.get(path) == kind, path
            assert skipped[path]
    too_long = [p for p, r in skipped.items() if "File name too long" in r]
    assert len(too_long) == 1 and too_long[0].startswith(str(root / ("d" * 250)))
    tally["odd paths tried"] += len(expected) + 3  # and a folder named .jpg, a loop, a deep path

    found = json.loads(attempt(capsys, "--library", library, "search", "blue", "--json")[1])
    assert {hit["path"] for hit in found["results"]} <= set(expected)
    for name in ("new\nline.jpg", ODD_NAMES[8], "-rf.jpg", ODD_NAMES[3]):
        photo = root / name
        for argv in (
            ("similar", photo),
            ("tags", "show", photo),
            ("captions", "set", photo, "a caption\nover two lines"),
            ("captions", "show", photo),
        ):
            code, _, err = attempt(capsys, "--library", library, *argv)
            assert code == 0, (argv, err)
    longest = root / ODD_NAMES[8]  # its sidecar's name would be too long for the disk
    assert attempt(capsys, "--library", library, "tags", "add", "odd")[0] == 0
    for photo in (root / "-rf.jpg", longest):
        code, out, err = attempt(capsys, "--library", library, "tags", "accept", photo, "odd")
        assert code == 0, err
    code, out, err = attempt(capsys, "--library", library, "tags", "export-xmp", "--json")
    export = json.loads(out)
    assert export["written"] == [str(root / "-rf.jpg.xmp")]
    assert [f["path"] for f in export["failed"]] == [str(longest)] and code == 1


def test_permission_denied_is_a_reason_not_a_crash(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tally: Counter[str],
) -> None:
    root = tmp_path / "photos"
    save_photo(root / "open.jpg", "red")
    locked_file = save_photo(root / "locked.jpg", "blue")
    locked_folder = root / "locked"
    save_photo(locked_folder / "inside.jpg", "green")
    locked_file.chmod(0)
    locked_folder.chmod(0)
    if os.geteuid() == 0:  # root reads anything: answer as the OS would for anyone else
        refuse_opening(monkeypatch, {str(locked_file)}, {str(locked_folder)})
    try:
        code, out, err = attempt(capsys, "--library", tmp_path / "library", "index", root, "--json")
    finally:
        locked_folder.chmod(0o755)
        locked_file.chmod(0o644)
    tally["permission denied (a file and a folder)"] += 2
    assert code == 0, err
    report = json.loads(out)
    assert report["indexed"] == 1
    reasons = {s["path"]: s["reason"] for s in report["skipped"]}
    assert reasons.keys() == {str(locked_file), str(locked_folder)}
    assert all(r.startswith("permission denied") for r in reasons.values())


def refuse_opening(monkeypatch: pytest.MonkeyPatch, files: set[str], folders: set[str]) -> None:
    """EACCES for these paths, where photosense opens files and lists folders."""

    def denied(path: Any) -> PermissionError:
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    real_open, real_scandir = os.open, os.scandir

    def guarded_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path) in files:
            raise denied(path)
        return real_open(path, *args, **kwargs)

    def guarded_scandir(path: Any = ".") -> Any:
        if os.fspath(path) in folders:
            raise denied(path)
        return real_scandir(path)

    monkeypatch.setattr(_files.os, "open", guarded_open)
    monkeypatch.setattr(scan.os, "scandir", guarded_scandir)
