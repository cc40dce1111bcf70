"""Trimming extreme aspect ratios before the encoders' resize."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photosense.models.imageprep import trim_extreme_aspect
from photosense.models.starter import image_transform


def noise(width: int, height: int) -> Image.Image:
    pixels = np.random.default_rng(width * 7919 + height).integers(0, 256, (height, width, 3))
    return Image.fromarray(pixels.astype(np.uint8))


@pytest.mark.parametrize("size", [(640, 480), (480, 640), (300, 100), (1, 1), (224, 224)])
def test_ordinary_images_are_left_alone(size: tuple[int, int]) -> None:
    image = noise(*size)
    assert trim_extreme_aspect(image) is image


@pytest.mark.parametrize(("size", "expected"), [((2, 2000), (2, 6)), ((5000, 10), (30, 10))])
def test_long_strips_keep_their_middle(size: tuple[int, int], expected: tuple[int, int]) -> None:
    image = noise(*size)
    trimmed = trim_extreme_aspect(image)
    assert trimmed.size == expected
    middle = np.asarray(image)[size[1] // 2, size[0] // 2]
    assert (np.asarray(trimmed)[expected[1] // 2, expected[0] // 2] == middle).all()


@pytest.mark.parametrize(
    ("size", "tolerance"),
    [((40, 400), 0.0), ((400, 40), 0.0), ((64, 1000), 0.0), ((41, 999), 0.1), ((1001, 50), 0.1)],
)
def test_the_centre_crop_does_not_change(size: tuple[int, int], tolerance: float) -> None:
    """Exact where the resized length is whole; otherwise within sub-pixel rounding (noise
    images are the worst case for that)."""
    transform = image_transform()
    image = noise(*size)
    full = transform(image).numpy()
    trimmed = transform(trim_extreme_aspect(image)).numpy()
    assert np.abs(full - trimmed).mean() <= tolerance
