"""GPS positions in the odd forms files carry: read as exiftool reads them, or refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL.TiffImagePlugin import IFDRational

from photosense.media.decode import _gps_coordinate, read_metadata

MakeJpeg = Callable[..., Path]


def _r(*values: tuple[int, int]) -> tuple[IFDRational, ...]:
    return tuple(IFDRational(n, d) for n, d in values)


@pytest.mark.parametrize(
    ("raw", "ref", "expected"),
    [
        (_r((38, 1), (42, 1), (3000, 100)), "N", 38.7083333),
        (_r((38, 1), (42, 1), (3000, 100)), b"S\x00", -38.7083333),
        (_r((38, 1), (42, 1), (3000, 100)), "s", -38.7083333),
        (_r((38, 1), (42, 1), (0, 0)), "N", 38.7),  # unknown seconds count as 0
        (_r((38, 1), (4250, 100)), "N", 38.7083333),  # decimal minutes, no seconds
        ("38 42 30", "N", 38.7083333),
        ("38/1, 42/1, 3000/100", "N", 38.7083333),
        (b"38.7083333", "N", 38.7083333),
        ((38.7083333,), None, 38.7083333),  # no reference: north
        ((-38.7083333,), None, -38.7083333),  # a signed value with no reference
        ((-38.7083333,), "N", 38.7083333),  # the reference wins
        (((38, 1), (42, 1), (30, 1)), "N", 38.7083333),  # (numerator, denominator) pairs
    ],
)
def test_odd_forms_are_read(raw: Any, ref: Any, expected: float) -> None:
    assert _gps_coordinate(raw, ref, "S", 90.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        (_r((0, 0), (42, 1), (30, 1)), "N"),  # degrees unknown
        (_r((91, 1), (0, 1), (0, 1)), "N"),  # out of range
        (_r((38, 1), (75, 1), (0, 1)), "N"),  # 75 minutes
        (_r((38, 1), (42, 1), (30, 1)), "X"),  # an unknown reference
        ("north-ish", "N"),
        ("", "N"),
        (None, "N"),
        ((1.0, 2.0, 3.0, 4.0), "N"),
        (float("inf"), "N"),
    ],
)
def test_bad_forms_give_none(raw: Any, ref: Any) -> None:
    assert _gps_coordinate(raw, ref, "S", 90.0) is None


def test_a_file_with_no_references_and_unknown_seconds(make_jpeg: MakeJpeg) -> None:
    gps = {2: _r((38, 1), (42, 1), (0, 0)), 4: _r((9, 1), (8, 1), (0, 1))}
    meta = read_metadata(make_jpeg("odd.jpg", gps=gps))
    assert meta.latitude == pytest.approx(38.7)
    assert meta.longitude == pytest.approx(9.1333333)
