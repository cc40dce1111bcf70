"""What the fuzzers feed: image files, XMP sidecars and caption CSVs, each through the code
that reads them, with the properties that must hold for any input.

A target returns normally for any input: the typed errors photosense raises on purpose
(``ImageSkipped``, ``XmpError``, ``PhotosenseError``) are expected answers; anything else
escaping, or a property failing, is a bug. The targets need no fuzzer: ``test_fuzz.py`` runs
them on the seeds and on every input kept in ``regressions/``; ``fuzz.py`` runs them under
atheris.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from photosense.errors import ImageSkipped, PhotosenseError, XmpError
from photosense.media.captions import MAX_CAPTION_CHARS, read_caption, read_caption_csv
from photosense.media.decode import decode_photo, read_metadata
from photosense.media.xmp import description_from_xmp, parse_xmp, write_description
from photosense.tagging.xmp import keywords_from_xmp, read_keywords, write_sidecar

if TYPE_CHECKING:
    from photosense.library import Library

KINDS = {
    "missing",
    "permission",
    "empty",
    "unsupported",
    "truncated",
    "too_large",
    "unreadable",
    "timeout",
}
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"


@cache
def scratch() -> Path:
    """A folder for this process's files: in ``$PHOTOSENSE_FUZZ_SCRATCH`` (the fuzzer puts it
    beside its corpus, as libFuzzer exits without Python's clean-up), else in memory where the
    system offers it."""
    shm = Path("/dev/shm")
    parent = os.environ.get("PHOTOSENSE_FUZZ_SCRATCH") or (
        shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    )
    folder = Path(tempfile.mkdtemp(prefix="photosense-fuzz-", dir=parent))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _jpeg(size: tuple[int, int] = (24, 16), **params: object) -> bytes:
    image = Image.new("RGB", size, (200, 60, 30))
    ImageDraw.Draw(image).ellipse((2, 2, 12, 12), fill=(30, 60, 200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, **params)
    return out.getvalue()


# -- images: decoding, metadata, embedded keywords and captions ------------------------------


def image_file(data: bytes) -> None:
    """A photo file: decoded, its header read, its embedded keywords and caption read."""
    path = scratch() / "photo.jpg"
    path.write_bytes(data)
    try:
        photo = decode_photo(path, min_side=16)
    except ImageSkipped as skipped:
        assert skipped.kind in KINDS and skipped.reason
    else:
        assert photo.image.mode == "RGB" and min(photo.image.size) >= 1
        assert photo.metadata.width is not None
    try:
        read_metadata(path)
    except ImageSkipped as skipped:
        assert skipped.kind in KINDS and skipped.reason
    read_keywords(path)  # never raises
    caption = read_caption(path, sidecars=[])  # never raises
    assert caption is None or 0 < len(caption.text) <= MAX_CAPTION_CHARS


def image_seeds() -> list[bytes]:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010E] = "A harbour at dawn"
    exif[0x010F], exif[0x0110] = "Camera Maker", "Model 7"
    exif.get_ifd(0x8769)[0x9003] = datetime(2021, 6, 1, 12).strftime("%Y:%m:%d %H:%M:%S")
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 30.0, 0.0), "W", (1.0, 15.0, 30.0)
    xmp = SIDECARS[0].encode()
    seeds = [
        _jpeg(exif=exif.tobytes()),
        _jpeg(progressive=True, xmp=xmp),
        _jpeg((8, 8), subsampling=0),
    ]
    image = Image.new("RGBA", (12, 10), (10, 200, 90, 128))
    for fmt, params in (
        ("PNG", {"exif": exif.tobytes()}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {"description": "tiff caption"}),
        ("WEBP", {"exif": exif.tobytes()}),
    ):
        out = io.BytesIO()
        (image if fmt in ("PNG", "WEBP", "TIFF") else image.convert("RGB")).save(out, fmt, **params)
        seeds.append(out.getvalue())
    deep = io.BytesIO()
    Image.new("I;16", (6, 6), 40000).save(deep, "PNG")
    seeds.append(deep.getvalue())
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        heif = io.BytesIO()
        image.convert("RGB").save(heif, "HEIF", quality=50)
        seeds.append(heif.getvalue())
    except Exception:  # no encoder here: the fuzzer still mutates the rest
        pass
    return seeds


# -- XMP sidecars: reading them, and updating them without losing their other fields --------

_PHOTO = _jpeg()


def _facts(root: ET.Element) -> set[tuple[str, str, str]]:
    """Every element but list items and descriptions as (path, attributes, text): what an
    update of keywords and description must leave as it was."""
    facts = set()

    def walk(element: ET.Element, path: str) -> None:
        if not isinstance(element.tag, str):
            return
        here = f"{path}/{element.tag}"
        if element.tag in (f"{{{RDF}}}li", f"{{{DC}}}description"):
            return
        attributes = sorted(
            (k, v) for k, v in element.attrib.items() if k != f"{{{DC}}}description"
        )
        facts.add((here, repr(attributes), (element.text or "").strip()))
        for child in element:
            walk(child, here)

    walk(root, "")
    return facts


def sidecar(data: bytes) -> None:
    """An existing sidecar: read for keywords and captions, then updated by both writers."""
    folder = scratch()
    photo, side = folder / "photo.jpg", folder / "photo.jpg.xmp"
    photo.write_bytes(_PHOTO)
    (folder / "photo.xmp").unlink(missing_ok=True)
    side.write_bytes(data)
    read_keywords(photo)  # never raises
    read_caption(photo)  # never raises
    try:
        before = _facts(parse_xmp(data))
    except XmpError:
        before = None
    for read in (keywords_from_xmp, description_from_xmp):
        try:
            read(data)
        except XmpError:
            assert before is None
    try:
        write_sidecar(photo, ["fuzz keyword"], [])
    except XmpError:
        assert side.read_bytes() == data  # refused whole, never half-written
    else:
        written = side.read_bytes()
        assert "fuzz keyword" in keywords_from_xmp(written)
        assert before is not None and before <= _facts(parse_xmp(written))
    try:
        write_description(photo, "a caption from the fuzzer")
    except XmpError:
        pass
    else:
        assert description_from_xmp(side.read_bytes()) == "a caption from the fuzzer"
    assert photo.read_bytes() == _PHOTO  # the photo itself is never written


SIDECARS = [
    f"""<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Another Tool 1.0">
 <!-- a comment -->
 <rdf:RDF xmlns:rdf="{RDF}">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="{DC}" xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/" xmp:Rating="3">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Boats</rdf:li>
     <rdf:li xml:lang="fr">Bateaux</rdf:li></rdf:Alt></dc:description>
   <dc:subject><rdf:Bag><rdf:li>beach</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Places|Beach</rdf:li></rdf:Bag>
   </lr:hierarchicalSubject>
   <digiKam:TagsList><rdf:Seq><rdf:li>Places/Beach</rdf:li></rdf:Seq></digiKam:TagsList>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>""",
    f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">
<rdf:Description rdf:about="" xmlns:dc="{DC}" dc:description="shorthand caption"/>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>""",
    f'<rdf:RDF xmlns:rdf="{RDF}"><rdf:Description/></rdf:RDF>',
    "",
]


# -- caption CSVs: the reader, and the library's import --------------------------------------


def caption_csv(data: bytes) -> None:
    """A caption CSV: read (typed errors only, sane rows) and imported into a library."""
    library = _library()
    path = scratch() / "library-photos" / "captions.csv"  # relative paths name its photos
    path.write_bytes(data)
    try:
        parsed = read_caption_csv(path)
    except PhotosenseError as error:
        assert str(error)
    else:
        for row in parsed.rows:
            assert os.path.isabs(row.path) and row.text == row.text.strip()
            assert 0 < len(row.text) <= MAX_CAPTION_CHARS
        assert len({row.path for row in parsed.rows}) == len(parsed.rows)
    try:
        library.captions.import_csv(path)
    except PhotosenseError as error:
        assert str(error)


@cache
def _library() -> Library:
    """A library in memory over two photos in the scratch folder (paths the CSVs name)."""
    from photosense.library import Library
    from photosense.models.fake import FakeEncoder
    from photosense.progress import run_to_end
    from photosense.store.repository import Store

    folder = scratch() / "library-photos"
    folder.mkdir(exist_ok=True)
    for name in ("a.jpg", "b c.jpg"):
        (folder / name).write_bytes(_jpeg())
    library = Library(Store.in_memory(), scratch() / "library", lambda _spec: FakeEncoder())
    run_to_end(library.folders.index([folder]))
    return library


def csv_seeds() -> list[bytes]:
    folder = scratch() / "library-photos"
    return [
        b"path,caption\na.jpg,a dog on a beach\n",
        '\ufeffpath,caption,rating\r\n"b c.jpg","a, quoted ""caption""",5\r\n'.encode(),
        f"caption,path\nabsolute,{folder / 'a.jpg'}\nagain,{folder / 'a.jpg'}\n".encode(),
        b"path,caption\n,no path\nx.jpg,\n../a.jpg,up one\n~/a.jpg,home\n",
        "path,caption\nb c.jpg,café 東京 📷\n".encode(),
        b"path;caption\na.jpg;semicolons\n",
        b"",
    ]


TARGETS: dict[str, Callable[[bytes], None]] = {
    "image": image_file,
    "sidecar": sidecar,
    "captions": caption_csv,
}


def load_plugins() -> None:
    """Import Pillow's format plugins (and the HEIF one) now rather than at the first image."""
    with contextlib.suppress(ImageSkipped):  # not a file: refused once they are registered
        read_metadata(Path(os.devnull))


def seeds(target: str) -> list[bytes]:
    if target == "image":
        return image_seeds()
    if target == "sidecar":
        return [s.encode("utf-8") for s in SIDECARS]
    _library()  # the photos the CSV seeds name
    return csv_seeds()
