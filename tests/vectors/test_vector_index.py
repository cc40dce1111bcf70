"""Behaviour of ExactIndex and HnswIndex through the VectorIndex protocol."""

from __future__ import annotations

import numpy as np
import pytest

import photosense.vectors.index as index_module
from photosense.vectors import ExactIndex, HnswIndex, VectorIndex
from tests.vectors.conftest import IndexFactory
from tests.vectors.vecdata import Ids, Rows, brute_force, clustered, unit_rows

F16 = 1e-3
"""HNSW indexes keep their vectors for exact scoring as float16: unit vectors round by < 1e-3."""


def filled(
    make_index: IndexFactory, rng: np.random.Generator, n: int = 300, dim: int = 16
) -> tuple[VectorIndex, Ids, Rows]:
    """An index of ``n`` random unit vectors under scattered ids, with its ids and vectors."""
    index = make_index(dim)
    ids = rng.choice(10 * n, n, replace=False).astype(np.int64)
    vectors = unit_rows(rng, n, dim)
    index.add(ids, vectors)
    return index, ids, vectors


def test_both_kinds_satisfy_the_protocol() -> None:
    assert isinstance(ExactIndex("m", 4), VectorIndex)
    assert isinstance(HnswIndex("m", 4), VectorIndex)


def test_search_finds_the_exact_nearest_with_cosine_scores(
    make_index: IndexFactory, rng: np.random.Generator
) -> None:
    index, ids, vectors = filled(make_index, rng)
    assert len(index) == len(ids)
    for query in unit_rows(rng, 10, 16):
        hits = index.search(query, 7)
        assert [i for i, _ in hits] == brute_force(ids, vectors, query, 7)
        for photo_id, score in hits:
            row = vectors[list(ids).index(photo_id)]
            assert score == pytest.approx(float(row @ query), abs=1e-5)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_a_stored_vector_is_its_own_best_match(
    make_index: IndexFactory, rng: np.random.Generator
) -> None:
    index, ids, vectors = filled(make_index, rng)
    [(best, score)] = index.search(vectors[42], 1)
    assert best == ids[42]
    assert score == pytest.approx(1.0, abs=1e-5)


def test_add_replaces_an_existing_id(make_index: IndexFactory, rng: np.random.Generator) -> None:
    index, ids, vectors = filled(make_index, rng)
    replacement = unit_rows(rng, 1, 16)
    index.add(ids[:1], replacement)
    assert len(index) == len(ids)
    np.testing.assert_allclose(index.vectors_for([int(ids[0])]), replacement, atol=F16)
    assert index.search(replacement[0], 1)[0][0] == ids[0]


def test_a_repeated_id_in_one_batch_keeps_its_last_vector(make_index: IndexFactory) -> None:
    index = make_index(3)
    first, last = np.eye(3, dtype=np.float32)[:2]
    index.add(np.array([7, 7]), np.stack([first, last]))
    assert len(index) == 1
    np.testing.assert_array_equal(index.vectors_for([7])[0], last)


def test_remove_hides_ids_and_ignores_unknown_ones(
    make_index: IndexFactory, rng: np.random.Generator
) -> None:
    index, ids, vectors = filled(make_index, rng)
    gone = {int(i) for i in ids[:50]}
    index.remove([*gone, 999_999, int(ids[0])])
    assert len(index) == len(ids) - 50
    assert set(index.ids().tolist()) == {int(i) for i in ids[50:]}
    for query in vectors[:50]:
        found = [i for i, _ in index.search(query, 10)]
        assert not gone & set(found)
        assert found == brute_force(ids[50:], vectors[50:], query, 10)
    with pytest.raises(KeyError):
        index.vectors_for([int(ids[0])])


def test_a_removed_id_can_come_back(make_index: IndexFactory, rng: np.random.Generator) -> None:
    index, ids, vectors = filled(make_index, rng)
    index.remove([int(ids[3])])
    fresh = unit_rows(rng, 1, 16)
    index.add(ids[3:4], fresh)
    assert len(index) == len(ids)
    np.testing.assert_allclose(index.vectors_for([int(ids[3])]), fresh, atol=F16)
    assert index.search(fresh[0], 1)[0][0] == ids[3]


@pytest.mark.parametrize("path", ["exact", "graph"])
def test_allowed_restricts_results_to_those_ids(
    make_index: IndexFactory,
    rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """Both HNSW strategies for ``allowed``: exact scoring of a small set, filtered graph walk."""
    monkeypatch.setattr(index_module, "EXACT_FILTER_FACTOR", 1e9 if path == "exact" else 0.0)
    index, ids, vectors = filled(make_index, rng)
    for size in (5, 40, 200):
        chosen = rng.choice(len(ids), size, replace=False)
        allowed = {int(i) for i in ids[chosen]} | {123_456_789}  # plus an id with no vector
        for query in unit_rows(rng, 5, 16):
            found = [i for i, _ in index.search(query, 10, allowed)]
            assert set(found) <= allowed
            assert found == brute_force(ids[chosen], vectors[chosen], query, 10)


@pytest.mark.parametrize("path", ["exact", "graph"])
def test_allowed_with_fewer_matches_than_k(
    make_index: IndexFactory,
    rng: np.random.Generator,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    monkeypatch.setattr(index_module, "EXACT_FILTER_FACTOR", 1e9 if path == "exact" else 0.0)
    index, ids, _ = filled(make_index, rng)
    allowed = [int(ids[5]), int(ids[9]), *range(10**8, 10**8 + 50)]
    found = index.search(unit_rows(rng, 1, 16)[0], 10, allowed)
    assert sorted(i for i, _ in found) == sorted(allowed[:2])
    assert index.search(unit_rows(rng, 1, 16)[0], 10, []) == []


def test_k_larger_than_the_index_returns_everything(
    make_index: IndexFactory, rng: np.random.Generator
) -> None:
    index, ids, vectors = filled(make_index, rng, n=12)
    query = unit_rows(rng, 1, 16)[0]
    assert [i for i, _ in index.search(query, 50)] == brute_force(ids, vectors, query, 12)


def test_an_empty_index_finds_nothing(make_index: IndexFactory, rng: np.random.Generator) -> None:
    index = make_index(16)
    query = unit_rows(rng, 1, 16)[0]
    assert len(index) == 0
    assert index.search(query, 5) == []
    assert index.search(query, 5, {1, 2}) == []
    assert index.ids().tolist() == []
    index.add(np.array([1]), unit_rows(rng, 1, 16))
    assert index.search(query, 0) == []
    assert index.search(query, 0, {1}) == []


def test_vectors_for_keeps_order_and_rejects_unknown_ids(
    make_index: IndexFactory, rng: np.random.Generator
) -> None:
    index, ids, vectors = filled(make_index, rng)
    np.testing.assert_allclose(
        index.vectors_for([int(ids[9]), int(ids[2])]), vectors[[9, 2]], atol=F16
    )
    assert index.vectors_for([]).shape == (0, 16)
    with pytest.raises(KeyError):
        index.vectors_for([int(ids[0]), 10**12])


def test_malformed_input_is_rejected(make_index: IndexFactory, rng: np.random.Generator) -> None:
    index, _, _ = filled(make_index, rng)
    with pytest.raises(ValueError):
        index.search(np.zeros(15, np.float32), 3)
    with pytest.raises(ValueError):
        index.add(np.array([1, 2]), unit_rows(rng, 3, 16))
    with pytest.raises(ValueError):
        index.add(np.array([-1]), unit_rows(rng, 1, 16))


def test_hnsw_capacity_grows_past_its_initial_size(rng: np.random.Generator) -> None:
    index = HnswIndex("m", 8, capacity=10, num_threads=1)
    vectors = unit_rows(rng, 95, 8)
    for start in range(0, 95, 19):
        index.add(np.arange(start, start + 19), vectors[start : start + 19])
    assert len(index) == 95
    assert index.capacity >= 95
    assert index.search(vectors[90], 1)[0][0] == 90


def test_hnsw_reuses_the_slots_of_removed_ids(rng: np.random.Generator) -> None:
    index = HnswIndex("m", 8, capacity=40, num_threads=1)
    vectors = unit_rows(rng, 80, 8)
    index.add(np.arange(40), vectors[:40])
    index.remove(range(20))
    index.add(np.arange(40, 60), vectors[40:60])
    assert index.capacity == 40  # the 20 tombstones took the new ids
    assert len(index) == 40
    assert set(index.ids().tolist()) == set(range(20, 60))
    assert index.deleted_ids().tolist() == []
    for i in (25, 45, 59):
        assert index.search(vectors[i], 1)[0][0] == i


def test_hnsw_recall_against_exact_search(rng: np.random.Generator) -> None:
    """Default parameters on embedding-like data: recall@10 >= 0.95 (behaviour, not timing)."""
    n, dim = 5000, 64
    data = clustered(rng, n + 100, dim, clusters=50)
    vectors, queries = data[:n], data[n:]  # queries: held out, same distribution
    ids = np.arange(1, n + 1, dtype=np.int64)
    exact, approx = ExactIndex("m", dim, ids, vectors), HnswIndex("m", dim, capacity=n)
    approx.add(ids, vectors)
    overlap = [
        len({i for i, _ in approx.search(q, 10)} & {i for i, _ in exact.search(q, 10)})
        for q in queries
    ]
    assert np.mean(overlap) / 10 >= 0.95
