"""Stars and turns through the library and the command line; filters by rating; read back
from sidecars other tools wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.errors import BadRatingError, PhotoNotFoundError
from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.marks import orientation_from_xmp, rating_from_xmp
from photosense.progress import run_to_end
from tests.cli_run import run, run_json
from tests.test_captions import cli_library


@pytest.fixture
def lib(fake_library: Library, photo_dir: Path) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(fake_library.folders.index([photo_dir]))
    return fake_library


def by_name(library: Library) -> dict[str, int]:
    return {Path(r.path).name: i for i, r in library.photos.get(library.photos.ids()).items()}


def test_rate_filters_and_sidecars(lib: Library, photo_dir: Path) -> None:
    ids = by_name(lib)
    red, green = photo_dir / "red.jpg", photo_dir / "green.jpg"
    before = red.read_bytes()

    report = lib.ratings.rate([red, ids["blue.jpg"]], 3)
    assert (report.photos, report.changed, report.sidecars, report.failed) == (2, 2, 2, [])
    assert rating_from_xmp((photo_dir / "red.jpg.xmp").read_bytes()) == 3
    assert red.read_bytes() == before
    assert lib.ratings.favourite([green]).changed == 1

    assert set(lib.photos.ids(min_rating=3)) == {ids["red.jpg"], ids["blue.jpg"], ids["green.jpg"]}
    assert lib.ratings.favourites() == [ids["green.jpg"]]
    assert lib.photos.get([ids["red.jpg"]])[ids["red.jpg"]].rating == 3
    assert lib.ratings.rate([red], 3).changed == 0  # already so

    lib.ratings.favourite([green], on=False)
    assert lib.ratings.favourites() == []
    assert rating_from_xmp((photo_dir / "green.jpg.xmp").read_bytes()) == 0


def test_bad_ratings_and_unknown_photos_change_nothing(lib: Library, photo_dir: Path) -> None:
    with pytest.raises(BadRatingError):
        lib.ratings.rate([photo_dir / "red.jpg"], 6)
    with pytest.raises(PhotoNotFoundError):
        lib.ratings.rate([photo_dir / "red.jpg", photo_dir / "nope.jpg"], 4)
    assert lib.photos.ids(min_rating=1) == []
    assert not list(photo_dir.glob("*.xmp"))


def test_a_sidecar_that_cannot_be_written_is_reported_and_the_rating_kept(
    lib: Library, photo_dir: Path
) -> None:
    trips = photo_dir / "trips"
    (trips / "blue.jpg.xmp").mkdir()  # a folder where the sidecar would go
    report = lib.ratings.rate([trips / "blue.jpg", photo_dir / "red.jpg"], 4)
    assert report.changed == 2 and report.sidecars == 1
    assert [Path(path).name for path, _ in report.failed] == ["blue.jpg"]
    assert len(lib.photos.ids(min_rating=4)) == 2


def test_rotation_is_metadata(lib: Library, photo_dir: Path) -> None:
    red = photo_dir / "red.jpg"
    before = red.read_bytes()
    ids = by_name(lib)
    lib.rotation.rotate([red], 1)
    lib.rotation.rotate([red], 1)
    assert lib.photos.get([ids["red.jpg"]])[ids["red.jpg"]].rotation == 180
    assert orientation_from_xmp((photo_dir / "red.jpg.xmp").read_bytes()) == 3
    lib.rotation.rotate([red], -3)
    assert lib.photos.get([ids["red.jpg"]])[ids["red.jpg"]].rotation == 270
    report = lib.rotation.reset([red])
    assert report.changed == 1
    assert lib.photos.get([ids["red.jpg"]])[ids["red.jpg"]].rotation == 0
    assert orientation_from_xmp((photo_dir / "red.jpg.xmp").read_bytes()) == 1
    assert red.read_bytes() == before


def test_marks_other_tools_wrote_are_read_when_indexing(lib: Library, photo_dir: Path) -> None:
    (photo_dir / "green.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        'xmp:Rating="5" tiff:Orientation="8"/></rdf:RDF></x:xmpmeta>',
        encoding="utf-8",
    )
    run_to_end(lib.folders.index())
    green = by_name(lib)["green.jpg"]
    record = lib.photos.get([green])[green]
    assert (record.rating, record.rotation) == (5, 270)
    assert lib.ratings.favourites() == [green]


def test_search_keeps_only_rated_photos(lib: Library, photo_dir: Path) -> None:
    lib.ratings.rate([photo_dir / "red.jpg"], 2)
    hits = lib.search.text("red", limit=10, min_rating=2).hits
    assert [Path(h.photo.path).name for h in hits] == ["red.jpg"]
    assert lib.search.text("red", limit=10, min_rating=3).hits == []


def test_cli_rate_favourites_rotate(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    photo_dir: Path,
) -> None:
    folder = cli_library(capsys, monkeypatch, tmp_path / "lib", photo_dir)
    red, green = photo_dir / "red.jpg", photo_dir / "green.jpg"

    code, out, err = run(capsys, "--library", folder, "rate", "5", red, green)
    assert code == 0 and "2 photos ★★★★★ (2 changed)" in out and "2 XMP sidecars" in err
    run(capsys, "--library", folder, "rate", "3", green)
    document = run_json(capsys, "--library", folder, "favourites", "--json")
    assert [Path(p["path"]).name for p in document] == ["red.jpg"]
    code, out, _ = run(capsys, "--library", folder, "favourites", "--min-rating", "3")
    assert "★★★☆☆" in out and "green.jpg" in out
    found = run_json(capsys, "--library", folder, "search", "green", "--min-rating", "4", "--json")
    assert [Path(r["path"]).name for r in found["results"]] == ["red.jpg"]

    with pytest.raises(SystemExit):
        run(capsys, "--library", folder, "rate", "9", red)
    assert "0 to 5 stars" in capsys.readouterr().err
    code, _, err = run(capsys, "--library", folder, "rate", "4", photo_dir / "missing.jpg")
    assert code == 1 and "missing.jpg" in err

    code, out, _ = run(capsys, "--library", folder, "rotate", "--left", red)
    assert code == 0 and "turned 1 photos" in out
    assert orientation_from_xmp((photo_dir / "red.jpg.xmp").read_bytes()) == 8
    code, out, _ = run(capsys, "--library", folder, "rotate", "--reset", red)
    assert "1 photos shown as their files say (1 changed)" in out
