"""open_clip models behind the Encoder interface: pretrained CLIPs, or tiny random ones for tests.

A pretrained model comes through open_clip's own path (the Hugging Face hub cache, downloaded on
first use). A model with ``pretrained=None`` gets random weights from a fixed seed, so the same
architecture and seed give the same vectors in every process and ``model_id`` stays meaningful.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from photosense.errors import ModelError, ModelNotDownloadedError
from photosense.models.device import inference_precision, select_device
from photosense.models.encoder import Vectors, l2_normalise
from photosense.models.imageprep import trim_extreme_aspect
from photosense.models.openclip_configs import MODEL_ID_PREFIX as MODEL_ID_PREFIX
from photosense.models.openclip_configs import RANDOM_TAG_PREFIX as RANDOM_TAG_PREFIX
from photosense.models.openclip_configs import TINY_ARCH as TINY_ARCH
from photosense.models.openclip_configs import TINY_CONFIG as TINY_CONFIG
from photosense.models.openclip_configs import pretrained_model_id as pretrained_model_id
from photosense.models.openclip_configs import random_model_id as random_model_id

log = logging.getLogger(__name__)

TEXT_BATCH_SIZE = 256

_register_lock = threading.Lock()


def register_tiny_config(name: str = TINY_ARCH) -> str:
    """Make ``TINY_CONFIG`` known to open_clip under ``name`` (idempotent, no files); returns it.

    open_clip only offers ``add_model_config(path)``, which rescans every JSON file, so the config
    goes straight into its registry dict, which is what that function fills.
    """
    from open_clip import factory

    with _register_lock:
        if name not in factory._MODEL_CONFIGS:
            factory._MODEL_CONFIGS[name] = copy.deepcopy(TINY_CONFIG)
    return name


def known_architectures() -> list[str]:
    """Every architecture open_clip can build (its built-in configs plus the tiny one)."""
    import open_clip

    register_tiny_config()
    return list(open_clip.list_models())


def _check_architecture(arch: str) -> None:
    if arch == TINY_ARCH:
        register_tiny_config()
    if arch not in known_architectures():
        raise ModelError(
            f"open_clip has no architecture named {arch!r}. Known examples: ViT-B-32, ViT-B-16, "
            f"RN50, {TINY_ARCH} (open_clip.list_models() lists them all)."
        )


def build_skeleton(arch: str) -> torch.nn.Module:
    """``arch`` on the meta device: every weight's name and shape, no memory, no download.

    What an imported checkpoint is checked against before anything is loaded. Raises
    ``ModelError`` for an unknown architecture, or one whose ``transformers`` text tower
    config is neither cached nor reachable.
    """
    import open_clip

    _check_architecture(arch)
    try:
        with torch.device("meta"):
            model: torch.nn.Module = open_clip.create_model(
                arch, pretrained=None, device="meta", pretrained_image=False, pretrained_text=False
            )
    except (RuntimeError, OSError, ValueError) as exc:
        raise ModelError(f"Cannot build {arch} offline to check a checkpoint: {exc}") from exc
    return model


class _DropOpenClipFailures(logging.Filter):
    """open_clip logs a failed download on the root logger and then raises; the raised error
    becomes a typed one that says what to do, so the raw log line would only say it twice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.ERROR
            and "open_clip" in record.pathname
            and record.getMessage().startswith("Failed to download")
        )


@contextlib.contextmanager
def _open_clip_failures_unlogged() -> Iterator[None]:
    quiet = _DropOpenClipFailures()
    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        yield
    finally:
        root.removeFilter(quiet)


def _pretrained_error(arch: str, pretrained: str, exc: Exception) -> ModelError:
    import open_clip

    if os.path.isfile(pretrained):
        return ModelError(f"The checkpoint {pretrained} does not load into {arch}: {exc}")
    tags = list(open_clip.list_pretrained_tags_by_model(arch))
    if pretrained.lower().replace("-", "_") not in tags:
        known = f"known tags: {', '.join(tags)}" if tags else "open_clip knows none for it"
        return ModelError(
            f"{arch} has no pretrained weights called {pretrained!r} and no such file exists; "
            f"{known}."
        )
    from photosense.models import hub

    try:
        return hub.not_downloaded(hub.hub_source(arch, pretrained))
    except ModelError:  # fetched from a plain URL, not the hub
        return ModelNotDownloadedError(f"{arch}/{pretrained}", arch)


class OpenClipEncoder:
    """An open_clip model with its inference transform and tokenizer; build it with ``create``."""

    cpu_batch_size = 16
    """On the CPU, ViT-B-32 and MobileCLIP-S2 encode 1.5-2x more images per second in batches
    of 16-32 than of 8 (``benchmarks/bench_models.py``); see ``device.batch_size_for``."""

    def __init__(
        self,
        model: torch.nn.Module,
        transform: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[..., torch.Tensor],
        *,
        model_id: str,
        dim: int,
        image_size: int,
        device: torch.device,
        crops_centre: bool = True,
        precision: str = "fp32",
    ) -> None:
        self.model = model
        self.transform = transform
        self.tokenizer = tokenizer
        self.device = device
        self.precision = precision
        self._input_dtype = torch.float16 if precision == "fp16" else torch.float32
        self._model_id = model_id
        self._dim = dim
        self._image_size = image_size
        self._crops_centre = crops_centre

    @classmethod
    def create(
        cls,
        arch: str,
        pretrained: str | None = None,
        device: str | torch.device = "auto",
        seed: int = 0,
        *,
        model_id: str | None = None,
        precision: str | None = None,
        preprocess: Mapping[str, Any] | None = None,
        fuse: bool = True,
    ) -> OpenClipEncoder:
        """Build ``arch`` with ``pretrained`` weights, or random weights from ``seed`` if None.

        ``pretrained`` is an open_clip tag (``laion2b_s34b_b79k``) or a checkpoint file; missing
        weights raise ``ModelError`` saying how to get them. ``model_id`` overrides the derived id
        (for imported checkpoint files), ``preprocess`` the image normalisation (open_clip's
        ``image_mean``/``image_std``/``image_interpolation``/``image_resize_mode``, which a
        checkpoint file does not carry). ``precision`` (``fp32``/``fp16``) defaults to
        :func:`inference_precision` of the device: half on CUDA, via open_clip's own mixed
        precision (LayerNorms stay fp32); vectors leave as float32 either way. ``fuse`` folds the
        training-time branches of re-parameterisable timm towers (MobileCLIP's MobileOne blocks)
        into single convolutions, as their authors do for inference (fp32 only; training code
        passes False, since a fused model no longer has the architecture's weights).
        """
        import open_clip

        target = select_device(device)
        precision = precision or inference_precision(target)
        _check_architecture(arch)
        options: dict[str, Any] = {
            f"image_{key}": value
            for key, value in (preprocess or {}).items()
            if key in ("mean", "std", "interpolation", "resize_mode")
        }
        if pretrained is None:
            # Build on the CPU inside a forked RNG: identical weights on every device and in
            # every process, and the caller's random state is left as it was. No tower gets
            # its own pretrained weights either, so nothing is downloaded.
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    model, _, transform = open_clip.create_model_and_transforms(
                        arch,
                        pretrained=None,
                        device="cpu",
                        precision=precision,
                        pretrained_image=False,
                        pretrained_text=False,
                        **options,
                    )
            except (RuntimeError, OSError, ValueError) as exc:
                raise ModelError(f"Cannot build {arch} with random weights offline: {exc}") from exc
            model = model.to(target)
            resolved_id = model_id or random_model_id(arch, seed)
        else:
            try:
                with _open_clip_failures_unlogged():
                    model, _, transform = open_clip.create_model_and_transforms(
                        arch,
                        pretrained=pretrained,
                        device=target,
                        precision=precision,
                        weights_only=True,
                        **options,
                    )
            except (RuntimeError, OSError, ValueError) as exc:
                raise _pretrained_error(arch, pretrained, exc) from exc
            resolved_id = model_id or pretrained_model_id(arch, pretrained)
        model.eval()
        vision_cfg = (open_clip.get_model_config(arch) or {}).get("vision_cfg", {})
        if fuse and precision == "fp32" and "timm_model_name" in vision_cfg:
            from timm.utils.model import reparameterize_model

            model = reparameterize_model(model, inplace=True)
        try:
            tokenizer = open_clip.get_tokenizer(arch)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelError(f"Cannot load the tokenizer of {arch} offline: {exc}") from exc
        config = open_clip.get_model_config(arch) or {}
        image_cfg = open_clip.get_model_preprocess_cfg(model)
        size = image_cfg.get("size", 224)
        image_size = int(size if isinstance(size, int) else max(size))
        encoder = cls(
            model,
            transform,
            tokenizer,
            model_id=resolved_id,
            dim=int(config.get("embed_dim", 0)),
            image_size=image_size,
            device=target,
            # Only "resize the shorter side, crop the centre" ignores the far ends of an image.
            crops_centre=image_cfg.get("resize_mode", "shortest") == "shortest",
            precision=precision,
        )
        if encoder._dim <= 0:
            encoder._dim = int(encoder.encode_texts([""]).shape[1])
        log.info("Loaded %s on %s, %s (dim %d)", resolved_id, target, precision, encoder._dim)
        return encoder

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def image_size(self) -> int:
        return self._image_size

    def prepare_image(self, image: Image.Image) -> torch.Tensor:
        """open_clip's inference transform (resize, centre crop, normalise); thread-safe."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if self._crops_centre:
            image = trim_extreme_aspect(image)
        return self.transform(image)

    @torch.inference_mode()
    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        """Image vectors for a batch of ``prepare_image`` outputs."""
        if not prepared:
            return np.zeros((0, self._dim), dtype=np.float32)
        batch = torch.stack(list(prepared)).to(self.device, dtype=self._input_dtype)
        features = self.model.encode_image(batch, normalize=True)  # type: ignore[operator]
        return l2_normalise(features.float().cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Prepare and encode in one go (no worker threads)."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Text vectors, tokenized with the architecture's own tokenizer, in batches."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), TEXT_BATCH_SIZE):
            tokens = self.tokenizer(list(texts[start : start + TEXT_BATCH_SIZE])).to(self.device)
            features = self.model.encode_text(tokens, normalize=True)  # type: ignore[operator]
            parts.append(features.float().cpu().numpy())
        return l2_normalise(np.concatenate(parts))
