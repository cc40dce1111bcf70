"""Regions as fractions of the upright photo, and the MWG form sidecars use."""

from __future__ import annotations

import pytest

from photosense.media.regions import Box


def test_pixels_round_trip_and_clamp() -> None:
    box = Box.from_pixels(40, 30, 120, 90, 400, 300)
    assert (box.x, box.y, box.w, box.h) == pytest.approx((0.1, 0.1, 0.2, 0.2))
    assert box.to_pixels(800, 600) == (80, 60, 240, 180)
    clamped = Box.from_pixels(-10, 250, 50, 400, 100, 300)
    assert (clamped.x, clamped.y, clamped.w, clamped.h) == pytest.approx((0, 5 / 6, 0.5, 1 / 6))
    with pytest.raises(ValueError):
        Box.from_pixels(0, 0, 1, 1, 0, 10)


def test_mwg_area_is_centre_based() -> None:
    box = Box(0.1, 0.2, 0.4, 0.2)
    cx, cy, w, h = box.mwg_area()
    assert (cx, cy) == pytest.approx((0.3, 0.3)) and (w, h) == pytest.approx((0.4, 0.2))
    again = Box.from_mwg(cx, cy, w, h)
    assert again.x == pytest.approx(box.x) and again.w == pytest.approx(box.w)
    assert Box.from_mwg(0.95, 0.5, 0.2, 0.2).w == pytest.approx(0.15)  # clamped at the edge
