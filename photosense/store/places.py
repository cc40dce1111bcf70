"""Places: each photo's place in words (town, district, region, country), located from the GPS
position stored with the photo."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from photosense.store.base import Part, chunks, upsert
from photosense.store.schema import Photo, PhotoPlace


@dataclass(frozen=True)
class PlaceRecord:
    """A photo's place; every name None when no town was near its position."""

    city: str | None
    district: str | None
    region: str | None
    country: str | None
    country_code: str | None
    distance_km: float | None = None


@dataclass(frozen=True)
class PlaceCount:
    """How many photos were taken at one place (a town of a region of a country)."""

    place: PlaceRecord
    count: int


@dataclass(frozen=True)
class Located:
    """A photo's position and the place found for it (None: no town near enough)."""

    photo_id: int
    latitude: float
    longitude: float
    place: PlaceRecord | None


_NAMES = (PhotoPlace.city, PhotoPlace.district, PhotoPlace.region, PhotoPlace.country)


def _record(row: PhotoPlace) -> PlaceRecord:
    return PlaceRecord(
        row.city, row.district, row.region, row.country, row.country_code, row.distance_km
    )


class Places(Part):
    """Places of photos, written after the photos (a photo with no position has no row)."""

    def pending(self, source: str) -> list[tuple[int, float, float]]:
        """(photo id, latitude, longitude) of the photos with a position that have no place
        yet, or whose place was found for another position or with other data."""
        query = (
            select(Photo.id, Photo.latitude, Photo.longitude)
            .outerjoin(PhotoPlace, PhotoPlace.photo_id == Photo.id)
            .where(Photo.latitude.is_not(None), Photo.longitude.is_not(None))
            .where(
                or_(
                    PhotoPlace.photo_id.is_(None),
                    PhotoPlace.source != source,
                    PhotoPlace.latitude != Photo.latitude,
                    PhotoPlace.longitude != Photo.longitude,
                )
            )
            .order_by(Photo.id)
        )
        with self._session() as session:
            rows = session.execute(query).all()
        return [(int(i), float(lat or 0.0), float(lon or 0.0)) for i, lat, lon in rows]

    def unpositioned(self) -> list[int]:
        """Photos with a place but no position any more (their file changed)."""
        query = (
            select(PhotoPlace.photo_id)
            .join(Photo, Photo.id == PhotoPlace.photo_id)
            .where(or_(Photo.latitude.is_(None), Photo.longitude.is_(None)))
        )
        with self._session() as session:
            return [int(i) for i in session.scalars(query)]

    def record(self, located: Sequence[Located], source: str) -> None:
        """Keep the places found (one transaction); photos deleted meanwhile are left out."""
        if not located:
            return
        with self._session() as session:
            present: set[int] = set()
            for chunk in chunks([item.photo_id for item in located]):
                present.update(session.scalars(select(Photo.id).where(Photo.id.in_(chunk))))
            rows = []
            for item in located:
                if item.photo_id not in present:
                    continue
                place = item.place or PlaceRecord(None, None, None, None, None)
                rows.append(
                    {
                        "photo_id": item.photo_id,
                        "latitude": item.latitude,
                        "longitude": item.longitude,
                        "city": place.city,
                        "district": place.district,
                        "region": place.region,
                        "country": place.country,
                        "country_code": place.country_code,
                        "distance_km": place.distance_km,
                        "source": source,
                    }
                )
            if rows:
                columns = [name for name in rows[0] if name != "photo_id"]
                upsert(session, PhotoPlace, "photo_id", rows, columns)

    def forget(self, photo_ids: Collection[int]) -> None:
        """Drop the places of these photos (their position went away)."""
        with self._session() as session:
            for chunk in chunks(list(photo_ids)):
                session.execute(delete(PhotoPlace).where(PhotoPlace.photo_id.in_(chunk)))

    def of_photos(self, photo_ids: Sequence[int]) -> dict[int, PlaceRecord]:
        """Photo id -> its place, for the given photos that have one located (named or not)."""
        found: dict[int, PlaceRecord] = {}
        with self._session() as session:
            for chunk in chunks(list(photo_ids)):
                rows = session.scalars(select(PhotoPlace).where(PhotoPlace.photo_id.in_(chunk)))
                found.update({row.photo_id: _record(row) for row in rows})
        return found

    def counts(self) -> list[PlaceCount]:
        """Every named place with its number of photos."""
        query = (
            select(*_NAMES, PhotoPlace.country_code, func.count())
            .where(PhotoPlace.country.is_not(None))
            .group_by(*_NAMES, PhotoPlace.country_code)
        )
        with self._session() as session:
            return [
                PlaceCount(PlaceRecord(city, district, region, country, code), int(n))
                for city, district, region, country, code, n in session.execute(query)
            ]

    def photo_ids_at(self, places: Collection[PlaceRecord]) -> set[int]:
        """Ids of the photos taken at any of ``places`` (compared by their names)."""
        wanted = {_names(p) for p in places}
        countries = sorted({p.country for p in places if p.country is not None})
        ids: set[int] = set()
        if not countries:
            return ids
        query = select(PhotoPlace.photo_id, *_NAMES).where(PhotoPlace.country.in_(countries))
        with self._session() as session:
            for photo_id, *names in session.execute(query):
                if tuple(names) in wanted:
                    ids.add(int(photo_id))
        return ids

    def stamp(self) -> tuple[float, ...]:
        """Changes whenever a place is added, changed or removed: what the library's cached
        list of places is checked against (one cheap scan)."""
        query = select(
            func.count(),
            func.total(PhotoPlace.photo_id),
            func.total(PhotoPlace.latitude),
            func.total(PhotoPlace.longitude),
            func.total(PhotoPlace.distance_km),
        ).select_from(PhotoPlace)
        with self._session() as session:
            row = session.execute(query).one()
        return tuple(float(value or 0) for value in row)

    def stats(self) -> tuple[int, int, int]:
        """(photos with a position, of them located, of them with a named place)."""
        with self._session() as session:
            positioned = session.scalar(
                select(func.count()).select_from(Photo).where(Photo.latitude.is_not(None))
            )
            located = session.scalar(select(func.count()).select_from(PhotoPlace))
            named = session.scalar(
                select(func.count()).select_from(PhotoPlace).where(PhotoPlace.country.is_not(None))
            )
        return int(positioned or 0), int(located or 0), int(named or 0)


def _names(place: PlaceRecord) -> tuple[str | None, ...]:
    return (place.city, place.district, place.region, place.country)
