"""Stars and rotation (``photosense rate`` and ``photosense rotate``): kept in the library and
written to each photo's XMP sidecar for other photo tools; the photo file is never touched.

A favourite is a photo rated 5 stars. Other tools have no common "favourite" field in XMP
(Lightroom's pick flag and digiKam's pick label stay in their own catalogues, ``xmp:Label`` is a
colour label), but every one reads ``xmp:Rating``: a favourite made here is a 5-star photo there,
and a 5-star photo rated elsewhere is a favourite here.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosense.errors import BadRatingError, XmpError
from photosense.library.photos import PhotoRef, Photos
from photosense.media.marks import MAX_RATING, turned, write_orientation, write_rating
from photosense.store.records import PhotoRecord
from photosense.store.repository import Store

log = logging.getLogger(__name__)

FAVOURITE = MAX_RATING
"""A favourite is a photo with this many stars."""


@dataclass(frozen=True)
class MarkReport:
    """What a rating or rotation did: photos asked for, how many changed in the library,
    sidecars written, and the sidecars that could not be written, as (photo path, why)."""

    photos: int
    changed: int
    sidecars: int
    failed: list[tuple[str, str]] = field(default_factory=list)


def _write_sidecars(
    records: Sequence[PhotoRecord], write: Callable[[PhotoRecord], Path | None]
) -> tuple[int, list[tuple[str, str]]]:
    """Write each photo's sidecar; one that fails is reported and the rest go on."""
    written, failed = 0, []
    for record in records:
        try:
            written += write(record) is not None
        except (OSError, XmpError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.info("could not write the sidecar of %s: %s", record.path, reason)
            failed.append((record.path, reason))
    return written, failed


class Ratings:
    """Give photos 0 to 5 stars; favourites are the photos with 5."""

    def __init__(self, store: Store, photos: Photos) -> None:
        self._store = store
        self._photos = photos

    def rate(self, photos: Sequence[PhotoRef], stars: int) -> MarkReport:
        """Give ``photos`` (ids or paths) ``stars`` (0 takes the rating away) in the library
        and as ``xmp:Rating`` in their sidecars. When any photo is not in the library,
        nothing changes; a sidecar that cannot be written is reported, the rating kept."""
        if not 0 <= stars <= MAX_RATING:
            raise BadRatingError(stars)
        ids = self._photos.resolve_ids(photos)
        changed = self._store.marks.set_rating(ids, stars)
        records = list(self._photos.get(ids).values())
        written, failed = _write_sidecars(records, lambda r: write_rating(Path(r.path), stars))
        return MarkReport(len(records), changed, written, failed)

    def favourite(self, photos: Sequence[PhotoRef], on: bool = True) -> MarkReport:
        """Make photos favourites (5 stars), or take them out of the favourites (unrated)."""
        return self.rate(photos, FAVOURITE if on else 0)

    def favourites(self) -> builtins.list[int]:
        """The favourite photos, newest first."""
        return self._photos.ids(min_rating=FAVOURITE)


class Rotation:
    """Turn photos by quarter turns as metadata: shown turned, the file untouched."""

    def __init__(self, store: Store, photos: Photos) -> None:
        self._store = store
        self._photos = photos

    def rotate(self, photos: Sequence[PhotoRef], quarter_turns: int) -> MarkReport:
        """Turn photos ``quarter_turns`` times clockwise (negative: anticlockwise) on top of
        what they are turned already; written as ``tiff:Orientation`` to their sidecars."""
        return self._turn(photos, lambda record: turned(record.rotation, quarter_turns))

    def reset(self, photos: Sequence[PhotoRef]) -> MarkReport:
        """Show photos as their files say again (no turn of our own)."""
        return self._turn(photos, lambda _record: 0)

    def _turn(self, photos: Sequence[PhotoRef], turn: Callable[[PhotoRecord], int]) -> MarkReport:
        ids = self._photos.resolve_ids(photos)
        records = self._photos.get(ids)
        rotations = {i: turn(records[i]) for i in dict.fromkeys(ids) if i in records}
        changed = sum(rotations[i] != records[i].rotation for i in rotations)
        self._store.marks.set_rotations(rotations)
        written, failed = _write_sidecars(
            list(records.values()), lambda r: write_orientation(Path(r.path), rotations[r.id])
        )
        return MarkReport(len(rotations), changed, written, failed)
