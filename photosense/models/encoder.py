"""The Encoder interface: everything the rest of photosense knows about a model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from PIL import Image

from photosense.arrays import Vectors

__all__ = ["Encoder", "TextEncoder", "Vectors", "l2_normalise"]


@runtime_checkable
class TextEncoder(Protocol):
    """What a search needs of a model: its id and its text side (every Encoder is one; the
    starter also has a light one for queries that needs no torch)."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode_texts(self, texts: Sequence[str]) -> Vectors: ...


@runtime_checkable
class Preparable(Protocol):
    """A query encoder with one-time work (an export) that can be done ahead of the first
    query; ``full`` gives the library's full model, loaded once, to work that needs it."""

    def needs_preparing(self) -> bool: ...

    def prepare(self, full: Callable[[], Encoder]) -> None: ...


@runtime_checkable
class Encoder(TextEncoder, Protocol):
    """Maps images and texts into one vector space.

    ``prepare_image`` turns a decoded RGB image into whatever ``encode_prepared`` batches (it is
    called on worker threads, so it must be thread-safe and cheap on shared state). Every vector
    leaving an encoder is float32 and L2-normalised.
    """

    @property
    def image_size(self) -> int: ...

    def prepare_image(self, image: Image.Image) -> Any: ...

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors: ...

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors: ...


def l2_normalise(vectors: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(array / norms, dtype=np.float32)
