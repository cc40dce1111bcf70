"""Retrieval and zero-shot metrics on tiny matrices whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from photosense.learn import metrics
from photosense.learn.metrics import class_text_vectors, retrieval_recall, zero_shot_accuracy
from photosense.models.encoder import l2_normalise
from photosense.models.fake import FakeEncoder

E = np.eye(4, dtype=np.float32)


def test_perfect_pairs_score_one_both_ways() -> None:
    scores = retrieval_recall(E, E)

    assert scores == {
        "t2i_r1": 1.0,
        "t2i_r5": 1.0,
        "t2i_r10": 1.0,
        "i2t_r1": 1.0,
        "i2t_r5": 1.0,
        "i2t_r10": 1.0,
    }


def test_a_wrong_text_and_ties_are_ranked_pessimistically() -> None:
    images = E[:3]
    texts = E[[0, 2, 2]]  # text 1 describes image 2, not image 1
    # t2i: text 1 sees image 2 (1.0) above, images 0 and 1 tied at 0 -> rank 2.
    # i2t: image 1 ties with all three texts at 0 -> rank 2; image 2 ties with text 1 -> rank 1.
    scores = retrieval_recall(images, texts, ks=(1, 2, 3))

    assert scores["t2i_r1"] == pytest.approx(2 / 3)
    assert scores["t2i_r2"] == pytest.approx(2 / 3)
    assert scores["t2i_r3"] == 1.0
    assert scores["i2t_r1"] == pytest.approx(1 / 3)
    assert scores["i2t_r2"] == pytest.approx(2 / 3)
    assert scores["i2t_r3"] == 1.0


def test_k_at_or_above_the_number_of_candidates_always_succeeds() -> None:
    constant = np.ones((3, 4), dtype=np.float32) / 2  # every score ties

    scores = retrieval_recall(constant, constant, ks=(1, 3, 10))

    assert scores["t2i_r1"] == scores["i2t_r1"] == 0.0
    assert scores["t2i_r3"] == scores["t2i_r10"] == scores["i2t_r10"] == 1.0


def test_groups_let_equal_captions_count_for_each_other() -> None:
    images = E[:3]
    texts = l2_normalise(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]]))

    strict = retrieval_recall(images, texts, ks=(1,))
    grouped = retrieval_recall(images, texts, ks=(1,), groups=[0, 0, 1])

    # Strict: images 0 and 1 each tie with the other's identical caption.
    assert strict["i2t_r1"] == pytest.approx(1 / 3)
    assert strict["t2i_r1"] == pytest.approx(1 / 3)
    assert grouped == {"t2i_r1": 1.0, "i2t_r1": 1.0}


def test_float_noise_between_identical_vectors_is_a_tie() -> None:
    images = E[:2]
    texts = np.array([[1, 0, 0, 0], [1.0 - 1e-7, 0, 0, 0]], dtype=np.float32)

    assert retrieval_recall(images, texts, ks=(1,))["i2t_r1"] == 0.0


def test_chunked_scoring_matches_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    images = l2_normalise(rng.normal(size=(50, 8)))
    texts = l2_normalise(images + rng.normal(scale=0.8, size=(50, 8)))
    labels = rng.integers(0, 6, size=50)
    classes = l2_normalise(rng.normal(size=(6, 8)))
    whole = retrieval_recall(images, texts), zero_shot_accuracy(images, classes, labels)

    monkeypatch.setattr(metrics, "_CHUNK", 7)

    assert (retrieval_recall(images, texts), zero_shot_accuracy(images, classes, labels)) == whole
    assert 0.0 < whole[0]["t2i_r1"] < 1.0


def test_zero_shot_top_k_with_a_tie() -> None:
    images = l2_normalise(np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]]))
    classes = np.eye(3, dtype=np.float32)
    # Image 2 scores 0.707 for classes 0 and 1: labelled 1, the tie with class 0 costs a place.
    scores = zero_shot_accuracy(images, classes, [0, 1, 1], ks=(1, 2, 5))

    assert scores == {"zs_top1": pytest.approx(2 / 3), "zs_top2": 1.0, "zs_top5": 1.0}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: retrieval_recall(E, E[:3]), "pair row by row"),
        (lambda: retrieval_recall(E[:0], E[:0]), "no pairs"),
        (lambda: retrieval_recall(E, E, ks=(0,)), "positive"),
        (lambda: retrieval_recall(E, E, groups=[0, 1]), "one id per row"),
        (lambda: zero_shot_accuracy(E, E, [0, 1, 2, 4]), "class indices"),
        (lambda: zero_shot_accuracy(E, E[:, :3], [0, 1, 2, 3]), "dimensions"),
        (lambda: zero_shot_accuracy(E, E, [0, 1]), "one class index per image"),
        (lambda: zero_shot_accuracy(E[0], E, [0]), "2-d"),
    ],
)
def test_bad_input_is_a_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_class_text_vectors_average_the_prompts_in_class_order() -> None:
    encoder = FakeEncoder()
    templates = ("a photo of a {}.", "a {} and blue thing")

    vectors = class_text_vectors(encoder, ["red", "green"], templates)

    red, green, blue = (encoder.text_vector(c)[0] for c in ("red", "green", "blue"))
    red_blue = l2_normalise(red + blue)[0]
    green_blue = l2_normalise(green + blue)[0]
    expected = l2_normalise(np.stack([red + red_blue, green + green_blue]))
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert vectors.dtype == np.float32
    assert encoder.texts_encoded == 4


def test_class_text_vectors_default_templates_and_no_classes() -> None:
    encoder = FakeEncoder()

    vectors = class_text_vectors(encoder, ["blue"])

    np.testing.assert_allclose(vectors, encoder.text_vector("blue"), atol=1e-6)
    assert encoder.texts_encoded == len(metrics.DEFAULT_TEMPLATES)
    assert class_text_vectors(encoder, []).shape == (0, encoder.dim)
