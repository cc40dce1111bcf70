"""`photosense tag`, `photosense tags ...` and `search --tag`: JSON documents, messages, exits."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense import cli
from photosense.library import library as library_module
from photosense.models.fake import FakeEncoder
from tests.cli_run import run, run_json
from tests.tagging.conftest import COLOUR_TAGS, PHOTOS


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch, colour_vocabulary: tuple[str, ...]) -> None:
    monkeypatch.setattr(library_module, "load_encoder", lambda spec, device="auto": FakeEncoder())


@pytest.fixture
def lib(capsys: pytest.CaptureFixture[str], tmp_path: Path, colour_photos: Path) -> Path:
    folder = tmp_path / "lib"
    run_json(capsys, "--library", folder, "index", colour_photos, "--json")
    return folder


def test_tag_json_report(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    report = run_json(capsys, "--library", lib, "tag", "--json")
    assert report["model"] == FakeEncoder().model_id
    assert (report["photos"], report["suggestions"], report["keywords"]) == (0, 0, 0)
    assert report["cancelled"] is False

    again = run_json(capsys, "--library", lib, "tag", "--retag", "--json")
    assert again["photos"] == len(PHOTOS)
    assert again["suggestions"] >= len(PHOTOS) - 1
    assert isinstance(again["seconds"], float)


def test_tags_list_json(capsys: pytest.CaptureFixture[str], lib: Path) -> None:
    tags = run_json(capsys, "--library", lib, "tags", "list", "--json")

    assert [t["name"] for t in tags] == sorted(COLOUR_TAGS)
    red = next(t for t in tags if t["name"] == "red")
    assert red["origin"] == "vocabulary" and red["enabled"] is True and red["prompts"] is None
    assert red["suggested"] >= 3 and red["accepted"] == 0 and red["rejected"] == 0
    assert red["offset"] == 0.0 and isinstance(red["threshold"], float)


def test_tags_list_shows_tags_on_photos_unless_asked_for_all(
    capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path
) -> None:
    run(capsys, "--library", lib, "tags", "add", "purple")
    run(capsys, "--library", lib, "tags", "reject", colour_photos / "blue.jpg", "blue")

    listed = run_json(capsys, "--library", lib, "tags", "list", "--json")
    everything = run_json(capsys, "--library", lib, "tags", "list", "--all", "--json")

    assert {t["name"] for t in listed} == set(COLOUR_TAGS) - {"blue"}
    assert {t["name"] for t in everything} == set(COLOUR_TAGS) | {"purple"}
    photos = {t["name"]: t["photos"] for t in everything}
    assert photos["purple"] == photos["blue"] == 0 and photos["red"] >= 3
    code, out, _ = run(capsys, "--library", lib, "tags", "list", "--min-photos", "3")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:2]] == ["red"]
    assert "--all" in out.splitlines()[-1]


def test_tags_show_accept_reject(
    capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path
) -> None:
    photo = colour_photos / "red.jpg"
    shown = run_json(capsys, "--library", lib, "tags", "show", photo, "--json")
    assert shown["photo"] == str(photo)
    assert [(t["tag"], t["state"], t["source"], t["shown"]) for t in shown["tags"]] == [
        ("red", "suggested", "auto", True)
    ]
    assert shown["tags"][0]["model"] == FakeEncoder().model_id

    code, out, _ = run(capsys, "--library", lib, "tags", "reject", photo, "red")
    assert code == 0 and "rejected 'red'" in out
    code, out, _ = run(capsys, "--library", lib, "tags", "accept", photo, "grey")
    assert code == 0 and "accepted 'grey'" in out
    shown = run_json(capsys, "--library", lib, "tags", "show", photo, "--json")
    assert {t["tag"]: t["state"] for t in shown["tags"]} == {"red": "rejected", "grey": "accepted"}

    code, out, _ = run(capsys, "--library", lib, "tags", "show", photo)
    assert code == 0
    lines = {line.split()[-2]: line.split()[0] for line in out.splitlines()}
    assert lines == {"grey": "accepted", "red": "rejected"}


def test_search_by_tag(capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path) -> None:
    doc = run_json(capsys, "--library", lib, "search", "a photo", "--tag", "blue", "--json")
    assert [r["path"] for r in doc["results"]] == [str(colour_photos / "blue.jpg")]

    run(capsys, "--library", lib, "tags", "reject", colour_photos / "blue.jpg", "blue")
    doc = run_json(capsys, "--library", lib, "search", "a photo", "--tag", "blue", "--json")
    assert doc["results"] == []


def test_add_rename_remove(
    capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path
) -> None:
    code, out, _ = run(
        capsys,
        "--library",
        lib,
        "tags",
        "add",
        "Rex",
        "--prompt",
        "a yellow dog",
        "--prompt",
        "Rex in the yellow sun",
    )
    assert code == 0 and "'Rex' with 2 prompts" in out
    run_json(capsys, "--library", lib, "tag", "--json")
    shown = run_json(
        capsys, "--library", lib, "tags", "show", colour_photos / "yellow.jpg", "--json"
    )
    assert "Rex" in [t["tag"] for t in shown["tags"] if t["shown"]]

    assert run(capsys, "--library", lib, "tags", "rename", "Rex", "Rexy")[0] == 0
    assert run(capsys, "--library", lib, "tags", "remove", "grey")[0] == 0
    names = [t["name"] for t in run_json(capsys, "--library", lib, "tags", "list", "--json")]
    assert "Rexy" in names and "Rex" not in names and "grey" not in names


def test_export_xmp_json(
    capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path
) -> None:
    run(capsys, "--library", lib, "tags", "accept", colour_photos / "green.jpg", "green")
    doc = run_json(capsys, "--library", lib, "tags", "export-xmp", "--json")
    assert doc == {
        "written": [str(colour_photos / "green.jpg.xmp")],
        "failed": [],
        "cancelled": False,
    }

    doc = run_json(capsys, "--library", lib, "tags", "export-xmp", "--suggested", "--json")
    assert len(doc["written"]) >= len(PHOTOS) - 1


def test_accepting_a_new_word_adds_it_to_the_vocabulary(
    capsys: pytest.CaptureFixture[str], lib: Path, colour_photos: Path
) -> None:
    photo = colour_photos / "red.jpg"
    code, out, _ = run(capsys, "--library", lib, "tags", "accept", photo, "storm")
    assert code == 0 and "accepted 'storm'" in out
    shown = run_json(capsys, "--library", lib, "tags", "show", photo, "--json")
    assert {"tag": "storm", "state": "accepted"}.items() <= next(
        t for t in shown["tags"] if t["tag"] == "storm"
    ).items()
    listed = run_json(capsys, "--library", lib, "tags", "list", "--json")
    assert "storm" in {t["name"] for t in listed}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("tags", "reject", "nowhere.jpg", "red"), "is not in the library"),
        (("tags", "rename", "red", "BLUE"), "already exists"),
        (("tags", "remove", "unicorn"), "no tag named 'unicorn'"),
        (("search", "a photo", "--tag", "unicorn"), "no tag named 'unicorn'"),
        (("tags", "add", " "), "cannot be empty"),
    ],
)
def test_errors_are_one_clear_line_and_nonzero(
    capsys: pytest.CaptureFixture[str],
    lib: Path,
    colour_photos: Path,
    argv: tuple[str, ...],
    message: str,
) -> None:
    args = [str(colour_photos / "red.jpg") if a == "PHOTO" else a for a in argv]
    code, out, err = run(capsys, "--library", lib, *args)

    assert code == cli.EXIT_ERROR
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("photosense: ")


def test_tag_on_an_empty_library_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--library", tmp_path / "empty", "tag")
    assert code == cli.EXIT_ERROR and "photosense index" in err


def test_tags_needs_an_action(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--library", str(tmp_path / "lib"), "tags"])
    assert exit_info.value.code == cli.EXIT_USAGE
