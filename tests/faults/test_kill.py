"""kill -9 at random and at chosen points: nothing committed is lost, the next run finishes.

The indexer runs as ``photosense index`` in a child process (``tests/faults/child.py``) over
the exact colour fake, and is killed with SIGKILL: at random times drawn from a seeded
generator, or at a chosen call (inside an index save, between a commit and the next batch,
during a model switch). After each kill the library is checked from outside
(``harness.check_library``) and the next run must finish the job.

The short variants run with the suite; ``pytest -m slow tests/faults`` runs the long ones
(``PHOTOSENSE_KILL_TRIALS`` random trials, 40 by default).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from photosense.library.runtime import ACTIVE_MODEL_KEY, PENDING_MODEL_KEY
from photosense.models.fake import FAKE_MODEL_ID
from photosense.progress import run_to_end
from photosense.vectors import store as vector_files
from tests.faults.harness import (
    LibraryState,
    assert_complete,
    assert_kept,
    check_library,
    make_photos,
    open_library,
    photo_files,
    run_child,
)

PHOTOS = 80
LATER = 4  # photos added between runs
SLOW_TRIALS = int(os.environ.get("PHOTOSENSE_KILL_TRIALS", "40"))
HNSW_FROM = 30  # vectors from which a trial's index is an HNSW graph
OTHER = "fake/other"
ENV = {"FAULT_SLOW_ENCODE_S": "0.1"}  # 10 batches of 8 take 1 s: kills land among them


def index_args(library: Path, root: Path) -> tuple[str | Path, ...]:
    return ("--library", library, "index", root, "--batch-size", "8")


TRANSACTION = "photosense.store.base:Part._session"
"""Every read or write of the database opens one: counting them places a kill in a run."""


@dataclass(frozen=True)
class RunLength:
    """How long a run is here, in seconds and in database transactions: a fixed part (start,
    tag vocabulary, scan, final tagging) plus a part per photo to index."""

    seconds: tuple[float, float]
    transactions: tuple[float, float]

    def of(self, photos: int) -> tuple[float, int]:
        (seconds, per_photo), (fixed, per_photo_tx) = self.seconds, self.transactions
        return seconds + per_photo * photos, round(fixed + per_photo_tx * photos)


@pytest.fixture(scope="module")
def run_length(tmp_path_factory: pytest.TempPathFactory) -> RunLength:
    """Measured once: a full run and a rerun with nothing to do, so that kill times can be
    drawn over the whole of a run however much of it is left."""
    tmp = tmp_path_factory.mktemp("length")
    make_photos(tmp / "photos", PHOTOS, seed=0)
    runs = []
    for _ in range(2):
        report = tmp / "report.json"
        env = {**ENV, "FAULT_COUNT_CALL": TRANSACTION}
        child = run_child(*index_args(tmp / "library", tmp / "photos"), env=env, report=report)
        assert child.code == 0, child.stderr
        done = json.loads(report.read_text())
        runs.append((done["seconds"], done["calls"]))
    (full, full_tx), (idle, idle_tx) = runs
    return RunLength(
        (idle, max(full - idle, 0.0) / PHOTOS), (idle_tx, max(full_tx - idle_tx, 0) / PHOTOS)
    )


def kill_trial(tmp: Path, seed: int, length: RunLength, tally: Counter[str]) -> None:
    """Three runs killed at random moments (files moved, deleted and added before the third),
    then one that must finish; the invariants are checked after each."""
    rng = random.Random(seed)
    root, later, library = tmp / "photos", tmp / "later", tmp / "library"
    photos = make_photos(root, PHOTOS + LATER, seed)
    later.mkdir()
    for path in photos[-LATER:]:
        path.rename(later / path.name)
    env = dict(ENV)
    if rng.random() < 0.5:
        env["FAULT_EXACT_THRESHOLD"] = str(HNSW_FROM)
        tally["kill trials with an HNSW index"] += 1
    ever = photo_files(root)
    state = before_tidy = LibraryState({}, {}, {}, {})
    renamed: dict[str, str] = {}
    for attempt in range(3):
        if attempt == 2:  # the user tidies up between runs
            before_tidy = state
            for path in rng.sample(sorted(photo_files(root)), 3):
                target = root / "album0" / f"moved-{Path(path).name}"
                os.rename(path, target)
                renamed[path] = str(target)
            for path in rng.sample(sorted(photo_files(root) - set(renamed.values())), 2):
                os.remove(path)
            for path in later.iterdir():
                shutil.move(path, root / "album1" / path.name)
            ever |= photo_files(root)
        seconds, transactions = length.of(len(photo_files(root) - set(state.photos)))
        if rng.random() < 0.5:  # at any moment, inside SQLite or a file write as well
            kill = {"FAULT_KILL_AFTER_S": f"{rng.uniform(0, 1.1 * seconds)}"}
        else:  # between two transactions: at the same point whatever the machine's load
            kill = {
                "FAULT_KILL_CALL": TRANSACTION,
                "FAULT_KILL_CALL_N": str(rng.randint(1, transactions)),
                "FAULT_KILL_CALL_WHEN": rng.choice(["before", "after"]),
            }
        child = run_child(*index_args(library, root), env={**env, **kill})
        tally["index runs started"] += 1
        if child.killed:
            how = "at a random moment" if "FAULT_KILL_AFTER_S" in kill else "between transactions"
            tally[f"kill -9 during indexing, {how}"] += 1
        else:
            assert child.code == 0, child.stderr
            tally["index runs that finished before the kill"] += 1
        if not (library / "library.sqlite3").exists():
            continue  # killed before the library was created
        after = check_library(library, ever)
        assert_kept(state, after, photo_files(root))
        if child.killed:
            tally[f"index file after a kill: {after.index_files.get(FAKE_MODEL_ID, 'none')}"] += 1
        state = after
    child = run_child(*index_args(library, root), env=env)
    assert child.code == 0, child.stderr
    final = assert_complete(library, root)
    assert_kept(state, final, photo_files(root))
    for old, new in renamed.items():  # moved photos keep their identity
        if old in before_tidy.photos:
            assert final.photos[new] == before_tidy.photos[old]


@pytest.mark.slow
def test_random_kills_lose_nothing(
    tmp_path: Path, run_length: RunLength, tally: Counter[str]
) -> None:
    kill_trial(tmp_path, seed=7, length=run_length, tally=tally)


@pytest.mark.slow(long_variant=True)
def test_random_kills_lose_nothing_many_trials(
    tmp_path: Path, run_length: RunLength, tally: Counter[str]
) -> None:
    for seed in range(100, 100 + SLOW_TRIALS):
        kill_trial(tmp_path / f"trial{seed}", seed, run_length, tally)
        tally["kill trials"] += 1


# -- kill at chosen points ---------------------------------------------------------------------

SAVE_WINDOWS = {
    # The new data file written under its temporary name, nothing renamed yet.
    "data written": {"FAULT_KILL_CALL": "photosense.vectors.index:{kind}.save"},
    # The data file renamed into place; its meta still the old one (a CRC mismatch).
    "data renamed": {"FAULT_KILL_CALL": "os:replace", "FAULT_KILL_CALL_MATCH": ".index"},
    # Both renamed, the folder not yet synced.
    "meta renamed": {"FAULT_KILL_CALL": "os:replace", "FAULT_KILL_CALL_MATCH": ".index.json"},
}


def indexed_library(tmp: Path, monkeypatch: pytest.MonkeyPatch, hnsw: bool) -> tuple[Path, Path]:
    """A library of 40 photos indexed in this process (its index file saved), and 12 more
    photos in a second folder to index next."""
    if hnsw:
        monkeypatch.setattr(vector_files, "EXACT_THRESHOLD", HNSW_FROM)
    make_photos(tmp / "photos", 52, seed=3)
    for path in sorted(photo_files(tmp / "photos"))[40:]:
        target = tmp / "more" / Path(path).name
        target.parent.mkdir(exist_ok=True)
        os.rename(path, target)
    with open_library(tmp / "library") as lib:
        run_to_end(lib.folders.index([tmp / "photos"]))
    return tmp / "library", tmp / "more"


def kill_during_save(
    tmp: Path, monkeypatch: pytest.MonkeyPatch, window: str, hnsw: bool, tally: Counter[str]
) -> None:
    library, more = indexed_library(tmp, monkeypatch, hnsw)
    allowed = photo_files(tmp / "photos") | photo_files(more)
    before = check_library(library, allowed)
    assert before.index_files == {FAKE_MODEL_ID: "current"}
    kind = "HnswIndex" if hnsw else "ExactIndex"
    env = {key: value.format(kind=kind) for key, value in SAVE_WINDOWS[window].items()}
    env["FAULT_KILL_CALL_WHEN"] = "after"
    if hnsw:
        env["FAULT_EXACT_THRESHOLD"] = str(HNSW_FROM)
    child = run_child("--library", library, "index", more, env=env)
    assert child.killed, child.stderr
    tally[f"kill -9 during an index save ({window})"] += 1
    after = check_library(library, allowed)
    assert_kept(before, after, allowed)
    assert set(after.photos) == allowed  # every batch was committed before the save
    tally[f"index file after a kill in a save: {after.index_files[FAKE_MODEL_ID]}"] += 1
    with open_library(library) as lib:  # searches work at once (rebuilt if need be)
        hits = lib.search.similar(sorted(allowed)[0], limit=len(allowed)).hits
        assert len(hits) == len(allowed) - 1
    assert check_library(library, allowed).index_files == {FAKE_MODEL_ID: "current"}


def test_kill_between_the_index_file_renames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    kill_during_save(tmp_path, monkeypatch, "data renamed", hnsw=True, tally=tally)


@pytest.mark.slow(long_variant=True)
@pytest.mark.parametrize("hnsw", [False, True], ids=["exact", "hnsw"])
@pytest.mark.parametrize("window", list(SAVE_WINDOWS))
def test_kill_anywhere_in_an_index_save(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    window: str,
    hnsw: bool,
    tally: Counter[str],
) -> None:
    kill_during_save(tmp_path, monkeypatch, window, hnsw, tally)


# -- kill between adding photos and embedding them ------------------------------------------


def test_kill_while_added_photos_are_embedded_keeps_them_and_the_next_run_embeds_the_rest(
    tmp_path: Path, tally: Counter[str]
) -> None:
    root, library = tmp_path / "photos", tmp_path / "library"
    make_photos(root, 24, seed=7)
    child = run_child(
        *index_args(library, root),
        env={  # while the second batch is encoded: the first is committed
            "FAULT_KILL_CALL": "photosense.models.fake:FakeEncoder.encode_prepared",
            "FAULT_KILL_CALL_N": "2",
        },
    )
    assert child.killed, child.stderr
    tally["kill -9 while photos added first are embedded"] += 1
    files = photo_files(root)
    state = check_library(library, files)
    assert set(state.photos) == files  # every photo was in the library before any vector
    assert len(state.vectors[FAKE_MODEL_ID]) == 8  # the first batch's

    child = run_child(*index_args(library, root), "--json")
    assert child.code == 0, child.stderr
    report = json.loads(child.stdout)
    assert (report["indexed"], report["unchanged"]) == (16, 8)
    assert_complete(library, root)


# -- kill while switching models --------------------------------------------------------------


def kill_during_switch(tmp: Path, monkeypatch: pytest.MonkeyPatch, batch: int) -> None:
    library, _ = indexed_library(tmp, monkeypatch, hnsw=False)
    root = tmp / "photos"
    before = check_library(library, photo_files(root))
    child = run_child(
        "--library",
        library,
        "models",
        "use",
        OTHER,
        "--batch-size",
        "4",
        env={
            "FAULT_KILL_CALL": "photosense.store.vectors:Vectors.commit_batch",
            "FAULT_KILL_CALL_N": str(batch),
            "FAULT_KILL_CALL_WHEN": "after",
        },
    )
    assert child.killed, child.stderr
    after = check_library(library, photo_files(root))
    assert_kept(before, after, photo_files(root))
    assert after.settings[ACTIVE_MODEL_KEY] == FAKE_MODEL_ID
    assert after.settings[PENDING_MODEL_KEY] == OTHER
    assert 0 < len(after.vectors[OTHER]) < len(after.photos)
    assert_complete(library, root, FAKE_MODEL_ID)  # searches still answer with the old model

    child = run_child("--library", library, "models", "use", OTHER)
    assert child.code == 0, child.stderr
    assert "active model: fake/other" in child.stdout
    final = assert_complete(library, root, OTHER)
    assert final.vectors[FAKE_MODEL_ID] == before.vectors[FAKE_MODEL_ID]  # kept, reusable


@pytest.mark.slow
def test_kill_during_a_model_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    kill_during_switch(tmp_path, monkeypatch, batch=3)
    tally["kill -9 during a model switch"] += 1


@pytest.mark.slow(long_variant=True)
@pytest.mark.parametrize("batch", [1, 4, 7, 9])  # of the switch's 10
def test_kill_at_any_batch_of_a_model_switch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int, tally: Counter[str]
) -> None:
    kill_during_switch(tmp_path, monkeypatch, batch)
    tally["kill -9 during a model switch"] += 1


# -- fine-tuning --------------------------------------------------------------------------------


def captions_csv(root: Path) -> Path:
    """A path,caption CSV over every photo under ``root`` (captions by folder and name)."""
    rows = ["path,caption"]
    for path in sorted(photo_files(root)):
        name = Path(path)
        rows.append(f"{path},a photo from {name.parent.name} called {name.stem[:6]}")
    target = root.parent / "captions.csv"
    target.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return target


FINETUNE = ("finetune", "--epochs", "5", "--views", "1", "--activate", "no", "--json")


@pytest.mark.slow
def test_kill_during_fine_tuning_keeps_the_base_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Counter[str]
) -> None:
    library, _ = indexed_library(tmp_path, monkeypatch, hnsw=False)
    root = tmp_path / "photos"
    csv = captions_csv(root)
    before = check_library(library, photo_files(root))
    checkpoint = "photosense.learn.features:RunFolder.save_checkpoint"
    child = run_child(
        "--library",
        library,
        *FINETUNE[:1],
        "--captions",
        csv,
        *FINETUNE[1:],
        env={
            "FAULT_KILL_CALL": checkpoint,
            "FAULT_KILL_CALL_N": "2",
            "FAULT_KILL_CALL_WHEN": "after",
        },
    )
    assert child.killed, child.stderr
    tally["kill -9 during fine-tuning"] += 1
    after = check_library(library, photo_files(root))
    assert_kept(before, after, photo_files(root))
    assert after.settings.get(ACTIVE_MODEL_KEY) in (None, FAKE_MODEL_ID)  # the base, untouched
    assert not list((library / "models").glob("fine-tuned/*"))  # no half model

    report = tmp_path / "report.json"
    child = run_child(
        "--library",
        library,
        *FINETUNE[:1],
        "--captions",
        csv,
        *FINETUNE[1:],
        env={"FAULT_COUNT_CALL": checkpoint},
        report=report,
    )
    assert child.code == 0, child.stderr
    document = json.loads(child.stdout)
    assert document["base"] == FAKE_MODEL_ID and document["epochs"] == 5
    assert json.loads(report.read_text())["calls"] == 3  # epochs 3-5: 1-2 came from the checkpoint
    assert (library / "models" / document["model"] / "model.safetensors").is_file()
    assert_complete(library, root, FAKE_MODEL_ID)
