"""Text towers exported to ONNX for search queries: what every light query encoder shares.

A search needs one text vector, and importing torch and loading a model for it takes seconds.
So a model's text side is exported to ONNX once, with torch, into the user's cache, named by a
fingerprint of its weights and the export settings; queries then run it with onnxruntime alone.
Each export is checked against torch, and the file carries a probe (texts and their torch
vectors) that every load checks, so a damaged file is rebuilt: one that does not load (cut
short, not ONNX) or answers differently. Files are only ever written whole (atomically), the
weights beside the graph (``NAME.onnx.weights``), where onnxruntime maps them instead of parsing
them out of the protobuf: the session opens in about half the time.
``PHOTOSENSE_ONNX=0`` sends queries through torch instead (an escape hatch, e.g. if onnxruntime
misbehaves on a machine).
"""

from __future__ import annotations

import io
import json
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from photosense.errors import ModelError
from photosense.fileio import atomic_write
from photosense.models.device import chosen_threads
from photosense.models.encoder import Encoder, Vectors, l2_normalise

if TYPE_CHECKING:
    import torch

__all__ = [
    "ENV_ONNX",
    "LightQueryEncoder",
    "OnnxTower",
    "TOLERANCE",
    "export_module",
    "is_exported",
    "load_or_export",
    "onnx_enabled",
    "write_checked",
]

log = logging.getLogger(__name__)

ENV_ONNX = "PHOTOSENSE_ONNX"
"""Set to 0 to embed queries with the torch model instead of the ONNX export."""

PROBE_KEY = "photosense.probe"
TOLERANCE = 1e-4
"""The largest per-component difference from torch accepted (fp32 runs differ by ~3e-7)."""


def onnx_enabled() -> bool:
    """Whether queries may use an ONNX export (``PHOTOSENSE_ONNX=0`` says no)."""
    return os.environ.get(ENV_ONNX, "").strip().lower() not in ("0", "off", "false", "no")


def weights_path(path: Path) -> Path:
    """Where the weights of the export ``path`` lie (beside it, ``NAME.onnx.weights``)."""
    return path.with_name(path.name + ".weights")


def is_exported(path: Path) -> bool:
    """Whether both files of the export ``path`` are there (not whether they are sound)."""
    return path.is_file() and weights_path(path).is_file()


class OnnxTower:
    """An exported text tower in an ONNX Runtime session; subclasses turn texts into its
    inputs. Its output is named ``vectors``."""

    dim = 0

    def __init__(self, model: bytes | Path) -> None:
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
        self.metadata: Mapping[str, str] = self._session.get_modelmeta().custom_metadata_map
        self._probe: dict[str, Any] = json.loads(self.metadata.get(PROBE_KEY, "{}"))

    def feeds(self, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
        """The session's inputs for ``texts`` (at least one)."""
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors, the same as the torch tower's to within ``TOLERANCE``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        (vectors,) = self._session.run(["vectors"], self.feeds(list(texts)))
        return l2_normalise(vectors)

    def probe_difference(self) -> float:
        """How far this file's answers are from the torch vectors it was exported with."""
        texts, expected = self._probe.get("texts"), self._probe.get("vectors")
        if not texts or expected is None:
            raise ModelError("the ONNX text tower carries no probe")
        got = self.encode(texts)
        return float(np.abs(got - np.asarray(expected, dtype=np.float32)).max())


def export_module(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    input_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    opset: int,
) -> Any:
    """``module`` traced on ``example`` into an ONNX ``ModelProto`` whose output is
    ``vectors`` (torch's TorchScript exporter, in memory)."""
    import onnx
    import torch

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation chatter; the check decides
        torch.onnx.export(
            module.eval(),
            example,
            buffer,  # type: ignore[arg-type]  # a file object works and is documented
            input_names=input_names,
            output_names=["vectors"],
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            dynamo=False,
        )
    return onnx.load_from_string(buffer.getvalue())


def write_checked(
    model: Any,
    path: Path,
    probe: tuple[Sequence[str], Vectors],
    open_tower: Callable[[bytes | Path], OnnxTower],
    metadata: Mapping[str, str] | None = None,
) -> OnnxTower:
    """Write the exported ``model`` to ``path`` once its answers match torch's.

    ``probe`` (texts and torch's vectors for them) goes into the file with ``metadata``; the
    model is checked against it in memory, then again once written (atomically, weights
    beside the graph). Raises ``ModelError`` when either check fails.
    """
    import onnx

    texts, expected = probe
    checked = json.dumps({"texts": list(texts), "vectors": expected.tolist()})
    props = {**(metadata or {}), PROBE_KEY: checked}
    onnx.helper.set_model_props(model, props)
    difference = open_tower(model.SerializeToString()).probe_difference()
    if not difference <= TOLERANCE:
        raise ModelError(f"the ONNX text tower differs from torch's by {difference:.1e}")
    weights = _move_weights_out(model, weights_path(path).name)
    with atomic_write(weights_path(path)) as handle:
        handle.write(weights)
    with atomic_write(path) as handle:
        handle.write(model.SerializeToString())
    tower = open_tower(path)
    if not tower.probe_difference() <= TOLERANCE:
        raise ModelError(f"the ONNX text tower written to {path} answers differently")
    return tower


def _move_weights_out(model: Any, location: str) -> bytes:
    """Take the large weights out of ``model`` into one blob, ``location`` beside the graph
    (page-aligned, so that onnxruntime can map it)."""
    from onnx import TensorProto
    from onnx.external_data_helper import set_external_data

    blob = io.BytesIO()
    for tensor in model.graph.initializer:
        if len(tensor.raw_data) >= 1024:
            blob.write(b"\0" * (-blob.tell() % 4096))
            offset = blob.tell()
            blob.write(tensor.raw_data)
            set_external_data(tensor, location, offset=offset, length=len(tensor.raw_data))
            tensor.data_location = TensorProto.EXTERNAL
            tensor.ClearField("raw_data")
    return blob.getvalue()


def load_or_export(
    path: Path,
    open_tower: Callable[[bytes | Path], OnnxTower],
    export: Callable[[], OnnxTower],
) -> OnnxTower:
    """The export at ``path``, checked against its probe; exported (again) by ``export`` when
    missing or damaged."""
    if is_exported(path):
        try:
            tower = open_tower(path)
            difference = tower.probe_difference()
        except Exception as exc:  # onnxruntime raises its own types for a damaged file
            reason = str(exc)
        else:
            if difference <= TOLERANCE:
                return tower
            reason = f"its answers differ from its probe by {difference:.1e}"
        log.warning("Rebuilding the ONNX text tower %s: %s", path, reason)
    started = time.perf_counter()
    tower = export()
    log.info("Exported a text tower to %s in %.1f s", path, time.perf_counter() - started)
    return tower


class LightQueryEncoder:
    """A model's text side for queries, without its image side (nor, mostly, torch): the
    model id and vectors of the full model's ``encode_texts``. It loads on the first query,
    so its id costs nothing; subclasses say how it loads and whether that needs one-time work
    (an export) first, which ``prepare`` does ahead (``photosense index`` calls it)."""

    def __init__(self, model_id: str, dim: int) -> None:
        self.model_id = model_id
        self.dim = dim
        self._encode: Callable[[Sequence[str]], Vectors] | None = None
        self._lock = threading.Lock()

    def needs_preparing(self) -> bool:
        """Whether the first query would do one-time work (an export) first."""
        return False

    def prepare(self, full: Callable[[], Encoder]) -> None:
        """Do the first query's one-time work now; ``full`` gives the library's full model
        (loaded once, shared) to an export that needs it."""
        self._loaded(full)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        return l2_normalise(self._loaded(None)(list(texts)))

    def _loaded(self, full: Callable[[], Encoder] | None) -> Callable[[Sequence[str]], Vectors]:
        with self._lock:
            if self._encode is None:
                started = time.perf_counter()
                self._encode = self._load(full)
                log.info("Loaded the query text tower in %.2f s", time.perf_counter() - started)
            return self._encode

    def _load(self, full: Callable[[], Encoder] | None) -> Callable[[Sequence[str]], Vectors]:
        """The function that embeds texts (``full``: see ``prepare``; None at a query)."""
        raise NotImplementedError
