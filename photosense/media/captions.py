"""Captions that are already in the files, and ``path,caption`` CSV files.

A photo's caption is looked for, in this order, in its XMP sidecars (``photo.jpg.xmp``, then
``photo.xmp``), its text sidecars (``photo.jpg.txt``, then ``photo.txt``), the XMP packet
embedded in the file, the IPTC caption-abstract (2:120) and the EXIF ImageDescription
(0x010E); the first real caption wins. Descriptions that cameras write on their own
("OLYMPUS DIGITAL CAMERA", "SONY DSC", a file name…) are not captions and are passed over.

Reading never raises: a part that cannot be read (a damaged packet, a sidecar that is not
XML, a file that vanished) is logged and the next source is tried.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile

from photosense.enums import CaptionSource
from photosense.errors import ImageSkipped, PhotosenseError
from photosense.media._files import open_regular
from photosense.media.decode import _opened
from photosense.media.xmp import (
    MAX_PACKET_BYTES,
    XmpError,
    description_from_xmp,
    embedded_packet,
    iptc_texts,
)

__all__ = [
    "CaptionCsv",
    "CaptionFiles",
    "CaptionRow",
    "FileCaption",
    "caption_files",
    "clean_caption",
    "is_placeholder",
    "read_caption",
    "read_caption_csv",
    "screen_caption",
]

log = logging.getLogger(__name__)

READER_VERSION = 2
"""Part of every fingerprint: raising it makes the next run read every photo again."""
MAX_CAPTION_CHARS = 2000
"""Captions read from files or CSVs are cut to this length (text encoders read far less)."""
MAX_USABLE_CHARS = 300
"""A caption longer than this keeps its leading sentences up to it; a longer first sentence is
a description, not a caption (a text encoder reads about 77 tokens, some 300 characters)."""
SHORT_TEXT_CHARS = 500
"""A text sidecar up to this long is the caption whole; a longer one gives its first line."""
MAX_TEXT_SIDECAR_BYTES = 64 * 1024
IPTC_CAPTION = (2, 120)
EXIF_IMAGE_DESCRIPTION = 0x010E

# Descriptions cameras and phones fill in by themselves (compared case-insensitively, with
# runs of spaces collapsed).
_PLACEHOLDERS = frozenset(
    {
        "olympus digital camera",
        "sony dsc",
        "digital camera",
        "digital still camera",
        "kodak digital still camera",
        "minolta digital camera",
        "konica minolta digital camera",
        "samsung digital camera",
        "sanyo digital camera",
        "casio qv digital camera",
        "exif_jpeg_picture",
        "exif jpeg picture",
        "jpeg image",
        "default",
        "untitled",
        "no title",
        "image",
        "picture",
        "photo",
        "camera",
        "description",
        "dcim",
        "created with gimp",
        "hdr",
        "mms",
    }
)
# "SAMSUNG CAMERA PICTURES", "Nikon digital camera", "<KENOX S630 / Samsung S630>"…
_PLACEHOLDER_PATTERNS = (
    re.compile(r"[\w.-]+( [\w.-]+)? digital (still )?camera"),
    re.compile(r"[\w.-]+ camera pictures?"),
    re.compile(r"<[^<>]*>"),
    # File names: IMG_1234, DSC01234, DSCN0001, P1010001, PICT0001, 20240101_120000(.jpg)
    re.compile(
        r"(img|dsc[nf]?|dscf|pict|imag|sam|p|photo|pxl|mvimg|vid)?[ _-]?[\d_ -]{3,}(\.\w+)?"
    ),
    re.compile(r"[\w-]+\.(jpe?g|png|tiff?|heic|heif|webp|gif|bmp|dng|nef|cr2|arw)"),
    re.compile(r"[\W_\d]*"),  # only digits, punctuation or spaces
)
# Licence, copyright and credit boilerplate that publishers put where the caption goes.
_BOILERPLATE = re.compile(
    r"©|\(c\)\s*\d{4}|\bcopyright\b|all rights reserved|\blicen[cs]ed?\b|\blicen[cs]e\b"
    r"|creative\s*commons|\bcc[ -]?(by|0)\b|public domain|\bgfdl\b|gnu free documentation"
    r"|permission is granted|\battribution\b|wikimedia commons|\bstock photo\b"
    r"|reproduction (is )?(prohibited|forbidden)|do not (copy|reproduce)",
    re.IGNORECASE,
)
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")

LEFT_OUT_NOTICE = "a licence or copyright notice"
LEFT_OUT_URL = "only a web address"
LEFT_OUT_LONG = f"longer than {MAX_USABLE_CHARS} characters"


def screen_caption(text: str) -> tuple[str, None] | tuple[None, str]:
    """``(caption, None)`` with licence/credit sentences and web addresses taken out and cut to
    whole sentences within :data:`MAX_USABLE_CHARS`, or ``(None, reason)`` when nothing of a
    caption is left (the reason in words, for telling the user what was left out)."""
    cleaned = clean_caption(text)
    sentences = [s for s in _SENTENCE_END.split(cleaned) if s]
    kept: list[str] = []
    reason = LEFT_OUT_URL
    for sentence in sentences:
        if _BOILERPLATE.search(sentence):
            reason = LEFT_OUT_NOTICE
            continue
        bare = clean_caption(_URL.sub(" ", sentence))
        if bare.strip(" .,:;-–—|()[]"):
            kept.append(bare)
    if not kept:
        return None, reason
    caption = ""
    for sentence in kept:
        longer = f"{caption} {sentence}".strip()
        if len(longer) > MAX_USABLE_CHARS:
            break
        caption = longer
    if not caption:
        return None, LEFT_OUT_LONG
    return caption, None


@dataclass(frozen=True)
class FileCaption:
    """A caption found in a photo's file (source ``FILE``) or beside it (``SIDECAR``);
    ``origin`` names the place: a sidecar's file name, ``xmp``, ``iptc`` or ``exif``."""

    text: str
    source: CaptionSource
    origin: str


@dataclass(frozen=True)
class CaptionFiles:
    """Where a photo's caption can come from right now: its sidecars that exist, and a
    fingerprint that changes whenever the photo or one of its sidecars does."""

    sidecars: tuple[Path, ...]
    fingerprint: str


def clean_caption(text: str) -> str:
    """A caption on one line: control characters dropped, runs of white space made one space."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(printable.split())


def is_placeholder(text: str) -> bool:
    """Whether ``text`` is blank or a description a camera writes by itself, not a caption."""
    folded = clean_caption(text).casefold()
    if folded in _PLACEHOLDERS:
        return True
    return any(pattern.fullmatch(folded) for pattern in _PLACEHOLDER_PATTERNS)


def _caption(raw: str | None) -> str | None:
    """``raw`` cleaned and screened (:func:`screen_caption`), or None when it is no real
    caption: a camera's placeholder, a licence notice, a web address, a long description."""
    if raw is None:
        return None
    text = clean_caption(raw)
    if is_placeholder(text):
        return None
    screened, reason = screen_caption(text[:MAX_CAPTION_CHARS])
    if screened is None:
        log.debug("passed over a caption (%s): %.80s", reason, text)
        return None
    return None if is_placeholder(screened) else screened


_SIDECAR_ENDINGS = (".xmp", ".txt")
"""How every name :func:`_sidecar_names` gives ends."""


def _sidecar_names(name: str) -> list[str]:
    """The names of the sidecars that may hold the caption of a photo called ``name``, in the
    order they are asked: the XMP sidecars (as :func:`photosense.media.xmp.sidecar_candidates`
    names them), then ``photo.jpg.txt`` and ``photo.txt``. Plain string operations: listing a
    large library calls this for every photo."""
    stem, suffix = os.path.splitext(name)
    names = [name + ".xmp", stem + ".xmp", name + ".txt", stem + ".txt"] if suffix else []
    return [n for n in dict.fromkeys(names or [name + ".xmp", name + ".txt"]) if n != name]


# -- reading one photo ------------------------------------------------------------------------


def _read_limited(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file (pipes and devices are refused)."""
    handle, _size = open_regular(path)
    with handle:
        return handle.read(limit)


def _from_text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None  # not text
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    whole = clean_caption(text)
    if len(whole) <= SHORT_TEXT_CHARS:
        return whole
    return next((line for line in text.splitlines() if line.strip()), None)


def _from_sidecar(path: Path) -> str | None:
    try:
        if path.suffix.lower() == ".xmp":
            return _caption(description_from_xmp(_read_limited(path, MAX_PACKET_BYTES + 1)))
        return _caption(_from_text(_read_limited(path, MAX_TEXT_SIDECAR_BYTES)))
    except (ImageSkipped, OSError, XmpError) as exc:
        log.info("could not read the caption in %s: %s", path, exc)
        return None


def _exif_text(raw: Any) -> str | None:
    """An EXIF ASCII value; Pillow reads them as Latin-1, but most writers use UTF-8."""
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    if not isinstance(raw, str):
        return None
    text = raw.replace("\x00", " ")
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _embedded(photo: Path) -> FileCaption | None:
    """The caption inside the file: XMP, then IPTC, then EXIF."""
    try:
        with _opened(photo) as image:
            for origin, read in (("xmp", _xmp_text), ("iptc", _iptc_text), ("exif", _exif_desc)):
                try:
                    text = _caption(read(image))
                except Exception as exc:  # damaged metadata must never stop a run
                    log.info("could not read the %s caption of %s: %s", origin, photo, exc)
                    continue
                if text is not None:
                    return FileCaption(text, CaptionSource.FILE, origin)
    except ImageSkipped as exc:
        log.info("could not open %s for its caption: %s", photo, exc.reason)
    return None


def _xmp_text(image: ImageFile.ImageFile) -> str | None:
    packet = embedded_packet(image)
    return description_from_xmp(packet) if packet is not None else None


def _iptc_text(image: ImageFile.ImageFile) -> str | None:
    return next(iter(iptc_texts(image, IPTC_CAPTION)), None)


def _exif_desc(image: ImageFile.ImageFile) -> str | None:
    # Header only: PngImageFile.getexif() would decode the pixels to look past them.
    return _exif_text(Image.Image.getexif(image).get(EXIF_IMAGE_DESCRIPTION))


def read_caption(photo: Path, sidecars: Sequence[Path] | None = None) -> FileCaption | None:
    """The caption already in ``photo``'s sidecars or file, or None when there is none.

    ``sidecars`` are the sidecars known to exist (from :func:`caption_files`); without them
    every candidate name is checked. Never raises.
    """
    if sidecars is None:
        candidates = (photo.with_name(n) for n in _sidecar_names(photo.name))
        sidecars = [p for p in candidates if p.is_file()]
    for sidecar in sidecars:
        text = _from_sidecar(sidecar)
        if text is not None:
            return FileCaption(text, CaptionSource.SIDECAR, sidecar.name)
    return _embedded(photo)


# -- what changed -----------------------------------------------------------------------------


def _fingerprint(size: int, mtime_ns: int, sidecars: Sequence[tuple[str, int, int]]) -> str:
    text = f"v{READER_VERSION}|{size}:{mtime_ns}"
    if sidecars:
        text += "".join(f"|{name}:{s}:{m}" for name, s, m in sidecars)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def caption_files(photos: Iterable[tuple[int, str, int, int]]) -> dict[int, CaptionFiles]:
    """Sidecars and fingerprints of photos given as (id, path, size, mtime_ns).

    Each folder is listed once, so only sidecars that exist are looked at. Photos whose
    folder cannot be listed (an unplugged drive) or whose file is gone are left out.
    """
    by_folder: dict[str, list[tuple[int, str, int, int]]] = defaultdict(list)
    for photo_id, path, size, mtime_ns in photos:
        # The store's paths are absolute and normalised: a split at the last separator is
        # os.path.split's, at a fraction of its cost (a million photos on every rescan).
        folder, _, name = path.rpartition(os.sep)
        by_folder[folder or os.sep].append((photo_id, name, size, mtime_ns))
    found: dict[int, CaptionFiles] = {}
    for folder, members in by_folder.items():
        try:
            with os.scandir(folder) as listing:
                entries = {entry.name: entry for entry in listing}
        except OSError as exc:
            log.info("cannot list %s for captions: %s", folder, exc)
            continue
        # Every sidecar name ends so: a folder without such files spares a look per photo.
        has_sidecars = any(n.endswith(_SIDECAR_ENDINGS) for n in entries)
        for photo_id, name, size, mtime_ns in members:
            if name not in entries:
                continue
            sidecars: list[tuple[str, int, int]] = []
            for candidate in _sidecar_names(name) if has_sidecars else ():
                entry = entries.get(candidate)
                try:
                    if entry is not None and entry.is_file():
                        stat = entry.stat()
                        sidecars.append((candidate, stat.st_size, stat.st_mtime_ns))
                except OSError:
                    continue
            if sidecars:
                files = tuple(Path(folder, n) for n, _, _ in sidecars)
                found[photo_id] = CaptionFiles(files, _fingerprint(size, mtime_ns, sidecars))
            else:
                found[photo_id] = CaptionFiles((), _fingerprint(size, mtime_ns, ()))
    return found


# -- CSV files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptionRow:
    """One usable row of a caption CSV: its line, the photo's absolute path, the caption."""

    line: int
    path: str
    text: str


@dataclass(frozen=True)
class CaptionCsv:
    """The usable rows of a caption CSV, and ``line N: reason`` for every row left out."""

    rows: list[CaptionRow]
    problems: list[str]


def _column(fields: Sequence[str], name: str, csv_path: Path) -> str:
    for field in fields:
        if field.strip().casefold() == name:
            return field
    raise PhotosenseError(
        f"{csv_path} has no {name!r} column: its first line must be a header naming the "
        "columns path and caption (e.g. `path,caption`)"
    )


def read_caption_csv(csv_path: Path) -> CaptionCsv:
    """Read a ``path,caption`` CSV (UTF-8, a header line, other columns ignored).

    Paths are absolute or relative to the CSV's folder. A file that cannot be used as a
    whole (missing, not UTF-8, no header, malformed quoting) raises ``PhotosenseError``; a bad
    row is left out with its reason. When a path comes twice, the later caption is used.
    """
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        raise PhotosenseError(f"cannot read {csv_path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PhotosenseError(
            f"{csv_path} is not UTF-8 text (line {line} has byte 0x{data[exc.start]:02x}); "
            "save it as UTF-8 CSV and import it again"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames
        if not fields:
            raise PhotosenseError(f"{csv_path} is empty: expected a header line `path,caption`")
        path_key = _column(fields, "path", csv_path)
        text_key = _column(fields, "caption", csv_path)
        folder = os.path.abspath(csv_path.parent)
        rows: dict[str, CaptionRow] = {}
        problems: list[str] = []
        end = reader.line_num
        for record in reader:
            line, end = end + 1, reader.line_num
            raw_path = (record.get(path_key) or "").strip()
            caption = clean_caption(record.get(text_key) or "")
            if not raw_path:
                problems.append(f"line {line}: no path")
                continue
            if not caption:
                problems.append(f"line {line}: no caption for {raw_path}")
                continue
            if "\x00" in raw_path:
                problems.append(f"line {line}: the path holds a NUL character")
                continue
            path = os.path.normpath(os.path.join(folder, os.path.expanduser(raw_path)))
            earlier = rows.pop(path, None)
            if earlier is not None:
                problems.append(
                    f"line {line}: {raw_path} was already captioned on line {earlier.line}; "
                    "this later caption is used"
                )
            rows[path] = CaptionRow(line, path, caption[:MAX_CAPTION_CHARS].rstrip())
    except csv.Error as exc:
        raise PhotosenseError(
            f"{csv_path} is not a valid CSV file (line {reader.line_num}: {exc})"
        ) from None
    return CaptionCsv(sorted(rows.values(), key=lambda r: r.line), problems)
