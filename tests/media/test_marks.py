"""Stars and turns in XMP: read from what other tools write, written into sidecars only."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photosense.media.marks import (
    combined_orientation,
    orientation_from_xmp,
    rating_from_xmp,
    read_marks,
    rotation_between,
    turned,
    write_orientation,
    write_rating,
)
from photosense.media.xmp import parse_xmp
from tests.conftest import save_photo

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
   xmp:Rating="{rating}"
   darktable:xmp_version="5"
   exif:DateTimeOriginal="2021:06:01 12:00:00">
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

ELEMENT_FORM = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/">
 <xmp:Rating>4</xmp:Rating><tiff:Orientation>6</tiff:Orientation>
 </rdf:Description></rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize(
    ("value", "stars"), [("3", 3), ("5", 5), ("0", 0), ("-1", 0), ("7", 0), ("2.5", 2)]
)
def test_ratings_are_read_as_zero_to_five_stars(value: str, stars: int) -> None:
    assert rating_from_xmp(DARKTABLE.format(rating=value)) == stars


def test_element_form_and_missing_values() -> None:
    assert rating_from_xmp(ELEMENT_FORM) == 4
    assert orientation_from_xmp(ELEMENT_FORM) == 6
    empty = DARKTABLE.replace(' xmp:Rating="{rating}"', "")
    assert rating_from_xmp(empty) is None
    assert orientation_from_xmp(empty) is None
    assert rating_from_xmp(DARKTABLE.format(rating="many")) is None


def _apply(image: Image.Image, orientation: int) -> Image.Image:
    from PIL import ImageOps

    exif = Image.Exif()
    exif[0x0112] = orientation
    image.info["exif"] = exif.tobytes()
    image.getexif()[0x0112] = orientation
    return ImageOps.exif_transpose(image)


def test_orientation_codes_compose_with_quarter_turns() -> None:
    """Checked against Pillow: showing code ``combined_orientation(o, r)`` is showing code
    ``o`` then turning it ``r`` degrees clockwise, for all eight codes and four turns."""
    pixels = Image.fromarray((np.arange(6, dtype=np.uint8) * 40).reshape(2, 3))
    for own in range(1, 9):
        upright = _apply(pixels.copy(), own)
        for rotation in (0, 90, 180, 270):
            expected = upright.rotate(-rotation, expand=True)
            shown = _apply(pixels.copy(), combined_orientation(own, rotation))
            assert np.array_equal(np.asarray(shown), np.asarray(expected)), (own, rotation)
            assert rotation_between(own, combined_orientation(own, rotation)) == rotation
    assert rotation_between(1, 2) is None  # a mirror image is not a turn
    assert turned(0, -1) == 270 and turned(270, 1) == 0 and turned(90, 2) == 270


def test_writing_keeps_everything_else_and_never_touches_the_photo(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "p.jpg", "red")
    before = (photo.read_bytes(), os.stat(photo).st_mtime_ns)
    sidecar = tmp_path / "p.jpg.xmp"
    sidecar.write_text(DARKTABLE.format(rating="2"), encoding="utf-8")

    assert write_rating(photo, 4) == sidecar
    text = sidecar.read_text(encoding="utf-8")
    assert 'xmp:Rating="4"' in text and "darktable:xmp_version" in text
    assert "DateTimeOriginal" in text
    assert write_orientation(photo, 90) == sidecar
    assert orientation_from_xmp(sidecar.read_bytes()) == 6  # upright file, a quarter turn
    assert read_marks(photo) == read_marks(photo, [sidecar])
    marks = read_marks(photo)
    assert (marks.rating, marks.rotation) == (4, 90)
    assert (photo.read_bytes(), os.stat(photo).st_mtime_ns) == before
    parse_xmp(sidecar.read_bytes())  # still well-formed


def test_unrated_and_unturned_photos_get_no_new_sidecar(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "p.jpg", "red")
    assert write_rating(photo, 0) is None
    assert write_orientation(photo, 0) is None
    assert not list(tmp_path.glob("*.xmp"))
    with pytest.raises(ValueError):
        write_rating(photo, 6)


def test_embedded_rating_is_read_when_no_sidecar_says(tmp_path: Path) -> None:
    photo = tmp_path / "lr.jpg"
    Image.new("RGB", (8, 8)).save(photo, xmp=DARKTABLE.format(rating="3").encode())
    assert read_marks(photo).rating == 3
    (tmp_path / "lr.xmp").write_text(DARKTABLE.format(rating="1"), encoding="utf-8")
    assert read_marks(photo).rating == 1  # Lightroom's sidecar name, and it wins


def test_a_damaged_sidecar_is_skipped(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "p.jpg", "red")
    (tmp_path / "p.jpg.xmp").write_text("<x:xmpmeta><oops", encoding="utf-8")
    marks = read_marks(photo)
    assert (marks.rating, marks.rotation) == (None, None)
