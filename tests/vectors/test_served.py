"""A graph served by a helper process answers, changes, saves and fails as a loaded one does."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from photosense.vectors import HnswIndex, load_index, save_index
from photosense.vectors.cache import SearchIndexes
from photosense.vectors.served import GraphLost, ServedGraph
from tests.vectors.test_catch_up import (  # noqa: F401 - the fixture is used by name
    DIM,
    FakeSource,
    built_and_saved,
    found,
    small_graphs,
    truth,
)
from tests.vectors.vecdata import unit_rows


@pytest.fixture
def saved(tmp_path: Path, rng: np.random.Generator) -> Iterator[tuple[FakeSource, Path]]:
    """300 vectors of model "m" in the source, their graph saved at the source's generation."""
    source = FakeSource()
    folder = tmp_path / "index"
    built_and_saved(source, folder, rng)
    yield source, folder
    for child in multiprocessing.active_children():  # a failing test leaves no helper behind
        child.terminate()


@pytest.fixture
def served_m(saved: tuple[FakeSource, Path]) -> Iterator[HnswIndex]:
    """The saved graph of ``saved``, loaded by a helper process (closed after the test)."""
    index = load_served(*saved)
    yield index
    index.close()


def served(index: object) -> HnswIndex:
    assert isinstance(index, HnswIndex) and index.served
    return index


def load_served(source: FakeSource, folder: Path) -> HnswIndex:
    """Model "m"'s saved graph, loaded by a helper process."""
    return served(load_index(folder, "m", DIM, source.generation("m"), served=True))


def helper_of(index: HnswIndex) -> ServedGraph:
    graph = index.graph
    assert isinstance(graph, ServedGraph)
    return graph


def test_a_served_graph_answers_as_the_graph_loaded_here(
    saved: tuple[FakeSource, Path], rng: np.random.Generator
) -> None:
    source, folder = saved
    generation = source.generation("m")
    here = load_index(folder, "m", DIM, generation)
    there = served(load_index(folder, "m", DIM, generation, served=True))
    try:
        assert isinstance(here, HnswIndex) and not here.served
        assert helper_of(there).pid not in (None, os.getpid())
        assert (len(there), there.capacity) == (len(here), here.capacity)
        allowed = set(range(1, 291))  # large enough for the filtered walk, not exact scoring
        for query in unit_rows(rng, 10, DIM):
            assert there.search(query, 10) == here.search(query, 10)
            assert there.search(query, 10, text=True) == here.search(query, 10, text=True)
            walked = there.search(query, 10, allowed)
            assert walked == here.search(query, 10, allowed)
            assert {i for i, _ in walked} <= allowed
    finally:
        there.close()
    assert not helper_of(there).alive


def test_changes_through_a_served_graph_are_searched_saved_and_read_back(
    saved: tuple[FakeSource, Path], served_m: HnswIndex, rng: np.random.Generator
) -> None:
    source, folder = saved
    index = served_m
    source.delete([1, 2, 3])
    index.remove([1, 2, 3])
    fresh = unit_rows(rng, 6, DIM)
    ids = np.array([10, 11, 12, 2, 500, 501])  # updated, revived and new ids
    source.write("m", ids, fresh)
    index.add(ids, fresh)
    assert sorted(index.ids().tolist()) == sorted(source.ids("m").tolist())
    queries = [*fresh, *unit_rows(rng, 5, DIM)]
    for query in queries:
        assert found(index, query) == truth(source, "m", query)
    save_index(index, folder, source.generation("m"))  # the graph written by the helper
    index.close()
    again = load_index(folder, "m", DIM, source.generation("m"))
    assert isinstance(again, HnswIndex) and not again.served
    assert sorted(again.ids().tolist()) == sorted(source.ids("m").tolist())
    for query in queries:
        assert found(again, query) == truth(source, "m", query)


def test_a_lost_helper_answers_exactly_then_its_index_is_loaded_again(
    saved: tuple[FakeSource, Path], rng: np.random.Generator
) -> None:
    source, folder = saved
    indexes = SearchIndexes(source, folder, served=True)
    try:
        first = served(indexes.get("m"))
        helper = helper_of(first)
        os.kill(helper.pid or 0, 9)
        query = unit_rows(rng, 1, DIM)[0]
        assert found(first, query) == truth(source, "m", query)  # exact, from the table
        assert first.lost
        with pytest.raises(GraphLost):
            first.add(np.array([900]), unit_rows(rng, 1, DIM))

        written = unit_rows(rng, 2, DIM)
        source.write("m", np.array([600, 601]), written)
        indexes.apply("m", [(600, written[0]), (601, written[1])], [], source.generation("m"))
        second = served(indexes.get("m"))  # loaded from its file and caught up
        assert second is not first and not second.lost
        assert helper_of(second).pid != helper.pid
        for query in [*written, *unit_rows(rng, 3, DIM)]:
            assert found(second, query) == truth(source, "m", query)
    finally:
        indexes.close()
    assert not helper_of(second).alive


def test_closing_the_indexes_ends_their_helpers(saved: tuple[FakeSource, Path]) -> None:
    source, folder = saved
    indexes = SearchIndexes(source, folder, served=True)
    helper = helper_of(served(indexes.get("m")))
    assert helper.alive
    indexes.close()
    assert not helper.alive
    with pytest.raises(GraphLost):
        helper.get_ids_list()


def test_a_graph_the_helper_cannot_read_raises_and_leaves_no_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import photosense.vectors.served as served_module

    started: list[object] = []

    def start(path: Path, dim: int) -> tuple[object, object]:
        helper, conn = real_start(path, dim)
        started.append(helper)
        return helper, conn

    real_start = served_module._start
    monkeypatch.setattr(served_module, "_start", start)
    broken = tmp_path / "broken.index"
    broken.write_bytes(b"\x00" * 64)
    with pytest.raises(RuntimeError) as caught:
        ServedGraph(broken, DIM)
    assert not isinstance(caught.value, GraphLost)  # hnswlib's own error, sent back
    assert len(started) == 1 and not started[0].is_alive()  # type: ignore[attr-defined]


def test_a_served_graph_filters_only_by_a_set(
    served_m: HnswIndex, rng: np.random.Generator
) -> None:
    with pytest.raises(TypeError, match="set"):
        helper_of(served_m).knn_query(unit_rows(rng, 1, DIM), k=3, filter=lambda label: True)


def test_a_library_opened_for_the_window_searches_through_served_graphs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window opens its library with ``served_indexes``: same answers, graph elsewhere."""
    from photosense.library import Library
    from photosense.models.fake import FakeEncoder
    from photosense.progress import run_to_end
    from photosense.store.repository import Store
    from tests.faults.harness import make_photos

    photos = make_photos(tmp_path / "photos", 60, seed=5)
    directory = tmp_path / "library"

    def opened(served_indexes: bool) -> Library:
        store = Store.open(directory)
        return Library(store, directory, lambda _spec: FakeEncoder(), served_indexes=served_indexes)

    with opened(False) as library:
        run_to_end(library.folders.index([tmp_path / "photos"]))
        here = library.runtime.indexes.get(library.runtime.answering_model_id)
        assert isinstance(here, HnswIndex) and not here.served
        expected = [library.search.similar(p, limit=10).hits for p in photos[:5]]
    with opened(True) as library:
        index = served(library.runtime.indexes.get(library.runtime.answering_model_id))
        assert helper_of(index).alive  # loaded from its file by a helper
        assert [library.search.similar(p, limit=10).hits for p in photos[:5]] == expected
        assert all(len(hits) == 10 for hits in expected)
    assert not helper_of(index).alive  # closing the library ends it


def test_where_no_command_can_start_it_the_helper_is_spawned(
    saved: tuple[FakeSource, Path], rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frozen apps and Windows start the helper through multiprocessing's spawn."""
    import photosense.vectors.served as served_module

    monkeypatch.setattr(served_module, "_COMMAND", False)
    source, folder = saved
    index = load_served(source, folder)
    try:
        assert isinstance(helper_of(index)._process, multiprocessing.process.BaseProcess)
        for query in unit_rows(rng, 3, DIM):
            assert found(index, query) == truth(source, "m", query)
    finally:
        index.close()
    assert not helper_of(index).alive


def test_ctrl_c_in_the_terminal_leaves_the_helper_to_the_app(
    saved: tuple[FakeSource, Path], served_m: HnswIndex, rng: np.random.Generator
) -> None:
    """SIGINT reaches the whole foreground process group; the app decides when its helper
    stops (closing the window), so the helper ignores it."""
    source, _ = saved
    os.kill(helper_of(served_m).pid or 0, signal.SIGINT)
    query = unit_rows(rng, 1, DIM)[0]
    assert found(served_m, query) == truth(source, "m", query)
    assert not served_m.lost


def test_near_duplicates_are_found_through_a_served_graph_as_through_one_loaded_here(
    saved: tuple[FakeSource, Path], served_m: HnswIndex
) -> None:
    """Finding duplicates asks the graph for every photo's neighbours in batches."""
    from photosense.progress import run_to_end
    from photosense.vectors.duplicates import near_pairs

    source, folder = saved
    here = load_index(folder, "m", DIM, source.generation("m"))
    assert here is not None
    expected = run_to_end(near_pairs(here, 0.5))
    assert expected  # random 16-d vectors: some pairs are that close
    assert run_to_end(near_pairs(served_m, 0.5)) == expected
    assert not served_m.lost  # answered by the helper's graph, not the exact fallback
