"""Keywords from XMP, IPTC and sidecars, and sidecars written without touching the photo."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from photosense.progress import run_to_end
from photosense.tagging.xmp import (
    XmpError,
    keywords_from_xmp,
    read_keywords,
    sidecar_path,
    write_sidecar,
)
from tests.conftest import save_photo
from tests.tagging.conftest import names, open_library


def packet(
    subjects: Sequence[str], tags_list: Sequence[str] = (), hierarchy: Sequence[str] = ()
) -> str:
    """An XMP packet as digiKam / Lightroom write them."""

    def items(values: Sequence[str]) -> str:
        return "".join(f"<rdf:li>{v}</rdf:li>" for v in values)

    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:digiKam="http://www.digikam.org/ns/1.0/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/">'
        f"<dc:subject><rdf:Bag>{items(subjects)}</rdf:Bag></dc:subject>"
        f"<digiKam:TagsList><rdf:Seq>{items(list(tags_list))}</rdf:Seq></digiKam:TagsList>"
        f"<lr:hierarchicalSubject><rdf:Bag>{items(list(hierarchy))}</rdf:Bag>"
        "</lr:hierarchicalSubject></rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


def jpeg_with_iptc(path: Path, keywords: list[str]) -> Path:
    """A JPEG with an APP13 Photoshop segment holding IPTC keywords (dataset 2:25)."""
    records = b"".join(
        b"\x1c\x02\x19" + struct.pack(">H", len(k)) + k for k in (w.encode() for w in keywords)
    )
    block = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(records))
    block += records + (b"\x00" if len(records) % 2 else b"")
    payload = b"Photoshop 3.0\x00" + block
    segment = b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, "JPEG")
    data = buffer.getvalue()
    path.write_bytes(data[:2] + segment + data[2:])
    return path


DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="3"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <!-- edited in darktable -->
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
     <rdf:li>cat</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_keywords_from_an_xmp_packet() -> None:
    words = keywords_from_xmp(
        packet(["beach", "Sunset", "beach "], ["Places/France/Nice", "People/Anna"], ["Trips|2024"])
    )
    assert words == ["beach", "Sunset", "Nice", "Anna", "2024"]


def test_keywords_embedded_in_a_jpeg_xmp_packet(tmp_path: Path) -> None:
    path = tmp_path / "xmp.jpg"
    Image.new("RGB", (16, 16), "red").save(path, "JPEG", xmp=packet(["beach", "Ünïcödé"]).encode())

    assert read_keywords(path) == ["beach", "Ünïcödé"]


def test_keywords_embedded_in_a_png(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet(["garden"]))
    path = tmp_path / "plants.png"
    Image.new("RGB", (16, 16), "green").save(path, "PNG", pnginfo=info)

    assert read_keywords(path) == ["garden"]


def test_iptc_keywords(tmp_path: Path) -> None:
    path = jpeg_with_iptc(tmp_path / "iptc.jpg", ["mountain", "Crème brûlée"])

    assert read_keywords(path) == ["mountain", "Crème brûlée"]


def test_both_sidecar_names_are_read(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "IMG_1.jpg", "blue")
    (tmp_path / "IMG_1.jpg.xmp").write_text(packet(["lake"]), encoding="utf-8")
    (tmp_path / "IMG_1.xmp").write_text(packet(["Lake", "boat"]), encoding="utf-8")

    assert read_keywords(photo) == ["lake", "boat"]


def test_packets_with_entities_are_refused_and_never_expanded(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        "<rdf:li>&lol2;</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF>"
        "</x:xmpmeta>"
    )
    with pytest.raises(XmpError, match="DTD"):
        keywords_from_xmp(bomb)
    photo = save_photo(tmp_path / "a.jpg", "red")
    (tmp_path / "a.jpg.xmp").write_text(bomb, encoding="utf-8")
    (tmp_path / "a.xmp").write_text("<not xml", encoding="utf-8")
    assert read_keywords(photo) == []  # bad sidecars are skipped, never fatal


def test_writing_creates_photo_jpg_xmp_and_never_touches_the_photo(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "IMG_2.jpg", "red")
    before = (photo.read_bytes(), photo.stat().st_mtime_ns)

    written = write_sidecar(photo, ["red", "car"])

    assert written == tmp_path / "IMG_2.jpg.xmp"
    assert (photo.read_bytes(), photo.stat().st_mtime_ns) == before
    assert read_keywords(photo) == ["red", "car"]
    assert "digiKam:TagsList" in written.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_2.jpg", "IMG_2.jpg.xmp"]


def test_writing_merges_into_a_darktable_sidecar(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "IMG_3.jpg", "red")
    sidecar = tmp_path / "IMG_3.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    before = (photo.read_bytes(), photo.stat().st_mtime_ns)

    write_sidecar(photo, ["Holiday", "red"], remove=["cat"])
    write_sidecar(photo, ["red"])  # idempotent

    text = sidecar.read_text(encoding="utf-8")
    assert read_keywords(photo) == ["holiday", "red"]
    assert text.count(">red<") == 2  # once in dc:subject, once in digiKam:TagsList
    assert 'darktable:operation="exposure"' in text  # other fields kept, prefixes too
    assert 'xmp:Rating="3"' in text and 'darktable:history_end="1"' in text
    assert "edited in darktable" in text
    assert (photo.read_bytes(), photo.stat().st_mtime_ns) == before


def test_an_existing_short_sidecar_is_the_one_updated(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "IMG_4.jpg", "red")
    (tmp_path / "IMG_4.xmp").write_text(packet(["old"]), encoding="utf-8")

    assert sidecar_path(photo) == tmp_path / "IMG_4.xmp"
    write_sidecar(photo, ["new"])

    assert not (tmp_path / "IMG_4.jpg.xmp").exists()
    assert keywords_from_xmp((tmp_path / "IMG_4.xmp").read_bytes()) == ["old", "new"]


# -- through the library ----------------------------------------------------------------------


@pytest.fixture
def keyword_photos(tmp_path: Path) -> Path:
    root = tmp_path / "Keywords"
    root.mkdir()
    Image.new("RGB", (32, 32), (220, 30, 30)).save(
        root / "tagged.jpg", "JPEG", xmp=packet(["Grandma", "red"]).encode()
    )
    jpeg_with_iptc(root / "iptc.jpg", ["Grandma"])
    save_photo(root / "plain.jpg", (30, 40, 220))
    (root / "plain.jpg.xmp").write_text(packet(["Lake Como"]), encoding="utf-8")
    return root


def test_keywords_are_imported_at_index_time(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], keyword_photos: Path
) -> None:
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([keyword_photos]))

    rows = {r.tag: r for r in library.tags.of_photo(keyword_photos / "tagged.jpg")}
    assert (rows["Grandma"].source, rows["Grandma"].state) == ("imported", "accepted")
    assert (rows["red"].source, rows["red"].state) == ("imported", "accepted")  # not doubled
    assert "Grandma" in names(library, keyword_photos / "iptc.jpg")
    assert "Lake Como" in names(library, keyword_photos / "plain.jpg")
    grandma = next(t for t in library.tags.list() if t.name == "Grandma")
    assert (grandma.origin, grandma.enabled, grandma.accepted) == ("imported", False, 2)
    hits = library.search.text("a photo", tag="grandma").hits
    assert {Path(h.photo.path).name for h in hits} == {"tagged.jpg", "iptc.jpg"}
    library.close()


def test_export_writes_decisions_to_sidecars(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], keyword_photos: Path
) -> None:
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([keyword_photos]))
    tagged = keyword_photos / "tagged.jpg"
    originals = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in keyword_photos.glob("*.jpg")}
    library.tags.reject(tagged, "red")
    library.tags.accept(keyword_photos / "plain.jpg", "blue")

    report = run_to_end(library.tags.export_xmp())

    assert report.failed == []
    assert sorted(Path(p).name for p in report.written) == [
        "iptc.jpg.xmp",
        "plain.jpg.xmp",
        "tagged.jpg.xmp",
    ]
    assert read_keywords(keyword_photos / "plain.jpg") == ["Lake Como", "blue"]
    # The rejected tag is left out of the sidecar (the embedded packet still has it).
    sidecar = keywords_from_xmp((keyword_photos / "tagged.jpg.xmp").read_bytes())
    assert sidecar == ["Grandma"]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in originals} == originals
    library.close()


def test_a_sidecar_that_cannot_be_written_is_reported_and_the_rest_go_on(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], keyword_photos: Path
) -> None:
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([keyword_photos]))
    (keyword_photos / "iptc.jpg.xmp").mkdir()  # something that is not a file is in the way

    report = run_to_end(library.tags.export_xmp())

    assert [Path(p).name for p, _ in report.failed] == ["iptc.jpg"]
    assert report.failed[0][1]
    assert sorted(Path(p).name for p in report.written) == ["plain.jpg.xmp", "tagged.jpg.xmp"]
    library.close()
