"""Regions of a photo (a face, a line of text) as fractions of the upright photo.

Fractions rather than pixels: a region found on a reduced decode stays right on the full-size
photo, on a thumbnail and in an XMP sidecar. The origin is the top-left corner of the photo as
it is shown (EXIF orientation applied), which is also what the MWG regions schema describes.
"""

from __future__ import annotations

from dataclasses import dataclass


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Box:
    """A rectangle: left ``x``, top ``y``, width ``w``, height ``h``, each a fraction (0..1)."""

    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_pixels(
        cls, left: float, top: float, right: float, bottom: float, width: int, height: int
    ) -> Box:
        """The box of a pixel rectangle on a ``width`` × ``height`` image, clamped to it."""
        if width <= 0 or height <= 0:
            raise ValueError(f"an image of {width}×{height} pixels has no regions")
        x0, x1 = sorted((_clamp(left / width), _clamp(right / width)))
        y0, y1 = sorted((_clamp(top / height), _clamp(bottom / height)))
        return cls(x0, y0, x1 - x0, y1 - y0)

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` in pixels of a ``width`` × ``height`` image."""
        return (
            round(self.x * width),
            round(self.y * height),
            round((self.x + self.w) * width),
            round((self.y + self.h) * height),
        )

    def mwg_area(self) -> tuple[float, float, float, float]:
        """``(centre x, centre y, w, h)``: the ``stArea`` of an MWG region (unit ``normalized``)."""
        return (self.x + self.w / 2, self.y + self.h / 2, self.w, self.h)

    @classmethod
    def from_mwg(cls, cx: float, cy: float, w: float, h: float) -> Box:
        """The box of an MWG ``stArea`` (centre and size, normalised), clamped to the photo."""
        w, h = abs(w), abs(h)
        x0, y0 = _clamp(cx - w / 2), _clamp(cy - h / 2)
        return cls(x0, y0, _clamp(cx + w / 2) - x0, _clamp(cy + h / 2) - y0)

    @property
    def area(self) -> float:
        return self.w * self.h

    def overlap(self, other: Box) -> float:
        """Intersection over union with ``other`` (0: apart, 1: the same box)."""
        w = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        h = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.area + other.area - inter)
