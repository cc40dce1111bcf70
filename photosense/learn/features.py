"""The frozen base model's outputs for fine-tuning, computed once and kept on disk.

Encoding the photos (in several augmented views) is the expensive part of a run and the only
one that runs the big model; it is done in chunks saved in a :class:`RunFolder` (which also holds
the training checkpoints), so a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photosense.fileio import atomic_write
from photosense.learn.encoding import decode_for, encode_paths
from photosense.learn.records import TrainingProgress, storage_error
from photosense.models.adapted import image_vectors_and_features
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

FEATURE_CHUNK = 64
"""Photos per saved chunk of features: what a killed run loses at most."""


def augment_views(views: int, seed: int) -> Callable[[Any], list[Any]]:
    """A function from a decoded image to ``views`` images: the original, then augmented ones.

    Random resized crop (60-100% of the area), horizontal flip and mild colour jitter: photos
    stay recognisable, and the adapters cannot memorise one exact crop. Seeded per image, so
    a resumed run sees the same views.
    """
    from torchvision import transforms

    def make(image: Any) -> list[Any]:
        out = [image]
        if views > 1:
            size = image.size[::-1]
            augment = transforms.Compose(
                [
                    transforms.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
                    transforms.RandomHorizontalFlip(),
                    transforms.ColorJitter(0.3, 0.3, 0.3, 0.03),
                ]
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                out.extend(augment(image) for _ in range(views - 1))
        return out

    return make


# -- the run folder: features and checkpoints that let a killed run resume -------------------


class RunFolder:
    """Files of one run, named by everything that decides its result."""

    def __init__(self, root: Path, key: str) -> None:
        self.path = root / key
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error("fine-tuning's work files", self.path, exc) from exc

    def chunk_path(self, index: int) -> Path:
        return self.path / f"features-{index:05d}.safetensors"

    def save_chunk(self, index: int, tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save

        try:
            with atomic_write(self.chunk_path(index)) as handle:
                handle.write(save({k: v.contiguous() for k, v in tensors.items()}))
        except OSError as exc:
            raise storage_error("the encoded photos", self.path, exc) from exc

    def load_chunk(self, index: int) -> dict[str, torch.Tensor] | None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.chunk_path(index)
        if not path.is_file():
            return None
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return None

    def save_checkpoint(self, state: dict[str, Any], progress: dict[str, Any]) -> None:
        import io

        buffer = io.BytesIO()
        torch.save(state, buffer)
        try:
            with atomic_write(self.path / "checkpoint.pt") as handle:
                handle.write(buffer.getvalue())
            with atomic_write(self.path / "progress.json") as handle:
                handle.write(json.dumps(progress).encode("utf-8"))
        except OSError as exc:
            raise storage_error("a training checkpoint", self.path, exc) from exc

    def load_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The last checkpoint (tensors only: ``weights_only`` loading), or None."""
        try:
            progress = json.loads((self.path / "progress.json").read_text(encoding="utf-8"))
            state = torch.load(self.path / "checkpoint.pt", map_location="cpu", weights_only=True)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RuntimeError, EOFError) as exc:
            log.warning("ignoring a damaged checkpoint in %s: %s", self.path, exc)
            return None
        if not isinstance(state, dict) or state.get("epoch") != progress.get("epoch"):
            return None
        return state, progress

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# -- features -----------------------------------------------------------------------------


@dataclass
class Features:
    """Cached base-model outputs: per photo ``views`` image vectors and features; per text."""

    vectors: torch.Tensor  # photos x views x dim
    features: torch.Tensor  # photos x views x feature dim
    readable: torch.Tensor  # photos (bool)


def extract_features(
    encoder: Encoder,
    paths: Sequence[Path],
    views: int,
    seed: int,
    run: RunFolder | None,
    cancel: CancelToken,
    *,
    batch_size: int,
    workers: int | None,
    label: str,
    done_before: int,
    total: int,
    started: float,
) -> Generator[Progress, None, Features]:
    """Encode ``paths`` in ``views`` views each, chunk by chunk (chunks already saved are read)."""
    chunks: list[dict[str, torch.Tensor]] = []
    for index, start in enumerate(range(0, len(paths), FEATURE_CHUNK)):
        chunk_paths = paths[start : start + FEATURE_CHUNK]
        saved = run.load_chunk(index) if run else None
        if saved is not None and saved["vectors"].shape[:2] == (len(chunk_paths), views):
            chunks.append(saved)
            continue
        steps = _encode_chunk(
            encoder, chunk_paths, views, seed, cancel, batch_size=batch_size, workers=workers
        )
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                chunks.append(stop.value)
                break
            done = done_before + start + step.done
            elapsed = time.monotonic() - started
            rate = (done - done_before) / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            yield TrainingProgress(done, total, label, phase="features", eta_seconds=eta)
        if run is not None:
            run.save_chunk(index, chunks[-1])
    width = max((c["features"].shape[2] for c in chunks if c["readable"].any()), default=1)
    for chunk in chunks:
        if chunk["features"].shape[2] != width:  # a chunk with no readable photo at all
            chunk["features"] = torch.zeros((len(chunk["readable"]), views, width))
    return Features(
        torch.cat([c["vectors"] for c in chunks]) if chunks else torch.zeros((0, views, 1)),
        torch.cat([c["features"] for c in chunks]) if chunks else torch.zeros((0, views, 1)),
        torch.cat([c["readable"].bool() for c in chunks]) if chunks else torch.zeros(0).bool(),
    )


def _encode_chunk(
    encoder: Encoder,
    paths: Sequence[Path],
    views: int,
    seed: int,
    cancel: CancelToken,
    *,
    batch_size: int,
    workers: int | None,
) -> Generator[Progress, None, dict[str, torch.Tensor]]:
    """One chunk of photos as tensors; unreadable photos are zero rows marked in ``readable``."""
    vectors = torch.zeros((len(paths), views, encoder.dim))
    features: torch.Tensor | None = None
    readable = torch.zeros(len(paths), dtype=torch.uint8)

    def prepare(path: Path) -> list[Any]:
        image = decode_for(encoder, path)
        key = int(hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()[:8], 16)
        return [encoder.prepare_image(v) for v in augment_views(views, key)(image)]

    def encode(items: list[Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        return image_vectors_and_features(encoder, items)

    def keep(
        positions: list[int],
        counts: list[int],
        encoded: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
    ) -> None:
        nonlocal features
        if features is None:
            features = torch.zeros((len(paths), views, encoded[1].shape[1]))
        offset = 0
        for position, count in zip(positions, counts, strict=True):
            vectors[position] = torch.from_numpy(encoded[0][offset : offset + count])
            features[position] = torch.from_numpy(encoded[1][offset : offset + count])
            readable[position] = 1
            offset += count

    yield from encode_paths(
        paths, prepare, encode, keep, cancel, batch_size=batch_size, workers=workers
    )
    if features is None:
        features = torch.zeros((len(paths), views, 1))
    return {"vectors": vectors, "features": features, "readable": readable}
