"""Keywords other photo tools wrote, and XMP sidecars for them to read ours.

Reading covers what digiKam, darktable, Lightroom and most cameras' software write: XMP
``dc:subject``, digiKam ``TagsList`` and Lightroom ``hierarchicalSubject`` (the leaf of each
path), and IPTC keywords (dataset 2:25), embedded in the file or in a sidecar
(``photo.jpg.xmp``, darktable's and digiKam's default, or ``photo.xmp``).

Writing only ever touches the sidecar: an existing one is updated in place (every other
field, namespace and comment kept), else ``photo.jpg.xmp`` is created. The photo itself is
never opened for writing. Parsing and sidecar updates are :mod:`photosense.media.xmp`'s.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError
from PIL.Image import DecompressionBombError

from photosense.media.xmp import (
    DC,
    DIGIKAM,
    LIGHTROOM,
    RDF,
    XmpError,
    description_element,
    embedded_packet,
    iptc_texts,
    parse_xmp,
    sidecar_packets,
    sidecar_path,
    update_sidecar,
)

__all__ = [
    "XmpError",
    "keywords_from_iptc",
    "keywords_from_xmp",
    "read_keywords",
    "sidecar_path",
    "write_sidecar",
]

log = logging.getLogger(__name__)

IPTC_KEYWORDS = (2, 25)


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
    root = parse_xmp(packet)
    words = _items(root, DC, "subject")
    words += [p.rsplit("/", 1)[-1] for p in _items(root, DIGIKAM, "TagsList")]
    words += [p.rsplit("|", 1)[-1] for p in _items(root, LIGHTROOM, "hierarchicalSubject")]
    return _unique(words)


def keywords_from_iptc(image: ImageFile.ImageFile) -> list[str]:
    """IPTC keywords (2:25) of an opened image (UTF-8, else Latin-1)."""
    return _unique(iptc_texts(image, IPTC_KEYWORDS))


def read_keywords(photo: Path) -> list[str]:
    """Every keyword found for ``photo``: embedded XMP and IPTC, and both sidecar names.

    A part that cannot be read is logged and skipped; reading never fails the caller.
    """
    words: list[str] = []
    try:
        with Image.open(photo) as image:
            packet = embedded_packet(image)
            if packet is not None:
                words += keywords_from_xmp(packet)
            words += keywords_from_iptc(image)
    except (
        OSError,
        UnidentifiedImageError,
        XmpError,
        SyntaxError,
        ValueError,
        DecompressionBombError,
    ) as exc:
        log.info("could not read the keywords embedded in %s: %s", photo, exc)
    for packet in sidecar_packets(photo):
        try:
            words += keywords_from_xmp(packet)
        except XmpError as exc:
            log.info("could not read a sidecar of %s: %s", photo, exc)
    return _unique(words)


# -- writing ----------------------------------------------------------------------------------


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
        prop = ET.SubElement(description_element(root), f"{{{namespace}}}{name}")
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
    removed = {w.strip().casefold() for w in remove}
    words = [w for w in _unique(add) if w.casefold() not in removed]

    def merge(root: ET.Element) -> None:
        _merge_list(root, DC, "subject", "Bag", words, removed, None)
        _merge_list(root, DIGIKAM, "TagsList", "Seq", words, removed, "/")
        _merge_list(root, LIGHTROOM, "hierarchicalSubject", "Bag", [], removed, "|")

    return update_sidecar(photo, merge)
