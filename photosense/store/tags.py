"""The tag vocabulary and the tags on photos: suggested by the model, decided by the user,
or imported from the photos' own keywords."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from photosense.enums import TagOrigin, TagSource, TagState
from photosense.errors import PhotosenseError
from photosense.store.base import Part, chunks, find_named, upsert
from photosense.store.records import PhotoTagRecord, TagRecord
from photosense.store.schema import Embedding, Photo, PhotoTag, PhotoTagging, Tag


def _tag_record(tag: Tag) -> TagRecord:
    prompts = tuple(tag.prompts) if tag.prompts else None
    return TagRecord(
        tag.id, tag.name, prompts, tag.threshold_offset, tag.enabled, TagOrigin(tag.origin)
    )


def _photo_tag_record(row: PhotoTag, name: str) -> PhotoTagRecord:
    return PhotoTagRecord(
        row.photo_id,
        row.tag_id,
        name,
        TagSource(row.source),
        TagState(row.state),
        row.score,
        row.model_id,
    )


class Tags(Part):
    """Tags of the vocabulary and their rows on photos."""

    def all(self, *, enabled_only: bool = False) -> list[TagRecord]:
        """Every tag of the vocabulary (or only those suggested automatically), by name."""
        query = select(Tag).order_by(Tag.name)
        if enabled_only:
            query = query.where(Tag.enabled.is_(True))
        with self._session() as session:
            return [_tag_record(tag) for tag in session.scalars(query)]

    def named(self, name: str) -> TagRecord | None:
        """The tag called ``name``: an exact match, else the one whose name differs only in case."""
        with self._session() as session:
            tag = find_named(session, Tag, name)
            return None if tag is None else _tag_record(tag)

    def add(
        self,
        entries: Iterable[tuple[str, Sequence[str] | None]],
        *,
        origin: TagOrigin,
        enabled: bool = True,
    ) -> dict[str, int]:
        """Create the tags whose names (ignoring case) are new; returns name -> id for all."""
        ids: dict[str, int] = {}
        with self._session() as session:
            known = {t.name.casefold(): t.id for t in session.scalars(select(Tag))}
            for name, prompts in entries:
                tag_id = known.get(name.casefold())
                if tag_id is None:
                    # Another process (a second indexing run) may be adding the same tags.
                    tag_id = session.scalar(
                        sqlite_insert(Tag)
                        .values(
                            name=name,
                            prompts=list(prompts) if prompts else None,
                            threshold_offset=0.0,
                            enabled=enabled,
                            origin=origin,
                        )
                        .on_conflict_do_nothing(index_elements=[Tag.name])
                        .returning(Tag.id)
                    )
                    if tag_id is None:
                        tag_id = session.scalars(select(Tag.id).where(Tag.name == name)).one()
                    known[name.casefold()] = tag_id
                ids[name] = tag_id
        return ids

    def update(
        self,
        tag_id: int,
        *,
        name: str | None = None,
        prompts: Sequence[str] | None = None,
        clear_prompts: bool = False,
        enabled: bool | None = None,
    ) -> TagRecord:
        """Rename a tag, set or clear its own prompts, or switch its suggestions on or off."""
        with self._session() as session:
            tag = session.get(Tag, tag_id)
            if tag is None:
                raise PhotosenseError(f"tag {tag_id} does not exist")
            if name is not None:
                tag.name = name
            if prompts is not None or clear_prompts:
                tag.prompts = list(prompts) if prompts else None
            if enabled is not None:
                tag.enabled = enabled
            session.flush()
            return _tag_record(tag)

    def remove(self, tag_id: int) -> None:
        """Delete a tag and every photo's row for it."""
        with self._session() as session:
            session.execute(delete(Tag).where(Tag.id == tag_id))

    def shift_offset(self, tag_id: int, delta: float, low: float, high: float) -> float:
        """Add ``delta`` to a tag's threshold offset, kept within [low, high]; returns it."""
        with self._session() as session:
            tag = session.get(Tag, tag_id)
            if tag is None:
                raise PhotosenseError(f"tag {tag_id} does not exist")
            tag.threshold_offset = min(high, max(low, tag.threshold_offset + delta))
            return tag.threshold_offset

    def photo_tags(self, photo_ids: Sequence[int]) -> list[PhotoTagRecord]:
        """Every tag row of the given photos (suggested, accepted and rejected), by photo."""
        found: list[PhotoTagRecord] = []
        with self._session() as session:
            for chunk in chunks(list(photo_ids)):
                rows = session.execute(
                    select(PhotoTag, Tag.name)
                    .join(Tag, Tag.id == PhotoTag.tag_id)
                    .where(PhotoTag.photo_id.in_(chunk))
                )
                found.extend(_photo_tag_record(row, name) for row, name in rows)
        found.sort(key=lambda r: (r.photo_id, -(r.score or 0.0), r.tag))
        return found

    def put_photo_tag(
        self,
        photo_id: int,
        tag_id: int,
        *,
        state: TagState,
        source: TagSource,
        score: float | None = None,
        model_id: str | None = None,
    ) -> PhotoTagRecord | None:
        """Set a photo's tag to ``state``; a new row gets ``source``, an existing one keeps its
        own. Returns the row as it was before (None if there was none)."""
        with self._session() as session:
            row = session.scalar(
                select(PhotoTag).where(PhotoTag.photo_id == photo_id, PhotoTag.tag_id == tag_id)
            )
            name = session.scalar(select(Tag.name).where(Tag.id == tag_id)) or ""
            before = None if row is None else _photo_tag_record(row, name)
            if row is None:
                row = PhotoTag(photo_id=photo_id, tag_id=tag_id, source=source)
                session.add(row)
            row.state = state
            if score is not None or row.score is None:
                row.score, row.model_id = score, model_id
            return before

    def replace_suggestions(
        self,
        model_id: str,
        state_key: str,
        photo_ids: Sequence[int],
        suggestions: Iterable[tuple[int, int, float]],
    ) -> int:
        """Swap the auto suggestions of ``photo_ids`` for (photo, tag, score) ``suggestions``.

        Rows the user decided (accepted, rejected, user or imported tags) are kept and never
        duplicated: a rejected tag does not come back. The photos are marked as tagged under
        ``state_key``. Returns how many suggestions were written.
        """
        ids = list(photo_ids)
        by_photo: dict[int, list[tuple[int, float]]] = {}
        for photo_id, tag_id, score in suggestions:
            by_photo.setdefault(photo_id, []).append((tag_id, score))
        written = 0
        now = datetime.now()
        with self._session() as session:
            for part in chunks(ids):
                chunk = cast(list[int], part)
                session.execute(
                    delete(PhotoTag).where(
                        PhotoTag.photo_id.in_(chunk),
                        PhotoTag.source == TagSource.AUTO,
                        PhotoTag.state == TagState.SUGGESTED,
                    )
                )
                pairs = select(PhotoTag.photo_id, PhotoTag.tag_id).where(
                    PhotoTag.photo_id.in_(chunk)
                )
                kept = {(photo_id, tag_id) for photo_id, tag_id in session.execute(pairs)}
                rows = [
                    {
                        "photo_id": photo_id,
                        "tag_id": tag_id,
                        "source": TagSource.AUTO,
                        "state": TagState.SUGGESTED,
                        "score": float(score),
                        "model_id": model_id,
                    }
                    for photo_id in chunk
                    for tag_id, score in by_photo.get(photo_id, [])
                    if (photo_id, tag_id) not in kept
                ]
                if rows:
                    # Core insert of plain rows: the ORM's bulk path costs ~2x more here.
                    session.execute(insert(cast(Table, PhotoTag.__table__)), rows)
                written += len(rows)
                marks = [
                    {
                        "photo_id": p,
                        "model_id": model_id,
                        "state_key": state_key,
                        "tagged_at": now,
                        "keywords_read": False,
                    }
                    for p in chunk
                ]
                upsert(
                    session,
                    PhotoTagging,
                    PhotoTagging.photo_id,
                    marks,
                    ["model_id", "state_key", "tagged_at"],
                )
        return written

    def photos_to_tag(self, model_id: str, state_key: str) -> list[int]:
        """Photos with a vector under ``model_id`` not yet tagged under ``state_key``."""
        current = (
            select(PhotoTagging.photo_id)
            .where(PhotoTagging.photo_id == Embedding.photo_id)
            .where(PhotoTagging.state_key == state_key)
            .exists()
        )
        with self._session() as session:
            query = (
                select(Embedding.photo_id)
                .where(Embedding.model_id == model_id)
                .where(~current)
                .order_by(Embedding.photo_id)
            )
            return list(session.scalars(query))

    def photos_keywords_unread(self) -> list[tuple[int, str]]:
        """(id, path) of photos whose files' keywords were not read yet."""
        read = (
            select(PhotoTagging.photo_id)
            .where(PhotoTagging.photo_id == Photo.id)
            .where(PhotoTagging.keywords_read.is_(True))
            .exists()
        )
        query = select(Photo.id, Photo.path).where(~read).order_by(Photo.id)
        with self._session() as session:
            return [(r[0], r[1]) for r in session.execute(query)]

    def import_keywords(self, keywords: Mapping[int, Sequence[str]]) -> int:
        """Record keywords read from photos' files as imported, accepted tags.

        Unknown keywords become tags of origin ``imported`` that are not suggested elsewhere;
        a row the user already decided is kept as it is (a tag they rejected stays rejected);
        an auto suggestion becomes imported. Every photo in ``keywords`` is marked as read.
        Returns how many photo tags were added or upgraded.
        """
        names = {name for words in keywords.values() for name in words}
        ids = self.add(((n, None) for n in sorted(names)), origin=TagOrigin.IMPORTED, enabled=False)
        changed = 0
        with self._session() as session:
            for part in chunks(list(keywords)):
                chunk = cast(list[int], part)
                rows = session.scalars(select(PhotoTag).where(PhotoTag.photo_id.in_(chunk)))
                existing = {(row.photo_id, row.tag_id): row for row in rows}
                for photo_id in chunk:
                    for tag_id in dict.fromkeys(ids[w] for w in keywords[photo_id]):
                        row = existing.get((photo_id, tag_id))
                        if row is None:
                            session.add(
                                PhotoTag(
                                    photo_id=photo_id,
                                    tag_id=tag_id,
                                    source=TagSource.IMPORTED,
                                    state=TagState.ACCEPTED,
                                )
                            )
                        elif row.source == TagSource.AUTO and row.state == TagState.SUGGESTED:
                            row.source, row.state = TagSource.IMPORTED, TagState.ACCEPTED
                        else:
                            continue
                        changed += 1
            for part in chunks(list(keywords)):
                done = [{"photo_id": p, "keywords_read": True} for p in part]
                upsert(session, PhotoTagging, PhotoTagging.photo_id, done, ["keywords_read"])
        return changed

    def photos_with_tag(self, tag_id: int, *, model_id: str, min_score: float) -> set[int]:
        """Photos that carry a tag: accepted, or suggested by ``model_id`` with a score of at
        least ``min_score``. A rejected tag never counts."""
        accepted = PhotoTag.state == TagState.ACCEPTED
        suggested = (
            (PhotoTag.state == TagState.SUGGESTED)
            & (PhotoTag.model_id == model_id)
            & (PhotoTag.score >= min_score)
        )
        with self._session() as session:
            query = select(PhotoTag.photo_id).where(PhotoTag.tag_id == tag_id)
            return set(session.scalars(query.where(accepted | suggested)))

    def counted_photos(self, *, model_id: str, base_cutoff: float) -> dict[int, int]:
        """Per tag id: photos the tag counts on (see ``photos_with_tag``), where a suggestion
        counts when its score reaches ``base_cutoff`` plus the tag's own offset."""
        suggested = (
            (PhotoTag.state == TagState.SUGGESTED)
            & (PhotoTag.model_id == model_id)
            & (PhotoTag.score >= base_cutoff + Tag.threshold_offset)
        )
        query = (
            select(PhotoTag.tag_id, func.count())
            .join(Tag, Tag.id == PhotoTag.tag_id)
            .where((PhotoTag.state == TagState.ACCEPTED) | suggested)
            .group_by(PhotoTag.tag_id)
        )
        with self._session() as session:
            return {tag_id: int(count) for tag_id, count in session.execute(query)}

    def counts(self) -> dict[int, dict[TagState, int]]:
        """Per tag id: how many photos have it in each state."""
        counts: dict[int, dict[TagState, int]] = {}
        with self._session() as session:
            rows = session.execute(
                select(PhotoTag.tag_id, PhotoTag.state, func.count()).group_by(
                    PhotoTag.tag_id, PhotoTag.state
                )
            )
            for tag_id, state, count in rows:
                counts.setdefault(tag_id, {})[TagState(state)] = int(count)
        return counts
