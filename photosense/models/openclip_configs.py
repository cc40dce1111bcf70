"""open_clip's architecture configs and model ids, without importing open_clip (nor torch).

open_clip keeps one JSON file per architecture in its package (``model_configs/ARCH.json``); a
search that must know a model's text side (its tokenizer, its context length) before deciding
whether torch is needed at all reads the file directly. photosense's own tiny test
architecture lives here too, so that it is known the same way.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path
from typing import Any

__all__ = [
    "MODEL_ID_PREFIX",
    "RANDOM_TAG_PREFIX",
    "TINY_ARCH",
    "TINY_CONFIG",
    "architecture_config",
    "pretrained_model_id",
    "random_model_id",
]

MODEL_ID_PREFIX = "open_clip"
RANDOM_TAG_PREFIX = "random-seed"

TINY_ARCH = "photosense-tiny"
TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 8,
    "vision_cfg": {
        "image_size": 32,
        "layers": 1,
        "width": 32,
        "head_width": 16,
        "patch_size": 16,
    },
    "text_cfg": {
        "context_length": 16,
        "vocab_size": 49408,
        "width": 32,
        "heads": 2,
        "layers": 1,
    },
}
"""A one-layer CLIP (8-d vectors, 32 px images) in the spirit of open_clip's own test configs."""


def random_model_id(arch: str, seed: int) -> str:
    """The model id of ``arch`` with random weights drawn from ``seed``."""
    return f"{MODEL_ID_PREFIX}/{arch}/{RANDOM_TAG_PREFIX}{seed}"


def pretrained_model_id(arch: str, pretrained: str) -> str:
    """The model id of ``arch`` with open_clip's ``pretrained`` weights."""
    return f"{MODEL_ID_PREFIX}/{arch}/{pretrained}"


def _configs_folder() -> Path | None:
    spec = importlib.util.find_spec("open_clip")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model_configs"


def architecture_config(arch: str) -> dict[str, Any] | None:
    """open_clip's config of ``arch`` (``embed_dim``, ``vision_cfg``, ``text_cfg``…) as its
    JSON file holds it, or None when open_clip ships no such file."""
    if arch == TINY_ARCH:
        return copy.deepcopy(TINY_CONFIG)
    folder = _configs_folder()
    if folder is None or "/" in arch or "\\" in arch or arch.startswith("."):
        return None
    try:
        config: dict[str, Any] = json.loads((folder / f"{arch}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return config
