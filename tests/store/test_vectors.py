"""Models and vectors: dimensions are checked, generations tell indexes they are stale."""

from __future__ import annotations

import numpy as np
import pytest

from photosense.errors import ModelMismatchError
from photosense.store.records import Batch
from photosense.store.repository import Store
from tests.store.conftest import DIM, MODEL, add_photos, fields, vector


def test_a_model_keeps_its_dimension(store: Store) -> None:
    store.vectors.ensure_model(MODEL, DIM)
    store.vectors.ensure_model(MODEL, DIM)  # idempotent
    assert store.vectors.dim(MODEL) == DIM
    with pytest.raises(ModelMismatchError, match="made 4-d vectors"):
        store.vectors.ensure_model(MODEL, 8)
    assert store.vectors.dim("unknown") is None
    assert store.vectors.generation("unknown") == -1


def test_a_vector_of_the_wrong_size_writes_nothing(store: Store) -> None:
    add_photos(store, "/photos", ["a.jpg"])
    folder = store.folders.all()[0]
    batch = Batch(folder.id)
    batch.new = [(fields("/photos/b.jpg"), vector(1)), (fields("/photos/c.jpg"), vector(2, 8))]
    with pytest.raises(ModelMismatchError, match="expected \\(4,\\)"):
        store.vectors.commit_batch(MODEL, batch)
    assert store.photos.by_path("/photos/b.jpg") is None  # the whole batch rolled back
    assert store.photos.counts() == (1, 0)


def test_a_batch_for_an_unregistered_model_is_refused(store: Store) -> None:
    folder = store.folders.add("/photos")
    batch = Batch(folder.id)
    batch.new = [(fields("/photos/a.jpg"), vector(1))]
    with pytest.raises(ModelMismatchError, match="not registered"):
        store.vectors.commit_batch("nobody", batch)
    assert store.photos.counts() == (0, 0)


def test_generations_move_with_what_changed(store: Store) -> None:
    store.vectors.ensure_model("other", DIM)
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    assert (store.vectors.generation(MODEL), store.vectors.generation("other")) == (1, 0)
    folder = store.folders.all()[0]
    # New vectors outdate only their own model's index.
    embedded = Batch(folder.id)
    embedded.embedded = [(a, vector(5))]
    result = store.vectors.commit_batch("other", embedded)
    assert result.generation == 1
    assert (store.vectors.generation(MODEL), store.vectors.generation("other")) == (1, 1)
    # A deletion outdates every model's index.
    removal = Batch(folder.id)
    removal.removed = [b]
    result = store.vectors.commit_batch(MODEL, removal)
    assert result.removed == [b] and result.generation == 2
    assert (store.vectors.generation(MODEL), store.vectors.generation("other")) == (2, 2)
    # A batch that changes nothing leaves them as they are.
    assert store.vectors.commit_batch(MODEL, Batch(folder.id)).generation == 2


def test_load_returns_every_vector_by_photo_id(store: Store) -> None:
    ids = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg"])
    loaded_ids, vectors = store.vectors.load(MODEL)
    assert loaded_ids.tolist() == sorted(ids)
    assert vectors.dtype == np.float32 and vectors.shape == (3, DIM)
    for row, seed in zip(vectors, range(3), strict=True):
        np.testing.assert_allclose(row, vector(seed), atol=1e-3)  # stored as float16
    empty_ids, empty = store.vectors.load("unknown")
    assert empty_ids.shape == (0,) and empty.shape == (0, 0)
    assert store.vectors.models() == [(MODEL, DIM, 1, 3)]


def test_new_content_drops_the_other_models_vectors(store: Store) -> None:
    [a] = add_photos(store, "/photos", ["a.jpg"])
    store.vectors.ensure_model("other", DIM)
    folder = store.folders.all()[0]
    other = Batch(folder.id)
    other.embedded = [(a, vector(3))]
    store.vectors.commit_batch("other", other)
    assert store.vectors.load("other")[0].tolist() == [a]
    changed = Batch(folder.id)
    changed.changed = [(a, fields("/photos/a.jpg", size=1), vector(4))]
    store.vectors.commit_batch(MODEL, changed)
    assert store.vectors.load("other")[0].tolist() == []
    np.testing.assert_allclose(store.vectors.load(MODEL)[1][0], vector(4), atol=1e-3)


def test_missing_and_hashes_follow_each_model(store: Store) -> None:
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    folder = store.folders.all()[0]
    store.vectors.ensure_model("other", DIM)
    assert store.vectors.missing(folder.id, MODEL) == []
    assert sorted(store.vectors.missing(folder.id, "other")) == [
        (a, "/photos/a.jpg"),
        (b, "/photos/b.jpg"),
    ]
    assert store.vectors.hashes(MODEL) == {"h:/photos/a.jpg": a, "h:/photos/b.jpg": b}
    assert store.vectors.hashes("other") == {}


def test_delete_model_forgets_its_vectors_only(store: Store) -> None:
    add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    assert store.vectors.delete_model(MODEL) == 2
    assert store.vectors.dim(MODEL) is None
    assert store.vectors.models() == []
    assert store.photos.counts() == (2, 0)
