"""Stars and rotation in XMP: ``xmp:Rating`` and ``tiff:Orientation``, read and written.

A rating is 0 (unrated) to 5 stars, as every photo tool reads ``xmp:Rating``; a value of -1
(rejected, darktable and Lightroom) or any other value outside 0-5 is read as unrated. A
rotation is kept as degrees clockwise on top of the file's own EXIF orientation; in the sidecar
it is written as the orientation of the whole (``tiff:Orientation``, the EXIF codes 1-8), which
is what digiKam, darktable and Lightroom read from a sidecar. Writing only touches the sidecar
(:func:`photosense.media.xmp.update_sidecar`); the photo is never opened for writing.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from PIL.Image import DecompressionBombError

from photosense.errors import XmpError
from photosense.media.xmp import (
    RDF,
    description_element,
    embedded_packet,
    parse_xmp,
    sidecar_candidates,
    update_sidecar,
)

log = logging.getLogger(__name__)

XMP = "http://ns.adobe.com/xap/1.0/"
TIFF = "http://ns.adobe.com/tiff/1.0/"
ET.register_namespace("xmp", XMP)
ET.register_namespace("tiff", TIFF)

MAX_RATING = 5
ROTATIONS = (0, 90, 180, 270)
_EXIF_ORIENTATION = 0x0112

# An EXIF orientation as (mirrored first, then quarter turns clockwise) that make it upright.
_PARTS = {1: (0, 0), 6: (0, 1), 3: (0, 2), 8: (0, 3), 2: (1, 0), 7: (1, 1), 4: (1, 2), 5: (1, 3)}
_CODES = {parts: code for code, parts in _PARTS.items()}


def turned(rotation: int, quarter_turns: int) -> int:
    """``rotation`` (degrees clockwise) turned by ``quarter_turns`` (negative: anticlockwise)."""
    return (rotation + 90 * quarter_turns) % 360


def combined_orientation(exif_orientation: int, rotation: int) -> int:
    """The EXIF orientation code of a file shown with its own ``exif_orientation`` and then
    turned ``rotation`` degrees clockwise."""
    mirrored, quarters = _PARTS.get(exif_orientation, (0, 0))
    return _CODES[(mirrored, (quarters + rotation // 90) % 4)]


def rotation_between(exif_orientation: int, orientation: int) -> int | None:
    """The rotation (degrees clockwise) that takes a file with ``exif_orientation`` to
    ``orientation``; None when they differ by a mirror image, which is not a rotation."""
    mirrored, quarters = _PARTS.get(exif_orientation, (0, 0))
    other = _PARTS.get(orientation)
    if other is None or other[0] != mirrored:
        return None
    return ((other[1] - quarters) % 4) * 90


def _value(root: ET.Element, namespace: str, name: str) -> str | None:
    """A simple property's text: the attribute on ``rdf:Description`` or the element form."""
    key = f"{{{namespace}}}{name}"
    for description in root.iter(f"{{{RDF}}}Description"):
        if key in description.attrib:
            return description.attrib[key]
    for prop in root.iter(key):
        return (prop.text or "").strip()
    return None


def rating_from_xmp(packet: bytes | str) -> int | None:
    """``xmp:Rating`` as 0-5 stars; None when the packet has none. Rejected (-1) and values
    outside 0-5 read as unrated (0); fractions are rounded down ("3.5" is 3 stars)."""
    text = _value(parse_xmp(packet), XMP, "Rating")
    if text is None:
        return None
    try:
        value = int(float(text))
    except ValueError:
        log.info("ignoring an xmp:Rating that is not a number: %r", text)
        return None
    return value if 0 <= value <= MAX_RATING else 0


def orientation_from_xmp(packet: bytes | str) -> int | None:
    """``tiff:Orientation`` (1-8) of a packet, or None when it has none or a bad one."""
    text = _value(parse_xmp(packet), TIFF, "Orientation")
    try:
        value = int(text) if text is not None else None
    except ValueError:
        return None
    return value if value in _PARTS else None


def _set_value(root: ET.Element, namespace: str, name: str, value: str) -> None:
    """Set a simple property where it is (attribute or element), else as an attribute of the
    first ``rdf:Description`` (the compact form darktable, digiKam and Lightroom write)."""
    key = f"{{{namespace}}}{name}"
    for description in root.iter(f"{{{RDF}}}Description"):
        if key in description.attrib:
            description.set(key, value)
            return
    for prop in root.iter(key):
        prop.text = value
        return
    description_element(root).set(key, value)


def write_rating(photo: Path, rating: int) -> Path | None:
    """Write ``rating`` stars as ``xmp:Rating`` into ``photo``'s sidecar; an unrated photo
    (0) gets no new sidecar made for it. Returns the sidecar written, if any."""
    if not 0 <= rating <= MAX_RATING:
        raise ValueError(f"a rating is 0 to {MAX_RATING} stars, not {rating}")
    if rating == 0 and not any(p.is_file() for p in sidecar_candidates(photo)):
        return None
    return update_sidecar(photo, lambda root: _set_value(root, XMP, "Rating", str(rating)))


def write_orientation(photo: Path, rotation: int) -> Path | None:
    """Write the orientation of ``photo`` turned ``rotation`` degrees as ``tiff:Orientation``
    into its sidecar (none is made for an unturned photo). Returns the sidecar written."""
    if rotation == 0 and not any(p.is_file() for p in sidecar_candidates(photo)):
        return None
    code = combined_orientation(exif_orientation(photo), rotation)
    return update_sidecar(photo, lambda root: _set_value(root, TIFF, "Orientation", str(code)))


def exif_orientation(photo: Path) -> int:
    """The file's own EXIF orientation (1 when it has none or cannot be read)."""
    try:
        with Image.open(photo) as image:
            value = Image.Image.getexif(image).get(_EXIF_ORIENTATION)
    except (
        OSError,
        UnidentifiedImageError,
        ValueError,
        SyntaxError,
        DecompressionBombError,
    ) as exc:
        log.info("could not read the orientation of %s: %s", photo, exc)
        return 1
    return value if isinstance(value, int) and value in _PARTS else 1


@dataclass(frozen=True)
class FileMarks:
    """What a photo's sidecar or file says of its stars and rotation (None: nothing)."""

    rating: int | None
    rotation: int | None


def read_marks(photo: Path, sidecars: Sequence[Path] | None = None) -> FileMarks:
    """The rating and rotation in ``photo``'s XMP sidecar (``photo.jpg.xmp`` first), else
    its embedded XMP for the rating. Never raises: an unreadable part is logged and skipped.

    ``sidecars`` are the sidecars known to exist (others are ignored); None looks for them.
    """
    if sidecars is None:
        sidecars = [p for p in sidecar_candidates(photo) if p.is_file()]
    rating: int | None = None
    orientation: int | None = None
    for sidecar in sidecars:
        if sidecar.suffix.lower() != ".xmp" or sidecar == photo:
            continue
        try:
            data = sidecar.read_bytes()
            rating = rating if rating is not None else rating_from_xmp(data)
            orientation = orientation if orientation is not None else orientation_from_xmp(data)
        except (OSError, XmpError) as exc:
            log.info("could not read the sidecar %s: %s", sidecar, exc)
    own = 1
    try:
        with Image.open(photo) as image:
            value = Image.Image.getexif(image).get(_EXIF_ORIENTATION)
            own = value if isinstance(value, int) and value in _PARTS else 1
            packet = embedded_packet(image) if rating is None else None
            if packet is not None:
                rating = rating_from_xmp(packet)
    except (
        OSError,
        UnidentifiedImageError,
        XmpError,
        ValueError,
        SyntaxError,
        DecompressionBombError,
    ) as exc:
        log.info("could not read the marks embedded in %s: %s", photo, exc)
    rotation = None if orientation is None else rotation_between(own, orientation)
    return FileMarks(rating, rotation)
