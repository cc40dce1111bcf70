"""The offline starter model. Most tests here load real weights once per module (``starter``)."""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from photosense import evaluation
from photosense.errors import ModelError
from photosense.models import starter as starter_module
from photosense.models.encoder import Encoder, l2_normalise
from photosense.models.registry import load_encoder, parse_spec
from photosense.models.starter import (
    BRIDGE_V1,
    BRIDGE_V1_ID,
    STARTER_ID,
    STARTER_V2,
    ClassTexts,
    StarterEncoder,
    StarterRecipe,
    _load_cached_matrix,
    class_matrix_key,
    class_texts,
    efficientnet_weights_path,
    imagenet_class_names,
    minilm_dir,
    rename_efficientnet_keys,
)
from photosense.models.starter_vocab import (
    HYPERNYM_RANGES,
    OBJECT_HYPERNYMS,
    class_definitions,
    class_hypernyms,
)
from photosense.progress import run_to_end
from tests.conftest import dataset


def test_describes_itself_without_loading() -> None:
    encoder = StarterEncoder("cpu")
    assert isinstance(encoder, Encoder)
    assert (encoder.model_id, encoder.dim, encoder.image_size) == (STARTER_ID, 384, 260)
    assert STARTER_ID == "photosense-starter/v2"
    assert encoder.encode_prepared([]).shape == (0, 384)
    assert encoder._image is None and encoder._text is None


def test_the_first_bridge_stays_loadable_under_its_own_id() -> None:
    """Libraries indexed with bridge-v1 keep their vectors' model; nothing loads yet."""
    assert parse_spec(BRIDGE_V1_ID) == ("starter", BRIDGE_V1_ID, None)
    old = load_encoder(BRIDGE_V1_ID, device="cpu")
    assert isinstance(old, StarterEncoder)
    assert (old.model_id, old.image_size, old.recipe) == (BRIDGE_V1_ID, 224, BRIDGE_V1)
    for spec in ("auto", "starter", STARTER_ID):
        assert load_encoder(spec, device="cpu").model_id == STARTER_ID
    with pytest.raises(ModelError, match="Unknown starter"):
        StarterEncoder("cpu", recipe="photosense-starter/v0")


@pytest.mark.parametrize(("recipe", "size"), [(STARTER_V2, 260), (BRIDGE_V1, 224)])
def test_prepare_image_is_a_square_crop_scaled_to_plus_minus_one(
    recipe: StarterRecipe, size: int
) -> None:
    encoder = StarterEncoder("cpu", recipe=recipe)
    tensor = encoder.prepare_image(Image.new("RGBA", (640, 300), (255, 0, 0, 255)))
    assert tuple(tensor.shape) == (3, size, size)
    np.testing.assert_allclose(tensor[:, 100, 100].numpy(), [1.0, -1.0, -1.0], atol=1e-6)


def test_vocabulary_covers_every_class_once() -> None:
    names, definitions, hypernyms = (
        imagenet_class_names(),
        class_definitions(),
        class_hypernyms(),
    )
    assert len(names) == len(definitions) == len(hypernyms) == 1000
    assert names[0] == "tench" and all(definitions)
    assert "cat" in definitions[282]  # tiger cat: "a cat having a striped coat"
    covered = [i for start, stop, _ in HYPERNYM_RANGES for i in range(start, stop + 1)]
    covered += [i for _, indices in OBJECT_HYPERNYMS for i in indices]
    assert len(covered) == len(set(covered)) and all(0 <= i < 1000 for i in covered)
    assert all(hypernyms[i][0] == "dog" for i in range(151, 269))  # the 118 breeds
    assert hypernyms[511] == ("car", "vehicle")  # convertible
    assert hypernyms[398] == ()  # abacus: its definition names what it is


def test_class_texts_follow_the_recipe() -> None:
    v2, v1 = class_texts(STARTER_V2), class_texts(BRIDGE_V1)
    assert v2.names[0] == ("a photo of a tench.",)
    assert v2.definitions[282].startswith("tiger cat: ")
    assert "a photo of a dog." in v2.hypernyms[207]  # Golden Retriever
    assert v1.names[0] == ("tench", "a photo of a tench.", "a picture of a tench.")
    assert v1.definitions == () and v1.hypernyms == ()


def test_cache_key_changes_with_everything_that_changes_the_matrix() -> None:
    texts = class_texts(STARTER_V2)
    fingerprint = {"package": "x", "version": "1", "bytes": 1}
    key = class_matrix_key(STARTER_V2, texts, fingerprint)
    assert key == class_matrix_key(STARTER_V2, class_texts(STARTER_V2), dict(fingerprint))
    others = [
        class_matrix_key(dataclasses.replace(STARTER_V2, hypernym_weight=0.25), texts, fingerprint),
        class_matrix_key(
            dataclasses.replace(STARTER_V2, name_prompts=("{}",)),
            class_texts(dataclasses.replace(STARTER_V2, name_prompts=("{}",))),
            fingerprint,
        ),
        class_matrix_key(STARTER_V2, dataclasses.replace(texts, hypernyms=()), fingerprint),
        class_matrix_key(STARTER_V2, texts, {**fingerprint, "bytes": 2}),
        class_matrix_key(BRIDGE_V1, class_texts(BRIDGE_V1), fingerprint),
    ]
    assert key not in others and len(set(others)) == len(others)
    image_side_only = dataclasses.replace(STARTER_V2, backbone="lite0", top_k=5, temperature=2)
    assert class_matrix_key(image_side_only, texts, fingerprint) == key


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


def _fake_build(calls: list[StarterRecipe]) -> object:
    """A stand-in for the slow build: a recognisable matrix, and a record of each call."""

    def build(tower: object, recipe: StarterRecipe, texts: ClassTexts) -> np.ndarray:
        calls.append(recipe)
        rng = np.random.default_rng(len(calls))
        return l2_normalise(rng.normal(size=(len(texts.names), 384)))

    return build


def test_cache_is_rebuilt_when_stale_or_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[StarterRecipe] = []
    monkeypatch.setattr(starter_module, "build_class_matrix", _fake_build(calls))
    monkeypatch.setattr(starter_module, "MiniLMTextTower", lambda device: None)

    first = StarterEncoder("cpu", cache_dir=tmp_path).class_matrix()
    path = StarterEncoder("cpu", cache_dir=tmp_path).class_matrix_path()
    assert path.is_file() and path.name.startswith("starter-v2-classes-") and len(calls) == 1

    np.testing.assert_array_equal(StarterEncoder("cpu", cache_dir=tmp_path).class_matrix(), first)
    assert len(calls) == 1  # read back, not rebuilt

    path.write_bytes(b"truncated")
    rebuilt = StarterEncoder("cpu", cache_dir=tmp_path).class_matrix()
    assert len(calls) == 2 and not np.array_equal(rebuilt, first)
    assert _load_cached_matrix(path, 1000) is not None  # rewritten

    changed = dataclasses.replace(STARTER_V2, definition_weight=0.5)
    other = StarterEncoder("cpu", recipe=changed, cache_dir=tmp_path)
    assert other.class_matrix_path() != path
    other.class_matrix()
    assert len(calls) == 3 and calls[-1] == changed


@pytest.mark.parametrize("backbone", ["lite0", "lite2"])
def test_checkpoint_keys_map_onto_timm_exactly(backbone: str) -> None:
    """If the renaming drifts, accuracy drops to chance; catch it without running the model."""
    import timm

    model = timm.create_model(f"efficientnet_{backbone}", pretrained=False)
    state = torch.load(efficientnet_weights_path(backbone), map_location="cpu", weights_only=True)
    renamed = rename_efficientnet_keys(state, [len(stage) for stage in model.blocks])
    expected = model.state_dict()
    assert renamed.keys() == expected.keys()
    for key, tensor in renamed.items():
        assert tensor.shape == expected[key].shape, key


@pytest.fixture(scope="module")
def starter_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Class vectors are cached across runs if pytest can (the first build takes a while)."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("photosense-starter") if cache else tmp_path_factory.mktemp("starter")
    return Path(folder)


@pytest.fixture(scope="module")
def starter(starter_cache: Path) -> Generator[StarterEncoder, None, None]:
    """One loaded default starter per module."""
    encoder = StarterEncoder("cpu", cache_dir=starter_cache)
    encoder.load()
    yield encoder


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
def test_only_the_top_classes_are_mixed(starter: StarterEncoder) -> None:
    logits = starter.class_logits([starter.prepare_image(scene())] * 2)
    weights = starter.class_weights(logits)
    assert ((weights > 0).sum(dim=1) == STARTER_V2.top_k).all()
    assert torch.equal(weights.argmax(dim=1), logits.argmax(dim=1))


@pytest.mark.starter
def test_class_matrix_is_cached(starter: StarterEncoder) -> None:
    files = list(starter.class_matrix_path().parent.glob("starter-v2-classes-*.npy"))
    assert starter.class_matrix_path() in files
    matrix = starter.class_matrix()
    assert matrix.shape == (1000, 384)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


@pytest.mark.starter
@pytest.mark.slow
def test_vectors_are_the_same_after_a_second_load(
    starter: StarterEncoder, starter_cache: Path
) -> None:
    images = [scene(), Image.new("RGB", (300, 200), (200, 30, 30))]
    texts = ["a dog on the beach", "a red square"]
    again = StarterEncoder("cpu", cache_dir=starter_cache)
    np.testing.assert_array_equal(again.encode_images(images), starter.encode_images(images))
    np.testing.assert_array_equal(again.encode_texts(texts), starter.encode_texts(texts))


@pytest.mark.starter
@pytest.mark.slow
def test_a_fresh_build_is_deterministic(starter: StarterEncoder, tmp_path: Path) -> None:
    """Building the class vectors from scratch reproduces the cached ones."""
    fresh = StarterEncoder("cpu", cache_dir=tmp_path)
    fresh._text = starter._text_tower()  # the same weights; saves loading them again
    np.testing.assert_allclose(fresh.class_matrix(), starter.class_matrix(), atol=1e-6)


@pytest.mark.starter
@pytest.mark.slow
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

    # The bridge: each photo's vector is nearest its own class's vector.
    nearest = (starter.encode_prepared(prepared) @ starter.class_matrix().T).argmax(axis=1)
    hits = sum(names[index] == row["label"] for index, row in zip(nearest, rows, strict=True))
    assert hits >= 0.75 * len(rows), f"{hits}/{len(rows)} photos nearest their class"


def _evaluate(name: str, encoder: StarterEncoder) -> dict[str, float]:
    """The same code path as ``photosense eval``."""
    job = evaluation.evaluate(evaluation.load_dataset(dataset(name)), encoder, workers=2)
    return run_to_end(job).metrics


@pytest.mark.starter
@pytest.mark.datasets
def test_foolbox_zero_shot_through_the_evaluation_code(starter: StarterEncoder) -> None:
    metrics = _evaluate("foolbox-imagenet", starter)
    assert metrics["zs_top1"] >= 0.85, metrics


@pytest.mark.starter
@pytest.mark.datasets
def test_tuxpaint_test_split_beats_the_first_bridge(starter: StarterEncoder) -> None:
    """bridge-v1 scored t2i R@5 0.438 and zero-shot top-1 0.267 here (docs/models.md)."""
    metrics = _evaluate("tuxpaint-stamps", starter)
    assert metrics["t2i_r5"] > 0.44 and metrics["zs_top1"] > 0.27, metrics


@pytest.mark.starter
def test_a_second_encoder_reads_the_cached_class_vectors(
    starter: StarterEncoder, starter_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_build(*args: object) -> None:
        raise AssertionError("the class vectors were rebuilt instead of read from the cache")

    monkeypatch.setattr(starter_module, "build_class_matrix", must_not_build)
    again = StarterEncoder("cpu", cache_dir=starter_cache)
    np.testing.assert_array_equal(again.class_matrix(), starter.class_matrix())
    assert again._text is None


@pytest.mark.starter
@pytest.mark.slow
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
