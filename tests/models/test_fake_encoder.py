"""The fake colour encoder: its vectors must be exactly what its docstring promises."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from photosense.models.encoder import Encoder
from photosense.models.fake import COLOUR_WORDS, CORNERS, FAKE_MODEL_ID, OTHER_AXIS, FakeEncoder

PURE = {name: tuple(round(255 * c) for c in COLOUR_WORDS[name]) for name in CORNERS}


def solid(rgb: tuple[int, ...], size: tuple[int, int] = (24, 16)) -> Image.Image:
    return Image.new("RGB", size, rgb)


def test_it_is_an_encoder() -> None:
    encoder = FakeEncoder()
    assert isinstance(encoder, Encoder)
    assert encoder.model_id == FAKE_MODEL_ID == "fake/colours-v1"
    assert encoder.dim == 9
    assert encoder.image_size == 32


def test_pure_colours_are_their_own_axis() -> None:
    encoder = FakeEncoder()
    vectors = encoder.encode_images([solid(PURE[name]) for name in CORNERS])
    np.testing.assert_array_equal(vectors, np.eye(9, dtype=np.float32)[:8])


def test_each_colour_image_is_nearest_its_colour_word() -> None:
    encoder = FakeEncoder()
    images = encoder.encode_images([solid(PURE[name]) for name in CORNERS])
    texts = encoder.encode_texts([f"a {name} thing" for name in CORNERS])
    similarity = images @ texts.T
    np.testing.assert_allclose(np.diag(similarity), 1.0, atol=1e-6)
    assert (similarity.argmax(axis=1) == np.arange(8)).all()


def test_mixed_colours_spread_over_corners() -> None:
    encoder = FakeEncoder()
    orange, grey = encoder.encode_images([solid((255, 128, 0)), solid((128, 128, 128))])
    red, yellow = CORNERS.index("red"), CORNERS.index("yellow")
    assert orange[red] == pytest.approx(orange[yellow], abs=0.01)
    assert orange[red] == pytest.approx(1 / math.sqrt(2), abs=0.01)
    np.testing.assert_allclose(grey[:8], 1 / math.sqrt(8), atol=0.01)
    np.testing.assert_allclose(
        encoder.encode_texts(["orange"])[0], encoder.colour_vector((1, 0.5, 0))[0], atol=1e-6
    )


def test_a_mostly_red_photo_ranks_red_first() -> None:
    encoder = FakeEncoder()
    photo = solid((255, 0, 0), (100, 100))
    photo.paste((0, 0, 255), (0, 0, 100, 20))  # 20% blue sky
    vector = encoder.encode_images([photo])[0]
    words = encoder.encode_texts(list(CORNERS))
    assert CORNERS[int((words @ vector).argmax())] == "red"


def test_texts_without_colour_words_match_nothing() -> None:
    encoder = FakeEncoder()
    text = encoder.encode_texts(["holiday snaps"])[0]
    assert text[OTHER_AXIS] == 1.0
    images = encoder.encode_images([solid(PURE[name]) for name in CORNERS] + [solid((9, 99, 199))])
    np.testing.assert_array_equal(images @ text, 0.0)


def test_several_colour_words_are_averaged_and_case_is_ignored() -> None:
    encoder = FakeEncoder()
    vector = encoder.encode_texts(["RED and White"])[0]
    expected = np.zeros(9, dtype=np.float32)
    expected[[CORNERS.index("red"), CORNERS.index("white")]] = 1 / math.sqrt(2)
    np.testing.assert_allclose(vector, expected, atol=1e-6)
    assert np.array_equal(encoder.encode_texts(["gray"]), encoder.encode_texts(["grey"]))


def test_any_image_mode_works() -> None:
    encoder = FakeEncoder()
    grey_l = Image.new("L", (10, 10), 255)
    palette = solid(PURE["blue"]).convert("P")
    vectors = encoder.encode_images([grey_l, palette])
    assert vectors[0, CORNERS.index("white")] == pytest.approx(1.0)
    assert vectors[1, CORNERS.index("blue")] == pytest.approx(1.0)


def test_vectors_are_unit_float32() -> None:
    encoder = FakeEncoder()
    rng = np.random.default_rng(0)
    images = [solid(tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(20)]
    for vectors in (encoder.encode_images(images), encoder.encode_texts(["x", "blue", "a"])):
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_empty_batches() -> None:
    encoder = FakeEncoder()
    assert encoder.encode_prepared([]).shape == (0, 9)
    assert encoder.encode_texts([]).shape == (0, 9)


def test_other_model_id_and_dim_for_mismatch_tests() -> None:
    encoder = FakeEncoder(model_id="fake/other", dim=12)
    assert encoder.model_id == "fake/other"
    vectors = encoder.encode_images([solid(PURE["green"])])
    assert vectors.shape == (1, 12)
    assert vectors[0, CORNERS.index("green")] == 1.0
    with pytest.raises(ValueError, match="dim >= 9"):
        FakeEncoder(dim=8)


def test_counts_what_it_encoded() -> None:
    encoder = FakeEncoder()
    encoder.encode_images([solid(PURE["red"])] * 3)
    encoder.encode_texts(["red", "blue"])
    assert (encoder.images_encoded, encoder.texts_encoded) == (3, 2)
