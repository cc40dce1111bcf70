"""``photosense places`` and the place and date words of ``photosense search``."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.library import library as library_module
from photosense.models.fake import FakeEncoder
from tests.cli_run import run, run_json
from tests.test_places import trips  # noqa: F401 (a fixture)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())


@pytest.fixture
def lib(capsys: pytest.CaptureFixture[str], tmp_path: Path, trips: Path) -> Path:  # noqa: F811
    library = tmp_path / "lib"
    run_json(capsys, "--library", library, "index", trips, "--json")
    return library


def test_places_lists_countries_then_towns(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    code, out, _ = run(capsys, "--library", lib, "places")
    lines = out.splitlines()
    assert code == 0
    assert lines[:2] == ["France (1)", "       1  Paris, Île-de-France"]
    assert "Portugal (2)" in lines
    assert "       2  Alfama, Lisbon" in lines
    assert (
        lines[-1]
        == "4 of 5 photos with a GPS position have a place; 1 were taken far from any town"
    )
    doc = run_json(capsys, "--library", lib, "places", "--json")
    assert (doc["photos_with_position"], doc["named"], doc["waiting"]) == (5, 4, 0)
    assert {p["label"]: p["photos"] for p in doc["places"]}["Alfama, Lisbon, Portugal"] == 2


def test_search_says_how_it_read_the_query(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    code, out, _ = run(capsys, "--library", lib, "search", "red in Lisbon")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "read as: “red” · place Lisbon (--literal searches the words as typed)"
    assert all("lisbon" in line for line in lines[1:] if line.strip() and "──" not in line)
    code, out, _ = run(capsys, "--library", lib, "search", "red in Lisbon", "--literal")
    assert not out.startswith("read as")
    assert sum("/Trips/" in line for line in out.splitlines()) == 7


def test_search_json_carries_the_reading(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    doc = run_json(capsys, "--library", lib, "search", "photos from 2023 in Paris", "--json")
    assert doc["reading"]["query"] == ""
    assert doc["reading"]["place"] == "Paris"
    assert doc["reading"]["after"].startswith("2023-01-01")
    assert [p["kind"] for p in doc["reading"]["parts"]] == ["dates", "place"]
    assert [Path(r["path"]).name for r in doc["results"]] == ["paris-red.jpg"]
    assert doc["results"][0]["score"] is None  # listed by the filters, not scored
    literal = run_json(capsys, "--library", lib, "search", "red 2023", "--literal", "--json")
    assert literal["reading"]["parts"] == [] and literal["reading"]["query"] == "red 2023"


def test_search_place_option(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    doc = run_json(capsys, "--library", lib, "search", "red", "--place", "Portugal", "--json")
    assert {Path(r["path"]).name for r in doc["results"]} == {"lisbon-red.jpg", "lisbon-blue.jpg"}
    code, out, _ = run(capsys, "--library", lib, "search", "photos", "--place", "Atlantis")
    assert code == 0 and "no matching photos" in out


def test_a_query_of_filters_only_prints_dates_and_paths(
    capsys: pytest.CaptureFixture[str], lib: Path
) -> None:
    code, out, _ = run(capsys, "--library", lib, "search", "2023")
    lines = out.splitlines()
    assert lines[0].startswith("read as: any photo · dates 2023")
    assert [line.split()[0] for line in lines[1:]] == ["2023-06-12", "2023-06-10"]
