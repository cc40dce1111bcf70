"""A photo's marks: its stars and its rotation, kept as metadata (the file is never touched)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import update

from photosense.store.base import Part, chunks
from photosense.store.schema import Photo


class Marks(Part):
    """Writes of the photos' ``rating`` and ``rotation`` columns (reads come with the records)."""

    def set_rating(self, photo_ids: Sequence[int], rating: int) -> int:
        """Give these photos ``rating`` stars; returns how many changed."""
        changed = 0
        with self._session() as session:
            for chunk in chunks(list(dict.fromkeys(photo_ids))):
                result = session.execute(
                    update(Photo)
                    .where(Photo.id.in_(chunk), Photo.rating != rating)
                    .values(rating=rating)
                )
                changed += int(cast(Any, result).rowcount or 0)
        return changed

    def set_rotations(self, rotations: Mapping[int, int]) -> None:
        """Photo id -> its rotation in degrees clockwise (0, 90, 180 or 270)."""
        with self._session() as session:
            for photo_id, degrees in rotations.items():
                session.execute(update(Photo).where(Photo.id == photo_id).values(rotation=degrees))

    def record_from_files(self, found: Mapping[int, tuple[int | None, int | None]]) -> int:
        """Photo id -> (rating, rotation) read from its sidecar or file; None leaves that mark
        as it is (the file says nothing about it). Returns how many photos changed."""
        changed = 0
        with self._session() as session:
            for photo_id, (rating, rotation) in found.items():
                values: dict[str, int] = {}
                if rating is not None:
                    values["rating"] = rating
                if rotation is not None:
                    values["rotation"] = rotation
                if not values:
                    continue
                differs = (Photo.rating != values.get("rating", Photo.rating)) | (
                    Photo.rotation != values.get("rotation", Photo.rotation)
                )
                result = session.execute(
                    update(Photo).where(Photo.id == photo_id, differs).values(**values)
                )
                changed += int(cast(Any, result).rowcount or 0)
        return changed
