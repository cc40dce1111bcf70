"""A photo's dominant colours in the words people type: the share of the photo each of eleven
basic colour names covers (Berlin and Kay's basic colour terms), and whether it is black and
white.

Each pixel of a small copy of the photo is named in CIELAB's cylindrical form (LCh: lightness,
chroma, hue angle), converted by LittleCMS through Pillow's ImageCms, so that "saturated" and
"light" mean what the eye sees rather than what RGB numbers say: a pixel whose chroma is low is
white, grey or black whatever its hue (a grey sky is not blue), and hue boundaries sit where the
names change for people, not at RGB primaries. ``docs/search.md`` measures what it costs and
what it does for search.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms

COLOURS = (
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
    "grey",
)
"""The colour names a photo's pixels are given, in the order they are listed."""
BLACK_AND_WHITE = "black and white"
"""Not a pixel's colour but a photo's: it has (almost) no colour at all."""
SIDE = 64
"""The photo is named at this longest side: colours covering a few percent still hold
hundreds of pixels, and decoding that small is cheap (JPEG draft decoding)."""
GREY_CHROMA = 12.0
"""Below this chroma (CIELAB units; a just-noticeable difference is about 2) a pixel is white,
grey or black whatever its hue."""
MIN_SHARE = 0.03
"""Colours covering less of the photo than this are left out (a few stray pixels)."""
MONOCHROME_SHARE = 0.02
"""A photo whose coloured pixels cover less than this is black and white..."""
MONOCHROME_RANGE = 30.0
"""... when its lightness spans at least this much (1st to 99th percentile): a flat grey or
black frame is not a black and white photo."""
VERSION = "lch1"
"""Changes whenever the naming changes: photos named by another version are named again."""

# Hue angles (degrees, CIELAB under ImageCms's D50 white) where one name gives way to the next,
# going round the circle from red; checked on the CSS named colours (tests/colours). CIELAB bends
# blue towards purple (sRGB's blue sits at 301 degrees, beside the purples), hence the late
# purple.
_HUES = ((52.0, "orange"), (80.0, "yellow"), (112.0, "green"), (185.0, "blue"), (305.0, "purple"))


@dataclass(frozen=True)
class PhotoColours:
    """A photo's colours: name -> share of the photo (0..1), largest first; ``black_and_white``
    when it has almost no colour."""

    shares: Mapping[str, float]
    black_and_white: bool = False

    def share(self, name: str) -> float:
        """How much of the photo ``name`` covers (1 for "black and white" when it is)."""
        if name == BLACK_AND_WHITE:
            return 1.0 if self.black_and_white else 0.0
        return float(self.shares.get(name, 0.0))


@functools.cache
def _to_lab() -> ImageCms.ImageCmsTransform:
    srgb = ImageCms.createProfile("sRGB")
    lab = ImageCms.createProfile("LAB")
    return ImageCms.buildTransform(srgb, lab, "RGB", "LAB")


def lch(image: Image.Image) -> npt.NDArray[np.float32]:
    """The pixels of an RGB image as (lightness 0..100, chroma, hue angle 0..360), one row each."""
    lab = np.asarray(ImageCms.applyTransform(image.convert("RGB"), _to_lab()))
    lightness = lab[..., 0].astype(np.float32).reshape(-1) * (100.0 / 255.0)
    a = lab[..., 1].view(np.int8).astype(np.float32).reshape(-1)
    b = lab[..., 2].view(np.int8).astype(np.float32).reshape(-1)
    hue = np.degrees(np.arctan2(b, a)) % 360.0
    return np.stack([lightness, np.hypot(a, b), hue], axis=1)


def name_pixels(pixels: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """The index into :data:`COLOURS` of each (L, C, h) row."""
    lightness, chroma, hue = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    index = COLOURS.index
    names = np.full(len(pixels), index("red"), np.int64)
    for start, name in _HUES:
        names[hue >= start] = index(name)
    names[hue >= 345.0] = index("red")
    # Light reds and light purples are pink, and so are the bluish reds ("hot pink") that are
    # not dark.
    reddish = (hue >= 305.0) | (hue < 40.0)
    names[reddish & (lightness >= 72.0)] = index("pink")
    names[((hue >= 330.0) | (hue < 15.0)) & (lightness >= 55.0)] = index("pink")
    # Dark or greyish orange is brown, and so is dark, dull red.
    orangish = (hue >= 42.0) & (hue < 95.0)
    dull_red = (hue >= 15.0) & (hue < 42.0) & (chroma < 45.0)
    dark = (lightness < 48.0) | ((chroma < 30.0) & (lightness < 72.0))
    names[(orangish | dull_red) & dark] = index("brown")
    grey = chroma < GREY_CHROMA
    names[grey] = index("grey")
    names[(grey & (lightness >= 82.0)) | ((lightness >= 88.0) & (chroma < 20.0))] = index("white")
    black = (grey & (lightness < 30.0)) | ((lightness < 24.0) & (chroma < 24.0))
    names[black | ((lightness < 14.0) & (chroma < 40.0))] = index("black")
    return names


def photo_colours(image: Image.Image) -> PhotoColours:
    """The colours of an upright RGB photo (any size; it is named at :data:`SIDE`)."""
    small = image
    if max(image.size) > SIDE:
        small = image.copy()
        small.thumbnail((SIDE, SIDE), Image.Resampling.BOX)
    pixels = lch(small)
    counts = np.bincount(name_pixels(pixels), minlength=len(COLOURS)) / max(1, len(pixels))
    order = np.argsort(-counts, kind="stable")
    shares = {COLOURS[i]: round(float(counts[i]), 4) for i in order if counts[i] >= MIN_SHARE}
    if not len(pixels):
        return PhotoColours(shares)
    coloured = float(np.mean(pixels[:, 1] >= GREY_CHROMA))
    low, high = np.percentile(pixels[:, 0], [1, 99])
    return PhotoColours(
        shares, bool(coloured < MONOCHROME_SHARE and high - low >= MONOCHROME_RANGE)
    )
