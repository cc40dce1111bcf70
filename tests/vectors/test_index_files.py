"""Index files on disk: atomic saves, and loads that refuse anything stale, foreign or damaged."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

import photosense.vectors.store as store_module
from photosense.vectors import (
    ExactIndex,
    HnswIndex,
    VectorIndex,
    build_index,
    index_path,
    load_index,
    maybe_upgrade,
    meta_path,
    read_meta,
    save_index,
)
from photosense.vectors.index import table_path
from tests.vectors.conftest import IndexFactory
from tests.vectors.vecdata import unit_rows

MODEL = "hf-hub:laion/CLIP-ViT-B-32@laion2b_s34b_b79k"


def sample_index(make_index: IndexFactory, rng: np.random.Generator, n: int = 200) -> VectorIndex:
    index = make_index(16)
    index.model_id = MODEL
    index.add(np.arange(1, n + 1), unit_rows(rng, n, 16))
    return index


def same_results(a: VectorIndex, b: VectorIndex, rng: np.random.Generator) -> bool:
    return all(a.search(q, 10) == b.search(q, 10) for q in unit_rows(rng, 5, 16))


def test_index_path_is_a_safe_distinct_file_name(tmp_path: Path) -> None:
    names = {index_path(tmp_path, m).name for m in (MODEL, "a/b", "a:b", "a@b", "", "../x")}
    assert len(names) == 6
    for name in names:
        assert "/" not in name and ":" not in name and "@" not in name
        assert not name.startswith(".")
    assert index_path(tmp_path, MODEL) == index_path(tmp_path, MODEL)
    assert index_path(tmp_path, MODEL).parent == tmp_path


def test_save_then_load_gives_the_same_index(
    make_index: IndexFactory, rng: np.random.Generator, tmp_path: Path
) -> None:
    index = sample_index(make_index, rng)
    save_index(index, tmp_path, generation=3)
    loaded = load_index(tmp_path, MODEL, 16, 3)
    assert type(loaded) is type(index)
    assert loaded.model_id == MODEL and loaded.dim == 16 and len(loaded) == len(index)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    np.testing.assert_array_equal(loaded.vectors_for([5, 7]), index.vectors_for([5, 7]))
    assert same_results(index, loaded, rng)
    meta = read_meta(tmp_path, MODEL)
    assert meta is not None
    assert (meta.generation, meta.count, meta.kind) == (3, 200, type(index).kind)


def test_a_saved_hnsw_index_remembers_its_removed_ids(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    index = HnswIndex(MODEL, 16, num_threads=1)
    vectors = unit_rows(rng, 100, 16)
    index.add(np.arange(100), vectors)
    index.remove(range(10))
    save_index(index, tmp_path, 1)
    loaded = load_index(tmp_path, MODEL, 16, 1)
    assert isinstance(loaded, HnswIndex)
    assert len(loaded) == 90 and set(loaded.ids().tolist()) == set(range(10, 100))
    assert loaded.search(vectors[3], 1)[0][0] != 3
    loaded.add(np.arange(3, 4), vectors[3:4])  # a tombstone comes back to life
    assert loaded.search(vectors[3], 1)[0][0] == 3


def test_nothing_to_load_when_the_files_are_missing(tmp_path: Path) -> None:
    assert load_index(tmp_path / "absent", MODEL, 16, 0) is None
    assert read_meta(tmp_path, MODEL) is None


@pytest.mark.parametrize(
    ("model_id", "dim", "generation"),
    [(MODEL, 16, 4), (MODEL, 32, 3), ("other-model", 16, 3)],
    ids=["stale-generation", "other-dim", "other-model"],
)
def test_a_stale_or_foreign_index_is_not_loaded(
    make_index: IndexFactory,
    rng: np.random.Generator,
    tmp_path: Path,
    model_id: str,
    dim: int,
    generation: int,
) -> None:
    save_index(sample_index(make_index, rng), tmp_path, generation=3)
    assert load_index(tmp_path, model_id, dim, generation) is None


def test_files_renamed_to_another_model_are_not_loaded(
    make_index: IndexFactory, rng: np.random.Generator, tmp_path: Path
) -> None:
    save_index(sample_index(make_index, rng), tmp_path, generation=3)
    os.replace(index_path(tmp_path, MODEL), index_path(tmp_path, "other"))
    os.replace(meta_path(tmp_path, MODEL), meta_path(tmp_path, "other"))
    assert load_index(tmp_path, "other", 16, 3) is None


@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped-byte", "empty"])
def test_a_damaged_data_file_is_not_loaded(
    make_index: IndexFactory,
    rng: np.random.Generator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    save_index(sample_index(make_index, rng), tmp_path, generation=1)
    path = index_path(tmp_path, MODEL)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(rng.bytes(len(data)))
    elif damage == "flipped-byte":
        path.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    else:
        path.write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        assert load_index(tmp_path, MODEL, 16, 1) is None
    assert "rebuilt" in caplog.text


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_garbage_that_matches_its_meta_is_still_refused(
    rng: np.random.Generator, tmp_path: Path, kind: str
) -> None:
    """Past the checksum, the parsers themselves reject nonsense (raise, never crash)."""
    path = index_path(tmp_path, MODEL)
    for data in (b"", b"\x00" * 64, rng.bytes(4096)):
        path.write_bytes(data)
        size, crc = store_module._fingerprint(path)
        meta = store_module.IndexMeta(MODEL, 16, 1, 10, kind, size, crc)
        meta_path(tmp_path, MODEL).write_text(json.dumps(store_module.asdict(meta)))
        assert load_index(tmp_path, MODEL, 16, 1) is None


@pytest.mark.parametrize("meta_text", ["", "{not json", "[]", '{"model_id": "x"}'])
def test_an_unreadable_meta_is_not_loaded(
    make_index: IndexFactory, rng: np.random.Generator, tmp_path: Path, meta_text: str
) -> None:
    save_index(sample_index(make_index, rng), tmp_path, generation=1)
    meta_path(tmp_path, MODEL).write_text(meta_text)
    assert load_index(tmp_path, MODEL, 16, 1) is None


def test_a_count_that_disagrees_with_the_data_is_not_loaded(
    make_index: IndexFactory, rng: np.random.Generator, tmp_path: Path
) -> None:
    save_index(sample_index(make_index, rng), tmp_path, generation=1)
    meta = json.loads(meta_path(tmp_path, MODEL).read_text())
    meta["count"] += 1
    meta_path(tmp_path, MODEL).write_text(json.dumps(meta))
    assert load_index(tmp_path, MODEL, 16, 1) is None


def test_a_save_leaves_only_its_own_files(
    make_index: IndexFactory, rng: np.random.Generator, tmp_path: Path
) -> None:
    index = sample_index(make_index, rng)
    save_index(index, tmp_path, 1)
    save_index(index, tmp_path, 2)  # overwriting
    expected = {index_path(tmp_path, MODEL).name, meta_path(tmp_path, MODEL).name}
    if isinstance(index, HnswIndex):  # and the vector table beside the graph
        expected.add(table_path(index_path(tmp_path, MODEL)).name)
    assert {p.name for p in tmp_path.iterdir()} == expected


def test_an_interrupted_save_keeps_the_previous_index(
    make_index: IndexFactory,
    rng: np.random.Generator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = sample_index(make_index, rng, n=50)
    save_index(old, tmp_path, 1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_index(sample_index(make_index, rng, n=80), tmp_path, 2)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no temp files
    loaded = load_index(tmp_path, MODEL, 16, 1)
    assert loaded is not None and len(loaded) == 50
    assert same_results(old, loaded, rng)


def test_a_crash_between_the_two_renames_is_detected(
    make_index: IndexFactory,
    rng: np.random.Generator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New data under an old meta: the checksum no longer matches, so the index is rebuilt."""
    save_index(sample_index(make_index, rng, n=50), tmp_path, 1)
    real_replace = os.replace

    def replace_data_only(src: str, dst: str) -> None:
        if str(dst).endswith(".json"):
            raise OSError("power cut")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_data_only)
    with pytest.raises(OSError):
        save_index(sample_index(make_index, rng, n=80), tmp_path, 1)
    monkeypatch.undo()
    assert load_index(tmp_path, MODEL, 16, 1) is None


def test_build_index_picks_the_kind_by_size(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "EXACT_THRESHOLD", 100)
    small = build_index("m", 16, np.arange(99), unit_rows(rng, 99, 16))
    large = build_index("m", 16, np.arange(100), unit_rows(rng, 100, 16))
    assert isinstance(small, ExactIndex) and len(small) == 99
    assert isinstance(large, HnswIndex) and len(large) == 100


def test_maybe_upgrade_turns_a_grown_exact_index_into_hnsw(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "EXACT_THRESHOLD", 100)
    vectors = unit_rows(rng, 150, 16)
    index = ExactIndex("m", 16, np.arange(90), vectors[:90])
    assert maybe_upgrade(index) is index
    index.add(np.arange(90, 150), vectors[90:])
    upgraded = maybe_upgrade(index)
    assert isinstance(upgraded, HnswIndex)
    assert (upgraded.model_id, upgraded.dim, len(upgraded)) == ("m", 16, 150)
    upgraded.ef_search = 512  # exhaustive on 150 vectors, so results must match exactly
    for q in unit_rows(rng, 10, 16):
        (got_ids, got_scores), (want_ids, want_scores) = (
            zip(*i.search(q, 10), strict=True) for i in (upgraded, index)
        )
        assert got_ids == want_ids
        assert got_scores == pytest.approx(want_scores, abs=1e-5)
    assert maybe_upgrade(upgraded) is upgraded
