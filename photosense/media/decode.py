"""Decoding photos for the encoder and reading their metadata, without ever crashing a batch.

Every failure becomes ``ImageSkipped`` with a kind and a reason the user can act on. Decoding
is made cheap where the format allows: JPEG decodes at 1/2, 1/4 or 1/8 scale (``draft``) and
HEIF uses an embedded thumbnail, as long as the shorter side stays at least ``min_side``.
"""

from __future__ import annotations

import errno
import functools
import logging
import math
import os
import re
import struct
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageFile, UnidentifiedImageError

from photosense.errors import ImageSkipped
from photosense.media._files import open_regular, skip_for_os_error

log = logging.getLogger(__name__)

MAX_PIXELS = 200_000_000
"""Images with more pixels are refused (``too_large``): they are likely decompression bombs.

Pillow refuses on its own above ``2 * Image.MAX_IMAGE_PIXELS`` (179 megapixels by default);
those are reported as ``too_large`` too.
"""

# Formats never handed to Pillow: EPS is rendered by running Ghostscript on the file.
_REFUSED_FORMATS = frozenset({"EPS"})

_ORIENTATION = 0x0112
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_DATE = re.compile(r"(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})")
# Errors of the disk or the file system, as opposed to errors Pillow makes from bad data.
_DEVICE_ERRNOS = frozenset({errno.EIO, errno.ENXIO, errno.ENODEV, errno.ESTALE, errno.ETIMEDOUT})
_UNSUPPORTED_HINTS = ("not available", "cannot find loader", "ghostscript", "unsupported")
_DAMAGED_HINTS = (
    "truncat",
    "broken data stream",
    "unrecognized data stream",
    "buffer overrun",
    "not enough image data",
    "only got",
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


@dataclass(frozen=True)
class PhotoMetadata:
    """What the file header says: full-size dimensions after EXIF orientation, date, camera, GPS."""

    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime | None
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class DecodedPhoto:
    """An RGB, upright image whose shorter side is about ``min_side``, and its metadata."""

    image: Image.Image
    metadata: PhotoMetadata


def decode_photo(path: Path, min_side: int = 224) -> DecodedPhoto:
    """Decode a photo to an upright RGB image reduced to a shorter side of about ``min_side``.

    Raises ``ImageSkipped`` (and nothing else) when the file cannot be used.
    """
    min_side = max(1, min_side)
    with _opened(path) as im:
        full_size = im.size
        _check_pixels(im)
        try:
            im.draft("RGB", (min_side, min_side))
            im.load()
            metadata, orientation = _read_header(im, full_size, loaded=True)
            image = _orient(_shrink(_to_rgb(im), min_side), orientation)
        except Exception as exc:
            raise _skip_for_decode_error(exc) from exc
        if image is im:
            image = im.copy()  # detach from the file object closed below
    return DecodedPhoto(image, metadata)


def decode_for_analysis(path: Path, max_side: int) -> Image.Image:
    """Decode a photo upright and RGB with its longer side at most ``max_side`` (draft decoding
    where the format allows), for the analyses that look at a photo (faces, text).

    Raises ``ImageSkipped`` (and nothing else) when the file cannot be used.
    """
    max_side = max(1, max_side)
    with _opened(path) as im:
        _check_pixels(im)
        try:
            # draft() keeps each side at least the size asked: ask for the shorter side that
            # gives the longer one max_side.
            long, short = max(im.size), max(1, min(im.size))
            want = max(1, max_side * short // long)
            im.draft("RGB", (want, want))
            im.load()
            orientation = _read_header(im, im.size, loaded=True)[1]
            image = _to_rgb(im)
            if max(image.size) > max_side:
                image = image.copy() if image is im else image
                image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            image = _orient(image, orientation)
        except Exception as exc:
            raise _skip_for_decode_error(exc) from exc
        return im.copy() if image is im else image


def read_metadata(path: Path) -> PhotoMetadata:
    """Read dimensions, date, camera and GPS from the header, without decoding the pixels."""
    with _opened(path) as im:
        if im.format == "PNG" and "exif" not in im.info and im.fp is not None:
            exif = _png_exif_after_pixels(im.fp)
            if exif is not None:
                im.info["exif"] = b"Exif\x00\x00" + exif  # as PngImagePlugin stores it
        return _read_header(im, im.size, loaded=False)[0]


def full_decode(path: Path) -> Image.Image:
    """Decode at full resolution (no draft, no thumbnail), RGB and upright: for the viewer and
    the benchmarks."""
    with _opened(path) as im:
        _check_pixels(im)
        try:
            im.load()
            orientation = _read_header(im, im.size, loaded=True)[1]
            image = _orient(_to_rgb(im), orientation)
        except Exception as exc:
            raise _skip_for_decode_error(exc) from exc
        return im.copy() if image is im else image


@functools.cache
def _formats() -> tuple[str, ...]:
    """Register the HEIF opener once and list the formats Pillow may try on our files."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        if hasattr(pillow_heif, "register_avif_opener"):  # older pillow-heif; Pillow has AVIF now
            pillow_heif.register_avif_opener()
    except ImportError:
        log.warning("pillow-heif is not installed: HEIC/HEIF photos will be skipped")
    # MAX_PIXELS replaces Pillow's decompression-bomb warning with a refusal (_check_pixels).
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    Image.init()
    return tuple(f for f in Image.ID if f not in _REFUSED_FORMATS)


def _heif_available() -> bool:
    return "HEIF" in _formats()


@contextmanager
def _opened(path: Path) -> Iterator[ImageFile.ImageFile]:
    """Open ``path`` with Pillow (header only), turning every failure into ``ImageSkipped``."""
    formats = _formats()
    f, size = open_regular(path)
    with f:
        if size == 0:
            raise ImageSkipped(
                "empty", "the file is empty (0 bytes); copy it again from its source"
            )
        try:
            im = Image.open(f, formats=formats)
        except UnidentifiedImageError as exc:
            raise _skip_for_unidentified(f, path) from exc
        except Exception as exc:
            raise _skip_for_decode_error(exc) from exc
        try:
            yield im
        finally:
            im.close()


def _skip_for_unidentified(f: IO[bytes], path: Path) -> ImageSkipped:
    """Say whether an unrecognised file is damaged, needs a missing decoder, or is no image."""
    try:
        f.seek(0)
        head = f.read(32)
    except OSError as exc:
        return skip_for_os_error(exc)
    kind = _sniff(head)
    suffix = path.suffix.lower()
    if (kind == "HEIF" or suffix in {".heic", ".heif", ".hif"}) and not _heif_available():
        return ImageSkipped(
            "unsupported",
            "HEIC/HEIF photos need the pillow-heif package; install it to read this file",
        )
    if kind is not None:
        return ImageSkipped(
            "truncated",
            f"the file is truncated or damaged (it starts like a {kind} image but its header "
            "cannot be read); copy it again from its source",
        )
    return ImageSkipped(
        "unsupported",
        "the image format is not recognised: the file is not a picture, or in a format "
        "photosense cannot read (JPEG, PNG, HEIC, WebP, AVIF, TIFF, GIF and BMP are supported)",
    )


def _sniff(head: bytes) -> str | None:
    """Name the photo format announced by the first bytes of a file, if any."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    return None


def _skip_for_decode_error(exc: Exception) -> ImageSkipped:
    """Classify an exception raised by Pillow or a plugin while opening or decoding."""
    if isinstance(exc, ImageSkipped):
        return exc
    message = str(exc) or type(exc).__name__
    lowered = message.lower()
    if isinstance(exc, Image.DecompressionBombError) or "decompressed data too large" in lowered:
        return ImageSkipped(
            "too_large",
            "the image has too many pixels (or too much embedded data) to decode safely; "
            "it may be a decompression bomb. Reduce its size in an image editor to include it",
        )
    if isinstance(exc, MemoryError):
        return ImageSkipped(
            "too_large", "not enough memory to decode this image; close other programs or shrink it"
        )
    if isinstance(exc, FileNotFoundError | PermissionError) or (
        isinstance(exc, OSError) and exc.errno in _DEVICE_ERRNOS
    ):
        return skip_for_os_error(exc)
    if isinstance(exc, NotImplementedError) or any(h in lowered for h in _UNSUPPORTED_HINTS):
        return ImageSkipped(
            "unsupported",
            f"this kind of image cannot be decoded on this computer ({message}); "
            "convert it to JPEG or PNG to include it",
        )
    if any(hint in lowered for hint in _DAMAGED_HINTS):
        return ImageSkipped(
            "truncated",
            f"the file is truncated or damaged ({message}); copy it again from its source",
        )
    return ImageSkipped(
        "unreadable",
        f"the image data could not be decoded ({type(exc).__name__}: {message}); "
        "the file may be damaged or use a rare variant of its format",
    )


def _png_exif_after_pixels(fp: IO[bytes]) -> bytes | None:
    """Find a PNG eXIf chunk by seeking from chunk to chunk, so no pixel data is decoded."""
    try:
        fp.seek(8)
        while header := fp.read(8):
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I4s", header)
            if kind == b"eXIf":
                data = fp.read(length)
                return data if len(data) == length else None
            if kind == b"IEND":
                return None
            fp.seek(length + 4, os.SEEK_CUR)  # skip the data and its CRC
    except (OSError, struct.error) as exc:
        log.debug("cannot look for EXIF in a PNG: %s", exc)
    return None


def _check_pixels(im: Image.Image) -> None:
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageSkipped(
            "too_large",
            f"the image is too large to decode safely ({width}×{height}, "
            f"{width * height / 1e6:.0f} megapixels; the limit is {MAX_PIXELS / 1e6:.0f}); "
            "reduce its size in an image editor to include it",
        )


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any mode to RGB: alpha is composited on white, deep grey is rescaled to 8 bits."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;"):
        return _deep_grey_to_rgb(im)
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        out = Image.new("RGB", rgba.size, (255, 255, 255))
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return im.convert("RGB")


def _deep_grey_to_rgb(im: Image.Image) -> Image.Image:
    """Map 16/32-bit or float grey to 0..255; plain 8-bit data stored in a deep mode stays as is."""
    deep = im if im.mode in ("I", "F") else im.convert("I")  # no extrema for I;16B
    lo, hi = (float(v) for v in deep.getextrema())  # type: ignore[arg-type]
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if im.mode != "F" and lo >= 0 and hi <= 255:
        scale, offset = 1.0, 0.0
    else:
        lo = min(lo, 0.0)
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        offset = -lo * scale
    grey = deep.convert("F").point(lambda v: v * scale + offset).convert("L")
    return grey.convert("RGB")


def _shrink(im: Image.Image, min_side: int) -> Image.Image:
    """Resize so the shorter side is ``min_side``; never upscale."""
    width, height = im.size
    short = min(width, height)
    if short <= min_side:
        return im
    factor = min_side / short
    size = (max(min_side, round(width * factor)), max(min_side, round(height * factor)))
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    """Apply the EXIF orientation read from the original header (as ``ImageOps.exif_transpose``).

    The header is read once, before mode conversion drops format-specific tags (TIFF keeps
    orientation in its own tags, not in ``info["exif"]``).
    """
    method = _TRANSPOSE.get(orientation)
    return im if method is None else im.transpose(method)


def _read_header(
    im: Image.Image, size: tuple[int, int], *, loaded: bool
) -> tuple[PhotoMetadata, int]:
    """Metadata and EXIF orientation of an opened image whose full size is ``size``.

    Bad EXIF never fails the photo. Read it after ``load()`` when decoding anyway (a PNG may
    keep its eXIf chunk after the pixels); with ``loaded=False`` no pixels are decoded.
    """
    width, height = size
    orientation, taken_at, make, model, lat, lon = 1, None, None, None, None, None
    try:
        # PngImageFile.getexif() decodes the whole image to look past the pixel data.
        exif = im.getexif() if loaded else Image.Image.getexif(im)
        value = exif.get(_ORIENTATION)
        orientation = value if isinstance(value, int) and value in _TRANSPOSE else 1
        sub = exif.get_ifd(_EXIF_IFD)
        for raw in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
            taken_at = _parse_exif_date(raw)
            if taken_at is not None:
                break
        make, model = _clean_text(exif.get(_MAKE)), _clean_text(exif.get(_MODEL))
        lat, lon = _gps_position(exif.get_ifd(_GPS_IFD))
    except Exception as exc:
        log.debug("unreadable EXIF in %s: %s", getattr(im, "filename", "?"), exc)
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    metadata = PhotoMetadata(width, height, im.format, taken_at, make, model, lat, lon)
    return metadata, orientation


def _clean_text(raw: Any) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        return None
    text = raw.replace("\x00", " ").strip()
    return text or None


def _parse_exif_date(raw: Any) -> datetime | None:
    """Parse an EXIF "YYYY:MM:DD HH:MM:SS" stamp (naive local time); invalid dates give None."""
    text = _clean_text(raw)
    match = _EXIF_DATE.match(text) if text else None
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def _gps_position(gps: Mapping[int, Any]) -> tuple[float | None, float | None]:
    """Decimal degrees from the GPS IFD; (None, None) when absent, invalid or exactly (0, 0)."""
    lat = _gps_coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "S", 90.0)
    lon = _gps_coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "W", 180.0)
    if lat is None or lon is None or (lat == 0.0 and lon == 0.0):  # (0, 0) means "no fix"
        return None, None
    return lat, lon


def _gps_coordinate(raw: Any, ref: Any, negative: str, limit: float) -> float | None:
    """Decimal degrees from EXIF's (degrees, minutes, seconds) and its N/S or E/W reference.

    Odd forms seen in files are read as exiftool reads them: a text value ("40 26 46.3",
    "40/1 26/1 4630/100"), decimal minutes, minutes or seconds of 0/0 (unknown: 0), a signed
    value with no reference. A missing reference means north or east; an unknown one, a
    degrees value of 0/0, or anything out of range gives None.
    """
    parts = _gps_parts(raw)
    if parts is None or not 1 <= len(parts) <= 3 or not math.isfinite(parts[0]):
        return None
    rest = [p if math.isfinite(p) else 0.0 for p in parts[1:]]
    if any(p < 0 or p >= 60 for p in rest):
        return None
    value = abs(parts[0]) + sum(p / 60.0 ** (i + 1) for i, p in enumerate(rest))
    if value > limit:
        return None
    sign = -1.0 if parts[0] < 0 else 1.0
    letter = (_clean_text(ref) or "").upper()[:1]
    if letter:
        if letter not in (negative, _GPS_POSITIVE[negative]):
            return None
        sign = -1.0 if letter == negative else 1.0
    return sign * value


_GPS_POSITIVE = {"S": "N", "W": "E"}


def _gps_parts(raw: Any) -> list[float] | None:
    """The numbers of a GPS coordinate (rationals, floats, (num, den) pairs or text)."""
    try:
        if isinstance(raw, bytes):
            raw = raw.decode("ascii", "replace")
        if isinstance(raw, str):
            tokens = raw.replace(",", " ").replace("\x00", " ").split()
            return [_ratio(*t.split("/", 1)) if "/" in t else float(t) for t in tokens]
        if isinstance(raw, tuple | list):
            return [_ratio(*p) if isinstance(p, tuple) and len(p) == 2 else float(p) for p in raw]
        return [float(raw)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def _ratio(numerator: Any, denominator: Any) -> float:
    num, den = float(numerator), float(denominator)
    return num / den if den else math.nan
