"""A photo's look for duplicate finding: its detail (to tell the same photo from another) and
its sharpness (to suggest which copy to keep).

The detail is the photo in grey, reduced to :data:`DETAIL_SIDE` pixels on its longer side, less
a blur of itself: what is left is edges and texture, not the broad light that two photos of one
scene, or two photos of blue sky, share. Two photos are compared by :func:`likeness`: the best
normalised cross-correlation of one's detail placed inside the other's, at the scales at which
it covers from all of the other down to :data:`MIN_COVER` of each side. A copy that was resized,
re-encoded, cropped (to the centre or off one side), turned a degree or made brighter lines up
with the photo it came from; another photo of the same scene, a frame taken after a step aside
or another photo of the same thing does not (docs/duplicates.md has the measurements).

The difference hash (:func:`dhash`) is kept for comparison: it was the check before the detail,
and it confuses photos of one scene (docs/duplicates.md). Sharpness is the variance of a
Laplacian over the photo reduced to a common size, so a sharp photo and a blurred frame of the
same burst can be told apart, and a large copy is not judged sharper for having more pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from photosense.media.decode import decode_photo

HASH_SIDE = 8
LOOK_SIDE = 256
"""The shorter side photos are reduced to before their sharpness is measured."""
DETAIL_SIDE = 64
"""The longer side of the grey reduction whose detail photos are compared by."""
DETAIL_BLUR = 2.0
"""The blur (Gaussian sigma, in pixels of the reduction) taken away to leave the detail."""
MIN_COVER = 0.7
"""The least part of each side of a photo that a crop of it may keep and still match it."""
SCALE_STEP = 0.96
"""How much smaller each scale tried is than the one before (4 %: a crop between two scales
is at most 2 % off, one pixel at the edge of the reduction)."""
FLAT = 1.0
"""Detail (standard deviation, grey levels) below which a photo has none to compare: a blank
frame matches nothing but its exact copies."""

Detail = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Look:
    """A photo's detail (see the module docstring) and sharpness (higher is sharper)."""

    sharpness: float
    detail: Detail = field(compare=False, repr=False)


def dhash(image: Image.Image, side: int = HASH_SIDE) -> int:
    """The difference hash of ``image``: one bit per pixel pair, left brighter than right."""
    grey = image.convert("L").resize((side + 1, side), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, np.int16)
    bits = (pixels[:, :-1] > pixels[:, 1:]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), "big") >> (-len(bits) % 8)


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


def detail(image: Image.Image) -> Detail:
    """The detail of ``image``: its grey reduction to :data:`DETAIL_SIDE` less a blur of it."""
    width, height = image.size
    factor = DETAIL_SIDE / max(1, width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    grey = np.asarray(image.convert("L").resize(size, Image.Resampling.BOX), np.float32)
    return grey - cv2.GaussianBlur(grey, (0, 0), DETAIL_BLUR)


def likeness(one: Detail, two: Detail) -> float:
    """How surely two details are of the same photo, from -1 to 1: the best normalised
    cross-correlation of either placed inside the other, at every scale at which it covers
    all of the other's width or height, down to :data:`MIN_COVER` of each. 0.0 when either
    has no detail."""
    if min(one.shape) < 8 or min(two.shape) < 8 or one.std() < FLAT or two.std() < FLAT:
        return 0.0
    return max(_inside(one, two), _inside(two, one))


def _inside(whole: Detail, part: Detail) -> float:
    """The best correlation of ``part``, resized, at any place inside ``whole``."""
    height, width = whole.shape
    part_height, part_width = part.shape
    factor = min(width / part_width, height / part_height)
    best = -1.0
    while True:
        size = (round(part_width * factor), round(part_height * factor))
        if size[0] < MIN_COVER * width or size[1] < MIN_COVER * height or min(size) < 8:
            return best
        template = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
        if template.std() >= FLAT:
            found = cv2.matchTemplate(whole, template, cv2.TM_CCOEFF_NORMED)
            best = max(best, float(found.max()))
        factor *= SCALE_STEP


def look_of(image: Image.Image) -> Look:
    """The look of an upright image (reduced here to :data:`LOOK_SIDE` for its sharpness)."""
    small = image.copy()
    width, height = small.size
    factor = LOOK_SIDE / max(1, min(width, height))
    if factor < 1:
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        small = small.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Look(sharpness(small), detail(small))


def look(path: Path) -> Look:
    """Decode ``path`` (cheaply, at about :data:`LOOK_SIDE` pixels) and return its look;
    raises ``ImageSkipped`` when it cannot be decoded."""
    return look_of(decode_photo(path, min_side=LOOK_SIDE).image)
