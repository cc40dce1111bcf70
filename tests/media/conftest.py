"""Image makers for the media tests: every file is generated in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import dataset


def _halves(size: tuple[int, int]) -> Image.Image:
    """An RGB image, left half red and right half blue, so any rotation or flip shows."""
    im = Image.new("RGB", size, "blue")
    im.paste("red", (0, 0, size[0] // 2, size[1]))
    return im


@pytest.fixture
def halves() -> Callable[[tuple[int, int]], Image.Image]:
    return _halves


@pytest.fixture(scope="session")
def messy_library() -> Path:
    return dataset("messy-library")


@pytest.fixture(scope="session")
def camera_photos() -> Path:
    return dataset("camera-photos")


@pytest.fixture
def make_jpeg(tmp_path: Path) -> Callable[..., Path]:
    """Write a red/blue JPEG of ``size`` with optional EXIF tags; returns its path."""

    def make(
        name: str = "photo.jpg",
        size: tuple[int, int] = (400, 300),
        orientation: int | None = None,
        ifd0: dict[int, Any] | None = None,
        exif_ifd: dict[int, Any] | None = None,
        gps: dict[int, Any] | None = None,
    ) -> Path:
        exif = Image.Exif()
        if orientation is not None:
            exif[0x0112] = orientation
        exif.update(ifd0 or {})
        if exif_ifd:
            exif.get_ifd(0x8769).update(exif_ifd)
        if gps:
            exif.get_ifd(0x8825).update(gps)
        path = tmp_path / name
        _halves(size).save(path, "JPEG", quality=90, exif=exif.tobytes())
        return path

    return make
