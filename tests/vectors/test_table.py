"""The float16 vector table beside an HNSW graph: exact scoring of allowed sets, upserts,
removals and its file; and the wider search of text queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import photosense.vectors.index as index_module
import photosense.vectors.table as table_module
from photosense.vectors import HnswIndex, load_index, save_index, text_ef
from photosense.vectors.table import VectorTable
from tests.vectors.vecdata import brute_force, clustered, unit_rows


def test_table_upserts_removes_and_reuses_slots(rng: np.random.Generator) -> None:
    table = VectorTable(8)
    rows = unit_rows(rng, 10, 8)
    table.upsert(np.arange(10, 20), rows)
    table.remove(np.array([12, 13, 99]))
    table.upsert(np.array([30, 31, 15]), rows[:3])  # two take the freed slots, one overwrites
    assert table.ids().tolist() == [10, 11, 14, 15, 16, 17, 18, 19, 30, 31]
    np.testing.assert_allclose(table.get(np.array([31, 15, 10])), rows[[1, 2, 0]], atol=1e-3)
    assert table._used == 10  # noqa: SLF001 - no slot was added for the two new ids
    with pytest.raises(KeyError, match="12"):
        table.get(np.array([10, 12]))


def test_table_file_round_trip(rng: np.random.Generator, tmp_path: Path) -> None:
    table = VectorTable(8)
    rows = unit_rows(rng, 50, 8)
    table.upsert(np.arange(100, 0, -2), rows)
    table.remove(np.array([50, 52]))
    table.save(tmp_path / "t.npz")
    back = VectorTable.load(tmp_path / "t.npz", 8)
    np.testing.assert_array_equal(back.ids(), table.ids())
    np.testing.assert_array_equal(back.get(table.ids()), table.get(table.ids()))
    back.upsert(np.array([1]), rows[:1])  # a loaded table still grows
    assert len(back) == len(table) + 1


def test_nearest_rows_equal_brute_force_across_chunks(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(table_module, "_CHUNK", 64)  # the 300 rows come in five chunks
    rows = unit_rows(rng, 330, 8)
    table = VectorTable(8)
    table.upsert(np.arange(1_000, 1_330), rows)
    table.remove(np.arange(1_000, 1_030))  # freed slots are not scored
    queries = unit_rows(rng, 7, 8)
    scores = queries @ rows[30:].T
    expected = np.argsort(-scores, axis=1)[:, :12] + 1_030
    np.testing.assert_array_equal(table.nearest(queries, 12), expected)
    wide = table.nearest(queries[:1], 305)  # more than the table holds: -1 past its size
    assert sorted(wide[0, :300].tolist()) == list(range(1_030, 1_330))
    assert wide[0, 300:].tolist() == [-1] * 5
    assert VectorTable(8).nearest(queries, 3).tolist() == [[-1] * 3] * 7


@pytest.mark.parametrize("allowed_size", [1, 30, 300, 1500])
def test_allowed_set_scoring_equals_brute_force(
    rng: np.random.Generator, allowed_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    n, dim = 3000, 32
    vectors = clustered(rng, n, dim, 40)
    ids = rng.choice(10**9, n, replace=False).astype(np.int64)
    index = HnswIndex("m", dim, capacity=n, num_threads=1)
    index.add(ids, vectors)
    monkeypatch.setattr(index_module, "EXACT_FILTER_FACTOR", float("inf"))  # always exact
    allowed = rng.choice(ids, allowed_size, replace=False)
    inside = np.isin(ids, allowed)
    for query in unit_rows(rng, 10, dim):
        hits = index.search(query, 10, set(allowed.tolist()))
        expected = brute_force(ids[inside], vectors[inside], query, 10)
        assert [i for i, _ in hits] == expected
        exact = {int(i): float(s) for i, s in zip(ids, vectors @ query, strict=True)}
        assert all(abs(s - exact[i]) < 2e-3 for i, s in hits)


def test_a_saved_graph_keeps_its_table_and_an_old_file_rebuilds_it(
    rng: np.random.Generator, tmp_path: Path
) -> None:
    vectors = unit_rows(rng, 200, 16)
    index = HnswIndex("m", 16, capacity=200, num_threads=1)
    index.add(np.arange(200), vectors)
    index.remove([3])
    save_index(index, tmp_path, 1)
    loaded = load_index(tmp_path, "m", 16, 1)
    assert isinstance(loaded, HnswIndex) and 3 not in loaded.ids()
    np.testing.assert_allclose(loaded.vectors_for([7]), vectors[7:8], atol=1e-3)
    # A graph saved before tables existed reads its vectors back from the graph.
    graph_file = next(tmp_path.glob("*.index"))
    table_file = index_module.table_path(graph_file)
    table_file.unlink()
    old = HnswIndex.load(graph_file, "m", 16, deleted=[3])
    assert len(old) == 199
    np.testing.assert_allclose(old.vectors_for([7]), vectors[7:8], atol=1e-3)


def test_text_queries_search_with_a_wider_list(
    rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert text_ef(10_000) == 256 and text_ef(100_000) == 512 and text_ef(1_000_000) == 1619
    index = HnswIndex("m", 16, capacity=100, ef_search=20, num_threads=1)
    index.add(np.arange(100), unit_rows(rng, 100, 16))
    seen: list[int] = []
    graph = index.graph
    real = graph.knn_query

    class Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(graph, name)

        def knn_query(self, *args: object, **kwargs: object) -> object:
            seen.append(graph.ef)
            return real(*args, **kwargs)

    monkeypatch.setattr(index, "_graph", Spy())
    query = unit_rows(rng, 1, 16)[0]
    index.search(query, 5)
    index.search(query, 5, text=True)
    index.ef_text = 70
    index.search(query, 5, text=True)
    assert seen == [20, 256, 70] and graph.ef == 20  # restored after each text search
