"""People through the library and the command line, over a face finder the tests control
(tests/people/fakes.py: a photo's face is its colour's person)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photosense.analysis.faces import FacesAnalyser
from photosense.errors import PersonNameTakenError, PersonNotFoundError
from photosense.library import Library
from photosense.library import analysis as analysis_module
from photosense.library import library as library_module
from photosense.media.regions import Box
from photosense.models.fake import FakeEncoder
from photosense.people.xmp import FaceRegion, write_regions
from photosense.progress import run_to_end
from photosense.store.repository import Store
from tests.cli_run import run, run_json
from tests.conftest import save_photo
from tests.people.fakes import ColourFaces


def _album(root: Path) -> Path:
    """Three photos of "red", three of "green", two of "blue", a grey one, a white crowd."""
    for i in range(3):
        save_photo(root / f"red{i}.jpg", (200 - 10 * i, 20, 20))
        save_photo(root / f"green{i}.jpg", (20, 200 - 10 * i, 20))
    for i in range(2):
        save_photo(root / f"blue{i}.jpg", (20, 20, 200 - 10 * i))
    save_photo(root / "grey.jpg", (120, 120, 120))
    save_photo(root / "crowd.jpg", (250, 250, 250))
    return root


@pytest.fixture
def people_dir(tmp_path: Path) -> Path:
    return _album(tmp_path / "people")


def people_library(directory: Path, photos: Path) -> Library:
    """A library over the fake encoder and the colour faces, ``photos`` indexed."""
    library = Library(
        Store.open(directory),
        directory,
        lambda _spec: FakeEncoder(),
        analysers={"faces": lambda store: FacesAnalyser(store, ColourFaces())},
    )
    run_to_end(library.folders.index([photos]))
    return library


@pytest.fixture
def lib(tmp_path: Path, people_dir: Path) -> Iterator[Library]:
    library = people_library(tmp_path / "library", people_dir)
    yield library
    library.close()


def _paths(library: Library, ids: set[int]) -> set[str]:
    return {Path(p.path).name for p in library.photos.get(sorted(ids)).values()}


def test_indexing_finds_faces_and_groups_them(lib: Library) -> None:
    status = lib.people.status()
    assert status.enabled and status.analysed == 10 and status.pending == 0
    assert status.faces == 3 + 3 + 2 + 5 and status.photos_with_faces == 9
    people = lib.people.list()
    assert sorted(p.photos for p in people) == [3, 3]  # blue (2 faces) and the crowd: unknown
    assert all(p.name is None for p in people)


def test_name_search_merge_split_hide(lib: Library, people_dir: Path) -> None:
    red = next(
        p for p in lib.people.list() if "red0.jpg" in _paths(lib, lib.people.photo_ids([p.id]))
    )
    lib.people.name(red.id, "  Anna   Maria ")
    anna = lib.people.get("anna maria")
    assert anna.name == "Anna Maria" and anna.photos == 3
    assert lib.people.get("anna").id == anna.id  # one word of one name is enough
    green = next(p for p in lib.people.list() if p.name is None)
    lib.people.name(green.id, "Ben")
    with pytest.raises(PersonNameTakenError):
        lib.people.name("Ben", "anna maria")

    found = lib.search.people(["Anna Maria"])
    assert {Path(h.photo.path).name for h in found.hits} == {"red0.jpg", "red1.jpg", "red2.jpg"}
    assert lib.search.people(["Anna Maria and Ben"]).hits == []  # nobody has both
    hits = lib.search.text("a red photo", people=["Ben"]).hits
    assert {Path(h.photo.path).name for h in hits} == {"green0.jpg", "green1.jpg", "green2.jpg"}
    with pytest.raises(PersonNotFoundError):
        lib.search.people(["Carl"])

    merged = lib.people.merge("Ben", "Anna Maria")
    assert merged.photos == 6 and len(lib.people.list()) == 1
    face = lib.people.faces("Anna Maria")[-1]
    split = lib.people.split([face.id], "Carl")
    assert split.name == "Carl" and split.faces == 1
    lib.people.hide("Carl")
    assert [p.name for p in lib.people.list()] == ["Anna Maria"]
    assert {p.name for p in lib.people.list(hidden=True)} == {"Anna Maria", "Carl"}


def test_corrections_survive_a_full_recluster(lib: Library) -> None:
    red, green = sorted(lib.people.list(), key=lambda p: p.id)
    lib.people.name(red.id, "Anna")
    wrong = lib.people.faces("Anna")[0]
    lib.people.remove_face(wrong.id)  # the user says: not Anna
    moved = lib.people.faces(green.id)[0]
    lib.people.move([moved.id], "Anna")  # and this one is
    report = run_to_end(lib.people.settle(full=True))
    assert report.full
    anna = {f.id for f in lib.people.faces("Anna")}
    assert wrong.id not in anna and moved.id in anna
    assert lib.people.get("Anna").name == "Anna"


def test_people_words_find_photos_with_faces(lib: Library, people_dir: Path) -> None:
    save_photo(people_dir / "wheel.jpg", (30, 30, 35))  # one weak "face": not a person
    run_to_end(lib.folders.index([people_dir]))
    assert [f.score < 0 for f in lib.people.of_photo(people_dir / "wheel.jpg")] == [True]
    plain = lib.search.text("people", limit=11)
    boosted = {Path(h.photo.path).name for h in plain.good_hits}
    assert "grey.jpg" not in boosted and "wheel.jpg" not in boosted and len(boosted) == 9
    group = lib.search.text("a group of friends", limit=10)
    assert [Path(h.photo.path).name for h in group.good_hits] == ["crowd.jpg"]
    assert lib.search.text("a red photo", limit=10).good != 9  # no people word: the model's


def test_a_photo_removed_while_its_faces_are_grouped(lib: Library, people_dir: Path) -> None:
    victim = lib.people.faces(lib.people.list()[0].id)[0]
    settle = lib.people.settle(full=True)
    next(settle)  # the faces are read ...
    (people_dir / Path(lib.photos.get([victim.photo_id])[victim.photo_id].path).name).unlink()
    run_to_end(lib.folders.index())  # ... the photo goes meanwhile ...
    run_to_end(settle)  # ... and the grouping ends without it, losing nothing else
    assert victim.photo_id not in lib.people.face_counts()
    assert sum(p.faces for p in lib.people.list()) >= 2


def test_names_in_xmp_arrive_and_leave(tmp_path: Path) -> None:
    photos = _album(tmp_path / "p")
    write_regions(photos / "blue0.jpg", [FaceRegion(Box(0.26, 0.24, 0.5, 0.5), "Dana")], None)
    with people_library(tmp_path / "lib", photos) as library:
        dana = library.people.get("Dana")
        # the other blue photo joins her: one confirmed face makes a person
        assert dana.photos == 2
        library.people.name(dana.id, "Dana Scully")
        written = run_to_end(library.people.export_xmp())
        assert len(written) == 9
        assert "Dana Scully" in (photos / "blue1.jpg.xmp").read_text(encoding="utf-8")


def test_forget_and_switch_off(lib: Library, people_dir: Path) -> None:
    lib.people.set_enabled(False)
    assert lib.people.forget() == 13
    assert lib.people.list() == [] and lib.people.status().faces == 0
    save_photo(people_dir / "red9.jpg", (180, 10, 10))
    run_to_end(lib.folders.index())
    assert lib.people.status().faces == 0  # off: nothing looked at
    lib.people.set_enabled(True)
    run_to_end(lib.analysis.run())
    assert lib.people.status().faces == 14


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_lib(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    people_dir: Path,
) -> Path:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())
    monkeypatch.setitem(
        analysis_module.FACTORIES, "faces", lambda store: FacesAnalyser(store, ColourFaces())
    )
    folder = tmp_path / "cli-lib"
    run_json(capsys, "--library", folder, "index", people_dir, "--json")
    return folder


def test_cli_people(capsys: pytest.CaptureFixture[str], cli_lib: Path, people_dir: Path) -> None:
    def people(*argv: str | Path) -> tuple[int, str, str]:
        return run(capsys, "--library", cli_lib, "people", *argv)

    listed = run_json(capsys, "--library", cli_lib, "people", "list", "--json")
    assert sorted(p["photos"] for p in listed) == [3, 3]
    first = listed[0]["id"]
    code, out, _ = people("name", str(first), "Anna")
    assert code == 0 and "is now 'Anna'" in out
    code, out, _ = people("list")
    assert "Anna" in out and "(unnamed)" in out
    faces = run_json(
        capsys, "--library", cli_lib, "people", "faces", people_dir / "crowd.jpg", "--json"
    )
    assert len(faces) == 5 and all(f["person"] is None for f in faces)
    found = run_json(capsys, "--library", cli_lib, "search", "--person", "anna", "--json")
    assert len(found["results"]) == 3
    code, out, err = people("name", "Nobody", "X")
    assert code != 0 and "no person named 'Nobody'" in err and "people list" in err
    code, out, _ = people("status")
    assert "13 faces in 9 photos" in out
    code, out, err = people("forget")
    assert code == 1 and "--yes" in err
    code, out, _ = people("forget", "--yes")
    assert code == 0 and "deleted 13 faces" in out
    code, out, _ = people("status")
    assert "face analysis is off" in out
