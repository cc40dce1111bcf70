"""The colour analysis: each photo's dominant colours by name (:mod:`photosense.colours.naming`),
stored for search ("a red flower", ``search --colour red``). It looks at a 64-pixel copy of the
photo, so it costs a fraction of decoding the photo (docs/search.md measures it)."""

from __future__ import annotations

from collections.abc import Mapping

from PIL import Image

from photosense.analysis.base import Outcome, marks
from photosense.colours.naming import BLACK_AND_WHITE, SIDE, VERSION, PhotoColours, photo_colours
from photosense.store.repository import Store

KIND = "colours"


def stored_shares(colours: PhotoColours) -> dict[str, float]:
    """The rows a photo's colours are kept as: each named colour, and "black and white" (share
    1) when it is."""
    shares = dict(colours.shares)
    if colours.black_and_white:
        shares[BLACK_AND_WHITE] = 1.0
    return shares


class ColoursAnalyser:
    """Names the colours of photos; cheap and model-free, so one per library is enough."""

    kind = KIND
    version = f"{VERSION}@{SIDE}"
    max_side = SIDE

    def __init__(self, store: Store) -> None:
        self._store = store

    def analyse(self, image: Image.Image) -> PhotoColours:
        return photo_colours(image)

    def found(self, result: PhotoColours) -> int:
        return len(result.shares)

    def save(self, outcomes: Mapping[int, Outcome[PhotoColours]]) -> None:
        found = {i: stored_shares(o.result) for i, o in outcomes.items() if o.result is not None}
        self._store.colours.save_analysed(KIND, self.version, marks(self, outcomes), found)
