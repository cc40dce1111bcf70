"""decode_photo, read_metadata and full_decode: orientation, draft, modes, metadata, failures."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from PIL.TiffImagePlugin import IFDRational

from photosense.errors import ImageSkipped
from photosense.media import _files, decode
from photosense.media.decode import decode_for_analysis, decode_photo, full_decode, read_metadata

MakeJpeg = Callable[..., Path]
Halves = Callable[[tuple[int, int]], Image.Image]
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def close_to(pixel: tuple[int, ...], expected: tuple[int, int, int], tol: int = 40) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(pixel, expected, strict=True))


def skip_kind(path: Path) -> ImageSkipped:
    with pytest.raises(ImageSkipped) as info:
        decode_photo(path)
    return info.value


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# --- orientation and size -------------------------------------------------------------------


def test_exif_orientation_6_turns_the_image_upright(make_jpeg: MakeJpeg) -> None:
    photo = decode_photo(make_jpeg(size=(400, 300), orientation=6))

    assert (photo.metadata.width, photo.metadata.height) == (300, 400)
    assert photo.image.size == (224, 299)
    # Orientation 6 means "rotate 90° clockwise to view": the stored left half ends on top.
    assert close_to(photo.image.getpixel((112, 20)), RED)
    assert close_to(photo.image.getpixel((112, 280)), BLUE)


@pytest.mark.parametrize(
    ("orientation", "top_left"),
    [(1, RED), (2, BLUE), (3, BLUE), (4, RED), (8, BLUE)],
)
def test_other_orientations(make_jpeg: MakeJpeg, orientation: int, top_left: tuple) -> None:
    photo = decode_photo(make_jpeg(size=(400, 300), orientation=orientation))
    assert close_to(photo.image.getpixel((5, 5)), top_left)


def test_tiff_orientation_tag_is_applied(tmp_path: Path, halves: Halves) -> None:
    path = tmp_path / "scan.tif"
    halves((400, 300)).save(path, tiffinfo={0x0112: 6})
    photo = decode_photo(path)
    assert (photo.metadata.width, photo.metadata.height) == (300, 400)
    assert photo.image.size == (224, 299)
    assert close_to(photo.image.getpixel((112, 20)), RED)


def test_draft_decodes_a_big_jpeg_at_reduced_scale(
    make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_sizes = []
    real_shrink = decode._shrink

    def spy(im: Image.Image, min_side: int) -> Image.Image:
        decoded_sizes.append(im.size)
        return real_shrink(im, min_side)

    monkeypatch.setattr(decode, "_shrink", spy)
    photo = decode_photo(make_jpeg(size=(4000, 3000)))

    assert decoded_sizes == [(500, 375)]  # 1/8 scale: the shorter side stays >= 224
    assert (photo.metadata.width, photo.metadata.height) == (4000, 3000)
    assert photo.image.size == (299, 224)
    assert photo.image.mode == "RGB"
    assert close_to(photo.image.getpixel((10, 100)), RED)


def test_draft_keeps_the_shorter_side_for_tall_rotated_photos(make_jpeg: MakeJpeg) -> None:
    photo = decode_photo(make_jpeg(size=(3000, 1000), orientation=8), min_side=300)
    assert (photo.metadata.width, photo.metadata.height) == (1000, 3000)
    assert photo.image.size == (300, 900)


def test_small_images_are_never_upscaled(make_jpeg: MakeJpeg) -> None:
    photo = decode_photo(make_jpeg(size=(100, 60)))
    assert photo.image.size == (100, 60)
    assert photo.image.mode == "RGB"
    photo.image.load()  # detached from the closed file


def test_full_decode_keeps_full_resolution(make_jpeg: MakeJpeg) -> None:
    image = full_decode(make_jpeg(size=(1200, 900), orientation=6))
    assert image.size == (900, 1200)
    assert image.mode == "RGB"
    assert close_to(image.getpixel((450, 50)), RED)


def test_decode_for_analysis_bounds_the_longer_side_and_turns_upright(
    make_jpeg: MakeJpeg,
) -> None:
    image = decode_for_analysis(make_jpeg(size=(1600, 1200), orientation=6), 400)
    assert image.size == (300, 400)
    assert image.mode == "RGB"
    assert close_to(image.getpixel((150, 20)), RED)
    assert close_to(image.getpixel((150, 380)), BLUE)
    small = decode_for_analysis(make_jpeg(size=(200, 100)), 400)
    assert small.size == (200, 100)  # never upscaled
    with pytest.raises(ImageSkipped):
        decode_for_analysis(make_jpeg(size=(200, 100)).with_name("gone.jpg"), 400)


# --- modes and formats ------------------------------------------------------------------------


def _rgba() -> Image.Image:
    im = Image.new("RGBA", (50, 40), (255, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 10, 10))
    return im


def _palette_with_transparency() -> Image.Image:
    im = Image.new("P", (50, 40), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.paste(0, (0, 0, 10, 10))
    im.info["transparency"] = 0
    return im


def _la() -> Image.Image:
    im = Image.new("LA", (50, 40), (0, 255))
    im.paste((0, 0), (0, 0, 10, 10))
    return im


def _i16() -> Image.Image:
    im = Image.new("I;16", (50, 40), 65535)
    im.paste(0, (0, 0, 10, 10))
    return im


@pytest.mark.parametrize(
    ("name", "make", "corner", "middle"),
    [
        ("rgba.png", _rgba, WHITE, RED),
        ("palette.png", _palette_with_transparency, WHITE, RED),
        ("grey-alpha.png", _la, WHITE, (0, 0, 0)),
        ("deep.png", _i16, (0, 0, 0), WHITE),
        ("cmyk.jpg", lambda: Image.new("CMYK", (50, 40), (0, 255, 255, 0)), RED, RED),
        ("grey.jpg", lambda: Image.new("L", (50, 40), 255), WHITE, WHITE),
        ("bilevel.png", lambda: Image.new("1", (50, 40), 1), WHITE, WHITE),
        ("float.tif", lambda: Image.new("F", (50, 40), 0.75), WHITE, WHITE),
        ("bitmap.bmp", lambda: Image.new("RGB", (50, 40), RED), RED, RED),
        ("web.webp", lambda: Image.new("RGB", (50, 40), RED), RED, RED),
    ],
)
def test_every_mode_becomes_rgb(
    tmp_path: Path, name: str, make: object, corner: tuple, middle: tuple
) -> None:
    path = tmp_path / name
    make().save(path)  # type: ignore[operator]
    photo = decode_photo(path)
    assert photo.image.mode == "RGB"
    assert photo.image.size == (50, 40)
    assert close_to(photo.image.getpixel((2, 2)), corner)
    assert close_to(photo.image.getpixel((30, 30)), middle)


def test_sixteen_bit_grey_keeps_its_gradient(tmp_path: Path) -> None:
    im = Image.new("I;16", (256, 10))
    for x in range(256):
        im.paste(x * 257, (x, 0, x + 1, 10))
    path = tmp_path / "ramp16.png"
    im.save(path)
    pixels = decode_photo(path, min_side=10).image
    values = [pixels.getpixel((x, 5))[0] for x in (0, 64, 128, 255)]
    assert values == sorted(values)
    assert values[0] < 10 and 100 < values[2] < 160 and values[3] > 245


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 30), colour) for colour in (RED, (0, 255, 0), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    photo = decode_photo(path)
    assert photo.metadata.format == "GIF"
    assert close_to(photo.image.getpixel((20, 15)), RED)


def test_png_named_jpg_decodes(tmp_path: Path) -> None:
    path = tmp_path / "really-a-png.jpg"
    Image.new("RGB", (60, 50), BLUE).save(path, "PNG")
    photo = decode_photo(path)
    assert photo.metadata.format == "PNG"
    assert close_to(photo.image.getpixel((30, 25)), BLUE)


def test_heic_round_trip(tmp_path: Path, halves: Halves) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("libheif has no HEVC encoder here")
    path = tmp_path / "phone.heic"
    pillow_heif.from_pillow(halves((640, 480))).save(path, quality=90)

    photo = decode_photo(path)

    assert photo.metadata.format == "HEIF"
    assert (photo.metadata.width, photo.metadata.height) == (640, 480)
    assert photo.image.size == (299, 224)
    assert close_to(photo.image.getpixel((20, 112)), RED)
    assert close_to(photo.image.getpixel((280, 112)), BLUE)


# --- metadata -------------------------------------------------------------------------------


def _gps(lat: tuple, lat_ref: str, lon: tuple, lon_ref: str) -> dict:
    def rationals(values: tuple) -> tuple:
        return tuple(IFDRational(v, d) for v, d in values)

    return {1: lat_ref, 2: rationals(lat), 3: lon_ref, 4: rationals(lon)}


def test_exif_date_camera_and_gps(make_jpeg: MakeJpeg) -> None:
    path = make_jpeg(
        ifd0={
            0x010F: "Canon\x00",
            0x0110: "  Canon EOS R5 \x00\x00",
            0x0132: "2020:01:01 00:00:00",
        },
        exif_ifd={0x9003: "2021:07:04 18:30:05", 0x9004: "2021:07:04 18:31:00"},
        gps=_gps(((33, 1), (51, 1), (3180, 100)), "S", ((151, 1), (12, 1), (36, 1)), "W"),
    )
    meta = decode_photo(path).metadata

    assert meta.taken_at == datetime(2021, 7, 4, 18, 30, 5)
    assert meta.camera_make == "Canon"
    assert meta.camera_model == "Canon EOS R5"
    assert meta.latitude == pytest.approx(-(33 + 51 / 60 + 31.8 / 3600))
    assert meta.longitude == pytest.approx(-(151 + 12 / 60 + 36 / 3600))
    assert meta.format == "JPEG"
    assert read_metadata(path) == meta


def test_date_falls_back_to_digitized_then_datetime(make_jpeg: MakeJpeg) -> None:
    digitized = make_jpeg(
        "a.jpg", exif_ifd={0x9003: "0000:00:00 00:00:00", 0x9004: "2019:02:03 04:05:06"}
    )
    plain = make_jpeg("b.jpg", ifd0={0x0132: "2018:12:31 23:59:59"})
    assert read_metadata(digitized).taken_at == datetime(2019, 2, 3, 4, 5, 6)
    assert read_metadata(plain).taken_at == datetime(2018, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    "stamp", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2021:13:45 10:00:00", "", "garbage"]
)
def test_invalid_dates_give_none(make_jpeg: MakeJpeg, stamp: str) -> None:
    assert read_metadata(make_jpeg(exif_ifd={0x9003: stamp})).taken_at is None


def test_invalid_or_missing_gps_gives_none(make_jpeg: MakeJpeg) -> None:
    too_far = _gps(((95, 1), (0, 1), (0, 1)), "N", ((10, 1), (0, 1), (0, 1)), "E")
    zero_denominator = _gps(((10, 0), (0, 1), (0, 1)), "N", ((10, 1), (0, 1), (0, 1)), "E")
    null_island = _gps(((0, 1), (0, 1), (0, 1)), "N", ((0, 1), (0, 1), (0, 1)), "E")
    for i, gps in enumerate((too_far, zero_denominator, null_island, {1: "N"})):
        meta = read_metadata(make_jpeg(f"{i}.jpg", gps=gps))
        assert (meta.latitude, meta.longitude) == (None, None)


def test_no_exif_gives_empty_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGB", (30, 20)).save(path)
    meta = read_metadata(path)
    assert (meta.width, meta.height, meta.format) == (30, 20, "PNG")
    assert (meta.taken_at, meta.camera_make, meta.camera_model, meta.latitude) == (None,) * 4


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_does_not_fail_the_photo(tmp_path: Path) -> None:
    path = tmp_path / "bad-exif.jpg"
    Image.new("RGB", (40, 30), RED).save(path, exif=b"Exif\x00\x00MM\x00*\x00\x00\xff\xff")
    photo = decode_photo(path)
    assert photo.metadata.taken_at is None
    assert photo.image.size == (40, 30)


def test_read_metadata_finds_png_exif_after_the_pixels_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2017:01:17 21:27:20"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "PNG")
    data = buffer.getvalue()
    path = tmp_path / "exif-at-end.png"
    path.write_bytes(data[:-12] + png_chunk(b"eXIf", exif.tobytes()) + data[-12:])

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("read_metadata decoded pixels")

    with monkeypatch.context() as patch:
        patch.setattr(ImageFile.ImageFile, "load", no_decoding)
        meta = read_metadata(path)

    assert meta.taken_at == datetime(2017, 1, 17, 21, 27, 20)
    assert (meta.width, meta.height) == (30, 40)
    assert decode_photo(path).metadata == meta


# --- failures -------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    error = skip_kind(tmp_path / "gone.jpg")
    assert error.kind == "missing"
    assert "moved or deleted" in error.reason


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "zero.jpg"
    path.touch()
    error = skip_kind(path)
    assert error.kind == "empty"
    assert "0 bytes" in error.reason


def test_text_file_named_jpg_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: eggs, milk\n")
    error = skip_kind(path)
    assert error.kind == "unsupported"
    assert "not recognised" in error.reason
    assert "JPEG" in error.reason


def test_heic_without_pillow_heif_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "phone.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    monkeypatch.setattr(decode, "_heif_available", lambda: False)
    error = skip_kind(path)
    assert error.kind == "unsupported"
    assert "pillow-heif" in error.reason


def test_truncated_jpeg(make_jpeg: MakeJpeg) -> None:
    path = make_jpeg(size=(800, 600))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    error = skip_kind(path)
    assert error.kind == "truncated"
    assert "truncated or damaged" in error.reason
    assert "copy it again" in error.reason


def test_file_cut_inside_its_header_is_truncated(make_jpeg: MakeJpeg, tmp_path: Path) -> None:
    path = make_jpeg()
    path.write_bytes(path.read_bytes()[:40])
    assert skip_kind(path).kind == "truncated"
    gif = tmp_path / "cut.gif"
    Image.new("RGB", (40, 30)).save(gif)
    gif.write_bytes(gif.read_bytes()[:12])  # too short for Pillow to recognise: sniffed instead
    error = skip_kind(gif)
    assert error.kind == "truncated"
    assert "starts like a GIF image" in error.reason


def test_too_many_pixels(make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "MAX_PIXELS", 400 * 300 - 1)
    error = skip_kind(make_jpeg(size=(400, 300)))
    assert error.kind == "too_large"
    assert "megapixels" in error.reason
    assert "reduce its size" in error.reason


def test_decompression_bomb_header_is_refused_without_decoding(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b""))
    for call in (decode_photo, read_metadata):
        with pytest.raises(ImageSkipped) as info:
            call(path)
        assert info.value.kind == "too_large"
        assert "decompression bomb" in info.value.reason


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "private.jpg"
    Image.new("RGB", (10, 10)).save(path)

    def refuse(*args: object) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(_files.os, "open", refuse)  # works even when the tests run as root
    error = skip_kind(path)
    assert error.kind == "permission"
    assert error.reason == (
        "permission denied: photosense cannot read this file; check its permissions"
    )


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "private.jpg"
    Image.new("RGB", (10, 10)).save(path)
    path.chmod(0)
    assert skip_kind(path).kind == "permission"


def test_folder_is_not_a_photo(tmp_path: Path) -> None:
    (tmp_path / "album.jpg").mkdir()
    assert skip_kind(tmp_path / "album.jpg").kind == "unreadable"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    error = skip_kind(tmp_path / "pipe.jpg")
    assert error.kind == "unreadable"
    assert "not a regular file" in error.reason


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (OSError("image file is truncated (3 bytes not processed)"), "truncated"),
        (OSError("broken data stream when reading image file"), "truncated"),
        (OSError("decoder jpeg2k not available"), "unsupported"),
        (OSError(5, "Input/output error"), "unreadable"),
        (OSError(22, "Invalid argument"), "unreadable"),
        (SyntaxError("not a TIFF file"), "unreadable"),
        (ValueError("tile cannot extend outside image"), "unreadable"),
        (struct.error("unpack requires a buffer of 4 bytes"), "unreadable"),
        (EOFError(), "unreadable"),
        (ZeroDivisionError("division by zero"), "unreadable"),
        (IndexError("list index out of range"), "unreadable"),
        (MemoryError(), "too_large"),
        (Image.DecompressionBombError("too big"), "too_large"),
    ],
)
def test_any_decoder_exception_becomes_image_skipped(
    make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch, exc: Exception, kind: str
) -> None:
    def fail(self: ImageFile.ImageFile) -> None:
        raise exc

    path = make_jpeg()
    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    error = skip_kind(path)
    assert error.kind == kind
    assert error.reason
    assert error.__cause__ is exc


def test_keyboard_interrupt_is_not_swallowed(
    make_jpeg: MakeJpeg, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(self: ImageFile.ImageFile) -> None:
        raise KeyboardInterrupt

    path = make_jpeg()
    monkeypatch.setattr(ImageFile.ImageFile, "load", interrupt)
    with pytest.raises(KeyboardInterrupt):
        decode_photo(path)


def test_truncated_images_are_not_loaded_globally(make_jpeg: MakeJpeg) -> None:
    decode_photo(make_jpeg())
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
