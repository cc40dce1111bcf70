"""Switching a library's model: vectors per model, resumable re-embedding, no mixing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photosense.errors import ModelError, ModelMismatchError, NothingIndexedError
from photosense.library import Library, SwitchReport
from photosense.library.runtime import ACTIVE_MODEL_KEY, PENDING_MODEL_KEY
from photosense.models.encoder import Encoder
from photosense.models.fake import FAKE_MODEL_ID, FakeEncoder
from photosense.models.registry import STARTER_ID, load_encoder
from photosense.progress import CancelToken, Progress, run_to_end
from photosense.store.repository import Store
from tests.conftest import save_photo

OTHER = "fake/other"
PHOTOS = 24


class Models:
    """An encoder factory over fakes (and the tiny open_clip model); ``gone`` ids fail to load."""

    def __init__(self) -> None:
        self.gone: set[str] = set()
        self.loaded: list[str] = []

    def __call__(self, spec: str) -> Encoder:
        self.loaded.append(spec)
        if spec in self.gone:
            raise ModelError(f"{spec} was deleted")
        if spec == OTHER:
            return FakeEncoder(OTHER, dim=12)
        if spec == "clash":
            return FakeEncoder(FAKE_MODEL_ID, dim=12)  # same id, another size
        if spec == STARTER_ID:
            return FakeEncoder(STARTER_ID)
        if spec == FAKE_MODEL_ID:
            return FakeEncoder()
        return load_encoder(spec, device="cpu")


@pytest.fixture
def models() -> Models:
    return Models()


def open_library(directory: Path, models: Models) -> Library:
    return Library(Store.open(directory), directory, models)


@pytest.fixture
def library(tmp_path: Path, models: Models) -> Iterator[Library]:
    """A library of PHOTOS colourful photos, indexed with the colour fake."""
    folder = tmp_path / "photos"
    for i in range(PHOTOS):
        save_photo(folder / f"p{i:02}.jpg", (20 + i * 3, 60 + i * 6, 220 - i * 4))
    save_photo(folder / "red.jpg", "red")
    lib = open_library(tmp_path / "lib", models)
    run_to_end(lib.models.use(FAKE_MODEL_ID))
    run_to_end(lib.folders.index([folder]))
    yield lib
    lib.close()


def switch_partly(library: Library, spec: str, stop_at: int) -> SwitchReport:
    """Start switching to ``spec`` and cancel once ``stop_at`` photos are done."""
    cancel = CancelToken()
    job = library.models.use(spec, cancel, batch_size=4, workers=2)

    def stop_there(progress: Progress) -> None:
        if progress.total and progress.done >= stop_at:
            cancel.cancel()

    report: SwitchReport = run_to_end(job, stop_there)
    return report


def test_search_answers_with_the_old_model_until_the_new_one_is_complete(
    library: Library, tmp_path: Path, models: Models
) -> None:
    total = PHOTOS + 1
    report = switch_partly(library, OTHER, stop_at=8)

    assert not report.activated and report.index is not None and report.index.cancelled
    state = library.models.progress()
    assert (state.active, state.pending, state.total) == (FAKE_MODEL_ID, OTHER, total)
    assert 8 <= state.done < total
    results = library.search.text("red", limit=50)
    assert results.model_id == FAKE_MODEL_ID
    assert len(results.hits) == total  # every photo still answers, with its old vector
    assert results.hits[0].photo.path.endswith("red.jpg")

    # A restart keeps the same state: the old model answers, the switch is still pending.
    again = open_library(library.path, models)
    try:
        assert again.search.text("red").model_id == FAKE_MODEL_ID
        assert again.models.progress().pending == OTHER
    finally:
        again.close()

    done = run_to_end(library.models.use(OTHER))
    assert done.activated and done.index is not None
    assert done.index.indexed == total - state.done  # resumed, nothing encoded twice
    state = library.models.progress()
    assert (state.active, state.pending, state.done, state.total) == (OTHER, None, total, total)
    results = library.search.text("red", limit=50)
    assert results.model_id == OTHER
    assert len(results.hits) == total
    # Both models keep their own vectors, each at its own size.
    old_index, new_index = (
        library.runtime.indexes.get(FAKE_MODEL_ID),
        library.runtime.indexes.get(OTHER),
    )
    assert old_index is not None and new_index is not None
    assert old_index.vectors_for([results.hits[0].photo.id]).shape == (1, 9)
    assert new_index.vectors_for([results.hits[0].photo.id]).shape == (1, 12)


def test_index_carries_on_a_pending_switch(library: Library, tmp_path: Path) -> None:
    switch_partly(library, OTHER, stop_at=4)
    save_photo(tmp_path / "photos" / "new.jpg", "blue")

    report = run_to_end(library.folders.index())

    assert report.indexed == 1  # the new photo, with the active model
    state = library.models.progress()
    assert (state.active, state.pending, state.done, state.total) == (OTHER, None, 26, 26)
    assert library.search.text("blue").hits[0].photo.path.endswith("new.jpg")


@pytest.mark.slow
def test_a_switch_to_a_model_of_another_size_under_the_same_id_is_refused(
    library: Library,
) -> None:
    with pytest.raises(ModelMismatchError, match="made 9-d vectors"):
        run_to_end(library.models.use("clash"))
    assert library.store.settings.get(PENDING_MODEL_KEY) is None
    assert library.search.text("red").model_id == FAKE_MODEL_ID


def test_choosing_the_active_model_again_drops_the_pending_switch(library: Library) -> None:
    switch_partly(library, OTHER, stop_at=4)
    report = run_to_end(library.models.use(FAKE_MODEL_ID))
    assert report.activated and report.index is None
    assert library.models.progress().pending is None
    assert library.search.text("red").model_id == FAKE_MODEL_ID


@pytest.mark.slow
def test_a_missing_active_model_falls_back_to_the_starter_without_mixing(
    library: Library, models: Models
) -> None:
    run_to_end(library.models.use(STARTER_ID))  # the starter's vectors exist too
    run_to_end(library.models.use(OTHER))
    models.gone.add(OTHER)  # its files were deleted

    again = open_library(library.path, models)
    try:
        results = again.search.text("red")
        assert results.model_id == STARTER_ID  # answered with the starter's own vectors
        assert again.models.fallback is not None and again.models.fallback.model_id == OTHER
        assert not again.models.fallback.older_starter
        assert again.store.settings.get(ACTIVE_MODEL_KEY) == OTHER  # the choice is kept
    finally:
        again.close()

    # Asked for by name, a missing model is an error, not a silent substitute.
    explicit = Library(Store.open(library.path), library.path, models, model=OTHER)
    try:
        with pytest.raises(ModelError, match="was deleted"):
            explicit.search.text("red")
    finally:
        explicit.close()


@pytest.mark.slow
def test_switching_to_the_tiny_open_clip_model(library: Library) -> None:
    report = switch_partly(library, "photosense-tiny", stop_at=4)
    assert not report.activated
    assert library.search.text("red").model_id == FAKE_MODEL_ID

    run_to_end(library.models.use("photosense-tiny"))

    results = library.search.text("a red photo", limit=50)
    assert results.model_id == "open_clip/photosense-tiny/random-seed0"
    assert len(results.hits) == PHOTOS + 1
    assert library.models.current().dim == 8


def test_a_library_with_no_photos_switches_at_once(tmp_path: Path, models: Models) -> None:
    lib = open_library(tmp_path / "empty", models)
    try:
        report = run_to_end(lib.models.use(OTHER))
        assert report.activated and report.index is None
        assert lib.models.progress().active == OTHER
    finally:
        lib.close()


@pytest.mark.slow
def test_removing_models_never_touches_the_active_one(library: Library, empty_hub: Path) -> None:
    run_to_end(library.models.use(OTHER))
    with pytest.raises(ModelError, match="this library's active model"):
        library.models.remove(OTHER, vectors=True)
    switch_partly(library, STARTER_ID, stop_at=4)
    with pytest.raises(ModelError, match="being switched to"):
        library.models.remove(STARTER_ID, vectors=True)

    listing = {m.info.model_id: m for m in library.models.list()}
    assert listing[OTHER].active and listing[STARTER_ID].pending
    assert listing[FAKE_MODEL_ID].vectors == PHOTOS + 1
    assert listing[FAKE_MODEL_ID].info.kind == "other"

    removed = library.models.remove(FAKE_MODEL_ID, vectors=True)
    assert (removed.vectors_removed, removed.bytes_freed) == (PHOTOS + 1, 0)
    assert library.store.vectors.dim(FAKE_MODEL_ID) is None
    assert library.runtime.indexes.state(FAKE_MODEL_ID) == "missing"
    assert library.search.text("red").model_id == OTHER


@pytest.mark.slow
def test_an_older_starter_version_is_re_embedded_by_index(
    library: Library, tmp_path: Path, models: Models
) -> None:
    """A new starter version is a new model: ``index`` embeds the library with it."""

    older = f"{STARTER_ID.split('/')[0]}/older-v0"
    models.gone.add(older)
    library.store.settings.set(ACTIVE_MODEL_KEY, older)  # as an older release left it

    again = open_library(library.path, models)
    try:
        with pytest.raises(NothingIndexedError):
            again.search.text("red")
        assert again.models.fallback is not None and again.models.fallback.older_starter
        run_to_end(again.folders.index())
        assert again.models.progress().active == STARTER_ID
        assert again.models.fallback is None
        assert again.search.text("red").model_id == STARTER_ID
    finally:
        again.close()


def test_a_switch_brings_the_new_models_tag_suggestions_and_keeps_decisions(
    library: Library,
) -> None:
    paths = [p.path for p in library.photos.get(library.photos.ids()).values()]
    assert any(library.tags.of_photo(p) for p in paths)  # the fake model suggested something
    library.tags.accept(paths[0], "sunset")

    run_to_end(library.models.use(OTHER))

    assert library.models.progress().active == OTHER
    after = {p: library.tags.of_photo(p) for p in paths}
    suggested = [t for tags in after.values() for t in tags if t.source != "user"]
    assert suggested and {t.model_id for t in suggested} == {OTHER}
    assert [t.state for t in after[paths[0]] if t.tag == "sunset"] == ["accepted"]
