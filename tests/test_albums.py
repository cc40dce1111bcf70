"""Albums through the store, the library and the command line, and the album filter of search."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.errors import AlbumNotFoundError, NotIndexedError, PhotosenseError
from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.cli_run import run, run_json
from tests.test_captions import cli_library


@pytest.fixture
def lib(fake_library: Library, photo_dir: Path) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(fake_library.folders.index([photo_dir]))
    return fake_library


def names(library: Library, ids: list[int]) -> list[str]:
    records = library.photos.get(ids)
    return [Path(records[i].path).name for i in ids]


def ids_by_name(library: Library) -> dict[str, int]:
    return {Path(r.path).name: i for i, r in library.photos.get(library.photos.ids()).items()}


# -- making and naming albums -----------------------------------------------------------------


def test_create_list_rename_delete(lib: Library) -> None:
    zoo = lib.albums.create("  Zoo   trip ", "  lions and   tigers ")
    lib.albums.create("beach")
    lib.albums.create("Attic", "")

    assert (zoo.name, zoo.description, zoo.count) == ("Zoo trip", "lions and tigers", 0)
    assert [a.name for a in lib.albums.list()] == ["Attic", "beach", "Zoo trip"]
    assert lib.albums.list()[0].description is None

    renamed = lib.albums.rename("zoo TRIP", "Safari")  # found ignoring case
    assert (renamed.id, renamed.name, renamed.description) == (zoo.id, "Safari", "lions and tigers")
    assert lib.albums.rename("beach", "Beach").name == "Beach"  # only the case changes

    assert lib.albums.delete("safari") == 0
    assert [a.name for a in lib.albums.list()] == ["Attic", "Beach"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lib: lib.albums.create("beach"), "already exists"),
        (lambda lib: lib.albums.create("   "), "needs a name"),
        (lambda lib: lib.albums.rename("Beach", "ATTIC"), "already exists"),
        (lambda lib: lib.albums.rename("Beach", ""), "needs a name"),
    ],
)
def test_names_must_be_given_and_unique_ignoring_case(
    lib: Library, make: object, message: str
) -> None:
    lib.albums.create("Beach")
    lib.albums.create("Attic")

    with pytest.raises(PhotosenseError, match=message):
        make(lib)  # type: ignore[operator]
    assert [a.name for a in lib.albums.list()] == ["Attic", "Beach"]


def test_unknown_albums_are_a_clear_error(lib: Library) -> None:
    for call in (
        lambda: lib.albums.rename("Nope", "Yes"),
        lambda: lib.albums.delete("Nope"),
        lambda: lib.albums.add("Nope", []),
        lambda: lib.albums.photo_ids("Nope"),
        lambda: lib.photos.ids(album="Nope"),
    ):
        with pytest.raises(AlbumNotFoundError, match="no album named 'Nope'"):
            call()


# -- photos in albums -------------------------------------------------------------------------


def test_add_keeps_order_and_counts_only_new_photos(lib: Library, photo_dir: Path) -> None:
    lib.albums.create("Colours")
    red, green = photo_dir / "red.jpg", str(photo_dir / "green.jpg")
    blue = photo_dir / "trips" / "blue.jpg"

    assert lib.albums.add("Colours", [green, red, green]) == 2
    blue_id = ids_by_name(lib)["blue.jpg"]
    assert lib.albums.add("colours", [red, blue_id]) == 1  # by path or by id

    ids = lib.albums.photo_ids("Colours")
    assert names(lib, ids) == ["green.jpg", "red.jpg", "blue.jpg"]
    assert lib.albums.list()[0].count == 3
    assert lib.albums.of_photo(blue) == ["Colours"]
    assert lib.albums.of_photo(blue_id) == ["Colours"]

    assert lib.albums.remove("Colours", [red, red]) == 1
    assert lib.albums.remove("Colours", [red]) == 0
    assert names(lib, lib.albums.photo_ids("Colours")) == ["green.jpg", "blue.jpg"]
    assert lib.albums.add("Colours", [red]) == 1  # back in, at the end
    assert names(lib, lib.albums.photo_ids("Colours"))[-1] == "red.jpg"


def test_an_unknown_photo_adds_nothing(lib: Library, photo_dir: Path, tmp_path: Path) -> None:
    lib.albums.create("Colours")

    with pytest.raises(NotIndexedError, match=r"broken\.jpg \(and 1 more\) is not in the library"):
        lib.albums.add(
            "Colours", [photo_dir / "red.jpg", photo_dir / "broken.jpg", tmp_path / "x.jpg"]
        )
    with pytest.raises(NotIndexedError):
        lib.albums.add("Colours", [424242])
    assert lib.albums.photo_ids("Colours") == []


def test_a_photo_in_several_albums(lib: Library, photo_dir: Path) -> None:
    red = photo_dir / "red.jpg"
    for name in ("b-side", "A-side", "Middle"):
        lib.albums.create(name)
        lib.albums.add(name, [red])

    assert lib.albums.of_photo(red) == ["A-side", "b-side", "Middle"]
    assert lib.albums.of_photo(photo_dir / "green.jpg") == []


def test_deleting_an_album_keeps_its_photos(lib: Library, photo_dir: Path) -> None:
    before = set(lib.photos.ids())
    lib.albums.create("Colours")
    lib.albums.add("Colours", [photo_dir / "red.jpg", photo_dir / "green.jpg"])

    assert lib.albums.delete("Colours") == 2
    assert set(lib.photos.ids()) == before
    assert lib.albums.of_photo(photo_dir / "red.jpg") == []


def test_a_photo_deleted_from_disk_leaves_its_albums(lib: Library, photo_dir: Path) -> None:
    lib.albums.create("Colours")
    lib.albums.add("Colours", [photo_dir / "red.jpg", photo_dir / "green.jpg"])

    (photo_dir / "red.jpg").unlink()
    run_to_end(lib.folders.index())

    assert names(lib, lib.albums.photo_ids("Colours")) == ["green.jpg"]
    assert lib.albums.list()[0].count == 1


def test_albums_survive_reopening(tmp_path: Path, photo_dir: Path) -> None:
    folder = tmp_path / "lib"
    with Library(Store.open(folder), folder, lambda _spec: FakeEncoder()) as first:
        first.store.settings.set(AUTO_TAG_KEY, False)
        run_to_end(first.folders.index([photo_dir]))
        first.albums.create("Kept", "on disk")
        first.albums.add("Kept", [photo_dir / "green.jpg"])

    with Library(Store.open(folder), folder, lambda _spec: FakeEncoder()) as again:
        [album] = again.albums.list()
        assert (album.name, album.description, album.count) == ("Kept", "on disk", 1)


# -- the album filter -------------------------------------------------------------------------


def test_search_and_photo_ids_filter_by_album(lib: Library, photo_dir: Path) -> None:
    lib.albums.create("Cool")
    lib.albums.add("Cool", [photo_dir / "green.jpg", photo_dir / "trips" / "blue.jpg"])

    everywhere = [Path(h.photo.path).name for h in lib.search.text("red", limit=4).hits]
    in_album = [Path(h.photo.path).name for h in lib.search.text("red", album="cool").hits]

    assert everywhere[0] == "red.jpg"
    assert sorted(in_album) == ["blue.jpg", "green.jpg"]
    assert [Path(h.photo.path).name for h in lib.search.text("blue", album="Cool").hits][0] == (
        "blue.jpg"
    )
    assert sorted(names(lib, lib.photos.ids(album="Cool"))) == ["blue.jpg", "green.jpg"]
    assert names(lib, lib.photos.ids(album="Cool", folder=photo_dir / "trips")) == ["blue.jpg"]
    lib.albums.create("Empty")
    assert lib.search.text("red", album="Empty").hits == []
    with pytest.raises(AlbumNotFoundError):
        lib.search.text("red", album="Nope")


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
