"""Colours (``search --colour``, "a red flower"): each photo's dominant colours by name, named
at indexing like the other analyses (photos indexed before get theirs on the next ``index``),
and the colour filter and ordering of searches."""

from __future__ import annotations

from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass

from photosense.analysis.colours import KIND
from photosense.analysis.runner import AnalysisReport
from photosense.colours.naming import BLACK_AND_WHITE, COLOURS, PhotoColours
from photosense.colours.ranking import colour_fit
from photosense.errors import PhotosenseError
from photosense.library.analysis import Analysis
from photosense.library.photos import PhotoRef, Photos
from photosense.progress import CancelToken, Progress
from photosense.store.repository import Store

NAMES = (*COLOURS, BLACK_AND_WHITE)
"""Every colour a photo can have, as the filter takes them."""
FILTER_SHARE = 0.1
"""A colour filter (``--colour red``, or a query that is only a colour) keeps the photos that
colour covers this much of."""


@dataclass(frozen=True)
class ColourStatus:
    """How far naming colours got over the library (``enabled``: named at indexing)."""

    enabled: bool
    named: int
    pending: int
    failed: int
    black_and_white: int


def colour_name(colour: str) -> str:
    """``colour`` as the library names it ("Gray" is "grey"); raises for an unknown one."""
    wanted = " ".join(colour.casefold().replace("gray", "grey").split())
    if wanted not in NAMES:
        raise PhotosenseError(f"unknown colour {colour!r}: use one of {', '.join(NAMES)}")
    return wanted


class Colours:
    """The library's photo colours: named once per photo, again when its file changes."""

    def __init__(self, store: Store, photos: Photos, analysis: Analysis) -> None:
        self._store = store
        self._photos = photos
        self._analysis = analysis

    def of_photo(self, photo: PhotoRef) -> PhotoColours:
        """The colours of one photo (an id or a path in the library; none when it was not
        named yet)."""
        photo_id = self._photos.resolve(photo).id
        return self.of_photos([photo_id]).get(photo_id, PhotoColours({}))

    def of_photos(self, photo_ids: Sequence[int]) -> dict[int, PhotoColours]:
        """Photo id -> its colours, for the photos that have some."""
        found = self._store.colours.of_photos(photo_ids)
        return {
            i: PhotoColours(
                {c: s for c, s in shares.items() if c != BLACK_AND_WHITE},
                BLACK_AND_WHITE in shares,
            )
            for i, shares in found.items()
        }

    def covered(self, colours: Collection[str]) -> set[int]:
        """The photos that each of ``colours`` covers at least :data:`FILTER_SHARE` of (the
        colour filter: ids only, nothing else read)."""
        kept: set[int] | None = None
        for name in (colour_name(c) for c in colours):
            found = set(self._store.colours.with_colour(name, FILTER_SHARE))
            kept = found if kept is None else kept & found
        return kept or set()

    def photo_ids(self, colours: Collection[str]) -> dict[int, float]:
        """Photo id -> colour fit (see :func:`colour_fit`), for the photos :meth:`covered`
        keeps."""
        names = [colour_name(c) for c in colours]
        return self.fits(names, sorted(self.covered(names)))

    def fits(self, colours: Sequence[str], photo_ids: Sequence[int]) -> dict[int, float]:
        """Photo id -> how well its colours fit ``colours`` (0..1) for ``photo_ids``."""
        named = self.of_photos(photo_ids)
        empty = PhotoColours({})
        return {i: colour_fit(named.get(i, empty), colours) for i in photo_ids}

    def named(self) -> bool:
        """Whether some photo's colours were named (until then no colour is read in a query)."""
        return self._store.colours.any()

    def status(self) -> ColourStatus:
        """Counts only."""
        counts = self._analysis.counts(KIND)
        return ColourStatus(
            self._analysis.enabled(KIND),
            counts.analysed,
            counts.pending,
            counts.failed,
            len(self._store.colours.with_colour(BLACK_AND_WHITE, 0.0)),
        )

    def set_enabled(self, on: bool) -> None:
        """Name colours while indexing (on by default); the colours named are kept either way."""
        self._analysis.set_enabled(KIND, on)

    def name(
        self, cancel: CancelToken | None = None, *, workers: int | None = None
    ) -> Generator[Progress, None, AnalysisReport]:
        """Name the colours of every photo not named in its present content (resumable: a
        stopped run keeps what it named, and the next one does the rest)."""
        return (yield from self._analysis.run([KIND], cancel, workers=workers))

    def rename(self) -> int:
        """Forget which photos were named, so the next run names every photo again (the
        colours stay until then). Returns how many photos will be named again."""
        return self._store.analyses.forget(KIND)
