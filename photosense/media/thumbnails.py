"""Thumbnails for the photo grid and previews: made with Pillow, cached on disk, never fatal.

A thumbnail is the photo decoded upright (EXIF orientation applied), reduced to fit a square of
``size`` pixels, and saved as JPEG under the library folder's ``thumbnails/`` directory. Its file
name carries the source's path, byte size and mtime, so a changed photo gets a fresh thumbnail
and the stale one is deleted. Files are written to a temporary name and renamed, so a crash never
leaves half a thumbnail behind. This module has no Qt in it; the GUI loads the files it returns.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from photosense.errors import ImageSkipped
from photosense.fileio import atomic_write
from photosense.media.decode import decode_photo

log = logging.getLogger(__name__)

THUMBNAIL_DIR_NAME = "thumbnails"
GRID_SIZE = 256
"""Pixel size of grid thumbnails: sharp at the grid's largest cell on a 1.5x screen."""
PREVIEW_SIZE = 1024
"""Pixel size of the detail pane's preview."""
JPEG_QUALITY = 85


@dataclass(frozen=True)
class ThumbnailResult:
    """Where a thumbnail is on disk, or why there is none (``path`` None, ``reason`` set)."""

    path: Path | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.path is not None


def make_thumbnail(source: Path, size: int) -> Image.Image:
    """Decode ``source`` upright and shrink it to fit ``size`` x ``size`` (never upscaled).

    Raises ``ImageSkipped`` when the file cannot be decoded, like :func:`decode_photo`.
    """
    image = decode_photo(source, min_side=size).image
    image.thumbnail((size, size), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return image


class ThumbnailCache:
    """Thumbnails of any size on disk in ``directory``, keyed by path, file size and mtime."""

    def __init__(self, directory: Path, *, quality: int = JPEG_QUALITY) -> None:
        self.directory = directory
        self.quality = quality

    @classmethod
    def for_library(cls, library_dir: Path) -> ThumbnailCache:
        """The cache kept inside a library folder."""
        return cls(library_dir / THUMBNAIL_DIR_NAME)

    def path_for(self, source: Path, size: int, file_size: int, mtime_ns: int) -> Path:
        """Where the thumbnail of this version of ``source`` at ``size`` pixels lives."""
        stem = self._stem(source, size)
        return stem.with_name(f"{stem.name}-{file_size}-{mtime_ns}.jpg")

    def get(self, source: Path, size: int = GRID_SIZE) -> ThumbnailResult:
        """The cached thumbnail of ``source``, made now if missing or out of date.

        Never raises for a bad photo or a full disk: the result says why there is no thumbnail.
        """
        try:
            stat = source.stat()
        except OSError as exc:
            return ThumbnailResult(None, f"cannot read the file: {exc.strerror or exc}")
        target = self.path_for(source, size, stat.st_size, stat.st_mtime_ns)
        if target.is_file():
            return ThumbnailResult(target)
        try:
            image = make_thumbnail(source, size)
        except ImageSkipped as exc:
            log.debug("no thumbnail for %s: %s", source, exc.reason)
            return ThumbnailResult(None, exc.reason)
        try:
            self._write(image, target)
        except OSError as exc:
            log.warning("cannot write thumbnail %s: %s", target, exc)
            return ThumbnailResult(None, f"cannot write the thumbnail cache: {exc}")
        self._remove_stale(source, size, keep=target)
        return ThumbnailResult(target)

    def _stem(self, source: Path, size: int) -> Path:
        digest = hashlib.sha1(os.fsencode(source), usedforsecurity=False).hexdigest()
        return self.directory / digest[:2] / f"{digest}-{size}"

    def _write(self, image: Image.Image, target: Path) -> None:
        with atomic_write(target) as out:
            image.save(out, "JPEG", quality=self.quality, optimize=True)

    def _remove_stale(self, source: Path, size: int, keep: Path) -> None:
        """Delete thumbnails of earlier versions of ``source`` at this size."""
        stem = self._stem(source, size)
        for old in stem.parent.glob(f"{stem.name}-*.jpg"):
            if old != keep:
                old.unlink(missing_ok=True)
