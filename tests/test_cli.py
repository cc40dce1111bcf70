"""The command line: its JSON documents, its messages and its exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from photosense import cli
from photosense.library import library as library_module
from photosense.models.fake import FakeEncoder
from tests.cli_run import run, run_json


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())


def test_index_json_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    report = run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    assert report["indexed"] == 4
    assert report["unchanged"] == 0
    assert report["removed"] == 0
    assert report["skipped"] == [
        {"path": str(photo_dir / "broken.jpg"), "reason": report["skipped"][0]["reason"]}
    ]
    assert report["skipped"][0]["reason"]
    assert isinstance(report["seconds"], float)

    again = run_json(capsys, "--library", lib, "index", "--json")
    assert (again["indexed"], again["unchanged"]) == (0, 4)


def test_search_json_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    doc = run_json(capsys, "--library", lib, "search", "red", "--limit", "2", "--json")

    assert doc["query"] == "red"
    assert doc["model"] == FakeEncoder().model_id
    assert len(doc["results"]) == 2
    first = doc["results"][0]
    assert first["path"] == str(photo_dir / "red.jpg")
    assert first["taken_at"] == "2021-06-01T12:00:00"
    assert first["score"] >= doc["results"][1]["score"]
    assert doc["good"] == 1  # the red photo is a good match; the next closest is not
    assert [r["good"] for r in doc["results"]] == [True, False]

    absent = run_json(capsys, "--library", lib, "search", "magenta", "--json")
    assert absent["good"] == 0 and len(absent["results"]) == 4
    assert all(r["good"] is False and "score" in r for r in absent["results"])


def test_search_text_says_good_matches_then_more_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    code, out, _ = run(capsys, "--library", lib, "search", "red")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0].endswith(str(photo_dir / "red.jpg"))
    assert "more results" in lines[1] and len(lines) == 5

    code, out, _ = run(capsys, "--library", lib, "search", "magenta")
    lines = out.strip().splitlines()
    assert code == 0
    assert lines[0] == "no good match for “magenta”; the closest photos:"
    assert len(lines) == 5 and not any("more results" in line for line in lines)


def test_search_filters_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    doc = run_json(
        capsys,
        "--library",
        lib,
        "search",
        "red",
        "--folder",
        photo_dir / "trips",
        "--after",
        "2024-01-01",
        "--json",
    )
    assert [Path(r["path"]).name for r in doc["results"]] == ["Crème brûlée – 東京.jpg"]

    # Newest first among the good matches, then newest first among the more results.
    by_date = run_json(capsys, "--library", lib, "search", "red", "--sort", "date", "--json")
    good = by_date["good"]
    assert good == 1
    for part in (by_date["results"][:good], by_date["results"][good:]):
        dates = [r["taken_at"] for r in part]
        assert dates == sorted(dates, reverse=True)


def test_similar_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    doc = run_json(capsys, "--library", lib, "similar", photo_dir / "red.jpg", "--json")

    assert doc["query"] == str(photo_dir / "red.jpg")
    assert str(photo_dir / "red.jpg") not in [r["path"] for r in doc["results"]]
    assert len(doc["results"]) == 3
    assert doc["good"] is None  # photos like a photo are ranked, not judged
    assert all(r["good"] is None for r in doc["results"])


def test_status_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")

    status = run_json(capsys, "--library", lib, "status", "--json")

    assert status["library"] == str(lib)
    assert (status["photos"], status["skipped"]) == (4, 1)
    assert status["folders"][0]["online"] is True
    assert status["models"][0]["index"] == "current"
    assert status["skipped_files"][0]["path"].endswith("broken.jpg")


def test_plain_text_output_lists_results_and_skips(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    code, out, _ = run(capsys, "--library", lib, "index", photo_dir)
    assert code == 0
    assert "4 indexed" in out and "skipped: " in out and "broken.jpg" in out

    code, out, _ = run(capsys, "--library", lib, "search", "blue", "--limit", "1")
    assert code == 0
    assert out.strip().endswith(str(photo_dir / "trips" / "blue.jpg"))


def test_library_from_environment(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHOTOSENSE_HOME", str(tmp_path / "env-lib"))
    run_json(capsys, "index", photo_dir, "--json")
    assert run_json(capsys, "status", "--json")["library"] == str(tmp_path / "env-lib")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "red"], "photosense index"),
        (["index", "/definitely/not/here"], "folder not found"),
        (["similar", "/nope.jpg"], "/nope.jpg is not in the library: there is no such file"),
        (["search", "   "], "empty"),
    ],
)
def test_errors_are_one_clear_line_and_nonzero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "--library", tmp_path / "lib", *argv)
    assert code == cli.EXIT_ERROR
    assert message in err
    assert err.startswith("photosense: ")
    assert "Traceback" not in err


def test_filters_that_cannot_match_are_refused_not_silently_empty(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, out, err = run(capsys, "--library", lib, "search", "red", "--folder", elsewhere)
    assert code == cli.EXIT_ERROR and out == ""
    assert f"{elsewhere} is not a folder of the library" in err
    assert f"photosense index {elsewhere}" in err
    inside = run_json(capsys, "--library", lib, "search", "red", "--folder", photo_dir, "--json")
    assert inside["results"]  # a folder of the library still filters as before
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--library", str(lib), "search", "red", "--min-score", "5"])
    assert exit_info.value.code == cli.EXIT_USAGE
    assert "from -1 to 1" in capsys.readouterr().err


def test_bad_arguments_exit_with_usage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--library", str(tmp_path), "search", "red", "--after", "yesterday"])
    assert exit_info.value.code == cli.EXIT_USAGE
    assert "not a date" in capsys.readouterr().err


def test_every_json_document_prints_names_as_they_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    (photo_dir / "brûlée crème.jpg").write_bytes(b"not a photo")  # skipped, and reported
    code, out, err = run(capsys, "--library", tmp_path / "lib", "index", photo_dir, "--json")
    assert code == 0, err
    assert "brûlée crème.jpg" in out and "\\u00fb" not in out
    assert any(s["path"].endswith("brûlée crème.jpg") for s in json.loads(out)["skipped"])


def test_search_says_on_stderr_when_the_model_cannot_read_the_query(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from photosense.library import models

    # The fake model stands in for the English-only starter.
    monkeypatch.setattr(models, "_languages_of", lambda _id: ("The starter model", ("en",)))
    lib = tmp_path / "lib"
    run_json(capsys, "--library", lib, "index", photo_dir, "--json")
    code, out, err = run(capsys, "--library", lib, "search", "猫")
    assert code == 0
    assert "reads English only" in err and "photosense models list" in err
    assert "reads English only" not in out
    code, out, err = run(capsys, "--library", lib, "search", "ｃａｔ")
    assert code == 0 and "reads English only" not in err
