"""Image preparation shared by the encoders."""

from __future__ import annotations

from PIL import Image

MAX_ASPECT = 3.0
"""Beyond this width:height (or height:width), the far ends are cut before resizing."""


def trim_extreme_aspect(image: Image.Image, max_aspect: float = MAX_ASPECT) -> Image.Image:
    """Cut a very long image down to ``max_aspect`` around its centre.

    A "resize the shorter side, then centre-crop" transform only ever sees the middle square,
    but resizing a 2 x 20000 strip first would allocate hundreds of megabytes. Cutting the ends
    beforehand keeps memory bounded and the centre crop the same (up to sub-pixel rounding).
    """
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short == 0 or long <= short * max_aspect:
        return image
    keep = max(1, round(short * max_aspect))
    keep += (long - keep) % 2  # an even cut on both ends keeps the centre exactly in place
    start = (long - keep) // 2
    if width > height:
        return image.crop((start, 0, start + keep, height))
    return image.crop((0, start, width, start + keep))
