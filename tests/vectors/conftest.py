"""Fixtures for the vectors layer: a seeded generator and one index factory per kind."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from photosense.vectors import ExactIndex, HnswIndex, VectorIndex

IndexFactory = Callable[[int], VectorIndex]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(params=["exact", "hnsw"])
def make_index(request: pytest.FixtureRequest) -> IndexFactory:
    """Builds an empty index of each kind; the HNSW one (ef >= n) is exhaustive on small data."""

    def make(dim: int) -> VectorIndex:
        if request.param == "exact":
            return ExactIndex("test-model", dim)
        return HnswIndex("test-model", dim, ef_search=512, capacity=16, num_threads=1)

    return make
