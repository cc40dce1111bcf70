"""Fixtures for the store's own tests: a fresh in-memory library, and photos written the way
the indexer writes them (``commit_batch``) with vectors a test can tell apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pytest

from photosense.store.records import Batch, PhotoFields
from photosense.store.repository import Store

MODEL = "test-model"
DIM = 4


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh, migrated in-memory library (sqlite-utils' ``fresh_db``)."""
    with Store.in_memory() as fresh:
        yield fresh


def vector(seed: int, dim: int = DIM) -> npt.NDArray[np.float32]:
    """A unit vector that differs for every seed."""
    values = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return values / np.linalg.norm(values)


def fields(path: str, *, taken: datetime | None = None, size: int = 100) -> PhotoFields:
    """A photo file as the scanner reads it; its content hash follows its path."""
    return PhotoFields(
        path=path,
        size=size,
        mtime_ns=1_700_000_000_000_000_000,
        content_hash=f"h:{path}",
        taken_at=taken,
    )


def add_photos(
    store: Store,
    folder: str,
    names: list[str],
    *,
    taken: list[datetime | None] | None = None,
    model: str = MODEL,
) -> list[int]:
    """Register ``folder`` and ``model`` and index ``names`` inside it; returns their ids."""
    store.vectors.ensure_model(model, DIM)
    record = store.folders.add(folder)
    dates = taken or [datetime(2024, 1, i + 1) for i in range(len(names))]
    batch = Batch(record.id)
    batch.new = [
        (fields(f"{folder}/{name}", taken=when), vector(i))
        for i, (name, when) in enumerate(zip(names, dates, strict=True))
    ]
    result = store.vectors.commit_batch(model, batch)
    return [photo_id for photo_id, _ in result.upserted]
