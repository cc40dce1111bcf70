"""Vector rows say which generation wrote them, so an index catches up instead of rebuilding;
new vectors are stored as float16 and older float32 rows still read."""

from __future__ import annotations

import numpy as np
from sqlalchemy import update

from photosense.store.records import Batch
from photosense.store.repository import Store
from photosense.store.schema import Embedding
from photosense.store.vectors import decode_vector, encode_vector
from tests.store.conftest import DIM, MODEL, add_photos, vector


def test_float16_round_trip_keeps_cosines() -> None:
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((200, 512)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    back = np.stack([decode_vector(encode_vector(r), "f2", 512) for r in rows])
    assert back.dtype == np.float32
    assert len(encode_vector(rows[0])) == 2 * 512  # half of float32
    cosines = back @ rows.T
    assert np.abs(np.diag(cosines) - 1).max() < 1e-3
    assert np.abs(cosines - rows @ rows.T).max() < 1e-3
    assert (np.argsort(-cosines, axis=1)[:, 0] == np.arange(200)).all()


def test_rows_written_as_float32_still_load(store: Store) -> None:
    [a] = add_photos(store, "/photos", ["a.jpg"])
    old = np.ascontiguousarray(vector(7), "<f4").tobytes()
    with store.vectors._session() as session:
        session.execute(update(Embedding).values(dtype="f4", vector=old))
    np.testing.assert_array_equal(store.vectors.load(MODEL)[1][0], vector(7))


def test_changes_since_a_generation_are_the_rows_written_after_it(store: Store) -> None:
    a, b, c = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg"])  # generation 1
    folder = store.folders.all()[0]
    assert store.vectors.changes(MODEL, since=1)[0].tolist() == []
    assert store.vectors.changes(MODEL, since=0)[0].tolist() == [a, b, c]
    batch = Batch(folder.id)
    batch.embedded = [(b, vector(9))]
    assert store.vectors.commit_batch(MODEL, batch).generation == 2
    ids, vectors = store.vectors.changes(MODEL, since=1)
    assert ids.tolist() == [b]
    np.testing.assert_allclose(vectors[0], vector(9), atol=1e-3)
    removal = Batch(folder.id)
    removal.removed = [c]
    store.vectors.commit_batch(MODEL, removal)  # a deletion writes no row: the ids tell it
    assert store.vectors.changes(MODEL, since=2)[0].tolist() == []
    assert store.vectors.ids(MODEL).tolist() == [a, b]
    assert store.vectors.ids("unknown").tolist() == []
    assert store.vectors.changes("unknown", since=0)[0].shape == (0,)
    assert store.vectors.changes(MODEL, since=None)[1].shape[1] == DIM
