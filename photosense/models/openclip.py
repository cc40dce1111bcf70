"""open_clip models behind the Encoder interface: pretrained CLIPs, or tiny random ones for tests.

A pretrained model comes through open_clip's own path (the Hugging Face hub cache, downloaded on
first use). A model with ``pretrained=None`` gets random weights from a fixed seed, so the same
architecture and seed give the same vectors in every process and ``model_id`` stays meaningful.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from photosense.errors import ModelError
from photosense.models.device import select_device
from photosense.models.encoder import Vectors, l2_normalise
from photosense.models.imageprep import trim_extreme_aspect

log = logging.getLogger(__name__)

MODEL_ID_PREFIX = "open_clip"
RANDOM_TAG_PREFIX = "random-seed"
TEXT_BATCH_SIZE = 256

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


def random_model_id(arch: str, seed: int) -> str:
    """The model id of ``arch`` with random weights drawn from ``seed``."""
    return f"{MODEL_ID_PREFIX}/{arch}/{RANDOM_TAG_PREFIX}{seed}"


def pretrained_model_id(arch: str, pretrained: str) -> str:
    """The model id of ``arch`` with open_clip's ``pretrained`` weights."""
    return f"{MODEL_ID_PREFIX}/{arch}/{pretrained}"


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
    return ModelError(
        f"The weights for {arch}/{pretrained} are not in the local Hugging Face cache and could "
        "not be downloaded. Connect to the internet once so they can be fetched (into HF_HOME), "
        "make sure HF_HUB_OFFLINE is not set, or import a checkpoint file."
    )


class OpenClipEncoder:
    """An open_clip model with its inference transform and tokenizer; build it with ``create``."""

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
    ) -> None:
        self.model = model
        self.transform = transform
        self.tokenizer = tokenizer
        self.device = device
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
    ) -> OpenClipEncoder:
        """Build ``arch`` with ``pretrained`` weights, or random weights from ``seed`` if None.

        ``pretrained`` is an open_clip tag (``laion2b_s34b_b79k``) or a checkpoint file; missing
        weights raise ``ModelError`` saying how to get them. ``model_id`` overrides the derived id
        (for imported checkpoint files).
        """
        import open_clip

        target = select_device(device)
        _check_architecture(arch)
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
                        pretrained_image=False,
                        pretrained_text=False,
                    )
            except (RuntimeError, OSError, ValueError) as exc:
                raise ModelError(f"Cannot build {arch} with random weights offline: {exc}") from exc
            model = model.to(target)
            resolved_id = model_id or random_model_id(arch, seed)
        else:
            try:
                model, _, transform = open_clip.create_model_and_transforms(
                    arch, pretrained=pretrained, device=target, weights_only=True
                )
            except (RuntimeError, OSError, ValueError) as exc:
                raise _pretrained_error(arch, pretrained, exc) from exc
            resolved_id = model_id or pretrained_model_id(arch, pretrained)
        model.eval()
        try:
            tokenizer = open_clip.get_tokenizer(arch)
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelError(f"Cannot load the tokenizer of {arch} offline: {exc}") from exc
        config = open_clip.get_model_config(arch) or {}
        preprocess = open_clip.get_model_preprocess_cfg(model)
        size = preprocess.get("size", 224)
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
            crops_centre=preprocess.get("resize_mode", "shortest") == "shortest",
        )
        if encoder._dim <= 0:
            encoder._dim = int(encoder.encode_texts([""]).shape[1])
        log.info("Loaded %s on %s (dim %d)", resolved_id, target, encoder._dim)
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
        batch = torch.stack(list(prepared)).to(self.device)
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
