"""Evaluation of generated data set folders with the colour encoder, and `photosense eval`."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from photosense import cli
from photosense.errors import Cancelled, DatasetError
from photosense.evaluation import EvalResult, evaluate, load_dataset, prompt_name
from photosense.models import registry
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, run_to_end
from tests.conftest import dataset

PURE = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
}


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def make_set(
    root: Path,
    captions: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    classes: Sequence[str] = ("colours/red", "colours/green", "colours/blue", "colours/yellow"),
    split: dict[str, str] | None = None,
) -> Path:
    """A data set of pure-colour PNGs named after their colour (images/red.png, ...)."""
    (root / "images").mkdir(parents=True)
    for name, rgb in PURE.items():
        Image.new("RGB", (40, 30), rgb).save(root / "images" / f"{name}.png")
    if captions is not None:
        write_csv(root / "captions.csv", ("path", "caption"), list(captions.items()))
    if labels is not None:
        write_csv(root / "labels.csv", ("path", "label"), list(labels.items()))
        (root / "classes.txt").write_text("\n".join(classes) + "\n", encoding="utf-8")
    if split is not None:
        write_csv(root / "split.csv", ("path", "split"), list(split.items()))
    return root


def img(colour: str) -> str:
    return f"images/{colour}.png"


CAPTIONS = {img(c): f"a {c} square, drawn by hand" for c in PURE}
LABELS = {img(c): f"colours/{c}" for c in PURE}


def score(folder: Path, split: str | None = None, encoder: FakeEncoder | None = None) -> EvalResult:
    return run_to_end(evaluate(load_dataset(folder, split), encoder or FakeEncoder()))


def test_distinct_colours_are_found_perfectly_and_each_image_encoded_once(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    folder = make_set(tmp_path / "colours", CAPTIONS, LABELS)

    result = score(folder, encoder=encoder)

    assert result.as_dict() == {
        **dict.fromkeys(("t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10"), 1.0),
        **dict.fromkeys(("zs_top1", "zs_top5"), 1.0),
        "n": 4,
        "n_captions": 4,
        "n_labels": 4,
        "split": "all",
        "skipped": 0,
    }
    assert encoder.images_encoded == 4
    assert result.name == "colours"


def test_a_wrong_caption_lowers_recall_by_a_known_amount(tmp_path: Path) -> None:
    # The blue image is captioned "a red box": same vector as "a red square" but another text.
    captions = {**CAPTIONS, img("blue"): "a red box"}
    folder = make_set(tmp_path / "wrong", captions)

    metrics = score(folder).metrics

    # t2i: "a red box" finds red first, then ties with green and yellow at 0 -> rank 3 of 4.
    # i2t: red ties with "a red box" (rank 1); blue scores 0 against every text (rank 3).
    assert metrics == {
        "t2i_r1": 0.75,
        "t2i_r5": 1.0,
        "t2i_r10": 1.0,
        "i2t_r1": 0.5,
        "i2t_r5": 1.0,
        "i2t_r10": 1.0,
    }


def test_identical_captions_are_one_group(tmp_path: Path) -> None:
    # Blue and green share one caption: alone, each would tie with the other at rank 1.
    captions = {**CAPTIONS, img("blue"): "blue and green", img("green"): "blue and green"}
    folder = make_set(tmp_path / "same", captions)

    metrics = score(folder).metrics

    assert metrics["t2i_r1"] == metrics["i2t_r1"] == 1.0


def test_a_wrong_label_and_duplicate_class_names(tmp_path: Path) -> None:
    labels = {**LABELS, img("blue"): "colours/green"}
    classes = ("colours/red", "colours/green", "colours/red", "colours/blue", "colours/yellow")
    folder = make_set(tmp_path / "labels", labels=labels, classes=classes)

    result = score(folder)

    assert load_dataset(folder).classes == (
        "colours/red",
        "colours/green",
        "colours/blue",
        "colours/yellow",
    )
    # blue image: class blue scores 1, red and yellow tie with green at 0 -> rank 3 of 4.
    assert result.metrics == {"zs_top1": 0.75, "zs_top5": 1.0}
    assert (result.n, result.n_labels, result.n_captions) == (4, 4, 0)
    assert prompt_name("people/body_parts") == "people body parts"


def test_split_filters_rows(tmp_path: Path) -> None:
    split = {img("red"): "test", img("green"): "test", img("blue"): "train"}
    folder = make_set(tmp_path / "split", CAPTIONS, LABELS, split=split)

    test, train, whole = score(folder), score(folder, "train"), score(folder, "all")

    assert (test.split, test.n, test.n_captions, test.n_labels) == ("test", 2, 2, 2)
    assert (train.split, train.n) == ("train", 1)
    assert (whole.split, whole.n) == ("all", 4)
    assert test.metrics["t2i_r1"] == 1.0
    with pytest.raises(DatasetError, match="no rows in split 'validation'"):
        load_dataset(folder, "validation")


def test_a_folder_without_split_is_used_whole(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "nosplit", CAPTIONS)

    assert score(folder, "test").split == "all"


def test_unreadable_and_missing_images_are_skipped_and_counted(tmp_path: Path) -> None:
    captions = {**CAPTIONS, "images/broken.png": "a blue thing", "images/gone.png": "a gone"}
    folder = make_set(tmp_path / "broken", captions, {img("red"): "colours/red"})
    (folder / "images" / "broken.png").write_bytes(b"not a png at all")

    result = score(folder)

    assert (result.n, result.n_captions, result.n_labels, result.skipped) == (4, 4, 1, 2)
    assert result.metrics["t2i_r1"] == 1.0


def test_nothing_readable_gives_counts_without_metrics(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "empty", {"images/gone.png": "red"})

    assert score(folder).as_dict() == {
        "n": 0,
        "n_captions": 0,
        "n_labels": 0,
        "split": "all",
        "skipped": 1,
    }


def test_cancel_stops_with_cancelled(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "cancel", CAPTIONS)
    cancel = CancelToken()
    cancel.cancel()

    with pytest.raises(Cancelled):
        run_to_end(evaluate(load_dataset(folder), FakeEncoder(), cancel, batch_size=1))


def test_missing_folder_and_missing_files_name_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="data set folder not found"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "bare").mkdir()
    with pytest.raises(DatasetError, match=r"captions\.csv.*labels\.csv.*classes\.txt"):
        load_dataset(tmp_path / "bare")


@pytest.mark.parametrize(
    ("captions_rows", "message"),
    [
        ([("../../etc/passwd", "a secret")], "must be relative"),
        ([("/etc/passwd", "a secret")], "must be relative"),
        ([("images/../../x.png", "escape")], "must be relative"),
        ([("C:/Windows/x.png", "drive")], "must be relative"),
        ([(img("red"), "one"), (img("red"), "two")], "listed twice"),
        ([(img("red"),)], "expected 2 columns"),
    ],
)
def test_malformed_captions_are_clear_errors(
    tmp_path: Path, captions_rows: list[tuple[str, ...]], message: str
) -> None:
    folder = make_set(tmp_path / "bad")
    write_csv(folder / "captions.csv", ("path", "caption"), captions_rows)

    with pytest.raises(DatasetError, match=message):
        load_dataset(folder)


def test_bad_headers_labels_and_vocabulary_are_clear_errors(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "bad", labels={img("red"): "colours/purple"})
    with pytest.raises(DatasetError, match=r"labels\.csv line 2: label 'colours/purple' is not"):
        load_dataset(folder)
    (folder / "classes.txt").unlink()
    with pytest.raises(DatasetError, match=r"no readable classes\.txt"):
        load_dataset(folder)
    write_csv(folder / "captions.csv", ("file", "text"), [(img("red"), "red")])
    (folder / "labels.csv").unlink()
    with pytest.raises(DatasetError, match="columns path,caption"):
        load_dataset(folder)
    (folder / "captions.csv").write_bytes(b"path,caption\n\xff\xfe,bad\n")
    with pytest.raises(DatasetError, match="UTF-8"):
        load_dataset(folder)


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def load(spec: str = "auto", device: str = "auto") -> FakeEncoder:
        calls.append((spec, device))
        return FakeEncoder()

    monkeypatch.setattr(registry, "load_encoder", load)
    return calls


def test_cli_eval_json_needs_no_library(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake_model: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PHOTOSENSE_HOME", str(home))
    captioned = make_set(tmp_path / "captioned", CAPTIONS, split={img("red"): "test"})
    labelled = make_set(tmp_path / "labelled", labels=LABELS)

    code = cli.main(["--device", "cpu", "eval", str(captioned), str(labelled), "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    document = json.loads(out)
    assert document["model"] == FakeEncoder().model_id
    assert document["datasets"]["captioned"] == {
        **dict.fromkeys(("t2i_r1", "t2i_r5", "t2i_r10", "i2t_r1", "i2t_r5", "i2t_r10"), 1.0),
        "n": 1,
        "n_captions": 1,
        "n_labels": 0,
        "split": "test",
        "skipped": 0,
    }
    assert document["datasets"]["labelled"]["zs_top1"] == 1.0
    assert "t2i_r1" not in document["datasets"]["labelled"]
    assert fake_model == [("auto", "cpu")]
    assert not home.exists() or not any(home.iterdir())


def test_cli_eval_table_and_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_model: list[tuple[str, str]]
) -> None:
    folder = make_set(tmp_path / "colours", CAPTIONS, LABELS)

    assert cli.main(["eval", str(folder), "--split", "all", "--batch-size", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["dataset", "split", "n", "t2i_r1"]
    assert out.splitlines()[1].split()[:4] == ["colours", "all", "4", "1.000"]

    assert cli.main(["eval", str(tmp_path / "nowhere")]) == cli.EXIT_ERROR
    assert "photosense: data set folder not found" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["eval", "{folder}", "--model", "mine", "--device", "cpu"],
        ["--model", "mine", "eval", "{folder}", "--device", "cpu"],
        [
            "--model",
            "other",
            "--device",
            "cuda",
            "eval",
            "{folder}",
            "--model",
            "mine",
            "--device",
            "cpu",
        ],
    ],
)
def test_cli_common_options_work_after_the_command_too(
    argv: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fake_model: list[tuple[str, str]],
) -> None:
    folder = make_set(tmp_path / "colours", CAPTIONS, LABELS)

    code = cli.main([a.replace("{folder}", str(folder)) for a in argv])

    assert code == 0, capsys.readouterr().err
    assert fake_model == [("mine", "cpu")]  # the last word wins, nothing reset to "auto"


@pytest.mark.datasets
def test_tuxpaint_test_split_parses(capsys: pytest.CaptureFixture[str]) -> None:
    folder = dataset("tuxpaint-stamps")

    result = score(folder)

    assert (result.split, result.n, result.n_captions, result.n_labels) == ("test", 105, 105, 105)
    assert result.skipped == 0
    assert set(result.metrics) == {
        "t2i_r1",
        "t2i_r5",
        "t2i_r10",
        "i2t_r1",
        "i2t_r5",
        "i2t_r10",
        "zs_top1",
        "zs_top5",
    }
    assert all(0.0 <= value <= 1.0 for value in result.metrics.values())
