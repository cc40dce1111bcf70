"""Face regions in XMP sidecars: names made elsewhere arrive, ours leave, the photo untouched."""

from __future__ import annotations

from pathlib import Path

from photosense.media.regions import Box
from photosense.people.xmp import (
    FaceRegion,
    match_names,
    read_regions,
    regions_from_xmp,
    write_regions,
)
from tests.conftest import save_photo

DIGIKAM_STYLE = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<rdf:Description rdf:about="">
 <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>
 <mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>
  <rdf:li rdf:parseType="Resource">
   <mwg-rs:Name>Anna</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
   <mwg-rs:Area stArea:x="0.5" stArea:y="0.5" stArea:w="0.5" stArea:h="0.5"
    stArea:unit="normalized"/>
  </rdf:li>
  <rdf:li><rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet">
   <mwg-rs:Area stArea:x="0.1" stArea:y="0.1" stArea:w="0.1" stArea:h="0.1"
    stArea:unit="normalized"/>
  </rdf:Description></rdf:li>
  <rdf:li><rdf:Description mwg-rs:Type="Face">
   <mwg-rs:Area stArea:x="40" stArea:y="40" stArea:w="10" stArea:h="10" stArea:unit="pixel"/>
  </rdf:Description></rdf:li>
 </rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_reads_named_face_regions_and_skips_pets_and_pixel_areas() -> None:
    regions = regions_from_xmp(DIGIKAM_STYLE)
    assert regions == [FaceRegion(Box(0.25, 0.25, 0.5, 0.5), "Anna")]


def test_write_replaces_face_regions_keeps_the_rest_and_never_touches_the_photo(
    tmp_path: Path,
) -> None:
    photo = save_photo(tmp_path / "p.jpg", "red")
    before = photo.read_bytes()
    sidecar = tmp_path / "p.jpg.xmp"
    sidecar.write_text(DIGIKAM_STYLE, encoding="utf-8")
    write_regions(
        photo,
        [FaceRegion(Box(0.1, 0.2, 0.3, 0.4), "Ben"), FaceRegion(Box(0.6, 0.6, 0.2, 0.2), None)],
        (96, 64),
    )
    assert photo.read_bytes() == before
    text = sidecar.read_text(encoding="utf-8")
    assert "holiday" in text and "Rex" in text and "Anna" not in text
    regions = read_regions(photo)
    assert [r.name for r in regions] == ["Ben", None]
    got = regions[0].box
    assert abs(got.x - 0.1) < 1e-5 and abs(got.h - 0.4) < 1e-5


def test_match_names_by_overlap() -> None:
    regions = [
        FaceRegion(Box(0.1, 0.1, 0.2, 0.2), "Anna"),
        FaceRegion(Box(0.6, 0.1, 0.2, 0.2), "Ben"),
    ]
    boxes = [Box(0.62, 0.12, 0.2, 0.2), Box(0.4, 0.6, 0.1, 0.1), Box(0.11, 0.1, 0.2, 0.2)]
    assert match_names(boxes, regions) == ["Ben", None, "Anna"]
