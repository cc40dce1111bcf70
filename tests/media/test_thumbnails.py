"""Thumbnails: upright, cached on disk, remade when the photo changes, never an exception."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from photosense.media.thumbnails import THUMBNAIL_DIR_NAME, ThumbnailCache, make_thumbnail


def _left_right_colours(image: Image.Image) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rgb = image.convert("RGB")
    middle = rgb.height // 2
    left = rgb.getpixel((2, middle))
    right = rgb.getpixel((rgb.width - 3, middle))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    return left, right


def _is_red(rgb: tuple[int, ...]) -> bool:
    return rgb[0] > 180 and rgb[2] < 90


def _is_blue(rgb: tuple[int, ...]) -> bool:
    return rgb[2] > 180 and rgb[0] < 90


def test_thumbnail_fits_the_box_and_keeps_the_aspect_ratio(
    make_jpeg: Callable[..., Path],
) -> None:
    image = make_thumbnail(make_jpeg(size=(800, 400)), 128)
    assert image.size == (128, 64)
    assert image.mode == "RGB"


def test_thumbnail_is_never_upscaled(make_jpeg: Callable[..., Path]) -> None:
    assert make_thumbnail(make_jpeg(size=(60, 40)), 256).size == (60, 40)


def test_exif_orientation_is_applied(make_jpeg: Callable[..., Path], tmp_path: Path) -> None:
    # Stored 400x300, left half red; orientation 6 means "rotate 90° clockwise to view",
    # so the upright image is 300x400 with red on top.
    source = make_jpeg("rotated.jpg", size=(400, 300), orientation=6)
    cache = ThumbnailCache(tmp_path / "thumbs")
    result = cache.get(source, 200)
    assert result.ok and result.path is not None
    with Image.open(result.path) as thumb:
        assert thumb.size == (150, 200)
        rgb = thumb.convert("RGB")
        top = rgb.getpixel((75, 5))
        bottom = rgb.getpixel((75, 195))
        assert isinstance(top, tuple) and isinstance(bottom, tuple)
        assert _is_red(top) and _is_blue(bottom)


def test_upright_photo_keeps_left_and_right(make_jpeg: Callable[..., Path]) -> None:
    left, right = _left_right_colours(make_thumbnail(make_jpeg(size=(400, 300)), 100))
    assert _is_red(left) and _is_blue(right)


def test_thumbnail_is_cached_on_disk_and_reused(
    make_jpeg: Callable[..., Path], tmp_path: Path
) -> None:
    source = make_jpeg()
    cache = ThumbnailCache.for_library(tmp_path / "library")
    first = cache.get(source, 128)
    assert first.path is not None and first.path.is_file()
    assert (tmp_path / "library" / THUMBNAIL_DIR_NAME) in first.path.parents
    made_at = first.path.stat().st_mtime_ns
    second = cache.get(source, 128)
    assert second.path == first.path
    assert second.path.stat().st_mtime_ns == made_at  # served from disk, not made again
    # Another size is another file.
    other = cache.get(source, 64)
    assert other.path is not None and other.path != first.path


def test_changed_photo_gets_a_new_thumbnail_and_the_old_one_goes(
    make_jpeg: Callable[..., Path], tmp_path: Path
) -> None:
    source = make_jpeg(size=(400, 300))
    cache = ThumbnailCache(tmp_path / "thumbs")
    old = cache.get(source, 128).path
    assert old is not None
    Image.new("RGB", (300, 300), "green").save(source, "JPEG")
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    new = cache.get(source, 128).path
    assert new is not None and new != old
    assert not old.exists()
    with Image.open(new) as thumb:
        assert thumb.size == (128, 128)
        pixel = thumb.convert("RGB").getpixel((64, 64))
        assert isinstance(pixel, tuple) and pixel[1] > 100 and pixel[0] < 80


def test_broken_file_gives_a_reason_not_an_exception(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    cache = ThumbnailCache(tmp_path / "thumbs")
    result = cache.get(broken, 128)
    assert not result.ok and result.path is None
    assert "truncated or damaged" in result.reason
    assert not list((tmp_path / "thumbs").rglob("*.jpg"))


def test_missing_and_empty_files_give_a_reason(tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    missing = cache.get(tmp_path / "gone.jpg")
    assert missing.path is None and missing.reason
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = cache.get(empty)
    assert result.path is None and "empty" in result.reason


def test_no_temporary_files_are_left_behind(make_jpeg: Callable[..., Path], tmp_path: Path) -> None:
    cache = ThumbnailCache(tmp_path / "thumbs")
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        assert cache.get(make_jpeg(name), 96).ok
    files = [p.name for p in (tmp_path / "thumbs").rglob("*") if p.is_file()]
    assert len(files) == 3
    assert not [name for name in files if name.startswith(".tmp")]


def test_unwritable_cache_gives_a_reason(make_jpeg: Callable[..., Path], tmp_path: Path) -> None:
    blocker = tmp_path / "thumbs"
    blocker.write_text("a file where the cache folder should be")
    result = ThumbnailCache(blocker).get(make_jpeg(), 96)
    assert result.path is None and "cache" in result.reason
