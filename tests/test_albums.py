"""Albums through the store, the library and the command line, and the album filter of search."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.errors import AlbumNotFoundError, NotIndexedError, PhotosenseError
from photosense.library import AUTO_TAG_KEY, Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.cli_run import run, run_json
from tests.test_captions import cli_library


@pytest.fixture
def lib(fake_library: Library, photo_dir: Path) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(fake_library.index([photo_dir]))
    return fake_library


def names(library: Library, ids: list[int]) -> list[str]:
    records = library.photos(ids)
    return [Path(records[i].path).name for i in ids]


def ids_by_name(library: Library) -> dict[str, int]:
    return {Path(r.path).name: i for i, r in library.photos(library.photo_ids()).items()}


# -- making and naming albums -----------------------------------------------------------------


def test_create_list_rename_delete(lib: Library) -> None:
    zoo = lib.create_album("  Zoo   trip ", "  lions and   tigers ")
    lib.create_album("beach")
    lib.create_album("Attic", "")

    assert (zoo.name, zoo.description, zoo.count) == ("Zoo trip", "lions and tigers", 0)
    assert [a.name for a in lib.albums()] == ["Attic", "beach", "Zoo trip"]
    assert lib.albums()[0].description is None

    renamed = lib.rename_album("zoo TRIP", "Safari")  # found ignoring case
    assert (renamed.id, renamed.name, renamed.description) == (zoo.id, "Safari", "lions and tigers")
    assert lib.rename_album("beach", "Beach").name == "Beach"  # only the case changes

    assert lib.delete_album("safari") == 0
    assert [a.name for a in lib.albums()] == ["Attic", "Beach"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lib: lib.create_album("beach"), "already exists"),
        (lambda lib: lib.create_album("   "), "needs a name"),
        (lambda lib: lib.rename_album("Beach", "ATTIC"), "already exists"),
        (lambda lib: lib.rename_album("Beach", ""), "needs a name"),
    ],
)
def test_names_must_be_given_and_unique_ignoring_case(
    lib: Library, make: object, message: str
) -> None:
    lib.create_album("Beach")
    lib.create_album("Attic")

    with pytest.raises(PhotosenseError, match=message):
        make(lib)  # type: ignore[operator]
    assert [a.name for a in lib.albums()] == ["Attic", "Beach"]


def test_unknown_albums_are_a_clear_error(lib: Library) -> None:
    for call in (
        lambda: lib.rename_album("Nope", "Yes"),
        lambda: lib.delete_album("Nope"),
        lambda: lib.add_to_album("Nope", []),
        lambda: lib.album_photo_ids("Nope"),
        lambda: lib.photo_ids(album="Nope"),
    ):
        with pytest.raises(AlbumNotFoundError, match="no album named 'Nope'"):
            call()


# -- photos in albums -------------------------------------------------------------------------


def test_add_keeps_order_and_counts_only_new_photos(lib: Library, photo_dir: Path) -> None:
    lib.create_album("Colours")
    red, green = photo_dir / "red.jpg", str(photo_dir / "green.jpg")
    blue = photo_dir / "trips" / "blue.jpg"

    assert lib.add_to_album("Colours", [green, red, green]) == 2
    blue_id = ids_by_name(lib)["blue.jpg"]
    assert lib.add_to_album("colours", [red, blue_id]) == 1  # by path or by id

    ids = lib.album_photo_ids("Colours")
    assert names(lib, ids) == ["green.jpg", "red.jpg", "blue.jpg"]
    assert lib.albums()[0].count == 3
    assert lib.photo_albums(blue) == ["Colours"]
    assert lib.photo_albums(blue_id) == ["Colours"]

    assert lib.remove_from_album("Colours", [red, red]) == 1
    assert lib.remove_from_album("Colours", [red]) == 0
    assert names(lib, lib.album_photo_ids("Colours")) == ["green.jpg", "blue.jpg"]
    assert lib.add_to_album("Colours", [red]) == 1  # back in, at the end
    assert names(lib, lib.album_photo_ids("Colours"))[-1] == "red.jpg"


def test_an_unknown_photo_adds_nothing(lib: Library, photo_dir: Path, tmp_path: Path) -> None:
    lib.create_album("Colours")

    with pytest.raises(NotIndexedError, match=r"broken\.jpg \(and 1 more\) is not in the library"):
        lib.add_to_album(
            "Colours", [photo_dir / "red.jpg", photo_dir / "broken.jpg", tmp_path / "x.jpg"]
        )
    with pytest.raises(NotIndexedError):
        lib.add_to_album("Colours", [424242])
    assert lib.album_photo_ids("Colours") == []


def test_a_photo_in_several_albums(lib: Library, photo_dir: Path) -> None:
    red = photo_dir / "red.jpg"
    for name in ("b-side", "A-side", "Middle"):
        lib.create_album(name)
        lib.add_to_album(name, [red])

    assert lib.photo_albums(red) == ["A-side", "b-side", "Middle"]
    assert lib.photo_albums(photo_dir / "green.jpg") == []


def test_deleting_an_album_keeps_its_photos(lib: Library, photo_dir: Path) -> None:
    before = set(lib.photo_ids())
    lib.create_album("Colours")
    lib.add_to_album("Colours", [photo_dir / "red.jpg", photo_dir / "green.jpg"])

    assert lib.delete_album("Colours") == 2
    assert set(lib.photo_ids()) == before
    assert lib.photo_albums(photo_dir / "red.jpg") == []


def test_a_photo_deleted_from_disk_leaves_its_albums(lib: Library, photo_dir: Path) -> None:
    lib.create_album("Colours")
    lib.add_to_album("Colours", [photo_dir / "red.jpg", photo_dir / "green.jpg"])

    (photo_dir / "red.jpg").unlink()
    run_to_end(lib.index())

    assert names(lib, lib.album_photo_ids("Colours")) == ["green.jpg"]
    assert lib.albums()[0].count == 1


def test_albums_survive_reopening(tmp_path: Path, photo_dir: Path) -> None:
    folder = tmp_path / "lib"
    with Library(Store.open(folder), folder, lambda _spec: FakeEncoder()) as first:
        first.store.settings.set(AUTO_TAG_KEY, False)
        run_to_end(first.index([photo_dir]))
        first.create_album("Kept", "on disk")
        first.add_to_album("Kept", [photo_dir / "green.jpg"])

    with Library(Store.open(folder), folder, lambda _spec: FakeEncoder()) as again:
        [album] = again.albums()
        assert (album.name, album.description, album.count) == ("Kept", "on disk", 1)


# -- the album filter -------------------------------------------------------------------------


def test_search_and_photo_ids_filter_by_album(lib: Library, photo_dir: Path) -> None:
    lib.create_album("Cool")
    lib.add_to_album("Cool", [photo_dir / "green.jpg", photo_dir / "trips" / "blue.jpg"])

    everywhere = [Path(h.photo.path).name for h in lib.search("red", limit=4).hits]
    in_album = [Path(h.photo.path).name for h in lib.search("red", album="cool").hits]

    assert everywhere[0] == "red.jpg"
    assert sorted(in_album) == ["blue.jpg", "green.jpg"]
    assert [Path(h.photo.path).name for h in lib.search("blue", album="Cool").hits][0] == (
        "blue.jpg"
    )
    assert sorted(names(lib, lib.photo_ids(album="Cool"))) == ["blue.jpg", "green.jpg"]
    assert names(lib, lib.photo_ids(album="Cool", folder=photo_dir / "trips")) == ["blue.jpg"]
    lib.create_album("Empty")
    assert lib.search("red", album="Empty").hits == []
    with pytest.raises(AlbumNotFoundError):
        lib.search("red", album="Nope")


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_lib(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    photo_dir: Path,
) -> Path:
    return cli_library(capsys, monkeypatch, tmp_path / "cli-lib", photo_dir)


def test_cli_albums(capsys: pytest.CaptureFixture[str], cli_lib: Path, photo_dir: Path) -> None:
    def albums(*argv: str | Path) -> tuple[int, str, str]:
        return run(capsys, "--library", cli_lib, "albums", *argv)

    assert albums("create", "Trip", "--description", "summer 2023")[0] == 0
    code, out, _ = albums("add", "Trip", photo_dir / "trips" / "blue.jpg", photo_dir / "red.jpg")
    assert code == 0 and "added 2 photos to 'Trip'" in out
    code, out, _ = albums("add", "Trip", photo_dir / "red.jpg")
    assert "added 0 photos" in out and "1 already in it" in out
    run(capsys, "--library", cli_lib, "captions", "set", photo_dir / "red.jpg", "Red one")

    listed = run_json(capsys, "--library", cli_lib, "albums", "list", "--json")
    assert [(a["name"], a["description"], a["photos"]) for a in listed] == [
        ("Trip", "summer 2023", 2)
    ]
    shown = run_json(capsys, "--library", cli_lib, "albums", "show", "trip", "--json")
    assert shown["name"] == "Trip"
    assert shown["photos"] == [
        {"path": str(photo_dir / "trips" / "blue.jpg"), "caption": None, "source": None},
        {"path": str(photo_dir / "red.jpg"), "caption": "Red one", "source": "user"},
    ]
    code, out, _ = albums("show", "Trip")
    assert out.splitlines() == [
        "Trip: 2 photos, summer 2023",
        str(photo_dir / "trips" / "blue.jpg"),
        f"{photo_dir / 'red.jpg'}  Red one",
    ]

    found = run_json(capsys, "--library", cli_lib, "search", "green", "--album", "Trip", "--json")
    assert {Path(r["path"]).name for r in found["results"]} == {"blue.jpg", "red.jpg"}

    assert "took 1 photos out" in albums("remove", "Trip", photo_dir / "red.jpg")[1]
    assert "renamed album 'Trip' to 'Holiday'" in albums("rename", "trip", "Holiday")[1]
    code, out, _ = albums("delete", "Holiday")
    assert code == 0 and "its 1 photos stay in the library" in out
    code, out, _ = albums("list")
    assert "no albums yet" in out


def test_cli_album_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], cli_lib: Path, photo_dir: Path, tmp_path: Path
) -> None:
    run(capsys, "--library", cli_lib, "albums", "create", "Trip")
    cases = [
        ("albums", "create", "trip"),
        ("albums", "create", " "),
        ("albums", "show", "Nope"),
        ("albums", "add", "Trip", tmp_path / "elsewhere.jpg"),
        ("albums", "rename", "Nope", "Other"),
        ("search", "red", "--album", "Nope"),
    ]
    for argv in cases:
        code, out, err = run(capsys, "--library", cli_lib, *argv)
        assert code == 1 and out == "", argv
        assert err.startswith("photosense: ") and err.count("\n") == 1, err
