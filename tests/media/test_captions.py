"""Captions read from real files made here: EXIF, IPTC, XMP (embedded and sidecars), .txt
sidecars, and caption CSVs, including damaged ones."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from photosense.errors import PhotosenseError
from photosense.media.captions import (
    FileCaption,
    caption_files,
    is_placeholder,
    read_caption,
    read_caption_csv,
)
from photosense.media.xmp import description_from_xmp, write_description
from photosense.tagging.xmp import read_keywords, write_sidecar
from tests.conftest import save_photo
from tests.tagging.test_xmp import DARKTABLE_SIDECAR


def xmp_packet(description: str | None = None, *, attribute: bool = False, lang: str = "") -> str:
    """An XMP packet with ``dc:description`` as a language alternative (or as an attribute)."""
    head = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
    )
    tail = "</rdf:Description></rdf:RDF></x:xmpmeta>"
    if description is None:
        return head + ">" + tail
    if attribute:
        return head + f' dc:description="{description}">' + tail
    other = f'<rdf:li xml:lang="{lang}">other language</rdf:li>' if lang else ""
    return (
        head
        + "><dc:description><rdf:Alt>"
        + other
        + f'<rdf:li xml:lang="x-default">{description}</rdf:li>'
        + "</rdf:Alt></dc:description>"
        + tail
    )


def jpeg(
    path: Path,
    *,
    exif_description: str | bytes | None = None,
    xmp: str | None = None,
    iptc: bytes | None = None,
) -> Path:
    """A small JPEG with an optional EXIF ImageDescription, XMP packet and IPTC block."""
    exif = Image.Exif()
    if exif_description is not None:
        exif[0x010E] = exif_description
    options: dict[str, object] = {"exif": exif.tobytes()}
    if xmp is not None:
        options["xmp"] = xmp.encode("utf-8")
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 60, 40)).save(buffer, "JPEG", **options)
    data = buffer.getvalue()
    if iptc is not None:
        data = data[:2] + app13(iptc) + data[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def iptc_record(dataset: int, value: bytes) -> bytes:
    return b"\x1c\x02" + bytes([dataset]) + struct.pack(">H", len(value)) + value


def app13(records: bytes) -> bytes:
    """A Photoshop APP13 segment holding IPTC records."""
    block = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(records))
    block += records + (b"\x00" if len(records) % 2 else b"")
    payload = b"Photoshop 3.0\x00" + block
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def found(photo: Path) -> tuple[str, str, str] | None:
    caption = read_caption(photo)
    return None if caption is None else (caption.text, caption.source, caption.origin)


# -- inside the file --------------------------------------------------------------------------


def test_exif_image_description_utf8_and_latin1(tmp_path: Path) -> None:
    utf8 = jpeg(tmp_path / "a.jpg", exif_description="Crème brûlée in 東京".encode())
    latin1 = jpeg(tmp_path / "b.jpg", exif_description=b"Caf\xe9 on the corner")

    assert found(utf8) == ("Crème brûlée in 東京", "file", "exif")
    assert found(latin1) == ("Café on the corner", "file", "exif")


@pytest.mark.parametrize(
    "placeholder",
    [
        "OLYMPUS DIGITAL CAMERA         ",
        "SONY DSC",
        "   ",
        "\x00\x00\x00",
        "KODAK Digital Still Camera",
        "SAMSUNG CAMERA PICTURES",
        "Nikon digital camera",
        "IMG_1234.JPG",
        "DSC01234",
        "20240101_120000",
        "<KENOX S630  / Samsung S630>",
        "Exif_JPEG_PICTURE",
    ],
)
def test_camera_placeholders_are_not_captions(tmp_path: Path, placeholder: str) -> None:
    photo = jpeg(tmp_path / "p.jpg", exif_description=placeholder)

    assert is_placeholder(placeholder)
    assert read_caption(photo) is None


@pytest.mark.parametrize(
    "caption",
    ["A dog looking at the camera", "Sony party 2019", "Pip", "Grandma's 80th birthday"],
)
def test_real_captions_are_kept(caption: str) -> None:
    assert not is_placeholder(caption)


def test_iptc_caption_abstract(tmp_path: Path) -> None:
    records = iptc_record(25, b"keyword") + iptc_record(120, "Lac d'Annecy à l'aube".encode())
    photo = jpeg(tmp_path / "iptc.jpg", iptc=records)

    assert found(photo) == ("Lac d'Annecy à l'aube", "file", "iptc")


def test_embedded_xmp_comes_before_iptc_and_exif(tmp_path: Path) -> None:
    photo = jpeg(
        tmp_path / "all.jpg",
        exif_description="from exif",
        xmp=xmp_packet("from xmp"),
        iptc=iptc_record(120, b"from iptc"),
    )
    iptc_and_exif = jpeg(
        tmp_path / "two.jpg", exif_description="from exif", iptc=iptc_record(120, b"from iptc")
    )

    assert found(photo) == ("from xmp", "file", "xmp")
    assert found(iptc_and_exif) == ("from iptc", "file", "iptc")


def test_a_png_with_an_itxt_xmp_chunk(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet("Tomatoes in the greenhouse"))
    path = tmp_path / "plants.png"
    Image.new("RGB", (16, 16), "green").save(path, "PNG", pnginfo=info)

    assert found(path) == ("Tomatoes in the greenhouse", "file", "xmp")


def test_x_default_is_preferred_and_the_attribute_form_is_read(tmp_path: Path) -> None:
    assert description_from_xmp(xmp_packet("the default", lang="fr-FR")) == "the default"
    assert description_from_xmp(xmp_packet("shorthand", attribute=True)) == "shorthand"
    assert description_from_xmp(xmp_packet(None)) is None


# -- sidecars ---------------------------------------------------------------------------------


def test_xmp_sidecars_come_first_photo_jpg_xmp_before_photo_xmp(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "IMG_1.jpg", exif_description="from the file")
    (tmp_path / "IMG_1.xmp").write_text(xmp_packet("short sidecar"), encoding="utf-8")
    assert found(photo) == ("short sidecar", "sidecar", "IMG_1.xmp")

    (tmp_path / "IMG_1.jpg.xmp").write_text(xmp_packet("full sidecar"), encoding="utf-8")
    assert found(photo) == ("full sidecar", "sidecar", "IMG_1.jpg.xmp")


def test_text_sidecars(tmp_path: Path) -> None:
    short = save_photo(tmp_path / "short.jpg", "red")
    (tmp_path / "short.txt").write_text("\n  A red square\non a table  \n", encoding="utf-8")
    long = save_photo(tmp_path / "long.jpg", "blue")
    (tmp_path / "long.txt").write_text(
        "\n\nA blue circle.\n" + "Notes that go on and on. " * 40, encoding="utf-8"
    )
    both = save_photo(tmp_path / "both.jpg", "green")
    (tmp_path / "both.txt").write_text("the short name", encoding="utf-8")
    (tmp_path / "both.jpg.txt").write_text("the full name", encoding="utf-8")
    windows = save_photo(tmp_path / "win.jpg", "yellow")
    (tmp_path / "win.txt").write_bytes("Café au lait".encode("cp1252"))

    assert found(short) == ("A red square on a table", "sidecar", "short.txt")
    assert found(long) == ("A blue circle.", "sidecar", "long.txt")
    assert found(both) == ("the full name", "sidecar", "both.jpg.txt")
    assert found(windows) == ("Café au lait", "sidecar", "win.txt")


def test_an_xmp_sidecar_without_a_description_lets_the_next_source_answer(
    tmp_path: Path,
) -> None:
    photo = jpeg(tmp_path / "a.jpg", exif_description="from the file")
    write_sidecar(photo, ["keyword only"])

    assert found(photo) == ("from the file", "file", "exif")


# -- damaged input ----------------------------------------------------------------------------


def test_damaged_metadata_never_raises_and_the_next_source_answers(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "a.jpg", exif_description="still found")
    (tmp_path / "a.jpg.xmp").write_text("<x:xmpmeta><rdf:RDF><unclosed", encoding="utf-8")
    (tmp_path / "a.xmp").write_text(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>' + xmp_packet("&e;"),
        encoding="utf-8",
    )
    (tmp_path / "a.jpg.txt").write_bytes(b"\x00\x01\x02binary, not text")

    assert found(photo) == ("still found", "file", "exif")


def test_damaged_iptc_blocks_and_a_broken_embedded_packet(tmp_path: Path) -> None:
    huge = b"\x1c\x02\x78\x80\x04\xff\xff\xff\xff"  # a 4 GB extended length: Pillow raises
    empty = b"\x1c\x02\x78\x80\x09" + b"\x00" * 9  # an extended length of zero bytes
    broken = "<x:xmpmeta><oops"
    photos = [
        jpeg(tmp_path / f"{i}.jpg", xmp=broken, iptc=block) for i, block in enumerate((huge, empty))
    ]
    exif_too = jpeg(tmp_path / "c.jpg", exif_description="the EXIF one", xmp=broken, iptc=huge)

    assert [read_caption(p) for p in photos] == [None, None]
    assert found(exif_too) == ("the EXIF one", "file", "exif")


def test_files_that_are_not_images_or_are_gone(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a JPEG at all")
    (tmp_path / "broken.txt").write_text("caption beside a broken file", encoding="utf-8")

    assert read_caption(broken) == FileCaption(
        "caption beside a broken file", "sidecar", "broken.txt"
    )
    assert read_caption(tmp_path / "gone.jpg") is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_posing_as_a_sidecar_is_not_opened(tmp_path: Path) -> None:
    photo = jpeg(tmp_path / "p.jpg", exif_description="the file's own")
    os.mkfifo(tmp_path / "p.jpg.txt")

    assert found(photo) == ("the file's own", "file", "exif")
    assert caption_files([(1, str(photo), 1, 1)])[1].sidecars == ()


# -- what changed -----------------------------------------------------------------------------


def test_fingerprints_follow_the_photo_and_its_sidecars(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "a.jpg", "red")
    other = save_photo(tmp_path / "b.jpg", "blue")

    def state() -> tuple[str, tuple[Path, ...]]:
        files = caption_files([(1, str(photo), 10, 20), (2, str(other), 10, 20)])
        return files[1].fingerprint, files[1].sidecars

    first, sidecars = state()
    assert sidecars == ()
    assert state()[0] == first  # nothing changed
    assert caption_files([(1, str(photo), 11, 20)])[1].fingerprint != first  # the photo did

    (tmp_path / "a.txt").write_text("a caption", encoding="utf-8")
    added, sidecars = state()
    assert added != first and sidecars == (tmp_path / "a.txt",)

    os.utime(tmp_path / "a.txt", ns=(1, 1))
    assert state()[0] not in (first, added)


def test_photos_in_folders_that_cannot_be_listed_or_that_are_gone_are_left_out(
    tmp_path: Path,
) -> None:
    photo = save_photo(tmp_path / "here.jpg", "red")
    listed = caption_files(
        [(1, str(photo), 1, 1), (2, str(tmp_path / "gone.jpg"), 1, 1), (3, "/no/drive/x.jpg", 1, 1)]
    )

    assert set(listed) == {1}


# -- writing the description ------------------------------------------------------------------

DARKTABLE = DARKTABLE_SIDECAR.replace(
    "<dc:subject>",
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">old words</rdf:li>'
    '<rdf:li xml:lang="de-DE">alte Worte</rdf:li></rdf:Alt></dc:description><dc:subject>',
)
"""darktable's sidecar, holding a description in two languages too."""


def test_writing_a_description_keeps_the_sidecars_other_fields(tmp_path: Path) -> None:
    photo = save_photo(tmp_path / "IMG_3.jpg", "red")
    sidecar = tmp_path / "IMG_3.jpg.xmp"
    sidecar.write_text(DARKTABLE, encoding="utf-8")
    before = (photo.read_bytes(), photo.stat().st_mtime_ns)

    assert write_description(photo, "Rex asleep on the sofa") == sidecar

    text = sidecar.read_text(encoding="utf-8")
    assert description_from_xmp(text) == "Rex asleep on the sofa"
    assert "alte Worte" in text and "old words" not in text
    assert 'xmp:Rating="3"' in text and "edited in darktable" in text
    assert 'darktable:operation="exposure"' in text
    assert read_keywords(photo) == ["holiday", "cat"]
    assert (photo.read_bytes(), photo.stat().st_mtime_ns) == before

    write_description(photo, None)
    assert description_from_xmp(sidecar.read_bytes()) is None
    assert read_keywords(photo) == ["holiday", "cat"]


def test_writing_a_description_makes_a_sidecar_only_when_there_is_something_to_write(
    tmp_path: Path,
) -> None:
    photo = save_photo(tmp_path / "IMG_4.jpg", "blue")

    assert write_description(photo, None) is None
    assert not (tmp_path / "IMG_4.jpg.xmp").exists()

    written = write_description(photo, "Blue hour & <stars>")
    assert written == tmp_path / "IMG_4.jpg.xmp"
    assert found(photo) == ("Blue hour & <stars>", "sidecar", "IMG_4.jpg.xmp")


# -- CSV files --------------------------------------------------------------------------------


def test_a_caption_csv_with_relative_and_absolute_paths(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "x.jpg"
    csv_path = tmp_path / "set" / "captions.csv"
    csv_path.parent.mkdir()
    csv_path.write_text(
        "\ufeffPath , Caption,notes\n"
        "a.jpg,A red  square,ignored\n"
        f'{elsewhere},"Commas, quotes ""and""\nlines"\n'
        "sub/../b.jpg,first\n"
        ",no path\n"
        "c.jpg,   \n"
        "b.jpg,second\n",
        encoding="utf-8",
    )

    parsed = read_caption_csv(csv_path)

    folder = csv_path.parent
    assert [(r.line, r.path, r.text) for r in parsed.rows] == [
        (2, str(folder / "a.jpg"), "A red square"),
        (3, str(elsewhere), 'Commas, quotes "and" lines'),
        (8, str(folder / "b.jpg"), "second"),
    ]
    assert parsed.problems == [
        "line 6: no path",
        "line 7: no caption for c.jpg",
        "line 8: b.jpg was already captioned on line 5; this later caption is used",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,caption\na.jpg,caf\xe9\n".encode("latin-1"), "not UTF-8 text \\(line 2"),
        (b"file,text\na.jpg,x\n", "no 'path' column"),
        (b"path,description\na.jpg,x\n", "no 'caption' column"),
        (b"", "is empty"),
        (b"path,caption\na.jpg," + b"x" * 200_000 + b"\n", "not a valid CSV file"),
    ],
)
def test_a_caption_csv_that_cannot_be_used_says_why(
    tmp_path: Path, content: bytes, message: str
) -> None:
    csv_path = tmp_path / "captions.csv"
    csv_path.write_bytes(content)

    with pytest.raises(PhotosenseError, match=message):
        read_caption_csv(csv_path)


def test_a_missing_csv_says_so(tmp_path: Path) -> None:
    with pytest.raises(PhotosenseError, match="cannot read"):
        read_caption_csv(tmp_path / "nope.csv")
