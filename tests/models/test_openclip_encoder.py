"""OpenClipEncoder on the tiny config: shapes, unit vectors, determinism, the pretrained path."""

from __future__ import annotations

import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from photosense.errors import ModelError, ModelNotDownloadedError
from photosense.models.encoder import Encoder
from photosense.models.openclip import (
    TINY_ARCH,
    OpenClipEncoder,
    known_architectures,
    register_tiny_config,
)
from tests.hub_cache import TINY_REPO, lay_out_hub_cache, register_tiny_pretrained


@pytest.fixture(scope="module")
def tiny() -> OpenClipEncoder:
    return OpenClipEncoder.create(TINY_ARCH, device="cpu")


@pytest.fixture
def images() -> list[Image.Image]:
    blue_circle = Image.new("RGB", (80, 60), "white")
    blue_circle.paste((0, 0, 255), (20, 10, 60, 50))
    return [
        Image.new("RGB", (64, 64), (255, 0, 0)),
        blue_circle,
        Image.new("L", (33, 70), 128),
        Image.new("RGBA", (40, 40), (0, 255, 0, 100)),
    ]


def test_register_tiny_config_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    from open_clip import factory

    monkeypatch.setattr(factory, "_MODEL_CONFIGS", dict(factory._MODEL_CONFIGS))
    assert register_tiny_config() == TINY_ARCH
    assert register_tiny_config() == TINY_ARCH
    assert register_tiny_config("photosense-tiny-copy") == "photosense-tiny-copy"
    assert {TINY_ARCH, "photosense-tiny-copy", "ViT-B-32"} <= set(known_architectures())


def test_tiny_encoder_describes_itself(tiny: OpenClipEncoder) -> None:
    assert isinstance(tiny, Encoder)
    assert tiny.model_id == "open_clip/photosense-tiny/random-seed0"
    assert tiny.dim == 8
    assert tiny.image_size == 32
    assert tiny.device == torch.device("cpu")


def test_image_vectors_are_unit_float32_rows(
    tiny: OpenClipEncoder, images: list[Image.Image]
) -> None:
    prepared = tiny.prepare_image(images[0])
    assert tuple(prepared.shape) == (3, 32, 32)
    vectors = tiny.encode_images(images)
    assert vectors.shape == (4, 8)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_text_vectors_are_unit_float32_rows(tiny: OpenClipEncoder) -> None:
    texts = ["a red square", "a blue circle", "", "a very long caption " * 20]
    vectors = tiny.encode_texts(texts)
    assert vectors.shape == (4, 8)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])


def test_empty_batches(tiny: OpenClipEncoder) -> None:
    assert tiny.encode_prepared([]).shape == (0, 8)
    assert tiny.encode_texts([]).shape == (0, 8)


def test_batching_does_not_change_vectors(tiny: OpenClipEncoder, images: list[Image.Image]) -> None:
    together = tiny.encode_images(images)
    alone = np.concatenate([tiny.encode_images([image]) for image in images])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_prepare_image_on_worker_threads(tiny: OpenClipEncoder, images: list[Image.Image]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(tiny.prepare_image, images * 4))
    np.testing.assert_allclose(
        tiny.encode_prepared(threaded), tiny.encode_images(images * 4), atol=1e-6
    )


def test_same_seed_gives_the_same_model(images: list[Image.Image]) -> None:
    first = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=7)
    second = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=7)
    other = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=8)
    assert first.model_id == second.model_id == "open_clip/photosense-tiny/random-seed7"
    assert other.model_id == "open_clip/photosense-tiny/random-seed8"
    np.testing.assert_array_equal(first.encode_images(images), second.encode_images(images))
    np.testing.assert_array_equal(first.encode_texts(["red"]), second.encode_texts(["red"]))
    assert not np.allclose(first.encode_images(images), other.encode_images(images))


_OTHER_PROCESS = """
import numpy as np
from PIL import Image
from photosense.models.openclip import OpenClipEncoder
encoder = OpenClipEncoder.create("photosense-tiny", device="cpu", seed=3)
image = encoder.encode_images([Image.new("RGB", (50, 40), (10, 200, 30))])
text = encoder.encode_texts(["a green field"])
np.save(__import__("sys").argv[1], np.concatenate([image, text]))
"""


@pytest.mark.slow
def test_same_seed_gives_the_same_model_in_another_process(tmp_path: Path) -> None:
    """Stored vectors name a random model by seed; another process must rebuild it exactly."""
    out = tmp_path / "vectors.npy"
    subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(out)], check=True, capture_output=True
    )
    here = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=3)
    expected = np.concatenate(
        [
            here.encode_images([Image.new("RGB", (50, 40), (10, 200, 30))]),
            here.encode_texts(["a green field"]),
        ]
    )
    np.testing.assert_array_equal(np.load(out), expected)


def test_creating_a_random_model_leaves_the_callers_rng_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=5)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_unknown_architecture() -> None:
    with pytest.raises(ModelError, match="no architecture named 'ViT-Nope'"):
        OpenClipEncoder.create("ViT-Nope")


def test_unknown_pretrained_tag_lists_the_known_ones() -> None:
    with pytest.raises(ModelError, match="no pretrained weights called 'nonsense'.*openai"):
        OpenClipEncoder.create("ViT-B-32", "nonsense", device="cpu")


def test_missing_pretrained_weights_say_how_to_get_them(empty_hub: Path) -> None:
    with pytest.raises(ModelNotDownloadedError, match="is not downloaded") as raised:
        OpenClipEncoder.create("ViT-B-32", "laion2b_s34b_b79k", device="cpu")
    assert raised.value.repo == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"  # where to fetch it


def test_a_failed_download_is_one_typed_error_not_also_a_log_line(
    empty_hub: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(ModelNotDownloadedError):
        OpenClipEncoder.create("ViT-B-32", "laion2b_s34b_b79k", device="cpu")
    assert not [r for r in caplog.records if r.getMessage().startswith("Failed to download")]


def test_pretrained_weights_load_from_the_hub_cache_offline(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch, images: list[Image.Image]
) -> None:
    """The real pretrained code path: a tag resolved through open_clip and the hub cache."""
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=11)
    lay_out_hub_cache(empty_hub, TINY_REPO, "open_clip_model.safetensors", source.model)
    register_tiny_pretrained(monkeypatch)
    loaded = OpenClipEncoder.create(TINY_ARCH, "testtag", device="cpu")
    assert loaded.model_id == "open_clip/photosense-tiny/testtag"
    np.testing.assert_allclose(
        loaded.encode_images(images), source.encode_images(images), atol=1e-6
    )
    np.testing.assert_allclose(
        loaded.encode_texts(["sunset"]), source.encode_texts(["sunset"]), atol=1e-6
    )


def test_pretrained_weights_from_a_checkpoint_file(
    tmp_path: Path, images: list[Image.Image]
) -> None:
    from safetensors.torch import save_file

    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=12)
    checkpoint = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in source.model.state_dict().items()}, str(checkpoint))
    loaded = OpenClipEncoder.create(
        TINY_ARCH, str(checkpoint), device="cpu", model_id="open_clip/photosense-tiny/mine"
    )
    assert loaded.model_id == "open_clip/photosense-tiny/mine"
    np.testing.assert_allclose(
        loaded.encode_images(images), source.encode_images(images), atol=1e-6
    )


def test_a_checkpoint_file_that_does_not_fit(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    checkpoint = tmp_path / "wrong.safetensors"
    save_file({"nonsense": torch.zeros(2)}, str(checkpoint))
    with pytest.raises(ModelError, match="does not load into photosense-tiny"):
        OpenClipEncoder.create(TINY_ARCH, str(checkpoint), device="cpu")


@pytest.mark.slow
def test_fusing_mobileclip_for_inference_keeps_its_vectors(images: list[Image.Image]) -> None:
    """MobileOne branches folded into single convolutions: same vectors, less work."""
    fused = OpenClipEncoder.create("MobileCLIP-S2", device="cpu", seed=1)
    plain = OpenClipEncoder.create("MobileCLIP-S2", device="cpu", seed=1, fuse=False)
    assert sum(p.numel() for p in fused.model.parameters()) < sum(
        p.numel() for p in plain.model.parameters()
    )
    for a, b in (
        (fused.encode_images(images), plain.encode_images(images)),
        (fused.encode_texts(["a red kite"]), plain.encode_texts(["a red kite"])),
    ):
        assert float(np.min(np.sum(a * b, axis=1))) >= 0.9999
