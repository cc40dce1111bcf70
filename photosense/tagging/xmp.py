"""Keywords other photo tools wrote, and XMP sidecars for them to read ours.

Reading covers what digiKam, darktable, Lightroom and most cameras' software write: XMP
``dc:subject``, digiKam ``TagsList`` and Lightroom ``hierarchicalSubject`` (the leaf of each
path), and IPTC keywords (dataset 2:25), embedded in the file or in a sidecar
(``photo.jpg.xmp``, darktable's and digiKam's default, or ``photo.xmp``).

Writing only ever touches the sidecar: an existing one is updated in place (every other
field, namespace and comment kept), else ``photo.jpg.xmp`` is created. The photo itself is
never opened for writing.

XMP is parsed with the standard library's expat after refusing any packet that declares a
DTD or entities, so no entity is expanded and nothing external is fetched (defusedxml is not a
dependency).
"""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from PIL import Image, ImageFile, IptcImagePlugin, UnidentifiedImageError

from photosense.errors import PhotosenseError
from photosense.fileio import atomic_write

__all__ = [
    "XmpError",
    "keywords_from_iptc",
    "keywords_from_xmp",
    "read_keywords",
    "sidecar_path",
    "write_sidecar",
]

log = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
DIGIKAM = "http://www.digikam.org/ns/1.0/"
LIGHTROOM = "http://ns.adobe.com/lightroom/1.0/"
META = "adobe:ns:meta/"

PREFIXES = {"x": META, "rdf": RDF, "dc": DC, "digiKam": DIGIKAM, "lr": LIGHTROOM}
MAX_PACKET_BYTES = 16 * 1024 * 1024
IPTC_KEYWORDS = (2, 25)

_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XMPMETA = re.compile(rb"<x:xmpmeta[\s>].*?</x:xmpmeta>", re.DOTALL)


class XmpError(PhotosenseError):
    """An XMP packet or sidecar that cannot be parsed or written safely."""


def _as_bytes(packet: bytes | str) -> bytes:
    data = packet.encode("utf-8") if isinstance(packet, str) else bytes(packet)
    return data.strip(b"\x00 \t\r\n")


def _parse(packet: bytes | str) -> ET.Element:
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
    except ET.ParseError as exc:
        raise XmpError(f"the XMP data is not well-formed XML ({exc})") from exc
    return root


def _items(root: ET.Element, namespace: str, name: str) -> list[str]:
    """The rdf:li texts of every ``namespace:name`` property under ``root``."""
    values: list[str] = []
    for prop in root.iter(f"{{{namespace}}}{name}"):
        for item in prop.iter(f"{{{RDF}}}li"):
            text = (item.text or "").strip()
            if text:
                values.append(text)
    return values


def _unique(words: Iterable[str]) -> list[str]:
    """Words with whitespace collapsed, empty ones dropped, first spelling of each kept."""
    seen: dict[str, str] = {}
    for word in words:
        cleaned = " ".join(word.split())
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return list(seen.values())


def keywords_from_xmp(packet: bytes | str) -> list[str]:
    """Keywords in an XMP packet: dc:subject, then the leaves of digiKam and Lightroom paths."""
    root = _parse(packet)
    words = _items(root, DC, "subject")
    words += [p.rsplit("/", 1)[-1] for p in _items(root, DIGIKAM, "TagsList")]
    words += [p.rsplit("|", 1)[-1] for p in _items(root, LIGHTROOM, "hierarchicalSubject")]
    return _unique(words)


def _decode_iptc(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def keywords_from_iptc(image: ImageFile.ImageFile) -> list[str]:
    """IPTC keywords (2:25) of an opened image (UTF-8, else Latin-1)."""
    info = IptcImagePlugin.getiptcinfo(image)
    if not info:
        return []
    raw = info.get(IPTC_KEYWORDS)
    values = raw if isinstance(raw, list) else [raw] if raw else []
    return _unique(_decode_iptc(v) for v in values if isinstance(v, bytes))


def _embedded_packet(image: Image.Image) -> bytes | str | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, bytes | str) and value:
            return value
    return None


def sidecar_candidates(photo: Path) -> tuple[Path, Path]:
    """``photo.jpg.xmp`` (darktable and digiKam's default) and ``photo.xmp`` (Lightroom's)."""
    return photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")


def sidecar_path(photo: Path) -> Path:
    """The sidecar to write: an existing one (``photo.jpg.xmp`` first), else ``photo.jpg.xmp``."""
    full, short = sidecar_candidates(photo)
    if full.is_file() or not short.is_file():
        return full
    return short


def read_keywords(photo: Path) -> list[str]:
    """Every keyword found for ``photo``: embedded XMP and IPTC, and both sidecar names.

    A part that cannot be read is logged and skipped; reading never fails the caller.
    """
    words: list[str] = []
    try:
        with Image.open(photo) as image:
            packet = _embedded_packet(image)
            if packet is not None:
                words += keywords_from_xmp(packet)
            words += keywords_from_iptc(image)
    except (OSError, UnidentifiedImageError, XmpError, SyntaxError, ValueError) as exc:
        log.info("could not read the keywords embedded in %s: %s", photo, exc)
    for sidecar in dict.fromkeys(sidecar_candidates(photo)):
        if sidecar == photo or not sidecar.is_file():
            continue
        try:
            words += keywords_from_xmp(sidecar.read_bytes())
        except (OSError, XmpError) as exc:
            log.info("could not read the sidecar %s: %s", sidecar, exc)
    return _unique(words)


# -- writing ----------------------------------------------------------------------------------

_EMPTY_SIDECAR = (
    f'<x:xmpmeta xmlns:x="{META}" x:xmptk="photosense">'
    f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description rdf:about=""/></rdf:RDF></x:xmpmeta>'
)


def _register_prefixes(data: bytes) -> None:
    """Keep the prefixes a sidecar already uses, so rewriting it does not rename them.

    Only called on data that :func:`_parse` accepted (no DTD).
    """
    prefixes = dict(PREFIXES)
    try:
        for _event, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix:
                prefixes.setdefault(prefix, uri)
    except ET.ParseError:
        return
    for prefix, uri in prefixes.items():
        try:
            ET.register_namespace(prefix, uri)
        except ValueError:  # "ns0"-style prefixes are reserved by ElementTree
            continue


def _description(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == f"{{{RDF}}}RDF" else root.find(f"{{{RDF}}}RDF")
    if rdf is None:
        raise XmpError("the sidecar has no rdf:RDF element")
    description = rdf.find(f"{{{RDF}}}Description")
    if description is None:
        description = ET.SubElement(rdf, f"{{{RDF}}}Description", {f"{{{RDF}}}about": ""})
    return description


def _merge_list(
    root: ET.Element,
    namespace: str,
    name: str,
    container: str,
    add: Sequence[str],
    remove: set[str],
    leaf: str | None,
) -> None:
    """Update one list property in place: drop ``remove`` (by leaf name), append ``add``."""

    def key(value: str) -> str:
        return (value.rsplit(leaf, 1)[-1] if leaf else value).strip().casefold()

    props = list(root.iter(f"{{{namespace}}}{name}"))
    if not props and not add:
        return
    if not props:
        prop = ET.SubElement(_description(root), f"{{{namespace}}}{name}")
        ET.SubElement(prop, f"{{{RDF}}}{container}")
        props = [prop]
    present: set[str] = set()
    for prop in props:
        for holder in list(prop):
            for item in list(holder):
                if item.tag == f"{{{RDF}}}li" and key(item.text or "") in remove:
                    holder.remove(item)
                elif item.tag == f"{{{RDF}}}li":
                    present.add(key(item.text or ""))
    target = props[0].find(f"{{{RDF}}}{container}")
    if target is None:
        target = ET.SubElement(props[0], f"{{{RDF}}}{container}")
    for value in add:
        if key(value) not in present:
            ET.SubElement(target, f"{{{RDF}}}li").text = value
            present.add(key(value))


def write_sidecar(photo: Path, add: Sequence[str], remove: Collection[str] = ()) -> Path:
    """Merge keywords into ``photo``'s XMP sidecar and return its path.

    ``add`` are appended to ``dc:subject`` and digiKam's ``TagsList`` unless present (ignoring
    case); ``remove`` are taken out of those and Lightroom's ``hierarchicalSubject``. The
    sidecar is written to a temporary file and renamed, so a crash leaves the old one whole.
    """
    target = sidecar_path(photo)
    data = target.read_bytes() if target.is_file() else _EMPTY_SIDECAR.encode("utf-8")
    root = _parse(data)
    _register_prefixes(data)
    removed = {w.strip().casefold() for w in remove}
    words = [w for w in _unique(add) if w.casefold() not in removed]
    _merge_list(root, DC, "subject", "Bag", words, removed, None)
    _merge_list(root, DIGIKAM, "TagsList", "Seq", words, removed, "/")
    _merge_list(root, LIGHTROOM, "hierarchicalSubject", "Bag", [], removed, "|")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    with atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return target
