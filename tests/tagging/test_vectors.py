"""The tag vector cache: computed once per model and prompts, redone only for what changed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from photosense.errors import Cancelled
from photosense.learn.metrics import class_text_vectors
from photosense.models.encoder import Encoder, Vectors
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, run_to_end
from photosense.tagging.vectors import CACHE_DIR_NAME, CHUNK, TagVectorCache
from photosense.tagging.vocabulary import TAG_TEMPLATES
from tests.tagging.conftest import BACKGROUND, COLOUR_TAGS, open_library

ENTRIES = [(name, TAG_TEMPLATES) for name in COLOUR_TAGS]


def test_vectors_match_the_prompt_ensemble_and_are_cached_on_disk(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    cache = TagVectorCache(tmp_path, class_text_vectors)

    first = cache.vectors(encoder, ENTRIES)

    expected = class_text_vectors(encoder, list(COLOUR_TAGS), TAG_TEMPLATES)
    np.testing.assert_allclose(first, expected, atol=1e-6)
    assert cache.path(encoder.model_id).is_file()
    counted = encoder.texts_encoded
    again = TagVectorCache(tmp_path, class_text_vectors).vectors(encoder, ENTRIES)
    assert encoder.texts_encoded == counted  # a new cache object read the file
    np.testing.assert_array_equal(again, first)


def test_changed_prompts_embed_only_that_tag(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    TagVectorCache(tmp_path, class_text_vectors).vectors(encoder, ENTRIES)
    counted = encoder.texts_encoded
    changed = [*ENTRIES[:-1], ("grey", ("a photo of a blue dog", "a blue ball"))]

    vectors = TagVectorCache(tmp_path, class_text_vectors).vectors(encoder, changed)

    assert encoder.texts_encoded == counted + 2
    np.testing.assert_allclose(vectors[-1], encoder.text_vector("blue")[0], atol=1e-6)


def test_each_model_has_its_own_vectors(tmp_path: Path) -> None:
    cache = TagVectorCache(tmp_path, class_text_vectors)
    one, other = FakeEncoder(), FakeEncoder(model_id="fake/other", dim=12)

    assert cache.vectors(one, ENTRIES).shape == (5, 9)
    assert cache.vectors(other, ENTRIES).shape == (5, 12)
    assert cache.path(one.model_id) != cache.path(other.model_id)
    assert other.texts_encoded == len(ENTRIES) * len(TAG_TEMPLATES)


@pytest.mark.parametrize("content", [b"not an npz file", b""])
def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path: Path, content: bytes) -> None:
    encoder = FakeEncoder()
    cache = TagVectorCache(tmp_path, class_text_vectors)
    cache.path(encoder.model_id).write_bytes(content)

    vectors = cache.vectors(encoder, ENTRIES)

    assert vectors.shape == (5, 9)
    assert encoder.texts_encoded == len(ENTRIES) * len(TAG_TEMPLATES)
    assert TagVectorCache(tmp_path, class_text_vectors).vectors(encoder, ENTRIES).shape == (5, 9)


def test_library_embeds_its_vocabulary_once(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> None:
    encoder = FakeEncoder()
    library = open_library(tmp_path / "library", encoder)
    run_to_end(library.folders.index([colour_photos]))
    assert (tmp_path / "library" / CACHE_DIR_NAME).is_dir()
    texts_after_first_run = encoder.texts_encoded
    assert texts_after_first_run >= len(COLOUR_TAGS) * len(TAG_TEMPLATES) + len(BACKGROUND)
    library.close()

    encoder_again = FakeEncoder()
    reopened = open_library(tmp_path / "library", encoder_again)
    run_to_end(reopened.tags.suggest(retag=True))
    assert encoder_again.texts_encoded == 0  # every tag and caption came from the cache

    reopened.tags.add("grey", ["a photo of a white wall"])  # new prompts for one tag
    run_to_end(reopened.tags.suggest())
    assert encoder_again.texts_encoded == 1
    reopened.close()


def test_tags_with_their_own_prompts_are_embedded_together_and_alike(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    own = [
        ("Rex", ("a photo of Rex, a yellow dog", "Rex on the red sofa")),
        ("sky", ("a blue sky",)),
        ("dusk", ("an orange sky", "a purple evening", "a grey cloud")),
    ]
    calls: list[int] = []

    def counting(enc: Encoder, names: Sequence[str], templates: Sequence[str]) -> Vectors:
        calls.append(len(names))
        return class_text_vectors(enc, names, templates)

    vectors = TagVectorCache(tmp_path, counting).vectors(encoder, [*ENTRIES, *own])

    assert calls == [len(ENTRIES), 6]  # the default ensemble, then every own prompt at once
    for row, (name, prompts) in zip(vectors[len(ENTRIES) :], own, strict=True):
        expected = class_text_vectors(encoder, [name], prompts)[0]
        np.testing.assert_allclose(row, expected, atol=1e-6)


def test_prepare_embeds_the_vocabulary_of_a_new_library(
    tmp_path: Path, colour_vocabulary: tuple[str, ...]
) -> None:
    encoder = FakeEncoder()
    library = open_library(tmp_path / "library", encoder)

    library.runtime.tagger.prepare()

    assert encoder.texts_encoded == len(COLOUR_TAGS) * len(TAG_TEMPLATES) + len(BACKGROUND)
    library.close()


def test_a_cancel_stops_between_calls_and_keeps_what_was_embedded(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    names = [f"thing {i}" for i in range(CHUNK * 2 + 5)]
    entries = [(name, TAG_TEMPLATES) for name in names]
    cancel = CancelToken()
    calls: list[int] = []

    def cancelling(enc: Encoder, texts: Sequence[str], templates: Sequence[str]) -> Vectors:
        calls.append(len(texts))
        cancel.cancel()  # Ctrl-C pressed while the first call runs
        return class_text_vectors(enc, texts, templates)

    with pytest.raises(Cancelled):
        TagVectorCache(tmp_path, cancelling).vectors(encoder, entries, cancel)
    assert calls == [CHUNK]

    again: list[int] = []

    def counting(enc: Encoder, texts: Sequence[str], templates: Sequence[str]) -> Vectors:
        again.append(len(texts))
        return class_text_vectors(enc, texts, templates)

    vectors = TagVectorCache(tmp_path, counting).vectors(encoder, entries)
    assert again == [CHUNK, 5]  # the first chunk came from the file
    np.testing.assert_allclose(
        vectors, class_text_vectors(encoder, names, TAG_TEMPLATES), atol=1e-6
    )


def test_indexing_cancelled_while_tags_are_prepared_ends_as_a_cancelled_run(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> None:
    encoder = FakeEncoder()
    library = open_library(tmp_path / "library", encoder)
    cancel = CancelToken()
    job = library.folders.index([colour_photos], cancel=cancel)
    seen = []
    report = None
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            report = stop.value
            break
        seen.append(progress.message)
        if progress.message == "preparing tags":
            cancel.cancel()

    assert "preparing tags" in seen
    assert report is not None and report.cancelled
    assert encoder.images_encoded == 0  # no photo was embedded after the cancel
    library.close()


def test_stored_reads_every_vector_of_a_model_without_the_model(tmp_path: Path) -> None:
    cache = TagVectorCache(tmp_path, class_text_vectors)
    encoder = FakeEncoder()
    assert cache.stored(encoder.model_id) is None  # nothing embedded yet
    vectors = cache.vectors(encoder, ENTRIES)
    stored = TagVectorCache(tmp_path, class_text_vectors).stored(encoder.model_id)
    assert stored is not None and stored.dtype == np.float32
    np.testing.assert_array_equal(np.sort(stored, axis=0), np.sort(vectors, axis=0))
    assert cache.stored("fake/other") is None
    cache.path(encoder.model_id).write_bytes(b"not an npz file")
    assert TagVectorCache(tmp_path, class_text_vectors).stored(encoder.model_id) is None
