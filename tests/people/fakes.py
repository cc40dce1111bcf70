"""A face finder whose answers the tests choose: one face per photo, whose descriptor depends
on the photo's colour, so "people" are the photos of one colour."""

from __future__ import annotations

import numpy as np
from PIL import Image

from photosense.media.regions import Box
from photosense.people.faces import FoundFace

PEOPLE = {"red": 0, "green": 1, "blue": 2, "yellow": 3}


def descriptor(person: int, jitter: float = 0.0) -> np.ndarray:
    vector = np.zeros(128, np.float32)
    vector[person] = 1.0
    vector[127] = jitter
    return vector


class ColourFaces:
    """A photo's face is its dominant colour's person (red, green, blue, yellow); a grey photo
    has none; a white one is a crowd of ``crowd`` faces; a dark one (every channel under 60)
    one weak face (detector score -0.12, as a car's wheel got)."""

    def __init__(self, crowd: int = 5) -> None:
        self.crowd = crowd

    def find(self, image: Image.Image) -> list[FoundFace]:
        r, g, b = (int(c) for c in np.asarray(image.convert("RGB")).reshape(-1, 3).mean(0))
        if min(r, g, b) > 200:
            return [
                FoundFace(Box(i / self.crowd, 0.1, 0.5 / self.crowd, 0.2), 1.0, descriptor(10 + i))
                for i in range(self.crowd)
            ]
        if max(r, g, b) < 60:
            return [FoundFace(Box(0.6, 0.6, 0.15, 0.15), -0.12, descriptor(20))]
        if max(r, g, b) - min(r, g, b) < 30:
            return []
        person = PEOPLE["yellow"] if r > 150 and g > 150 else int(np.argmax([r, g, b]))
        return [FoundFace(Box(0.25, 0.25, 0.5, 0.5), 1.0, descriptor(person))]
