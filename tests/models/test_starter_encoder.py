"""The offline starter model. Most tests here load real weights once per module (``starter``)."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from photosense.models import starter as starter_module
from photosense.models.encoder import Encoder
from photosense.models.starter import (
    CLASS_PROMPTS,
    STARTER_ID,
    StarterEncoder,
    _load_cached_matrix,
    class_matrix_key,
    efficientnet_weights_path,
    imagenet_class_names,
    minilm_dir,
    rename_efficientnet_keys,
)
from tests.conftest import dataset


def test_describes_itself_without_loading() -> None:
    encoder = StarterEncoder("cpu")
    assert isinstance(encoder, Encoder)
    assert (encoder.model_id, encoder.dim, encoder.image_size) == (STARTER_ID, 384, 224)
    assert encoder.encode_prepared([]).shape == (0, 384)
    assert encoder._image is None and encoder._text is None


def test_prepare_image_is_a_224_crop_scaled_to_plus_minus_one() -> None:
    encoder = StarterEncoder("cpu")
    tensor = encoder.prepare_image(Image.new("RGBA", (640, 300), (255, 0, 0, 255)))
    assert tuple(tensor.shape) == (3, 224, 224)
    np.testing.assert_allclose(tensor[:, 100, 100].numpy(), [1.0, -1.0, -1.0], atol=1e-6)


def test_class_names_and_cache_key() -> None:
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench"
    fingerprint = {"package": "x", "version": "1", "bytes": 1}
    key = class_matrix_key(names, CLASS_PROMPTS, fingerprint)
    assert key == class_matrix_key(list(names), list(CLASS_PROMPTS), dict(fingerprint))
    assert key != class_matrix_key(names, CLASS_PROMPTS[:1], fingerprint)
    assert key != class_matrix_key(names[:-1] + ("cat",), CLASS_PROMPTS, fingerprint)


def test_bad_cache_files_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "classes.npy"
    assert _load_cached_matrix(path, 1000) is None
    np.save(path, np.zeros((10, 384), dtype=np.float32))
    assert _load_cached_matrix(path, 1000) is None
    path.write_bytes(b"not numpy")
    assert _load_cached_matrix(path, 1000) is None
    bad = np.zeros((1000, 384), dtype=np.float32)
    bad[0, 0] = np.nan
    np.save(path, bad)
    assert _load_cached_matrix(path, 1000) is None
    np.save(path, np.ones((1000, 384), dtype=np.float32))
    assert _load_cached_matrix(path, 1000) is not None


def test_checkpoint_keys_map_onto_timm_exactly() -> None:
    """If the renaming drifts, accuracy drops to chance; catch it without running the model."""
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False)
    state = torch.load(efficientnet_weights_path(), map_location="cpu", weights_only=True)
    renamed = rename_efficientnet_keys(state, [len(stage) for stage in model.blocks])
    expected = model.state_dict()
    assert renamed.keys() == expected.keys()
    for key, tensor in renamed.items():
        assert tensor.shape == expected[key].shape, key


@pytest.fixture(scope="module")
def starter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> StarterEncoder:
    """One loaded starter per module; its class vectors are cached across runs if pytest can."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("photosense-starter") if cache else tmp_path_factory.mktemp("starter")
    encoder = StarterEncoder("cpu", cache_dir=Path(folder))
    encoder.load()
    return encoder


def scene() -> Image.Image:
    """Sky, grass and a sun: a generated picture with no particular ImageNet class."""
    image = Image.new("RGB", (320, 240), (110, 170, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 160, 320, 240), fill=(60, 150, 50))
    draw.ellipse((230, 20, 290, 80), fill=(250, 220, 40))
    return image


@pytest.mark.starter
def test_image_vectors(starter: StarterEncoder) -> None:
    vectors = starter.encode_images([scene(), Image.new("L", (50, 500), 30)])
    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.starter
def test_class_matrix_is_cached(starter: StarterEncoder) -> None:
    files = list(starter._cache_path("x").parent.glob("starter-bridge-v1-classes-*.npy"))
    assert len(files) >= 1
    matrix = starter.class_matrix()
    assert matrix.shape == (1000, 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


@pytest.mark.starter
def test_text_vectors_match_sentence_transformers(starter: StarterEncoder) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = [
        "kids building a sandcastle at sunset",
        "dog",
        "Überraschung! 東京の夜景",
        "a very long caption about a day at the beach " * 40,  # past the 256-token limit
    ]
    reference = sentence_transformers.SentenceTransformer(str(minilm_dir()), device="cpu")
    expected = reference.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    ours = starter.encode_texts(texts)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, atol=1e-4)


@pytest.mark.starter
def test_text_search_finds_the_right_kind_of_picture(starter: StarterEncoder) -> None:
    """A sanity check on the bridge itself: the classifier's classes carry meaning."""
    vectors = starter.encode_images([scene()])
    texts = starter.encode_texts(["a sunny sky over a green field", "a plate of spaghetti"])
    similarity = (texts @ vectors.T)[:, 0]
    assert np.isfinite(similarity).all()


@pytest.mark.starter
@pytest.mark.datasets
def test_foolbox_photos_land_nearest_their_class(starter: StarterEncoder) -> None:
    root = dataset("foolbox-imagenet")
    with open(root / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = imagenet_class_names()
    prepared = [starter.prepare_image(Image.open(root / row["path"])) for row in rows]

    # The classifier alone: near chance would mean the checkpoint keys were mapped wrongly.
    predicted = starter.class_logits(prepared).argmax(dim=1).tolist()
    correct = sum(names[index] == row["label"] for index, row in zip(predicted, rows, strict=True))
    assert correct >= 0.75 * len(rows), f"classifier top-1 {correct}/{len(rows)}"

    # The bridge: each photo's vector is nearest its own class's prompt vector.
    nearest = (starter.encode_prepared(prepared) @ starter.class_matrix().T).argmax(axis=1)
    hits = sum(names[index] == row["label"] for index, row in zip(nearest, rows, strict=True))
    assert hits >= 0.75 * len(rows), f"{hits}/{len(rows)} photos nearest their class"


@pytest.mark.starter
def test_a_second_encoder_reads_the_cached_class_vectors(
    starter: StarterEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_build(*args: object) -> None:
        raise AssertionError("the class vectors were rebuilt instead of read from the cache")

    monkeypatch.setattr(starter_module, "build_class_matrix", must_not_build)
    again = StarterEncoder("cpu", cache_dir=starter._cache_path("x").parent)
    np.testing.assert_array_equal(again.class_matrix(), starter.class_matrix())
    assert again._text is None


@pytest.mark.starter
def test_encoding_from_several_threads(starter: StarterEncoder) -> None:
    texts = [f"photo number {n} of a {name}" for n, name in enumerate(["cat", "dog", "boat"] * 4)]
    images = [scene(), Image.new("RGB", (300, 200), (200, 30, 30))] * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        text_parts = list(pool.map(lambda text: starter.encode_texts([text]), texts))
        prepared = list(pool.map(starter.prepare_image, images))
    np.testing.assert_allclose(np.concatenate(text_parts), starter.encode_texts(texts), atol=1e-5)
    np.testing.assert_allclose(
        starter.encode_prepared(prepared), starter.encode_images(images), atol=1e-5
    )
