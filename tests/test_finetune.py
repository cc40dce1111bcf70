"""`photosense finetune` and Library.finetune: pairs, a stored model, activation and revert."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from photosense.errors import NotEnoughDataError
from photosense.learn.finetune import FineTuneSettings
from photosense.learn.records import LIBRARY_KEEP_LIMIT, LIBRARY_MIN_PHOTOS
from photosense.models.local import read_local
from photosense.progress import run_to_end
from tests.cli_run import run, run_json
from tests.conftest import save_photo

COLOURS = ["red", "green", "blue", "yellow"]


@pytest.fixture
def captioned(tmp_path: Path) -> Path:
    """24 photos and a captions.csv naming them with relative paths."""
    folder = tmp_path / "album"
    rows = []
    for i in range(24):
        colour = COLOURS[i % len(COLOURS)]
        save_photo(folder / f"{colour}-{i}.jpg", colour, size=(48, 40))
        rows.append((f"{colour}-{i}.jpg", f"my {colour} thing number {i // 4}"))
    with (folder / "captions.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "caption"])
        writer.writerows(rows)
    return folder


def test_library_finetune_stores_a_model_derived_from_its_base(fake_library, captioned) -> None:
    from photosense.models.adapted import AdaptedEncoder

    library = fake_library
    settings = FineTuneSettings(epochs=2, views=1, rank=4)
    report = run_to_end(
        library.finetune.run(captions=captioned / "captions.csv", settings=settings)
    )
    assert report.model_id.startswith("fine-tuned/colours-v1-")
    record = read_local(report.model_id)
    assert record.base == "fake/colours-v1"
    assert record.extra["pairs"] == 24
    assert record.extra["heldout"]["before"]["t2i_r5"] == report.result.heldout_before["t2i_r5"]
    assert record.extra["data_fingerprint"] == report.result.fingerprint
    # Using it loads the base through the library's own factory, plus the adapters.
    run_to_end(library.models.use(report.model_id))
    assert isinstance(library.models.current(), AdaptedEncoder)
    assert library.models.current().model_id == report.model_id
    # Reverting is one switch back; the fine-tuned model stays on disk.
    run_to_end(library.models.use("fake/colours-v1"))
    assert library.models.current().model_id == "fake/colours-v1"
    assert any(m.id == report.model_id for m in library.finetune.models())


def test_library_check_runs_on_the_librarys_other_photos(fake_library, captioned, tmp_path) -> None:
    library = fake_library
    others = tmp_path / "others"
    for i in range(LIBRARY_MIN_PHOTOS + 2):
        save_photo(others / f"{COLOURS[i % len(COLOURS)]}-other-{i}.jpg", COLOURS[i % 4])
    run_to_end(library.folders.index([others, captioned]))
    pairs = library.finetune.pairs(captions=captioned / "captions.csv")
    library.captions.set(str(others / "red-other-0.jpg"), "my red thing")
    chosen = library.finetune.check_photos(pairs)
    # Uncaptioned photos it does not train on, each once, the same ones run after run.
    assert sorted(p.name for p in chosen) == sorted(
        p.name for p in others.iterdir() if p.name != "red-other-0.jpg"
    )
    assert library.finetune.check_photos(pairs) == chosen
    assert len(library.finetune.check_photos(pairs, limit=5)) == 5
    settings = FineTuneSettings(epochs=2, views=1, rank=4)
    report = run_to_end(
        library.finetune.run(captions=captioned / "captions.csv", settings=settings)
    )
    check = report.result.library
    assert check is not None and check.photos == len(chosen)
    document = report.as_dict(activated=False)
    assert document["library"] == {
        "photos": check.photos,
        "unlike": check.unlike,
        "queries": check.queries,
        "k": check.k,
        "neighbours": check.neighbours,
        "answers": check.answers,
        "kept": check.kept,
        "limit": LIBRARY_KEEP_LIMIT,
    }
    assert document["verdict"] == report.result.verdict.value
    assert read_local(report.model_id).extra["library"]["photos"] == check.photos


def test_too_few_pairs_is_a_clear_error(fake_library, tmp_path: Path) -> None:
    save_photo(tmp_path / "one.jpg", "red")
    (tmp_path / "c.csv").write_text("path,caption\none.jpg,a red thing\n")
    with pytest.raises(NotEnoughDataError, match="at least 20"):
        run_to_end(fake_library.finetune.run(captions=tmp_path / "c.csv"))


@pytest.mark.slow
def test_cli_finetune_json_activate_eval_and_revert(capsys, tmp_path: Path, captioned) -> None:
    library = tmp_path / "lib"
    base = "open_clip/photosense-tiny/random-seed0"
    args = ["--library", library, "--model", "photosense-tiny"]
    document = run_json(
        capsys,
        *args,
        "finetune",
        "--captions",
        captioned / "captions.csv",
        "--epochs",
        "2",
        "--views",
        "1",
        "--name",
        "mine",
        "--activate",
        "yes",
        "--json",
    )
    assert document["model"] == "fine-tuned/mine"
    assert document["base"] == base
    assert document["pairs"] == 24
    assert set(document["heldout"]["before"]) == {"t2i_r1", "t2i_r5", "t2i_r10"}
    assert document["general"] == {"before": None, "after": None, "sets": {}}
    assert document["library"] is None  # nothing indexed besides the training photos
    assert document["verdict"] in {"better", "not_better"}
    assert document["activated"] is True
    status = run_json(capsys, "--library", library, "status", "--json")
    assert status["active_model"] == "fine-tuned/mine"
    # Evaluated like any other model, without a library.
    scores = run_json(
        capsys, "--library", library, "--model", "fine-tuned/mine", "eval", captioned, "--json"
    )
    assert scores["model"] == "fine-tuned/mine"
    assert "t2i_r5" in scores["datasets"]["album"]
    # Revert: one command, and the fine-tuned model is still there to go back to.
    code, _, err = run(capsys, "--library", library, "models", "use", base)
    assert code == 0, err
    status = run_json(capsys, "--library", library, "status", "--json")
    assert status["active_model"] == base
    listing = run_json(capsys, "--library", library, "models", "list", "--json")
    assert "fine-tuned/mine" in json.dumps(listing)


def test_cli_finetune_refuses_bad_input(capsys, tmp_path: Path) -> None:
    code, _, err = run(
        capsys, "--library", tmp_path / "lib", "finetune", "--captions", tmp_path / "missing.csv"
    )
    assert code != 0 and "missing.csv" in err
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "--library", tmp_path / "lib", "finetune", "--epochs", "0")
    assert exit_info.value.code == 2
    assert "positive whole number" in capsys.readouterr().err


def test_preview_shows_a_few_pairs_and_what_was_left_out_why(fake_library, captioned) -> None:
    with (captioned / "captions.csv").open("a", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["red-0.jpg", "© 2019 Jane Doe. All rights reserved."])  # later wins
        writer.writerow(["green-1.jpg", "https://example.com/p/1"])
        writer.writerow(["blue-2.jpg", "A blue thing. Licensed under CC BY 2.0."])
    preview = fake_library.finetune.preview(captions=captioned / "captions.csv")
    assert (
        preview.count == 22 == len(fake_library.finetune.pairs(captions=captioned / "captions.csv"))
    )
    assert len(preview.samples) == 5
    assert preview.left_out == {"a licence or copyright notice": 1, "only a web address": 1}
    texts = {p.text for p in fake_library.finetune.pairs(captions=captioned / "captions.csv")}
    assert "A blue thing." in texts and not any("Licensed" in t for t in texts)
