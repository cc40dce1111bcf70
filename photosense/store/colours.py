"""Colours: each photo's dominant colours by name with the share of the photo each covers,
written by the colour analysis (see :mod:`photosense.colours.naming`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, select

from photosense.store.analyses import mark_analysed
from photosense.store.base import Part, chunks
from photosense.store.records import AnalysisMark
from photosense.store.schema import PhotoColour

Shares = Mapping[str, float]
"""Colour name -> share of the photo (0..1)."""


class Colours(Part):
    """The colours of photos (a photo not analysed, or that failed, has none)."""

    def save_analysed(
        self,
        kind: str,
        version: str,
        marks: Mapping[int, AnalysisMark],
        found: Mapping[int, Shares],
    ) -> None:
        """One transaction: mark the photos analysed and replace their colours with ``found``
        (a photo left out of ``found`` loses its colours: it failed, its file changed); photos
        removed meanwhile are left out."""
        with self._session() as session:
            alive = mark_analysed(session, kind, version, marks)
            ids = [i for i in marks if i in alive]
            for part in chunks(ids):
                session.execute(delete(PhotoColour).where(PhotoColour.photo_id.in_(part)))
            session.add_all(
                PhotoColour(photo_id=i, colour=colour, share=float(share))
                for i in ids
                for colour, share in found.get(i, {}).items()
            )

    def of_photos(self, photo_ids: Sequence[int]) -> dict[int, dict[str, float]]:
        """Photo id -> its colours (name -> share, largest first), for those that have some."""
        found: dict[int, dict[str, float]] = {}
        with self._session() as session:
            for part in chunks(list(photo_ids)):
                query = (
                    select(PhotoColour.photo_id, PhotoColour.colour, PhotoColour.share)
                    .where(PhotoColour.photo_id.in_(part))
                    .order_by(PhotoColour.photo_id, PhotoColour.share.desc())
                )
                for photo_id, colour, share in session.execute(query):
                    found.setdefault(int(photo_id), {})[str(colour)] = float(share)
        return found

    def with_colour(self, colour: str, min_share: float) -> dict[int, float]:
        """Photo id -> share of ``colour``, for the photos where it covers at least
        ``min_share``."""
        query = select(PhotoColour.photo_id, PhotoColour.share).where(
            PhotoColour.colour == colour, PhotoColour.share >= min_share
        )
        with self._session() as session:
            return {int(i): float(s) for i, s in session.execute(query)}

    def any(self) -> bool:
        """Whether any photo has colours (a library whose colours were never named has none)."""
        with self._session() as session:
            return session.scalar(select(PhotoColour.photo_id).limit(1)) is not None

    def count(self) -> int:
        """How many photos have colours."""
        query = select(func.count(func.distinct(PhotoColour.photo_id)))
        with self._session() as session:
            return int(session.scalar(query) or 0)
