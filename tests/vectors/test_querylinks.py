"""Query links: photos near the same training text query are linked in the graph's level 0."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hnswlib
import numpy as np
import pytest

import photosense.vectors.cache as cache_module
import photosense.vectors.querylinks as querylinks_module
import photosense.vectors.store as store_module
from photosense.vectors import DEFAULT_M, HnswIndex, text_ef
from photosense.vectors.cache import SearchIndexes
from photosense.vectors.querylinks import (
    calibrated_ef,
    link_file,
    recall_bound,
    relink,
    split_words,
    training_queries,
)
from photosense.vectors.store import load_index, meta_path, record_text_ef, save_index
from tests.vectors.test_catch_up import (  # noqa: F401 - the fixture is used by name
    DIM,
    FakeSource,
    small_graphs,
)
from tests.vectors.vecdata import clustered, unit_rows


@pytest.fixture(autouse=True)
def small_vocabulary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Query links from 10 text vectors on, so that these tests make a few."""
    monkeypatch.setattr(cache_module, "MIN_WORDS", 10)


def written(rng: np.random.Generator, n: int, clusters: int) -> tuple[FakeSource, np.ndarray]:
    """A store holding ``n`` clustered photo vectors of model "m", ids from 1."""
    source = FakeSource()
    photos = clustered(rng, n, DIM, clusters=clusters)
    source.write("m", np.arange(1, n + 1), photos)
    return source, photos


def lists_of(rows: list[list[int]], width: int, flags: int = 0) -> np.ndarray:
    """hnswlib's level-0 link lists: a header (length, flags above bit 16), then the links."""
    out = np.zeros((len(rows), width + 1), np.uint32)
    for i, row in enumerate(rows):
        out[i, 0] = len(row) | flags
        out[i, 1 : 1 + len(row)] = row
    return out


def links(lists: np.ndarray, node: int) -> list[int]:
    return lists[node, 1 : 1 + (lists[node, 0] & 0xFFFF)].tolist()


def test_relink_keeps_the_first_links_and_fills_the_rest_with_the_most_frequent_query_links() -> (
    None
):
    lists = lists_of([[1, 2, 3, 4], [0, 2], [0], [0], [0], [0]], width=4, flags=1 << 16)
    top = np.array(
        [
            [0, 5, 1],  # 0 -> 5, 1; 5 and 1 -> 0
            [0, 5, 4],  # 0 -> 5 again, 4
            [2, 3, 0],  # 2 -> 3, 0; 3 and 0 -> 2
            [1, 1, -1],  # a repeated or missing photo links nothing
        ]
    )
    placed = relink(lists, top, keep=2)
    # 0 keeps 1, 2; its query links by count: 5 (twice), then 1, 2 (its own already), 4.
    assert links(lists, 0) == [1, 2, 5, 4]
    assert links(lists, 2) == [0, 3]  # room for query links; 0 was its own link already
    assert links(lists, 5) == [0]  # its query link to 0 was its own already
    assert links(lists, 3) == [0, 2]
    assert links(lists, 1) == [0, 2]  # its query link to 0 was its own already
    assert all(len(set(links(lists, n))) == len(links(lists, n)) for n in range(6))
    assert all(lists[:, 0] >> 16 == 1)  # hnswlib's flags (a deletion mark) are kept
    assert placed == 2 + 1 + 1  # 0: 5, 4; 2: 3; 3: 2


def test_training_queries_are_the_words_then_unit_sums_of_pairs(rng: np.random.Generator) -> None:
    words = unit_rows(rng, 50, DIM)
    queries = training_queries(words, 400, seed=3)
    assert queries.shape == (400, DIM)
    np.testing.assert_array_equal(queries[:50], words)
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 1.0, rtol=1e-5)
    # each made query is the normalised sum of two of the words
    sums = words[:, None, :] + words[None, :, :]
    sums /= np.linalg.norm(sums, axis=2, keepdims=True) + 1e-12
    nearest = np.max(np.einsum("qd,abd->qab", queries[50:60], sums).reshape(10, -1), axis=1)
    np.testing.assert_allclose(nearest, 1.0, rtol=1e-5)
    np.testing.assert_array_equal(training_queries(words, 20), words[:20])


def text_like(rng: np.random.Generator, photos: np.ndarray, n: int) -> np.ndarray:
    """Queries across a modality gap from the photos: a third of a photo's direction, a fixed
    offset and noise (as benchmarks/bench_search.py makes its text-like queries)."""
    gap = unit_rows(np.random.default_rng(99), 1, photos.shape[1])[0]
    near = photos[rng.integers(0, len(photos), n)]
    x = 0.37 * near + 0.75 * gap + 0.55 * unit_rows(rng, n, photos.shape[1])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall(graph: hnswlib.Index, photos: np.ndarray, queries: np.ndarray, ef: int) -> float:
    graph.set_ef(ef)
    found, _ = graph.knn_query(queries, k=10, num_threads=1)
    truth = np.argsort(-(queries @ photos.T), axis=1)[:, :10]
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


def test_query_links_find_more_of_a_text_querys_neighbours_at_the_same_ef(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    photos = clustered(rng, 6_000, 48, clusters=60)
    index = HnswIndex("m", 48, capacity=len(photos), num_threads=1)
    index.add(np.arange(len(photos)), photos)
    path = tmp_path / "graph.bin"
    index.save(path)
    words = text_like(rng, photos, 300)
    top = index.nearest_labels(training_queries(words, 3_000, seed=1), 16, ef=64)
    assert link_file(path, top) > 1_000
    linked = hnswlib.Index(space="ip", dim=48)
    linked.load_index(str(path))
    plain = index.graph
    assert isinstance(plain, hnswlib.Index)

    tests = text_like(np.random.default_rng(7), photos, 300)  # unseen queries
    before, after = recall(plain, photos, tests, 12), recall(linked, photos, tests, 12)
    assert after > before + 0.03, (before, after)
    # photo queries and every photo's vector and label are as they were
    assert sorted(linked.get_ids_list()) == list(range(len(photos)))
    np.testing.assert_allclose(linked.get_items([5, 4_000]), photos[[5, 4_000]], rtol=1e-6)
    photo_queries = photos[:200]
    assert (
        recall(linked, photos, photo_queries, 64) >= recall(plain, photos, photo_queries, 64) - 0.01
    )


def test_a_graph_built_with_the_models_words_is_saved_and_loaded_with_query_links(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    source, photos = written(rng, 400, clusters=8)
    words = {"m": text_like(rng, photos, 40)}
    folder = tmp_path / "index"
    indexes = SearchIndexes(source, folder, background=False, words=words.get)
    index = indexes.get("m")
    assert isinstance(index, HnswIndex) and index.linked_size == 400 and index.linked
    assert json.loads(meta_path(folder, "m").read_text())["linked_size"] == 400
    query = words["m"][0]
    truth = np.argsort(-(photos @ query))[:5] + 1
    assert [i for i, _ in index.search(query, 5, text=True)] == truth.tolist()
    indexes.close()

    again = load_index(folder, "m", DIM, source.generation("m"))
    assert isinstance(again, HnswIndex) and again.linked
    again.add(np.arange(1_000, 1_100), unit_rows(rng, 100, DIM))  # grown past the links
    assert not again.linked
    assert text_ef(10**6, linked=True) < text_ef(10**6)


@pytest.mark.parametrize(
    "words", [None, "few", "other dimension"], ids=["no words", "too few", "another model's"]
)
def test_without_usable_words_the_graph_is_plain(
    tmp_path: Path, rng: np.random.Generator, words: str | None
) -> None:
    source, _ = written(rng, 200, clusters=200)
    made = {
        None: None,
        "few": unit_rows(rng, 5, DIM),
        "other dimension": unit_rows(rng, 50, DIM + 1),
    }[words]
    indexes = SearchIndexes(source, tmp_path / "index", background=False, words=lambda _: made)
    index = indexes.get("m")
    assert isinstance(index, HnswIndex) and index.linked_size == 0 and not index.linked
    indexes.close()


def test_a_background_rebuild_places_query_links_and_serves_the_linked_graph(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    source, photos = written(rng, 300, clusters=6)
    words = text_like(rng, photos, 30)
    indexes = SearchIndexes(source, tmp_path / "index", served=True, words=lambda _: words)
    try:
        indexes.get("m")  # exact meanwhile
        assert indexes.wait("m", timeout=60)
        index = indexes.get("m")
        assert isinstance(index, HnswIndex) and index.linked and index.served
        query = words[3]
        truth = (np.argsort(-(photos @ query))[:10] + 1).tolist()
        assert [i for i, _ in index.search(query, 10, text=True)] == truth
    finally:
        indexes.close()


def test_links_that_cannot_be_placed_leave_the_graph_saved_plain(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> int:
        raise ValueError("an hnswlib file of another layout")

    monkeypatch.setattr(store_module, "link_file", broken)
    source, photos = written(rng, 200, clusters=200)
    folder = tmp_path / "index"
    indexes = SearchIndexes(source, folder, background=False, words=lambda _: photos[:20])
    index = indexes.get("m")
    assert isinstance(index, HnswIndex) and not index.linked
    indexes.close()
    again = load_index(folder, "m", DIM, source.generation("m"))
    assert isinstance(again, HnswIndex) and not again.linked and len(again) == 200
    assert [i for i, _ in again.search(photos[7], 1)] == [8]


def test_link_steps_link_a_graph_that_grew_photo_by_photo(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "LINK_CHUNK", 25)
    source = FakeSource()
    photos = clustered(rng, 300, DIM, clusters=6)
    words = text_like(rng, photos, 30)
    indexes = SearchIndexes(source, tmp_path / "index", words=lambda _: words)
    assert list(indexes.link_steps("m")) == []  # nothing loaded
    source.write("m", np.arange(1, 31), photos[:30])
    indexes.get("m")  # exact
    for start in range(30, 300, 30):  # as an indexing run mirrors its batches
        ids = np.arange(start + 1, start + 31)
        source.write("m", ids, photos[start : start + 30])
        indexes.apply(
            "m",
            list(zip(ids.tolist(), photos[start : start + 30], strict=True)),
            [],
            source.generation("m"),
        )
    grown = indexes.get("m")
    assert isinstance(grown, HnswIndex) and not grown.linked  # upgraded from exact, no links

    cancelled = list(indexes.link_steps("m", cancelled=lambda: True))
    assert cancelled == [] and indexes.get("m") is grown
    steps = list(indexes.link_steps("m"))
    total = cache_module.queries_for(300)
    assert steps[-1] == (total, total) and len(steps) == -(-total // 25)
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)
    linked = indexes.get("m")
    assert isinstance(linked, HnswIndex) and linked is not grown and linked.linked
    assert indexes.state("m") == "current"
    assert list(indexes.link_steps("m")) == []  # linked already: not due
    query = words[0]
    truth = (np.argsort(-(photos @ query))[:10] + 1).tolist()
    assert [i for i, _ in linked.search(query, 10, text=True)] == truth
    indexes.close()


def test_an_indexing_run_links_the_graph_from_the_tag_vocabulary(tmp_path: Path) -> None:
    from photosense.library import Library
    from photosense.models.fake import FakeEncoder
    from photosense.progress import run_to_end
    from photosense.store.repository import Store
    from tests.faults.harness import make_photos

    make_photos(tmp_path / "photos", 60, seed=5)
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: FakeEncoder()) as library:
        messages = [p.message for p in library.folders.index([tmp_path / "photos"])]
        model = library.runtime.answering_model_id
        index = library.runtime.indexes.get(model)
        assert isinstance(index, HnswIndex) and index.linked_size == 60
        assert "linking photos for text search" in messages
        # the fake model's photos tie in score; whichever of them a walk finds counts alike
        assert index.calibrated_ef == querylinks_module.EF_STEPS[0]
        meta = meta_path(directory / "index", model)
        written = meta.stat().st_mtime_ns
        run_to_end(library.folders.index([tmp_path / "photos"]))  # nothing new: not again
        assert meta.stat().st_mtime_ns == written
        assert json.loads(meta.read_text())["linked_size"] == 60


@pytest.mark.parametrize("served", [False, True], ids=["here", "served"])
def test_a_graph_saved_with_the_older_degree_is_rebuilt_to_be_linked(
    tmp_path: Path, rng: np.random.Generator, served: bool
) -> None:
    """Linked text queries walk a narrower list, measured on M 32 graphs: an M 16 graph saved
    before is rebuilt in the background (searches go on), and linked as it is built."""
    source, photos = written(rng, 200, clusters=5)
    old = HnswIndex("m", DIM, M=16, capacity=200, num_threads=1)
    old.add(np.arange(1, 201), photos)
    folder = tmp_path / "index"
    save_index(old, folder, source.generation("m"))
    words = text_like(rng, photos, 30)
    indexes = SearchIndexes(source, folder, served=served, words=lambda _: words)
    try:
        index = indexes.get("m")
        assert isinstance(index, HnswIndex) and index.degree == 16 and index.served == served
        assert list(indexes.link_steps("m")) == [] and not index.linked
        query = words[2]
        truth = (np.argsort(-(photos @ query))[:10] + 1).tolist()
        assert [i for i, _ in indexes.get("m").search(query, 10, text=True)] == truth
        assert indexes.wait("m", timeout=60)
        rebuilt = indexes.get("m")
        assert isinstance(rebuilt, HnswIndex) and rebuilt.degree == DEFAULT_M and rebuilt.linked
        assert [i for i, _ in rebuilt.search(query, 10, text=True)] == truth
    finally:
        indexes.close()


def test_a_library_that_is_not_auto_tagged_embeds_its_vocabulary_for_the_links(
    tmp_path: Path,
) -> None:
    from photosense.library import Library
    from photosense.library.runtime import AUTO_TAG_KEY
    from photosense.models.fake import FakeEncoder
    from photosense.store.repository import Store
    from tests.faults.harness import make_photos

    make_photos(tmp_path / "photos", 60, seed=6)
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: FakeEncoder()) as library:
        library.runtime.store.settings.set(AUTO_TAG_KEY, False)
        messages = [p.message for p in library.folders.index([tmp_path / "photos"])]
        model = library.runtime.answering_model_id
        index = library.runtime.indexes.get(model)
        assert isinstance(index, HnswIndex) and index.linked
        assert messages.index("preparing tags") < messages.index("linking photos for text search")
        assert not library.runtime.store.tags.counted_photos(model_id=model, base_cutoff=0.0)


def test_a_helper_lost_while_linking_ends_the_step_and_the_graph_is_linked_next_time(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "LINK_CHUNK", 25)
    source, photos = written(rng, 300, clusters=6)
    folder = tmp_path / "index"
    plain = HnswIndex("m", DIM, capacity=300, num_threads=1)
    plain.add(np.arange(1, 301), photos)
    save_index(plain, folder, source.generation("m"))  # saved plain, as a grown graph is
    words = text_like(rng, photos, 30)
    indexes = SearchIndexes(source, folder, served=True, words=lambda _: words)
    try:
        index = indexes.get("m")
        assert isinstance(index, HnswIndex) and index.served and not index.linked
        steps = indexes.link_steps("m")
        next(steps)
        os.kill(index.graph.pid or 0, 9)  # type: ignore[union-attr]
        assert list(steps) == []  # the step ends; nothing raised into the indexing run
        again = indexes.get("m")  # loaded from its file again
        assert isinstance(again, HnswIndex) and again is not index and not again.linked
        assert list(indexes.link_steps("m"))
        linked = indexes.get("m")
        assert isinstance(linked, HnswIndex) and linked.linked and linked.served
    finally:
        indexes.close()


def test_every_tenth_word_is_held_out_of_the_training_queries(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = unit_rows(rng, 95, DIM)
    train, held = split_words(words)
    np.testing.assert_array_equal(held, words[::10])
    assert len(train) == 85 and not (train[:, None, :] == held[None, :, :]).all(axis=2).any()

    made_from: list[np.ndarray] = []

    def spy(words: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
        made_from.append(words)
        return training_queries(words, n, seed)

    monkeypatch.setattr(cache_module, "training_queries", spy)
    source, photos = written(rng, 300, clusters=6)
    words = text_like(rng, photos, 40)
    indexes = SearchIndexes(source, tmp_path / "index", background=False, words=lambda _: words)
    assert isinstance(indexes.get("m"), HnswIndex)
    indexes.close()
    np.testing.assert_array_equal(made_from[0], split_words(words)[0])


def test_the_recall_bound_is_the_mean_less_standard_errors() -> None:
    kth = np.array([0.5, 0.4, 0.3, 0.2])  # each query's 4th best exact score
    found = np.array(
        [
            [0.9, 0.8, 0.6, 0.5],  # its top 4
            [0.9, 0.8, 0.7, 0.39],  # 3 of them, and the 5th
            [0.3, 0.3, 0.3, 0.3],  # photos that tie (copies): all count
            [0.2 - 5e-5, 0.1, 0.0, -1.0],  # within the tolerance, then misses
        ]
    )
    recalls = np.array([1.0, 0.75, 1.0, 0.25])
    error = recalls.std(ddof=1) / 2
    assert recall_bound(found, kth) == pytest.approx(recalls.mean() - 2 * error)
    assert recall_bound(found, kth, confidence=0) == pytest.approx(0.75)
    assert recall_bound(found[:1], kth[:1]) == 1.0  # one query: its recall
    assert recall_bound(found[:0], kth[:0]) == 1.0  # nothing to find


def test_the_calibrated_ef_is_the_narrowest_step_whose_recall_bound_reaches_the_target() -> None:
    kth = np.full(40, 0.5)

    def walk(ef: int) -> np.ndarray:
        """At ef 50 every query finds 9 of its 10; at 100, half find all and half 9 (a higher
        mean, but spread); at 200 all but one find all."""
        found = np.ones((40, 10))
        if ef < 200:
            found[: 40 if ef < 100 else 20, 0] = 0.1
        else:
            found[0, 0] = 0.1
        return found

    steps = (50, 100, 200, 400)
    assert calibrated_ef(walk, kth, steps, target=0.9) == 50  # 0.9 exactly, no spread
    # 0.95 on average at 100, but the spread leaves its bound at 0.934
    assert calibrated_ef(walk, kth, steps, target=0.94) == 200
    assert calibrated_ef(walk, kth, steps[:2], target=0.999) == 100  # none: the widest


def held_out_scores(path: Path, photos: np.ndarray, held: np.ndarray, ef: int) -> np.ndarray:
    """The exact scores of the photos a walk of the graph file finds for each held-out word."""
    graph = hnswlib.Index(space="ip", dim=DIM)
    graph.load_index(str(path))
    graph.set_ef(ef)
    found, _ = graph.knn_query(held, k=10, num_threads=1)
    return np.einsum("qd,qkd->qk", held, photos[np.asarray(found, np.int64) - 1])


@pytest.mark.parametrize("served", [False, True], ids=["here", "served"])
def test_a_linked_graph_searches_text_with_the_ef_calibrated_on_held_out_words(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch, served: bool
) -> None:
    steps = (10, 12, 16, 24, 32, 48, 64, 128)  # hnswlib walks at least k (10) wide
    monkeypatch.setattr(querylinks_module, "EF_STEPS", steps)
    monkeypatch.setattr(cache_module, "MIN_HELD_OUT", 5)
    source, photos = written(rng, 5_000, clusters=1_000)
    words = text_like(rng, photos, 200)
    folder = tmp_path / "index"
    indexes = SearchIndexes(source, folder, background=False, served=served, words=lambda _: words)
    index = indexes.get("m")
    assert isinstance(index, HnswIndex) and index.linked
    ef = index.calibrated_ef
    assert ef in steps[1:] and index.text_search_ef == ef
    assert json.loads(meta_path(folder, "m").read_text())["text_ef"] == ef
    # the narrowest step at which the graph's walk finds 0.98 of the held-out words' top 10
    held = split_words(words)[1]
    np.testing.assert_array_equal(
        index.exact_labels(held, 10), np.argsort(-(held @ photos.T), axis=1)[:, :10] + 1
    )
    kth = np.sort(held @ photos.T, axis=1)[:, -10]
    path = store_module.index_path(folder, "m")
    narrower = steps[steps.index(ef) - 1]
    target = querylinks_module.TEXT_RECALL
    assert recall_bound(held_out_scores(path, photos, held, ef), kth) >= target
    assert recall_bound(held_out_scores(path, photos, held, narrower), kth) < target
    indexes.close()

    again = load_index(folder, "m", DIM, source.generation("m"))
    assert isinstance(again, HnswIndex) and again.calibrated_ef == ef
    again.add(np.arange(10_001, 10_401), unit_rows(rng, 400, DIM))  # grown by 8%
    assert again.text_search_ef == round(ef * np.sqrt(5_400 / 5_000))
    save_index(again, folder, source.generation("m"))  # a later save keeps the calibration
    assert json.loads(meta_path(folder, "m").read_text())["text_ef"] == ef
    again.add(np.arange(20_001, 20_201), unit_rows(rng, 200, DIM))  # past the links
    assert again.text_search_ef == text_ef(5_600)


def test_a_graph_linked_without_calibration_uses_the_narrow_list_of_its_size(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    source, photos = written(rng, 400, clusters=8)
    words = text_like(rng, photos, 40)  # 4 held out: too few to calibrate on
    folder = tmp_path / "index"
    indexes = SearchIndexes(source, folder, background=False, words=lambda _: words)
    index = indexes.get("m")
    assert isinstance(index, HnswIndex) and index.linked and index.calibrated_ef == 0
    assert index.text_search_ef == text_ef(400, linked=True)
    assert json.loads(meta_path(folder, "m").read_text())["text_ef"] == 0
    indexes.close()
    record_text_ef(folder, "m", 300)  # a later calibration is read back
    again = load_index(folder, "m", DIM, source.generation("m"))
    assert isinstance(again, HnswIndex) and again.text_search_ef == 300


def test_a_plain_graph_records_no_text_ef(tmp_path: Path, rng: np.random.Generator) -> None:
    source, _ = written(rng, 200, clusters=200)
    folder = tmp_path / "index"
    indexes = SearchIndexes(source, folder, background=False, words=lambda _: None)
    assert isinstance(indexes.get("m"), HnswIndex)
    indexes.close()
    before = meta_path(folder, "m").read_text()
    record_text_ef(folder, "m", 300)
    assert meta_path(folder, "m").read_text() == before
