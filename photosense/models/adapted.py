"""A base encoder plus small learned adapters: how a fine-tuned model runs.

Fine-tuning (:mod:`photosense.learn.finetune`) leaves the base model's weights alone and learns a
low-rank correction on each side of the shared vector space::

    image = normalise(v_img + alpha * up_img(down_img(normalise(f_img))))
    text  = normalise(v_txt + alpha * up_txt(down_txt(v_txt)))

``v`` is the base model's own unit vector and ``f_img`` the image features it was computed from
(the EfficientNet trunk's pooled features for the starter; the vector itself for models that
expose nothing richer, in which case the correction is exactly a low-rank update of their
projection layer). ``up`` starts at zero, so an untrained adapter *is* the base model, and
``alpha`` blends the learned correction in weight space (WiSE-FT): 0 is the base, 1 the
fine-tuned weights, values between interpolate them.

A fine-tuned model is stored like any local model (``fine-tuned/NAME``: ``model.safetensors``
holding only the adapter, ``model.json`` naming its base); loading it loads the base first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from photosense.errors import ModelError
from photosense.models.encoder import Encoder, Vectors, l2_normalise
from photosense.models.local import ADAPTER_ARCH, read_local

__all__ = [
    "ADAPTER_ARCH",
    "AdaptedEncoder",
    "AdapterHeads",
    "FeatureEncoder",
    "image_vectors_and_features",
]

Features = npt.NDArray[np.float32]


@runtime_checkable
class FeatureEncoder(Protocol):
    """An encoder that can also hand out the features its image vectors are made from."""

    def encode_prepared_with_features(self, prepared: Sequence[Any]) -> tuple[Vectors, Features]:
        """(unit vectors, trunk features) for a batch of ``prepare_image`` outputs."""
        ...


def image_vectors_and_features(
    encoder: Encoder, prepared: Sequence[Any]
) -> tuple[Vectors, Features]:
    """An encoder's image vectors with its richest features (the vectors themselves if none)."""
    if isinstance(encoder, FeatureEncoder):
        return encoder.encode_prepared_with_features(prepared)
    vectors = encoder.encode_prepared(prepared)
    return vectors, vectors


class LowRankDelta(torch.nn.Module):
    """``up(down(x))`` with ``up`` zero at the start: a correction that begins as nothing.

    ``down`` starts as a random projection scaled like LoRA's A matrix, so gradients reach
    ``up`` from the first step.
    """

    def __init__(self, in_dim: int, out_dim: int, rank: int) -> None:
        super().__init__()
        if in_dim < 1 or out_dim < 1 or rank < 1:
            raise ValueError(f"bad adapter shape {in_dim} -> {rank} -> {out_dim}")
        self.down = torch.nn.Linear(in_dim, rank, bias=False)
        self.up = torch.nn.Linear(rank, out_dim, bias=True)
        torch.nn.init.kaiming_uniform_(self.down.weight, a=5**0.5)
        torch.nn.init.zeros_(self.up.weight)
        torch.nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.up(self.down(x))
        return result


class AdapterHeads(torch.nn.Module):
    """The two learned corrections (image side, text side) and the WiSE-FT blend ``alpha``."""

    def __init__(self, image_features: int, dim: int, rank: int) -> None:
        super().__init__()
        self.image_features = image_features
        self.dim = dim
        self.rank = rank
        self.image = LowRankDelta(image_features, dim, rank)
        self.text = LowRankDelta(dim, dim, rank)
        self.register_buffer("alpha", torch.tensor(1.0))

    def embed_images(self, vectors: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        features = torch.nn.functional.normalize(features.float(), dim=-1)
        delta = self.image(features) * self.alpha
        return torch.nn.functional.normalize(vectors.float() + delta, dim=-1)

    def embed_texts(self, vectors: torch.Tensor) -> torch.Tensor:
        delta = self.text(vectors.float()) * self.alpha
        return torch.nn.functional.normalize(vectors.float() + delta, dim=-1)

    alpha: torch.Tensor

    def set_alpha(self, alpha: float) -> None:
        with torch.no_grad():
            self.alpha.fill_(float(alpha))

    @property
    def shape(self) -> dict[str, int]:
        return {"image_features": self.image_features, "dim": self.dim, "rank": self.rank}

    @classmethod
    def from_state(
        cls, state: Mapping[str, torch.Tensor], shape: Mapping[str, Any]
    ) -> AdapterHeads:
        """Heads of ``shape`` with ``state`` loaded strictly; ``ModelError`` if it does not fit."""
        try:
            heads = cls(int(shape["image_features"]), int(shape["dim"]), int(shape["rank"]))
            heads.load_state_dict(dict(state), strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelError(f"the adapter weights do not fit their record: {exc}") from exc
        return heads.eval()


class AdaptedEncoder:
    """An :class:`Encoder` that runs ``base`` and applies learned adapter heads to its vectors.

    Thread-safety as the base: images are prepared by the base; the heads only read weights.
    """

    def __init__(self, base: Encoder, heads: AdapterHeads, model_id: str) -> None:
        if heads.dim != base.dim:
            raise ModelError(
                f"{model_id} adapts {heads.dim}-d vectors but its base {base.model_id} makes "
                f"{base.dim}-d ones"
            )
        self.base = base
        self.heads = heads.eval()
        self._model_id = model_id
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self.base.dim

    @property
    def image_size(self) -> int:
        return self.base.image_size

    def prepare_image(self, image: Image.Image) -> Any:
        return self.base.prepare_image(image)

    def encode_prepared_with_features(self, prepared: Sequence[Any]) -> tuple[Vectors, Features]:
        vectors, features = image_vectors_and_features(self.base, prepared)
        with self._lock, torch.no_grad():
            adapted = self.heads.embed_images(torch.from_numpy(vectors), torch.from_numpy(features))
        return l2_normalise(adapted.numpy()), features

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        if not prepared:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.encode_prepared_with_features(prepared)[0]

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        vectors = self.base.encode_texts(texts)
        if len(vectors) == 0:
            return vectors
        with self._lock, torch.no_grad():
            adapted = self.heads.embed_texts(torch.from_numpy(vectors))
        return l2_normalise(adapted.numpy())


def load_adapted(model_id: str, base_loader: Callable[[str], Encoder]) -> AdaptedEncoder:
    """A stored fine-tuned model: its base (through ``base_loader``) plus its adapter heads."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    record = read_local(model_id)
    if record.architecture != ADAPTER_ARCH or not record.base:
        raise ModelError(f"{model_id} is not a fine-tuned adapter model")
    try:
        state = load_file(str(record.weights), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"the weights of {model_id} cannot be read: {exc}") from exc
    heads = AdapterHeads.from_state(state, record.extra.get("adapter", {}))
    return AdaptedEncoder(base_loader(record.base), heads, model_id)
