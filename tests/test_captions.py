"""Captions through the library and the command line: written by hand, imported from a CSV,
read from the files; what wins, what is never overwritten, and the training pairs they make."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from PIL import Image

from photosense.errors import AlbumNotFoundError, NotIndexedError, PhotosenseError
from photosense.library import Library, TrainingPair
from photosense.library import captions as captions_module
from photosense.library import library as library_module
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.xmp import description_from_xmp
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, run_to_end
from photosense.store.repository import Store
from photosense.store.schema import FTS_TABLES, Base
from tests.cli_run import run, run_json
from tests.conftest import save_photo


def jpeg_with_description(path: Path, description: str, rgb: tuple[int, int, int]) -> Path:
    exif = Image.Exif()
    exif[0x010E] = description.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (48, 32), rgb).save(path, "JPEG", exif=exif.tobytes())
    return path


@pytest.fixture
def captioned_dir(tmp_path: Path) -> Path:
    """Photos with captions in their files or beside them, and some without."""
    root = tmp_path / "Captioned"
    jpeg_with_description(root / "red.jpg", "A red kite over the dunes", (220, 30, 30))
    save_photo(root / "green.jpg", "green")
    (root / "green.txt").write_text("Moss on the old wall\n", encoding="utf-8")
    jpeg_with_description(root / "blue.jpg", "SONY DSC", (30, 40, 220))
    save_photo(root / "yellow.jpg", "yellow")
    return root


def without_auto_tags(library_dir: Path) -> Path:
    """Turn off tagging at index time in a library (it has nothing to do with captions)."""
    with Store.open(library_dir) as store:
        store.settings.set(AUTO_TAG_KEY, False)
    return library_dir


@pytest.fixture
def quick_library(fake_library: Library) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    return fake_library


@pytest.fixture
def lib(quick_library: Library, captioned_dir: Path) -> Library:
    run_to_end(quick_library.folders.index([captioned_dir]))
    return quick_library


@pytest.fixture
def read_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The photos whose files are read for captions."""
    calls: list[str] = []
    real = captions_module.read_caption

    def counting(photo: Path, sidecars: object = None) -> object:
        calls.append(photo.name)
        return real(photo, sidecars)  # type: ignore[arg-type]

    monkeypatch.setattr(captions_module, "read_caption", counting)
    return calls


def caption_of(library: Library, photo: Path) -> tuple[str, str] | None:
    info = library.captions.get(photo)
    return None if info is None else (info.text, info.source)


# -- the schema -------------------------------------------------------------------------------


def test_the_migrations_build_exactly_the_declared_schema() -> None:
    with Store.in_memory() as store, store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_name": lambda name, kind, _parent: not _is_fts(name, kind)},
        )
        assert compare_metadata(context, Base.metadata) == []


def _is_fts(name: str | None, kind: str) -> bool:
    """The full-text tables (and their shadow tables) the migrations make beside the schema."""
    return kind == "table" and any(str(name).startswith(t) for t in FTS_TABLES)


# -- captions the user writes -----------------------------------------------------------------


def test_set_show_and_remove_by_path_or_id(lib: Library, captioned_dir: Path) -> None:
    photo = captioned_dir / "yellow.jpg"
    info = lib.captions.set(photo, "  Sunflowers   in\tJuly ")

    assert info is not None and (info.text, info.source) == ("Sunflowers in July", "user")
    ids = {Path(r.path).name: i for i, r in lib.photos.get(lib.photos.ids()).items()}
    photo_id = ids["red.jpg"]
    lib.captions.set(photo_id, "By id")
    assert caption_of(lib, captioned_dir / "red.jpg") == ("By id", "user")
    assert lib.captions.get(photo_id) == lib.captions.get(str(captioned_dir / "red.jpg"))

    assert lib.captions.set(photo, "   ") is None  # blank text removes it
    assert lib.captions.get(photo) is None
    assert lib.captions.remove(photo_id) is True
    assert lib.captions.remove(photo_id) is False


def test_unknown_photos_are_refused(lib: Library, tmp_path: Path) -> None:
    with pytest.raises(NotIndexedError, match="not in the library"):
        lib.captions.set(tmp_path / "elsewhere.jpg", "text")
    with pytest.raises(NotIndexedError, match="9999 is not in the library"):
        lib.captions.get(9999)


def test_a_caption_written_to_the_sidecar_keeps_its_other_fields(
    lib: Library, captioned_dir: Path
) -> None:
    photo = captioned_dir / "yellow.jpg"
    sidecar = captioned_dir / "yellow.jpg.xmp"
    sidecar.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>'
        "</rdf:RDF></x:xmpmeta>",
        encoding="utf-8",
    )
    original = photo.read_bytes()

    lib.captions.set(photo, "Sunflowers", sidecar=True)

    assert description_from_xmp(sidecar.read_bytes()) == "Sunflowers"
    assert 'xmp:Rating="5"' in sidecar.read_text(encoding="utf-8")
    assert photo.read_bytes() == original
    # Reading the changed sidecar again finds the user's own caption there: nothing changes.
    assert run_to_end(lib.captions.read_files()) == 0
    assert caption_of(lib, photo) == ("Sunflowers", "user")

    lib.captions.set(photo, "", sidecar=True)
    assert description_from_xmp(sidecar.read_bytes()) is None
    assert lib.captions.get(photo) is None


def test_a_sidecar_that_cannot_be_written_keeps_the_caption_in_the_library(
    lib: Library, captioned_dir: Path
) -> None:
    photo = captioned_dir / "yellow.jpg"
    (captioned_dir / "yellow.jpg.xmp").mkdir()  # something that is not a file is in the way

    with pytest.raises(PhotosenseError, match="saved in the library, but the XMP sidecar"):
        lib.captions.set(photo, "Sunflowers", sidecar=True)
    assert caption_of(lib, photo) == ("Sunflowers", "user")


# -- captions in the files --------------------------------------------------------------------


def test_indexing_reads_the_captions_already_in_the_files(
    lib: Library, captioned_dir: Path
) -> None:
    assert caption_of(lib, captioned_dir / "red.jpg") == ("A red kite over the dunes", "file")
    assert caption_of(lib, captioned_dir / "green.jpg") == ("Moss on the old wall", "sidecar")
    assert lib.captions.get(captioned_dir / "blue.jpg") is None  # "SONY DSC" is no caption
    assert lib.captions.get(captioned_dir / "yellow.jpg") is None


def test_reading_is_incremental(lib: Library, captioned_dir: Path, read_calls: list[str]) -> None:
    assert run_to_end(lib.captions.read_files()) == 0
    assert read_calls == []  # every photo was read while indexing

    (captioned_dir / "yellow.jpg.txt").write_text("Sunflowers in a jug", encoding="utf-8")
    (captioned_dir / "green.txt").write_text("Ivy on the old wall", encoding="utf-8")
    assert run_to_end(lib.captions.read_files()) == 2
    assert sorted(read_calls) == ["green.jpg", "yellow.jpg"]
    assert caption_of(lib, captioned_dir / "green.jpg") == ("Ivy on the old wall", "sidecar")

    read_calls.clear()
    (captioned_dir / "green.txt").unlink()  # the caption's source is gone: so is the caption
    assert run_to_end(lib.captions.read_files()) == 1
    assert read_calls == ["green.jpg"]
    assert lib.captions.get(captioned_dir / "green.jpg") is None


def test_a_changed_photo_is_read_again_when_indexed(
    lib: Library, captioned_dir: Path, read_calls: list[str]
) -> None:
    jpeg_with_description(captioned_dir / "red.jpg", "A red kite, later", (221, 30, 30))

    run_to_end(lib.folders.index())

    assert read_calls == ["red.jpg"]
    assert caption_of(lib, captioned_dir / "red.jpg") == ("A red kite, later", "file")


def test_files_never_override_a_user_or_csv_caption(
    lib: Library, captioned_dir: Path, tmp_path: Path
) -> None:
    lib.captions.set(captioned_dir / "red.jpg", "My kite")
    csv_path = tmp_path / "captions.csv"
    csv_path.write_text(f"path,caption\n{captioned_dir / 'green.jpg'},From the CSV\n")
    lib.captions.import_csv(csv_path)
    (captioned_dir / "red.jpg.txt").write_text("A text sidecar", encoding="utf-8")
    (captioned_dir / "green.txt").write_text("An edited sidecar", encoding="utf-8")

    run_to_end(lib.captions.read_files())

    assert caption_of(lib, captioned_dir / "red.jpg") == ("My kite", "user")
    assert caption_of(lib, captioned_dir / "green.jpg") == ("From the CSV", "csv")


def test_a_removed_file_caption_stays_removed_until_the_file_changes(
    lib: Library, captioned_dir: Path
) -> None:
    red = captioned_dir / "red.jpg"
    assert lib.captions.remove(red)
    run_to_end(lib.captions.read_files())
    assert lib.captions.get(red) is None

    (captioned_dir / "red.txt").write_text("A new sidecar", encoding="utf-8")
    run_to_end(lib.captions.read_files())
    assert caption_of(lib, red) == ("A new sidecar", "sidecar")


def test_reading_can_be_cancelled_and_carries_on(
    quick_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "Many"
    for i in range(5):
        save_photo(root / f"{i}.jpg", (40 * i, 90, 90))
        (root / f"{i}.txt").write_text(f"Photo number {i} of five", encoding="utf-8")
    monkeypatch.setattr(captions_module, "CAPTION_BATCH", 2)
    cancel = CancelToken()
    job = quick_library.folders.index([root], cancel)
    while (progress := next(job)).message != "reading captions":
        pass
    cancel.cancel()
    with pytest.raises(StopIteration):
        next(job)
    assert len(quick_library.captions.list()) == 2  # the first batch is kept

    assert run_to_end(quick_library.captions.read_files()) == 3
    assert len(quick_library.captions.list()) == 5
    assert progress.total == 5


def test_photos_on_an_offline_drive_wait(lib: Library, captioned_dir: Path) -> None:
    moved = captioned_dir.with_name("Unplugged")
    captioned_dir.rename(moved)
    run_to_end(lib.folders.index())  # the folder is offline now; its photos are kept
    (moved / "yellow.txt").write_text("Written while unplugged", encoding="utf-8")

    assert run_to_end(lib.captions.read_files()) == 0
    assert lib.captions.training_pairs() == []  # offline photos make no training pairs

    moved.rename(captioned_dir)
    run_to_end(lib.folders.index())
    assert caption_of(lib, captioned_dir / "yellow.jpg") == ("Written while unplugged", "sidecar")


# -- CSV import -------------------------------------------------------------------------------


def test_import_a_csv(lib: Library, captioned_dir: Path) -> None:
    lib.captions.set(captioned_dir / "blue.jpg", "Written by hand")
    csv_path = captioned_dir / "captions.csv"
    csv_path.write_text(
        "path,caption\n"
        "yellow.jpg,Sunflowers\n"
        f"{captioned_dir / 'red.jpg'},A kite (from the CSV)\n"
        "blue.jpg,Not this one\n"
        "missing.jpg,Nobody\n"
        "green.jpg,\n",
        encoding="utf-8",
    )

    report = lib.captions.import_csv(csv_path)

    assert (report.imported, report.updated, report.kept) == (1, 1, 1)
    assert report.unmatched == [str(captioned_dir / "missing.jpg")]
    assert report.problems == ["line 6: no caption for green.jpg"]
    assert caption_of(lib, captioned_dir / "yellow.jpg") == ("Sunflowers", "csv")
    assert caption_of(lib, captioned_dir / "red.jpg") == ("A kite (from the CSV)", "csv")
    assert caption_of(lib, captioned_dir / "blue.jpg") == ("Written by hand", "user")

    again = lib.captions.import_csv(csv_path, overwrite=True)
    assert (again.imported, again.updated, again.kept) == (0, 1, 0)
    assert caption_of(lib, captioned_dir / "blue.jpg") == ("Not this one", "csv")


def test_a_bad_csv_imports_nothing(lib: Library, captioned_dir: Path) -> None:
    csv_path = captioned_dir / "captions.csv"
    csv_path.write_bytes(b"path,caption\nyellow.jpg,Sunflowers\nred.jpg,caf\xe9\n")

    with pytest.raises(PhotosenseError, match="not UTF-8 text"):
        lib.captions.import_csv(csv_path)
    assert lib.captions.get(captioned_dir / "yellow.jpg") is None


# -- training pairs ---------------------------------------------------------------------------


def test_training_pairs_of_the_whole_library(lib: Library, captioned_dir: Path) -> None:
    lib.captions.set(captioned_dir / "yellow.jpg", "Sunflowers")

    pairs = lib.captions.training_pairs()

    assert {(Path(p.path).name, p.text, p.source, p.group) for p in pairs} == {
        ("red.jpg", "A red kite over the dunes", "file", None),
        ("green.jpg", "Moss on the old wall", "sidecar", None),
        ("yellow.jpg", "Sunflowers", "user", None),
    }
    assert all(isinstance(p, TrainingPair) for p in pairs)
    assert {p.photo_id for p in pairs} == set(lib.captions.list())


def test_training_pairs_of_albums_use_titles_as_weak_captions(
    lib: Library, captioned_dir: Path
) -> None:
    lib.albums.create("Pip")
    lib.albums.create("Garden")
    lib.albums.add("Pip", [captioned_dir / "blue.jpg", captioned_dir / "red.jpg"])
    lib.albums.add("Garden", [captioned_dir / "green.jpg", captioned_dir / "blue.jpg"])

    pairs = lib.captions.training_pairs(["Pip", "Garden"])

    assert [(Path(p.path).name, p.text, p.source, p.group) for p in pairs] == [
        ("blue.jpg", "Pip", "album", "Pip"),  # uncaptioned: the album's title stands in
        ("red.jpg", "A red kite over the dunes", "file", "Pip"),
        ("green.jpg", "Moss on the old wall", "sidecar", "Garden"),
    ]
    without = lib.captions.training_pairs(["Pip"], album_titles=False)
    assert [Path(p.path).name for p in without] == ["red.jpg"]
    with pytest.raises(AlbumNotFoundError, match="no album named 'Holiday'"):
        lib.captions.training_pairs(["Holiday"])


def test_training_pairs_leave_out_files_that_are_gone(lib: Library, captioned_dir: Path) -> None:
    (captioned_dir / "red.jpg").unlink()

    assert [Path(p.path).name for p in lib.captions.training_pairs()] == ["green.jpg"]


# -- the command line -------------------------------------------------------------------------


def cli_library(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, folder: Path, photos: Path
) -> Path:
    """A library in ``folder`` over the fake encoder, ``photos`` indexed through the CLI."""
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())
    run_json(capsys, "--library", without_auto_tags(folder), "index", photos, "--json")
    return folder


@pytest.fixture
def cli_lib(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    captioned_dir: Path,
) -> Path:
    return cli_library(capsys, monkeypatch, tmp_path / "cli-lib", captioned_dir)


def test_cli_set_show_remove(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, captioned_dir: Path
) -> None:
    photo = captioned_dir / "yellow.jpg"
    code, out, _ = run(capsys, "--library", cli_lib, "captions", "set", photo, "Sunflowers")
    assert code == 0 and "caption saved" in out

    shown = run_json(capsys, "--library", cli_lib, "captions", "show", photo, "--json")
    assert (shown["caption"], shown["source"], shown["albums"]) == ("Sunflowers", "user", [])
    code, out, _ = run(capsys, "--library", cli_lib, "captions", "show", photo)
    assert out == "Sunflowers\n"

    code, out, _ = run(capsys, "--library", cli_lib, "captions", "remove", photo)
    assert code == 0 and "removed" in out
    code, out, _ = run(capsys, "--library", cli_lib, "captions", "show", photo)
    assert out == "no caption\n"


def test_cli_sidecar_import_read_and_list(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, captioned_dir: Path
) -> None:
    run(capsys, "--library", cli_lib, "captions", "set", captioned_dir / "blue.jpg", "Mine")
    csv_path = captioned_dir / "captions.csv"
    csv_path.write_text("path,caption\nyellow.jpg,Sunflowers\nblue.jpg,Theirs\nnone.jpg,x\n")

    report = run_json(capsys, "--library", cli_lib, "captions", "import", csv_path, "--json")
    assert report == {
        "imported": 1,
        "updated": 0,
        "unmatched": [str(captioned_dir / "none.jpg")],
        "problems": [],
        "kept": 1,
    }
    code, out, err = run(capsys, "--library", cli_lib, "captions", "import", csv_path)
    assert code == 0 and "0 captions imported" in out
    assert "kept the caption you wrote" in err and "none.jpg" in err

    (captioned_dir / "blue.jpg.txt").write_text("ignored: the user wrote one", encoding="utf-8")
    (captioned_dir / "yellow.txt").write_text("ignored: the CSV gave one", encoding="utf-8")
    read = run_json(capsys, "--library", cli_lib, "captions", "read", "--json")
    assert read == {"changed": 0, "cancelled": False}

    listed = run_json(capsys, "--library", cli_lib, "captions", "list", "--json")
    assert [(Path(c["path"]).name, c["caption"], c["source"]) for c in listed] == [
        ("blue.jpg", "Mine", "user"),
        ("green.jpg", "Moss on the old wall", "sidecar"),
        ("red.jpg", "A red kite over the dunes", "file"),
        ("yellow.jpg", "Sunflowers", "csv"),
    ]
    run(capsys, "--library", cli_lib, "albums", "create", "Sun")
    run(capsys, "--library", cli_lib, "albums", "add", "Sun", captioned_dir / "yellow.jpg")
    in_album = run_json(
        capsys, "--library", cli_lib, "captions", "list", "--album", "sun", "--json"
    )
    assert [c["caption"] for c in in_album] == ["Sunflowers"]


def test_cli_caption_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, captioned_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("file,text\na.jpg,b\n")
    cases = [
        ("captions", "set", tmp_path / "nowhere.jpg", "x"),
        ("captions", "import", bad),
        ("captions", "import", tmp_path / "missing.csv"),
        ("captions", "list", "--album", "Nope"),
    ]
    for argv in cases:
        code, out, err = run(capsys, "--library", cli_lib, *argv)
        assert code == 1 and out == ""
        assert err.startswith("photosense: ") and err.count("\n") == 1, err


def test_cli_sidecar_flag(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, captioned_dir: Path
) -> None:
    photo = captioned_dir / "yellow.jpg"
    code, out, _ = run(
        capsys, "--library", cli_lib, "captions", "set", photo, "Sunflowers", "--sidecar"
    )

    assert code == 0 and "XMP sidecar" in out
    assert description_from_xmp((captioned_dir / "yellow.jpg.xmp").read_bytes()) == "Sunflowers"
    assert not os.path.exists(captioned_dir / "yellow.xmp")
