"""A photo's look in two numbers: a difference hash (which copies share) and its sharpness.

The difference hash (dHash) compares neighbouring pixels of a 9x8 grey reduction: re-encoding,
resizing and small colour changes keep most of its 64 bits, while another photo of the same
scene, reframed, does not. Sharpness is the variance of a Laplacian over the photo reduced to a
common size, so a sharp photo and a blurred frame of the same burst can be told apart, and a
large copy is not judged sharper for having more pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from photosense.media.decode import decode_photo

HASH_SIDE = 8
LOOK_SIDE = 256
"""The shorter side photos are reduced to before their sharpness is measured."""


@dataclass(frozen=True)
class Look:
    """A photo's difference hash (64 bits) and sharpness (higher is sharper)."""

    dhash: int
    sharpness: float


def dhash(image: Image.Image, side: int = HASH_SIDE) -> int:
    """The difference hash of ``image``: one bit per pixel pair, left brighter than right."""
    grey = image.convert("L").resize((side + 1, side), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, np.int16)
    bits = (pixels[:, :-1] > pixels[:, 1:]).ravel()
    return int(np.packbits(bits).view(">u8")[0]) if side == HASH_SIDE else _pack(bits)


def _pack(bits: np.ndarray) -> int:
    value = 0
    for bit in bits.tolist():
        value = (value << 1) | int(bit)
    return value


def hamming(a: int, b: int) -> int:
    """How many bits two hashes differ in."""
    return (a ^ b).bit_count()


def sharpness(image: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian of ``image`` in grey (any size; reduce it first
    to compare photos of different sizes)."""
    grey = np.asarray(image.convert("L"), np.float32)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    laplacian = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def look_of(image: Image.Image) -> Look:
    """The look of an upright image (reduced here to :data:`LOOK_SIDE`)."""
    small = image.copy()
    width, height = small.size
    factor = LOOK_SIDE / max(1, min(width, height))
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = small.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Look(dhash(small), sharpness(small))


def look(path: Path) -> Look:
    """Decode ``path`` (cheaply, at about :data:`LOOK_SIDE` pixels) and return its look;
    raises ``ImageSkipped`` when it cannot be decoded."""
    return look_of(decode_photo(path, min_side=LOOK_SIDE).image)
