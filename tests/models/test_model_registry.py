"""Model specs to encoders: aliases, stored ids, pretrained tags and the errors for the rest."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from photosense.errors import ModelError
from photosense.models.encoder import Encoder
from photosense.models.openclip import OpenClipEncoder
from photosense.models.registry import STARTER_ID, load_encoder, parse_spec
from photosense.models.starter import StarterEncoder


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("auto", ("starter", None, None)),
        ("starter", ("starter", None, None)),
        (STARTER_ID, ("starter", None, None)),
        (" starter ", ("starter", None, None)),
        ("photosense-tiny", ("photosense-tiny", None, 0)),
        ("RN50", ("RN50", None, 0)),
        ("ViT-B-32", ("ViT-B-32", "laion2b_s34b_b79k", None)),  # a catalogue id
        ("mobileclip-s2", ("MobileCLIP-S2", "datacompdr", None)),
        ("ViT-B-32/random-seed0", ("ViT-B-32", None, 0)),
        ("imported/holiday", ("local", "imported/holiday", None)),
        ("fine-tuned/dog-v2", ("local", "fine-tuned/dog-v2", None)),
        ("ViT-B-32/laion2b_s34b_b79k", ("ViT-B-32", "laion2b_s34b_b79k", None)),
        ("open_clip/ViT-B-32/openai", ("ViT-B-32", "openai", None)),
        ("open_clip/photosense-tiny/random-seed42", ("photosense-tiny", None, 42)),
        ("photosense-tiny/random-seed3", ("photosense-tiny", None, 3)),
    ],
)
def test_parse_spec(spec: str, expected: tuple[str, str | None, int | None]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    "spec", ["", "open_clip", "open_clip/ViT-B-32", "a/b/c", "ViT-B-32/", "/x"]
)
def test_malformed_specs_list_what_is_accepted(spec: str) -> None:
    with pytest.raises(ModelError, match="accepted: 'auto', 'starter'"):
        parse_spec(spec)


def test_starter_aliases_load_lazily() -> None:
    for spec in ("auto", "starter", STARTER_ID):
        encoder = load_encoder(spec, device="cpu")
        assert isinstance(encoder, StarterEncoder)
        assert isinstance(encoder, Encoder)
        assert encoder.model_id == STARTER_ID
        assert encoder.dim == 384
    assert load_encoder().model_id == STARTER_ID


def test_architecture_name_gives_random_seed_zero() -> None:
    encoder = load_encoder("photosense-tiny", device="cpu")
    assert isinstance(encoder, OpenClipEncoder)
    assert encoder.model_id == "open_clip/photosense-tiny/random-seed0"
    assert encoder.dim == 8


def test_stored_random_model_id_reloads_the_same_model() -> None:
    original = OpenClipEncoder.create("photosense-tiny", device="cpu", seed=4)
    reloaded = load_encoder(original.model_id, device="cpu")
    assert reloaded.model_id == original.model_id == "open_clip/photosense-tiny/random-seed4"
    image = Image.new("RGB", (40, 40), (200, 100, 0))
    np.testing.assert_array_equal(reloaded.encode_images([image]), original.encode_images([image]))


def test_unknown_architecture_lists_what_is_accepted() -> None:
    with pytest.raises(ModelError, match="Unknown model 'resnet-9000'.*open_clip architecture"):
        load_encoder("resnet-9000", device="cpu")


def test_unknown_pretrained_tag() -> None:
    with pytest.raises(ModelError, match="no pretrained weights called 'nonsense'"):
        load_encoder("open_clip/ViT-B-32/nonsense", device="cpu")


def test_unavailable_device_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ModelError, match="CUDA was requested"):
        load_encoder("photosense-tiny", device="cuda")
    with pytest.raises(ModelError, match="CUDA was requested"):
        load_encoder("starter", device="cuda")
