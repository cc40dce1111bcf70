"""An out-of-date index catches up with the store instead of being rebuilt, and a rebuild runs
in the background while searches go on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import photosense.vectors.cache as cache_module
import photosense.vectors.store as store_module
from photosense.arrays import Ids, Vectors
from photosense.vectors import ExactIndex, HnswIndex, VectorIndex
from photosense.vectors.cache import SearchIndexes
from photosense.vectors.overlay import Overlaid
from tests.vectors.vecdata import brute_force, unit_rows

DIM = 16


class FakeSource:
    """The store's side of the cache: vectors per model with a generation and the generation
    that wrote each row, as the store keeps them."""

    def __init__(self) -> None:
        self.generations: dict[str, int] = {}
        self.rows: dict[str, dict[int, tuple[Vectors, int]]] = {}

    def write(self, model_id: str, ids: Ids, vectors: Vectors) -> None:
        generation = self.generations.get(model_id, 0) + 1
        self.generations[model_id] = generation
        rows = self.rows.setdefault(model_id, {})
        for i, v in zip(ids.tolist(), vectors, strict=True):
            rows[i] = (v, generation)

    def delete(self, ids: list[int]) -> None:
        """Photos went away: every model's generation moves, as in the store."""
        for model_id, rows in self.rows.items():
            for i in ids:
                rows.pop(i, None)
            self.generations[model_id] += 1

    def dim(self, model_id: str) -> int | None:
        return DIM if model_id in self.rows else None

    def generation(self, model_id: str) -> int:
        return self.generations.get(model_id, -1)

    def changes(self, model_id: str, since: int | None) -> tuple[Ids, Vectors]:
        rows = self.rows.get(model_id, {})
        ids = sorted(i for i, (_, g) in rows.items() if since is None or g > since)
        vectors = np.array([rows[i][0] for i in ids], np.float32).reshape(len(ids), DIM)
        return np.array(ids, np.int64), vectors

    def load(self, model_id: str) -> tuple[Ids, Vectors]:
        return self.changes(model_id, None)

    def ids(self, model_id: str) -> Ids:
        return np.array(sorted(self.rows.get(model_id, {})), np.int64)


@pytest.fixture(autouse=True)
def small_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphs from 50 vectors on, so that these tests run on a few hundred."""
    monkeypatch.setattr(store_module, "EXACT_THRESHOLD", 50)
    monkeypatch.setattr(cache_module, "EXACT_THRESHOLD", 50)


@pytest.fixture
def indexes(tmp_path: Path) -> Iterator[tuple[FakeSource, Path]]:
    yield FakeSource(), tmp_path / "index"


def truth(source: FakeSource, model_id: str, query: Vectors, k: int = 10) -> list[int]:
    ids, vectors = source.load(model_id)
    return brute_force(ids, vectors, query, k)


def found(index: VectorIndex, query: Vectors, k: int = 10) -> list[int]:
    return [i for i, _ in index.search(query, k)]


def built_and_saved(source: FakeSource, folder: Path, rng: np.random.Generator) -> None:
    source.write("m", np.arange(1, 301), unit_rows(rng, 300, DIM))
    first = SearchIndexes(source, folder, background=False)
    assert isinstance(first.get("m"), HnswIndex)
    first.close()


def no_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the index was rebuilt")

    monkeypatch.setattr(cache_module, "build_index", refuse)
    monkeypatch.setattr(cache_module, "_Rebuild", refuse)


def test_a_stale_index_file_is_patched_in_place(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    built_and_saved(source, folder, rng)
    source.delete([1, 2, 3])
    changed = unit_rows(rng, 5, DIM)
    source.write("m", np.array([10, 11, 12, 400, 401]), changed)  # 3 changed, 2 new
    no_builds(monkeypatch)

    reopened = SearchIndexes(source, folder)
    index = reopened.get("m")
    assert isinstance(index, HnswIndex)  # patched, not rebuilt, not waiting on anything
    assert len(index) == 299
    for query in [*changed, *unit_rows(rng, 5, DIM)]:
        assert found(index, query) == truth(source, "m", query)
    reopened.save_all()
    assert reopened.state("m") == "current"


def test_a_deletion_does_not_rebuild_other_models_indexes(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    built_and_saved(source, folder, rng)
    source.write("other", np.arange(1, 301), unit_rows(rng, 300, DIM))
    SearchIndexes(source, folder, background=False).get("other")
    source.delete([5, 6])  # both models' generations move
    no_builds(monkeypatch)
    reopened = SearchIndexes(source, folder)
    for model_id in ("m", "other"):
        index = reopened.get(model_id)
        assert isinstance(index, HnswIndex) and 5 not in index.ids()
        query = unit_rows(rng, 1, DIM)[0]
        assert found(index, query) == truth(source, model_id, query)


def test_a_loaded_index_follows_deletions_and_writes_of_another_process(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    source.write("m", np.arange(1, 301), unit_rows(rng, 300, DIM))
    live = SearchIndexes(source, folder, background=False)
    index = live.get("m")
    no_builds(monkeypatch)
    source.delete([7])
    source.write("m", np.array([500]), unit_rows(rng, 1, DIM))
    live.remove_photos([7])  # this process saw the deletion, not the write
    assert live.get("m") is index  # the same graph, patched
    assert 500 in index.ids() and 7 not in index.ids()


class Gate:
    """Holds a background rebuild mid-way until the test opens it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered, self.open = threading.Event(), threading.Event()
        monkeypatch.setattr(cache_module, "_BUILD_CHUNK", 100)
        real_add = HnswIndex.add

        def add(index: HnswIndex, ids: Ids, vectors: Vectors) -> None:
            if threading.current_thread().name.startswith("index rebuild"):
                self.entered.set()
                assert self.open.wait(10)
            real_add(index, ids, vectors)

        monkeypatch.setattr(HnswIndex, "add", add)


def test_searches_are_answered_during_a_rebuild_and_its_graph_is_used_after(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    source.write("m", np.arange(1, 301), unit_rows(rng, 300, DIM))
    gate = Gate(monkeypatch)
    live = SearchIndexes(source, folder)
    serving = live.get("m")  # no file: answered at once while the graph builds
    assert isinstance(serving, Overlaid) and live.rebuilding("m")
    assert live.state("m") == "rebuilding"
    assert gate.entered.wait(10)
    query = unit_rows(rng, 1, DIM)[0]
    assert found(serving, query) == truth(source, "m", query)  # exact meanwhile

    # Photos come and go while the graph builds: the serving index has them at once.
    source.delete([1])
    fresh = unit_rows(rng, 2, DIM)
    source.write("m", np.array([600, 2]), fresh)
    live.remove_photos([1])
    live.apply("m", [(600, fresh[0]), (2, fresh[1])], [], source.generation("m"))
    assert live.get("m") is serving and found(serving, fresh[0], 1) == [600]
    assert 1 not in serving.ids()

    gate.open.set()
    assert live.wait("m", 10)
    rebuilt = live.get("m")  # the finished graph, caught up with what happened meanwhile
    assert isinstance(rebuilt, HnswIndex) and not live.rebuilding("m")
    assert 1 not in rebuilt.ids() and found(rebuilt, fresh[0], 1) == [600]
    for q in unit_rows(rng, 5, DIM):
        assert found(rebuilt, q) == truth(source, "m", q)
    assert store_module.read_meta(folder, "m") is not None  # the rebuild saved its graph
    live.close()


def test_far_behind_an_index_serves_with_exact_changes_while_rebuilt(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    built_and_saved(source, folder, rng)
    monkeypatch.setattr(cache_module, "PATCH_LIMIT", 10)
    changed = unit_rows(rng, 40, DIM)
    source.write("m", np.arange(100, 140), changed)
    source.delete([1])
    gate = Gate(monkeypatch)
    live = SearchIndexes(source, folder)
    serving = live.get("m")
    assert isinstance(serving, Overlaid) and isinstance(serving.base, HnswIndex)
    assert isinstance(serving.overlay, ExactIndex) and len(serving.overlay) == 40
    for q in [*changed[:5], *unit_rows(rng, 5, DIM)]:
        assert found(serving, q) == truth(source, "m", q)
    gate.open.set()
    live.wait("m", 10)
    assert isinstance(live.get("m"), HnswIndex)
    live.close()


def test_closing_stops_a_rebuild_in_flight(
    indexes: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, folder = indexes
    source.write("m", np.arange(1, 301), unit_rows(rng, 300, DIM))
    gate = Gate(monkeypatch)
    live = SearchIndexes(source, folder)
    live.get("m")
    assert gate.entered.wait(10)
    gate.open.set()
    live.close()
    assert not any(t.name.startswith("index rebuild") for t in threading.enumerate())
