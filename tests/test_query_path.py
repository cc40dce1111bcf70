"""What a search loads: the light query encoder when the model has one, and no model at all
when there is nothing to search or the query is a photo's own stored vector."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from photosense.errors import NothingIndexedError
from photosense.library import Library
from photosense.models.encoder import Encoder, Vectors
from photosense.models.fake import FakeEncoder
from photosense.models.registry import STARTER_ID, load_query_encoder
from photosense.progress import run_to_end
from photosense.store.repository import Store


def no_model(spec: str) -> Encoder:
    raise AssertionError(f"a model was loaded ({spec}); nothing needed one")


class QueryEncoder:
    """A light query encoder answering as the fake colour model, or failing on use."""

    def __init__(self, *, fails: bool = False) -> None:
        self.fails = fails
        self.calls = 0

    @property
    def model_id(self) -> str:
        return STARTER_ID

    @property
    def dim(self) -> int:
        return FakeEncoder().dim

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        if self.fails:
            raise RuntimeError("the ONNX session is broken")
        return FakeEncoder(STARTER_ID).encode_texts(texts)


def open_library(directory: Path, factory: object, query: object = None) -> Library:
    return Library(Store.open(directory), directory, factory, query_factory=query)  # type: ignore[arg-type]


@pytest.fixture
def indexed(tmp_path: Path, photo_dir: Path) -> Path:
    """A library whose photos hold vectors under the starter's id (made by the fake)."""
    directory = tmp_path / "library"
    with open_library(directory, lambda _spec: FakeEncoder(STARTER_ID)) as library:
        run_to_end(library.folders.index([photo_dir]))
    return directory


def test_search_on_an_empty_library_loads_no_model(tmp_path: Path) -> None:
    """Decided from the store before any model loads (the real query factory loads nothing
    until its first query)."""
    library = open_library(tmp_path / "library", no_model, load_query_encoder)
    with library, pytest.raises(NothingIndexedError) as raised:
        library.search.text("red")
    assert raised.value.model_id == STARTER_ID


def test_search_under_a_model_with_no_vectors_loads_no_model(indexed: Path) -> None:
    from photosense.models.starter_recipes import BRIDGE_V1_ID

    with open_library(indexed, no_model, load_query_encoder) as library:
        library.runtime.requested = BRIDGE_V1_ID
        with pytest.raises(NothingIndexedError) as raised:
            library.search.text("red")
    assert raised.value.model_id == BRIDGE_V1_ID


def test_a_text_search_embeds_with_the_light_encoder(indexed: Path) -> None:
    query = QueryEncoder()
    with open_library(indexed, no_model, lambda _spec: query) as library:
        results = library.search.text("red")
    assert query.calls == 1
    assert results.model_id == STARTER_ID and Path(results.hits[0].photo.path).name == "red.jpg"


def test_similar_loads_no_text_model(indexed: Path, photo_dir: Path) -> None:
    query = QueryEncoder(fails=True)
    with open_library(indexed, no_model, lambda _spec: query) as library:
        results = library.search.similar(photo_dir / "red.jpg", limit=2)
    assert query.calls == 0
    assert results.model_id == STARTER_ID and len(results.hits) == 2


def test_a_failing_light_encoder_falls_back_to_the_full_model(indexed: Path) -> None:
    def full(_spec: str) -> Encoder:
        return FakeEncoder(STARTER_ID)

    with open_library(indexed, full) as library:
        expected = library.search.text("green")
    query = QueryEncoder(fails=True)
    with open_library(indexed, full, lambda _spec: query) as library:
        got = library.search.text("green")
        assert query.calls == 1
        again = library.search.text("green")  # the full model answers from now on
    assert query.calls == 1
    assert got == expected == again


class PreparedQueryEncoder(QueryEncoder):
    """A light encoder with one-time work to do before its first query."""

    def __init__(self) -> None:
        super().__init__()
        self.prepared = 0

    def needs_preparing(self) -> bool:
        return self.prepared == 0

    def prepare(self, full: Callable[[], Encoder]) -> None:
        self.prepared += 1


def test_indexing_does_the_query_encoders_one_time_work(tmp_path: Path, photo_dir: Path) -> None:
    query = PreparedQueryEncoder()
    directory = tmp_path / "library"
    full = lambda _spec: FakeEncoder(STARTER_ID)  # noqa: E731
    with open_library(directory, full, lambda _spec: query) as library:
        steps: list[str] = []
        run_to_end(library.folders.index([photo_dir]), lambda p: steps.append(p.message))
        # The search's one-time work is the model's last step (the photo analyses follow it).
        assert query.prepared == 1 and "preparing search" in steps
        steps.clear()
        run_to_end(library.folders.index([photo_dir]), lambda p: steps.append(p.message))
        assert query.prepared == 1 and "preparing search" not in steps  # done once


def test_the_starter_query_encoder_knows_when_its_export_is_missing(tmp_path: Path) -> None:
    from photosense.models.starter_query import StarterQueryEncoder

    assert StarterQueryEncoder(STARTER_ID, tmp_path).needs_preparing()
    assert not StarterQueryEncoder(STARTER_ID, tmp_path, use_onnx=False).needs_preparing()
