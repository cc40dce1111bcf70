"""How well a photo's colours fit the colours a query asks for, and how that orders hits."""

from __future__ import annotations

from collections.abc import Sequence

from photosense.colours.naming import BLACK_AND_WHITE, PhotoColours

FULL_SHARE = 0.25
"""A colour covering this much of a photo fits fully: a red flower on green leaves is red
although most of it is green."""
POOL = 100
"""The model's best hits that the colour step re-orders."""
WEIGHT = 0.5
"""A photo that fits the colours fully gains this share of the spread of the model's scores
over the pool (best minus worst): enough to lift a red flower over the flowers the model liked
a little more, not a red car over them (docs/search.md measures the weights)."""


def colour_fit(colours: PhotoColours, wanted: Sequence[str]) -> float:
    """0..1: how well ``colours`` hold every one of ``wanted`` (the mean of each colour's
    share, each counted in full from :data:`FULL_SHARE`)."""
    if not wanted:
        return 0.0
    fits = [
        colours.share(name)
        if name == BLACK_AND_WHITE
        else min(1.0, colours.share(name) / FULL_SHARE)
        for name in wanted
    ]
    return sum(fits) / len(fits)


def colour_order(
    scores: Sequence[float], fits: Sequence[float], weight: float = WEIGHT
) -> list[int]:
    """Positions of ``scores`` (the model's, best first) ordered by score plus ``weight`` times
    the scores' spread times each one's colour fit (ties keep the model's order)."""
    if not scores:
        return []
    spread = max(scores) - min(scores)
    boosted = [s + weight * spread * f for s, f in zip(scores, fits, strict=True)]
    return sorted(range(len(scores)), key=lambda i: -boosted[i])
