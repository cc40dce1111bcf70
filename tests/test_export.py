"""Export: copies in a folder, names that clash numbered, nothing overwritten, cancel keeps
what was copied, bad input reported; through the core, the library and the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photosense.errors import ExportError, PhotoNotFoundError
from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.export import copy_photos, numbered
from photosense.progress import CancelToken, Progress, run_to_end
from tests.cli_run import run, run_json
from tests.conftest import save_photo
from tests.test_captions import cli_library


@pytest.fixture
def lib(fake_library: Library, photo_dir: Path) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(fake_library.folders.index([photo_dir]))
    return fake_library


def test_numbered_names() -> None:
    assert numbered("a.jpg", 1) == "a.jpg"
    assert numbered("a.b.jpg", 3) == "a.b (3).jpg"
    assert numbered("README", 2) == "README (2)"
    assert numbered(".hidden", 2) == ".hidden (2)"


def test_clashes_are_numbered_and_nothing_is_overwritten(tmp_path: Path) -> None:
    one = save_photo(tmp_path / "a" / "IMG_1.jpg", "red")
    two = save_photo(tmp_path / "b" / "IMG_1.jpg", "blue")
    (tmp_path / "a" / "IMG_1.jpg.xmp").write_text("<x/>", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "IMG_1.jpg").write_bytes(b"the user's own file")

    report = run_to_end(copy_photos([one, two], out))
    assert report.renamed == 2 and report.failed == [] and not report.cancelled
    assert (out / "IMG_1.jpg").read_bytes() == b"the user's own file"
    assert (out / "IMG_1 (2).jpg").read_bytes() == one.read_bytes()
    assert (out / "IMG_1 (2).jpg.xmp").read_text(encoding="utf-8") == "<x/>"
    assert (out / "IMG_1 (3).jpg").read_bytes() == two.read_bytes()
    assert os.stat(out / "IMG_1 (3).jpg").st_mtime_ns == os.stat(two).st_mtime_ns
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "IMG_1 (2).jpg",
        "IMG_1 (2).jpg.xmp",
        "IMG_1 (3).jpg",
        "IMG_1.jpg",
    ]


def test_a_missing_file_is_reported_and_the_rest_copied(tmp_path: Path) -> None:
    good = save_photo(tmp_path / "good.jpg", "red")
    report = run_to_end(copy_photos([tmp_path / "gone.jpg", good], tmp_path / "out"))
    assert [Path(p).name for p, _ in report.failed] == ["gone.jpg"]
    assert [Path(c).name for _, c in report.copied] == ["good.jpg"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.jpg"]  # no leftovers


def test_a_file_is_no_export_folder(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ExportError, match="not a folder"):
        run_to_end(copy_photos([], target))


def test_cancel_keeps_what_was_copied_and_leaves_no_partial_file(tmp_path: Path) -> None:
    photos = [save_photo(tmp_path / f"p{i}.jpg", "red") for i in range(4)]
    cancel = CancelToken()
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if progress.done == 2:
            cancel.cancel()

    report = run_to_end(copy_photos(photos, tmp_path / "out", cancel), on_progress)
    assert report.cancelled and len(report.copied) == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.jpg", "p1.jpg"]


def test_library_export_refuses_unknown_photos(
    lib: Library, photo_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(PhotoNotFoundError):
        run_to_end(lib.export.copy([photo_dir / "red.jpg", tmp_path / "x.jpg"], tmp_path / "o"))
    assert not (tmp_path / "o").exists()
    ids = lib.photos.ids()
    report = run_to_end(lib.export.copy([*ids, ids[0]], tmp_path / "o"))
    assert len(report.copied) == len(ids)  # each photo once


def test_cli_export(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    folder = cli_library(capsys, monkeypatch, tmp_path / "lib", photo_dir)
    out = tmp_path / "out"
    code, text, _ = run(capsys, "--library", folder, "export", photo_dir / "red.jpg", "--to", out)
    assert code == 0 and "copied 1 photos" in text
    run(capsys, "--library", folder, "rate", "4", photo_dir / "red.jpg", photo_dir / "green.jpg")
    document = run_json(
        capsys, "--library", folder, "export", "--min-rating", "4", "--to", out, "--json"
    )
    assert document["renamed"] == 1 and len(document["copied"]) == 2
    assert sorted(p.name for p in out.glob("*.jpg")) == ["green.jpg", "red (2).jpg", "red.jpg"]
    code, _, err = run(capsys, "--library", folder, "export", "--to", out)
    assert code == 1 and "nothing to export" in err
