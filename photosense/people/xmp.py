"""Face regions in XMP, in the Metadata Working Group's regions schema (``mwg-rs``) that
digiKam, Lightroom, Picasa's successors and exiftool read and write: names given elsewhere
arrive, names given here leave. Reading takes the embedded packet and both sidecar names;
writing only ever touches the sidecar (through :func:`photosense.media.xmp.update_sidecar`).

An area is the region's centre and size as fractions of the photo as it is shown (orientation
applied), which is what :class:`~photosense.media.regions.Box` holds.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from PIL.Image import DecompressionBombError

from photosense.media.regions import Box
from photosense.media.xmp import (
    RDF,
    XmpError,
    description_element,
    embedded_packet,
    parse_xmp,
    sidecar_packets,
    update_sidecar,
)

log = logging.getLogger(__name__)

MWG_RS = "http://www.metadataworkinggroup.com/schemas/regions/"
ST_AREA = "http://ns.adobe.com/xmp/sType/Area#"
ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
for _prefix, _uri in (("mwg-rs", MWG_RS), ("stArea", ST_AREA), ("stDim", ST_DIM)):
    ET.register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class FaceRegion:
    """A face region: where it is and whose face it is (None: unnamed)."""

    box: Box
    name: str | None


def _value(element: ET.Element, namespace: str, name: str) -> str | None:
    """A property written either as an attribute or as a child element."""
    key = f"{{{namespace}}}{name}"
    if key in element.attrib:
        return element.attrib[key]
    child = element.find(key)
    return child.text if child is not None and child.text is not None else None


def _described(li: ET.Element) -> ET.Element:
    """The element holding a region's properties: ``rdf:li`` itself (parseType Resource) or
    its ``rdf:Description``."""
    inner = li.find(f"{{{RDF}}}Description")
    return inner if inner is not None else li


def regions_from_xmp(packet: bytes | str) -> list[FaceRegion]:
    """The face regions of an XMP packet (other region types, pets or focus, are left out)."""
    root = parse_xmp(packet)
    found = []
    for region_list in root.iter(f"{{{MWG_RS}}}RegionList"):
        for li in region_list.iter(f"{{{RDF}}}li"):
            region = _described(li)
            kind = _value(region, MWG_RS, "Type")
            if kind is not None and kind != "Face":
                continue
            area = region.find(f"{{{MWG_RS}}}Area")
            if area is None:
                continue
            try:
                cx, cy, w, h = (float(_value(area, ST_AREA, k) or "nan") for k in "xywh")
            except ValueError:
                continue
            if not all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)) or w == 0 or h == 0:
                continue  # a pixel-unit or broken area: not something we can place
            name = (_value(region, MWG_RS, "Name") or "").strip() or None
            found.append(FaceRegion(Box.from_mwg(cx, cy, w, h), name))
    return found


def read_regions(photo: Path) -> list[FaceRegion]:
    """Every face region found for ``photo``: its embedded XMP, then its sidecars; a part that
    cannot be read is logged and skipped."""
    packets: list[bytes | str] = []
    try:
        with Image.open(photo) as image:
            packet = embedded_packet(image)
            if packet is not None:
                packets.append(packet)
    except (
        OSError,
        UnidentifiedImageError,
        SyntaxError,
        ValueError,
        DecompressionBombError,
    ) as exc:
        log.info("could not read the XMP embedded in %s: %s", photo, exc)
    packets += sidecar_packets(photo)
    regions: list[FaceRegion] = []
    for packet in packets:
        try:
            regions += regions_from_xmp(packet)
        except XmpError as exc:
            log.info("could not read the face regions of %s: %s", photo, exc)
    return regions


def write_regions(photo: Path, regions: Sequence[FaceRegion], size: tuple[int, int] | None) -> Path:
    """Write ``regions`` as ``photo``'s face regions in its sidecar, replacing the face regions
    there and keeping any other (pets, focus) and every other property. ``size`` is the upright
    photo's (width, height), recorded as the dimensions the regions apply to."""

    def edit(root: ET.Element) -> None:
        kept: list[ET.Element] = []
        for old in list(root.iter(f"{{{MWG_RS}}}Regions")):
            for region_list in old.iter(f"{{{MWG_RS}}}RegionList"):
                for li in region_list.iter(f"{{{RDF}}}li"):
                    if _value(_described(li), MWG_RS, "Type") not in (None, "Face"):
                        kept.append(li)
            for parent in root.iter():
                if old in list(parent):
                    parent.remove(old)
        holder = ET.SubElement(
            description_element(root), f"{{{MWG_RS}}}Regions", {f"{{{RDF}}}parseType": "Resource"}
        )
        if size is not None:
            ET.SubElement(
                holder,
                f"{{{MWG_RS}}}AppliedToDimensions",
                {
                    f"{{{ST_DIM}}}w": str(size[0]),
                    f"{{{ST_DIM}}}h": str(size[1]),
                    f"{{{ST_DIM}}}unit": "pixel",
                },
            )
        bag = ET.SubElement(ET.SubElement(holder, f"{{{MWG_RS}}}RegionList"), f"{{{RDF}}}Bag")
        for region in regions:
            attributes = {f"{{{MWG_RS}}}Type": "Face"}
            if region.name:
                attributes[f"{{{MWG_RS}}}Name"] = region.name
            li = ET.SubElement(bag, f"{{{RDF}}}li")
            described = ET.SubElement(li, f"{{{RDF}}}Description", attributes)
            cx, cy, w, h = region.box.mwg_area()
            ET.SubElement(
                described,
                f"{{{MWG_RS}}}Area",
                {
                    f"{{{ST_AREA}}}x": f"{cx:.6f}",
                    f"{{{ST_AREA}}}y": f"{cy:.6f}",
                    f"{{{ST_AREA}}}w": f"{w:.6f}",
                    f"{{{ST_AREA}}}h": f"{h:.6f}",
                    f"{{{ST_AREA}}}unit": "normalized",
                },
            )
        bag.extend(kept)

    return update_sidecar(photo, edit)


def match_names(
    boxes: Sequence[Box], regions: Sequence[FaceRegion], least: float = 0.3
) -> list[str | None]:
    """For each found face box, the name of the named region that overlaps it most (at least
    ``least`` intersection over union), each region used once."""
    named = [r for r in regions if r.name]
    pairs = sorted(
        ((b.overlap(r.box), i, j) for i, b in enumerate(boxes) for j, r in enumerate(named)),
        reverse=True,
    )
    answer: list[str | None] = [None] * len(boxes)
    used: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < least:
            break
        if answer[i] is None and j not in used:
            answer[i] = named[j].name
            used.add(j)
    return answer
