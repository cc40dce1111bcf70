"""Test data for the vectors layer: seeded unit vectors and a brute-force reference."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ids = npt.NDArray[np.int64]
Rows = npt.NDArray[np.float32]


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> Rows:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(rng: np.random.Generator, n: int, dim: int, clusters: int) -> Rows:
    """Embedding-like data: Gaussian blobs around random centres, normalised."""
    centres = unit_rows(rng, clusters, dim)
    x = centres[rng.integers(0, clusters, n)] + 0.35 * unit_rows(rng, n, dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def brute_force(ids: Ids, vectors: Rows, query: Rows, k: int) -> list[int]:
    """The ids of the k rows with the highest inner product with ``query``."""
    scores = vectors @ query
    return [int(ids[i]) for i in np.argsort(-scores, kind="stable")[:k]]
