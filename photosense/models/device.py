"""Where models run: device selection, batch sizes and CPU thread count.

torch is imported by the functions that need it, not with this module: the window and the
commands that load no model import this module without waiting for torch.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from photosense.errors import ModelError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

ENV_THREADS = "PHOTOSENSE_THREADS"
ENV_PRECISION = "PHOTOSENSE_PRECISION"
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("fp32", "fp16")

_PRECISION = {"cuda": "fp16", "mps": "fp32", "cpu": "fp32"}
"""Half precision where it is fast and safe: CUDA. MPS stays fp32 (fp16 LayerNorm and softmax
have had accuracy bugs there across torch releases, and it cannot be checked on our machines);
the CPU has no fast fp16 path."""

_deferred_threads: int | None = None
"""The thread count ``configure_cpu_threads`` chose before torch was loaded, until
``select_device`` (which every model calls before it runs) sets it."""
_deferred_lock = threading.Lock()

_BATCH_SIZES = {"cuda": 64, "mps": 32, "cpu": 8}
"""Images per forward pass; on the CPU small batches stay in cache (4-8 measured fastest)."""


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(preference: str | torch.device = "auto") -> torch.device:
    """The torch device to run models on.

    ``auto`` takes CUDA, then Apple MPS, then the CPU. Asking for ``cuda`` or ``mps`` (optionally
    with an index, ``cuda:1``) where it is not available raises ``ModelError`` rather than quietly
    falling back, so the user learns their setting has no effect.
    """
    import torch

    _set_deferred_threads()
    if isinstance(preference, torch.device):
        preference = str(preference)
    choice = preference.strip().lower()
    kind = choice.split(":", 1)[0]
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cpu":
        return torch.device("cpu")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                "CUDA was requested but is not available: no NVIDIA GPU was found, or this "
                "PyTorch build has no CUDA support. Choose 'auto' or 'cpu'."
            )
        try:
            device = torch.device(choice)
        except RuntimeError as exc:
            raise ModelError(f"Not a valid CUDA device: {preference!r}.") from exc
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(
                f"CUDA device {device.index} was requested but only "
                f"{torch.cuda.device_count()} GPU(s) are present."
            )
        return device
    if kind == "mps":
        if not _mps_available():
            raise ModelError(
                "Apple MPS was requested but is not available: it needs an Apple-silicon Mac "
                "with macOS 12.3 or later. Choose 'auto' or 'cpu'."
            )
        return torch.device("mps")
    raise ModelError(f"Unknown device {preference!r}; choose one of: {', '.join(DEVICE_CHOICES)}.")


def default_batch_size(device: torch.device | str) -> int:
    """A batch size for image encoding that fits common hardware without tuning."""
    import torch

    kind = torch.device(device).type
    return _BATCH_SIZES.get(kind, _BATCH_SIZES["cpu"])


def batch_size_for(encoder: object) -> int:
    """``default_batch_size`` of the device an encoder runs on (the CPU when it has none).

    An encoder may say better for the CPU with a ``cpu_batch_size`` attribute: the best batch
    depends on the network there (small CNNs like 4-8, transformers 16-32).
    """
    device = getattr(encoder, "device", None)
    kind = "cpu"
    if device is not None:  # one without (the fake encoder) runs on the CPU: no torch needed
        import torch

        kind = torch.device(device if isinstance(device, torch.device | str) else "cpu").type
    hint = getattr(encoder, "cpu_batch_size", None)
    if kind == "cpu" and isinstance(hint, int) and hint > 0:
        return hint
    return _BATCH_SIZES.get(kind, _BATCH_SIZES["cpu"])


def inference_precision(device: torch.device | str) -> str:
    """``fp16`` or ``fp32``: the weights' precision for inference on ``device``.

    ``PHOTOSENSE_PRECISION=fp32`` turns half precision off (an older GPU, a suspected numeric
    problem); ``fp16`` asks for it on MPS. The CPU always runs fp32.
    """
    import torch

    kind = torch.device(device).type
    env = os.environ.get(ENV_PRECISION, "").strip().lower()
    if env and kind != "cpu":
        if env in PRECISIONS:
            return env
        log.warning("Ignoring %s=%r: use one of %s", ENV_PRECISION, env, ", ".join(PRECISIONS))
    return _PRECISION.get(kind, "fp32")


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def configure_cpu_threads() -> None:
    """Set torch's intra-op thread count once, for CPU inference.

    ``PHOTOSENSE_THREADS`` wins; an ``OMP_NUM_THREADS`` set by the user is left alone. Otherwise
    one thread per physical core (logical CPUs halved on larger machines, where
    hyper-threading is near-universal), because extra SMT threads slow convolution down.
    If torch is not loaded yet, the count is set by the first :func:`select_device` (every
    model calls it before it runs), so a command that runs no model never loads torch.
    """
    global _deferred_threads
    threads = chosen_threads()
    if threads is None:
        return
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        return
    with _deferred_lock:
        _deferred_threads = threads


def chosen_threads() -> int | None:
    """The CPU thread count models run with (torch, and ONNX Runtime for queries); None
    leaves the runtime's own."""
    env = os.environ.get(ENV_THREADS, "").strip()
    if env:
        try:
            threads = int(env)
        except ValueError:
            log.warning("Ignoring %s=%r: not a whole number", ENV_THREADS, env)
        else:
            if threads > 0:
                log.debug("torch threads set to %d from %s", threads, ENV_THREADS)
                return threads
            log.warning("Ignoring %s=%r: must be at least 1", ENV_THREADS, env)
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return None
    logical = _usable_cpus()
    threads = max(1, logical // 2 if logical >= 8 else logical)
    log.debug("torch threads set to %d (%d usable CPUs)", threads, logical)
    return threads


def _set_deferred_threads() -> None:
    """Set the thread count ``configure_cpu_threads`` deferred until torch was loaded."""
    global _deferred_threads
    with _deferred_lock:
        threads, _deferred_threads = _deferred_threads, None
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
