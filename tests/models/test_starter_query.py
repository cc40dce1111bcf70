"""The starter's light query encoder: MiniLM exported to ONNX, run without torch.

Its vectors must be the torch tower's (same model id, cosine >= 0.9999), and a missing or
damaged export is rebuilt rather than trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from photosense.models.registry import load_query_encoder
from photosense.models.starter import MiniLMTextTower, StarterEncoder
from photosense.models.starter_query import (
    ENV_ONNX,
    StarterQueryEncoder,
    load_text_tower,
    minilm_dir,
    onnx_text_path,
)
from photosense.models.starter_recipes import BRIDGE_V1_ID, STARTER_ID

TEXTS = [
    "kids building a sandcastle at sunset",
    "a red car",
    "Crème brûlée – 東京",
    "",
    "a very long caption " * 120,  # past the 256-token cut
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding one export (made with torch, once per module)."""
    folder = tmp_path_factory.mktemp("onnx")
    load_text_tower(folder)
    return folder


@pytest.fixture(scope="module")
def torch_tower() -> Iterator[MiniLMTextTower]:
    yield MiniLMTextTower(torch.device("cpu"))


def test_the_starter_has_a_query_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loads nothing: the encoder knows its model id before its first query."""
    monkeypatch.delenv(ENV_ONNX, raising=False)
    for spec, model_id in [("auto", STARTER_ID), (STARTER_ID, STARTER_ID)]:
        encoder = load_query_encoder(spec)
        assert encoder is not None and encoder.model_id == model_id
    bridge = load_query_encoder(BRIDGE_V1_ID)
    assert bridge is not None and bridge.model_id == BRIDGE_V1_ID
    assert load_query_encoder("fine-tuned/mine") is None
    assert isinstance(bridge, StarterQueryEncoder) and bridge.use_onnx
    monkeypatch.setenv(ENV_ONNX, "0")
    torch_side = load_query_encoder("auto")
    assert isinstance(torch_side, StarterQueryEncoder) and not torch_side.use_onnx


@pytest.mark.starter
@pytest.mark.slow
def test_with_onnx_off_queries_go_through_torch(tmp_path: Path) -> None:
    encoder = StarterQueryEncoder(STARTER_ID, tmp_path, use_onnx=False)
    got = encoder.encode_texts(TEXTS[:2])
    assert list(tmp_path.iterdir()) == []  # nothing exported
    assert np.allclose(got, StarterEncoder("cpu", cache_dir=tmp_path).encode_texts(TEXTS[:2]))


@pytest.mark.starter
@pytest.mark.slow
def test_query_vectors_are_the_torch_towers(onnx_cache: Path, torch_tower: MiniLMTextTower) -> None:
    light = StarterQueryEncoder(STARTER_ID, onnx_cache)
    got = light.encode_texts(TEXTS)
    expected = StarterEncoder("cpu", cache_dir=onnx_cache).encode_texts(TEXTS)
    assert got.dtype == np.float32 and got.shape == expected.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * expected).sum(axis=1).min() >= 0.9999
    # One text at a time (a search) is the same as in a padded batch.
    assert np.allclose(light.encode_texts([TEXTS[1]])[0], got[1], atol=1e-5)
    assert np.allclose(torch_tower.encode(TEXTS), expected, atol=1e-6)


@pytest.mark.starter
@pytest.mark.slow
@pytest.mark.parametrize("damage", ["graph", "weights-cut", "weights-zeroed", "missing"])
def test_a_damaged_or_missing_export_is_rebuilt(
    onnx_cache: Path, tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    path = onnx_text_path(minilm_dir(), onnx_cache)
    weights = path.with_name(path.name + ".weights")
    copy = folder / path.name
    copy.write_bytes(path.read_bytes())
    (folder / weights.name).write_bytes(weights.read_bytes())
    if damage == "graph":
        copy.write_bytes(copy.read_bytes()[: copy.stat().st_size // 2])
    elif damage == "weights-cut":
        data = (folder / weights.name).read_bytes()
        (folder / weights.name).write_bytes(data[: len(data) // 2])
    elif damage == "weights-zeroed":
        # A page of the transformer layers (the first half is the token embedding table,
        # whose rows the probe's texts do not all touch).
        data = bytearray((folder / weights.name).read_bytes())
        data[len(data) * 3 // 4 : len(data) * 3 // 4 + 4096] = bytes(4096)
        (folder / weights.name).write_bytes(bytes(data))
    else:
        copy.unlink()

    tower = load_text_tower(folder)

    assert tower.probe_difference() <= 1e-4
    assert copy.is_file() and (folder / weights.name).read_bytes() == weights.read_bytes()
    assert np.allclose(tower.encode(TEXTS[:2]), load_text_tower(onnx_cache).encode(TEXTS[:2]))
