"""A Hugging Face hub cache laid out by the tests, so open_clip's pretrained path runs offline.

``empty_hub`` points huggingface_hub at a fresh cache in ``tmp_path`` with offline mode on (a
real user's downloads are never seen); ``lay_out_hub_cache`` puts a checkpoint where
``hf_hub_download`` finds it (``refs/main`` -> a snapshot); ``register_tiny_pretrained`` makes
open_clip believe the tiny architecture has a pretrained tag on the hub.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY_REPO = "photosense/tiny-test"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache of our own, offline, so a real user's downloads are never used."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def lay_out_hub_file(cache: Path, repo: str, filename: str, data: bytes) -> Path:
    """Put a file where huggingface_hub looks for it offline (``refs/main`` -> a snapshot)."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(COMMIT)
    (snapshot / filename).write_bytes(data)
    return snapshot / filename


def lay_out_hub_cache(cache: Path, repo: str, filename: str, model: torch.nn.Module) -> Path:
    """Put ``model``'s weights where huggingface_hub looks for them offline; returns the file."""
    from safetensors.torch import save

    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    return lay_out_hub_file(cache, repo, filename, save(state))


def register_tiny_pretrained(
    monkeypatch: pytest.MonkeyPatch, tag: str = "testtag", repo: str = TINY_REPO
) -> None:
    """open_clip's pretrained table gains ``photosense-tiny/TAG``, fetched from ``repo``."""
    from open_clip import pretrained

    from photosense.models.openclip import TINY_ARCH, register_tiny_config

    register_tiny_config()
    monkeypatch.setitem(
        pretrained._PRETRAINED, TINY_ARCH, {tag: pretrained._pcfg(hf_hub=f"{repo}/")}
    )
