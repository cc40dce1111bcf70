"""XMP packets and sidecars, and the IPTC records beside them: parsed safely, updated in place.

XMP is parsed with the standard library's expat after refusing any packet that declares a
DTD or entities, so no entity is expanded and nothing external is fetched (defusedxml is not a
dependency). A sidecar is ``photo.jpg.xmp`` (darktable's and digiKam's default) or
``photo.xmp`` (Lightroom's); writing only ever touches the sidecar, updating an existing one in
place (every other field, namespace and comment kept) through a temporary file, and never opens
the photo for writing.

Keywords (:mod:`photosense.tagging.xmp`) and captions (:mod:`photosense.media.captions`) are
built on these pieces.
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageFile, IptcImagePlugin

from photosense.errors import XmpError
from photosense.fileio import atomic_write

__all__ = [
    "XmpError",
    "description_element",
    "description_from_xmp",
    "embedded_packet",
    "iptc_texts",
    "parse_xmp",
    "sidecar_candidates",
    "sidecar_packets",
    "sidecar_path",
    "update_sidecar",
    "user_comment_from_xmp",
    "write_description",
    "write_user_comment",
]

log = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
LIGHTROOM = "http://ns.adobe.com/lightroom/1.0/"
EXIF = "http://ns.adobe.com/exif/1.0/"
META = "adobe:ns:meta/"
XML = "http://www.w3.org/XML/1998/namespace"

PREFIXES = {
    "x": META,
    "rdf": RDF,
    "dc": DC,
    "digiKam": DIGIKAM,
    "lr": LIGHTROOM,
    "exif": EXIF,
}
MAX_PACKET_BYTES = 16 * 1024 * 1024
X_DEFAULT = "x-default"

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XMPMETA = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)


def _as_bytes(packet: bytes | str) -> bytes:
    data = packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    return data.strip(b"\x00 \t\r\n")


def parse_xmp(packet: bytes | str) -> ET.Element:
    """Parse XMP (a packet or a whole sidecar) with comments kept; DTDs are refused."""
    data = _as_bytes(packet)
    if len(data) > MAX_PACKET_BYTES:
        raise XmpError(f"the XMP data is too large ({len(data)} bytes)")
    if _FORBIDDEN.search(data):
        raise XmpError("the XMP data declares a DTD or entities; refusing to parse it")
    match = _XMPMETA.search(data)
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        parser.feed(match.group(0) if match is not None else data)
        root: ET.Element = parser.close()
    except (ET.ParseError, LookupError, ValueError) as exc:  # also an unknown encoding
        raise XmpError(f"the XMP data is not well-formed XML ({exc})") from exc
    return root


def embedded_packet(image: Image.Image) -> bytes | str | None:
    """The XMP packet Pillow found in an opened image (JPEG, PNG iTXt, TIFF, WebP, HEIF)."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, bytes | str) and value:
            return value
    return None


def _decode_iptc(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def iptc_texts(image: ImageFile.ImageFile, dataset: tuple[int, int]) -> list[str]:
    """The values of one IPTC dataset (e.g. (2, 25) keywords) of an opened image, decoded
    as UTF-8, else Latin-1."""
    info = IptcImagePlugin.getiptcinfo(image)
    if not info:
        return []
    raw = info.get(dataset)
    values = raw if isinstance(raw, list) else [raw] if raw else []
    return [_decode_iptc(v) for v in values if isinstance(v, bytes)]


def sidecar_candidates(photo: Path) -> tuple[Path, Path]:
    """``photo.jpg.xmp`` (darktable and digiKam's default) and ``photo.xmp`` (Lightroom's)."""
    return photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")


def sidecar_packets(photo: Path) -> list[bytes]:
    """The contents of ``photo``'s sidecars that exist (both names); one that cannot be read
    is logged and skipped."""
    packets = []
    for sidecar in dict.fromkeys(sidecar_candidates(photo)):
        try:  # is_file() raises too, for a sidecar name longer than the file system allows
            if sidecar == photo or not sidecar.is_file():
                continue
            packets.append(sidecar.read_bytes())
        except OSError as exc:
            log.info("could not read the sidecar %s: %s", sidecar, exc)
    return packets


def sidecar_path(photo: Path) -> Path:
    """The sidecar to write: an existing one (``photo.jpg.xmp`` first), else ``photo.jpg.xmp``."""
    full, short = sidecar_candidates(photo)
    if full.is_file() or not short.is_file():
        return full
    return short


# -- captions ---------------------------------------------------------------------------------


def _alt_text(prop: ET.Element) -> str | None:
    """The text of a language-alternative property: x-default, else the first language."""
    items = list(prop.iter(f"{{{RDF}}}li"))
    if not items:
        return prop.text
    for item in items:
        if item.get(f"{{{XML}}}lang") == X_DEFAULT:
            return item.text
    return items[0].text


def description_from_xmp(packet: bytes | str) -> str | None:
    """``dc:description`` of an XMP packet (the x-default language first), or None.

    Both the element form and the attribute shorthand on ``rdf:Description`` are read.
    """
    root = parse_xmp(packet)
    for prop in root.iter(f"{{{DC}}}description"):
        text = _alt_text(prop)
        if text and text.strip():
            return text
    for description in root.iter(f"{{{RDF}}}Description"):
        text = description.get(f"{{{DC}}}description")
        if text and text.strip():
            return text
    return None


def _set_alt_text(root: ET.Element, namespace: str, name: str, text: str | None) -> None:
    """Set the x-default value of the language-alternative property ``namespace:name`` (other
    languages are kept), or remove the property."""
    tag = f"{{{namespace}}}{name}"
    for description in root.iter(f"{{{RDF}}}Description"):
        description.attrib.pop(tag, None)
    props = list(root.iter(tag))
    if text is None:
        parents = {child: parent for parent in root.iter() for child in parent}
        for prop in props:
            parents[prop].remove(prop)
        return
    if not props:
        props = [ET.SubElement(description_element(root), tag)]
    prop = props[0]
    alt = prop.find(f"{{{RDF}}}Alt")
    if alt is None:
        prop.text = None
        alt = ET.SubElement(prop, f"{{{RDF}}}Alt")
    items = alt.findall(f"{{{RDF}}}li")
    default = next((i for i in items if i.get(f"{{{XML}}}lang") == X_DEFAULT), None)
    if default is None:
        default = ET.Element(f"{{{RDF}}}li", {f"{{{XML}}}lang": X_DEFAULT})
        alt.insert(0, default)
    default.text = text


def write_description(photo: Path, text: str | None) -> Path | None:
    """Write ``text`` as ``photo``'s ``dc:description`` in its sidecar; None takes it out of
    an existing sidecar (none is made for that). Returns the sidecar written, if any."""
    if text is None and not any(p.is_file() for p in sidecar_candidates(photo)):
        return None
    return update_sidecar(photo, lambda root: _set_alt_text(root, DC, "description", text))


def write_user_comment(photo: Path, text: str | None) -> Path | None:
    """Write ``text`` as ``photo``'s ``exif:UserComment`` in its sidecar (the text read in the
    photo goes there: see docs/text.md); None takes it out of an existing sidecar."""
    if text is None and not any(p.is_file() for p in sidecar_candidates(photo)):
        return None
    return update_sidecar(photo, lambda root: _set_alt_text(root, EXIF, "UserComment", text))


def user_comment_from_xmp(packet: bytes | str) -> str | None:
    """``exif:UserComment`` of an XMP packet (the x-default language first), or None."""
    for prop in parse_xmp(packet).iter(f"{{{EXIF}}}UserComment"):
        text = _alt_text(prop)
        if text and text.strip():
            return text
    return None


# -- writing ----------------------------------------------------------------------------------

_EMPTY_SIDECAR = (
    f'<x:xmpmeta xmlns:x="{META}" x:xmptk="photosense">'
    f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>'
)


def _register_prefixes(data: bytes) -> None:
    """Keep the prefixes a sidecar already uses, so rewriting it does not rename them.

    Only called on data that :func:`parse_xmp` accepted (no DTD).
    """
    prefixes = dict(PREFIXES)
    try:
        for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix:
                prefixes.setdefault(prefix, uri)
    except (ET.ParseError, LookupError, ValueError):  # the declaration names no codec Python has
        return
    for prefix, uri in prefixes.items():
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:  # "ns0"-style prefixes are reserved by ElementTree
            continue


def description_element(root: ET.Element) -> ET.Element:
    """Where new properties go in a parsed sidecar: its first ``rdf:Description`` (made when
    there is none)."""
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f"{{{RDF}}}RDF")
    if rdf is None:
        raise XmpError("the sidecar has no rdf:RDF element")
    description = rdf.find(f"{{{RDF}}}Description")
    if description is None:
        description = ET.SubElement(rdf, f"{{{RDF}}}Description", {f"{{{RDF}}}about": ""})
    return description


def update_sidecar(photo: Path, edit: Callable[[ET.Element], None]) -> Path:
    """Apply ``edit`` to ``photo``'s sidecar (made when missing) and write it back.

    The sidecar is written to a temporary file and renamed, so a crash leaves the old one
    whole; the photo is never opened.
    """
    target = sidecar_path(photo)
    data = target.read_bytes() if target.is_file() else _EMPTY_SIDECAR.encode("utf-8")
    root = parse_xmp(data)
    _register_prefixes(data)
    edit(root)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    with atomic_write(target, "w", encoding="utf-8", shared=True) as handle:
        handle.write(text + "\n")
    return target
