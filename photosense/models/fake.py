"""A deterministic colour encoder for tests: exact, predictable vectors with no torch at all.

The vector space has one axis per corner of the RGB cube, in this order::

    0 black (0,0,0)   1 red (1,0,0)     2 green (0,1,0)   3 yellow (1,1,0)
    4 blue (0,0,1)    5 magenta (1,0,1) 6 cyan (0,1,1)    7 white (1,1,1)

plus axis 8, ``other``, for texts that name no colour (further axes, if ``dim`` > 9, stay zero).

**Images**: the mean colour (r, g, b) in [0, 1] (of the image in RGB, via ``ImageStat``) is
spread over the eight corners with trilinear weights (the weight of red is ``r * (1-g) * (1-b)``,
of yellow ``r * g * (1-b)``, and so on; they sum to 1), and the weights are L2-normalised. A
pure red image is exactly the red axis; orange (1, 0.5, 0) is red and yellow at 0.707 each;
mid-grey is all eight corners at 0.354.

**Texts**: lower-cased words are looked up in ``COLOUR_WORDS`` (the eight corner names plus
``grey``/``gray`` (0.5, 0.5, 0.5), ``orange`` (1, 0.5, 0) and ``purple`` (0.5, 0, 0.5)). Each
colour word is turned into weights exactly as an image of that colour would be; several words
are averaged; the result is normalised. So the text "red" has cosine 1.0 with a pure red image,
and "a red car" means the same as "red". A text with no colour word is the ``other`` axis, which
is orthogonal to every image (similarity 0).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageStat

from photosense.models.encoder import Vectors, l2_normalise

FAKE_MODEL_ID = "fake/colours-v1"

CORNERS: tuple[str, ...] = (
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "white",
)
"""Axis i is the RGB-cube corner whose bits are (r, g, b) = (i & 1, i >> 1 & 1, i >> 2 & 1)."""

OTHER_AXIS = len(CORNERS)
MIN_DIM = len(CORNERS) + 1

COLOUR_WORDS: dict[str, tuple[float, float, float]] = {
    "black": (0.0, 0.0, 0.0),
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "yellow": (1.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
    "cyan": (0.0, 1.0, 1.0),
    "white": (1.0, 1.0, 1.0),
    "grey": (0.5, 0.5, 0.5),
    "gray": (0.5, 0.5, 0.5),
    "orange": (1.0, 0.5, 0.0),
    "purple": (0.5, 0.0, 0.5),
}
"""Colour words the fake understands, each with the RGB colour (0..1) it stands for."""

_WORD = re.compile(r"[a-z]+")


def corner_weights(rgb: Sequence[float]) -> npt.NDArray[np.float64]:
    """Trilinear weights of an RGB colour (0..1) on the eight cube corners (they sum to 1)."""
    r, g, b = (min(1.0, max(0.0, float(c))) for c in rgb)
    weights = np.empty(len(CORNERS), dtype=np.float64)
    for index in range(len(CORNERS)):
        wr = r if index & 1 else 1.0 - r
        wg = g if index >> 1 & 1 else 1.0 - g
        wb = b if index >> 2 & 1 else 1.0 - b
        weights[index] = wr * wg * wb
    return weights


class FakeEncoder:
    """Encoder whose vectors follow the colour rules in the module docstring.

    ``model_id`` and ``dim`` (at least 9) can be changed to test model mismatches.
    ``images_encoded`` and ``texts_encoded`` count items, so tests can check that work was reused.
    """

    def __init__(
        self, model_id: str = FAKE_MODEL_ID, dim: int = MIN_DIM, image_size: int = 32
    ) -> None:
        if dim < MIN_DIM:
            raise ValueError(f"FakeEncoder needs dim >= {MIN_DIM}, got {dim}")
        self._model_id = model_id
        self._dim = dim
        self._image_size = image_size
        self._lock = threading.Lock()
        self.images_encoded = 0
        self.texts_encoded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def image_size(self) -> int:
        return self._image_size

    def colour_vector(self, rgb: Sequence[float]) -> Vectors:
        """The (1 x dim) vector of an image whose mean colour is ``rgb`` (0..1)."""
        row = np.zeros((1, self._dim), dtype=np.float64)
        row[0, : len(CORNERS)] = corner_weights(rgb)
        return l2_normalise(row)

    def prepare_image(self, image: Image.Image) -> tuple[float, float, float]:
        """The image's mean RGB colour in 0..1; pure, so safe on any thread."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        r, g, b = (value / 255.0 for value in ImageStat.Stat(image).mean[:3])
        return (r, g, b)

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        """Vectors for mean colours from ``prepare_image``."""
        out = np.zeros((len(prepared), self._dim), dtype=np.float32)
        for row, rgb in enumerate(prepared):
            out[row] = self.colour_vector(rgb)[0]
        with self._lock:
            self.images_encoded += len(prepared)
        return l2_normalise(out) if len(prepared) else out

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Prepare and encode in one go."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def text_vector(self, text: str) -> Vectors:
        """The (1 x dim) vector of one text (see the module docstring)."""
        colours = [
            COLOUR_WORDS[word] for word in _WORD.findall(text.lower()) if word in COLOUR_WORDS
        ]
        row = np.zeros((1, self._dim), dtype=np.float64)
        if colours:
            row[0, : len(CORNERS)] = np.mean([corner_weights(rgb) for rgb in colours], axis=0)
        else:
            row[0, OTHER_AXIS] = 1.0
        return l2_normalise(row)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """Vectors for texts, by their colour words."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self.text_vector(text)[0]
        with self._lock:
            self.texts_encoded += len(texts)
        return out
