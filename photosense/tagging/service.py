"""Auto-tagging over a library: vocabulary, scoring, feedback, keyword import and sidecars.

:class:`Tagger` ties the pieces to the store for one model (:class:`TagVocabulary`, the part
that lists and edits tags, needs none). Scoring every photo is one matrix product of the stored
photo vectors with the cached tag vectors, then per-tag calibration and selection
(:mod:`photosense.tagging.calibration`). What the user decided is never overwritten:
re-tagging replaces only automatic suggestions, so a rejected tag stays rejected.

A photo records the *tagging state* its suggestions were made under (model, enabled tags and
their prompts, selection settings, and the library size bucket the calibration came from);
``tag()`` redoes exactly the photos whose state is out of date.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from photosense.enums import TagOrigin, TagSource, TagState
from photosense.errors import PhotosenseError, TagNotFoundError, XmpError
from photosense.models.encoder import Encoder, Vectors
from photosense.progress import CancelToken, Progress
from photosense.store.records import PhotoTagRecord, TagRecord
from photosense.store.repository import Store
from photosense.tagging.calibration import (
    Calibration,
    Family,
    TaggingParams,
    calibrate,
    select_tags,
    zscores,
)
from photosense.tagging.vectors import TagVectorCache
from photosense.tagging.vocabulary import (
    TagFamily,
    VocabularyEntry,
    background_captions,
    clean_name,
    default_families,
    default_vocabulary,
    prompt_key,
    tag_templates,
)
from photosense.tagging.xmp import read_keywords, write_sidecar

__all__ = [
    "ExportReport",
    "PhotoTagInfo",
    "TagInfo",
    "TagNotFoundError",
    "TagReport",
    "Tagger",
]

log = logging.getLogger(__name__)

SEEDED_KEY = "tagging.seeded_vocabulary"
"""Setting: case-folded names of default tags already added once (a removed one stays out)."""

REJECT_STEP = 0.25
"""z added to a tag's threshold when the user rejects it where it was suggested."""
ACCEPT_STEP = 0.1
"""z taken off a tag's threshold when the user accepts it on a photo."""
OFFSET_RANGE = (-1.0, 3.0)
"""Feedback moves a tag's threshold within this range of z around the default."""

CALIBRATION_GROWTH = 1.25
"""The calibration is redone (and photos re-tagged) when the library grows or shrinks by this."""
BLOCK = 4096
"""Photos scored and written per transaction."""


@dataclass(frozen=True)
class TagReport:
    """What one tagging run did."""

    photos: int
    suggestions: int
    keywords: int
    seconds: float
    cancelled: bool = False


@dataclass(frozen=True)
class TagInfo:
    """A tag with its current threshold and how many photos have it in each state."""

    name: str
    origin: TagOrigin
    enabled: bool
    prompts: tuple[str, ...] | None
    offset: float
    threshold: float
    accepted: int
    suggested: int
    rejected: int
    photos: int = 0
    """Photos the tag counts on now: accepted, or suggested by the answering model with a
    score that clears the tag's current threshold (``suggested`` counts every suggestion)."""


@dataclass(frozen=True)
class PhotoTagInfo:
    """A tag on a photo; ``shown`` says whether it counts (accepted, or a suggestion that
    clears the tag's current threshold under the current model)."""

    tag: str
    source: TagSource
    state: TagState
    score: float | None
    model_id: str | None
    shown: bool


@dataclass(frozen=True)
class ExportReport:
    """Sidecars written, and photos whose sidecar could not be written (with why)."""

    written: list[str]
    failed: list[tuple[str, str]]
    cancelled: bool = False


SidecarWriter = Callable[[int, Path], Path | None]
"""Writes one photo's sidecar (photo id, photo path): the sidecar written, or None if none."""


def write_sidecars(
    store: Store,
    ids: Sequence[int],
    for_chunk: Callable[[Sequence[int]], SidecarWriter],
    cancel: CancelToken,
    message: str = "writing sidecars",
) -> Generator[Progress, None, ExportReport]:
    """Write the sidecars of ``ids`` in chunks (``for_chunk`` reads what a chunk needs and
    returns its writer); a photo whose sidecar cannot be written is reported, not fatal."""
    written: list[str] = []
    failed: list[tuple[str, str]] = []
    for start in range(0, len(ids), 256):
        if cancel.cancelled:
            break
        chunk = ids[start : start + 256]
        records = store.photos.get(chunk)
        write = for_chunk(chunk)
        for photo_id in (i for i in chunk if i in records):
            path = Path(records[photo_id].path)
            try:
                sidecar = write(photo_id, path)
            except (OSError, XmpError) as exc:
                log.warning("could not write the sidecar of %s: %s", path, exc)
                failed.append((str(path), str(exc)))
                continue
            if sidecar is not None:
                written.append(str(sidecar))
        yield Progress(start + len(chunk), len(ids), message)
    return ExportReport(written, failed, cancel.cancelled)


@dataclass(frozen=True)
class _Scoring:
    """Everything needed to tag photos under the current vocabulary and calibration."""

    tags: list[TagRecord]
    vectors: Vectors
    calibration: Calibration
    signature: str
    bucket: int
    families: tuple[Family, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.signature[:40]}-{self.bucket}"


def _bucket(photos: int) -> int:
    return int(math.log(photos + 1) / math.log(CALIBRATION_GROWTH))


class TagVocabulary:
    """The tags of one store, their prompts, thresholds and counts: what needs no model.

    ``vocabulary`` (default: the shipped list) is added to the store once.
    """

    def __init__(
        self,
        store: Store,
        params: TaggingParams | None = None,
        *,
        vocabulary: Sequence[VocabularyEntry] | None = None,
    ) -> None:
        self.store = store
        self.params = params or TaggingParams()
        self._vocabulary = vocabulary
        self._seeded = False

    # -- vocabulary -------------------------------------------------------------------------

    def ensure_vocabulary(self) -> None:
        """Add the default vocabulary's tags that were never added (once per library)."""
        if self._seeded:
            return
        stored = self.store.settings.get(SEEDED_KEY)
        seeded = {str(n) for n in stored} if isinstance(stored, list) else set()
        vocabulary = self._vocabulary if self._vocabulary is not None else default_vocabulary()
        entries = [e for e in vocabulary if e.name.casefold() not in seeded]
        if entries:
            self.store.tags.add(((e.name, e.prompts) for e in entries), origin=TagOrigin.VOCABULARY)
            seeded.update(e.name.casefold() for e in entries)
            self.store.settings.set(SEEDED_KEY, sorted(seeded))
            log.info("added %d default tags", len(entries))
        self._seeded = True

    def find(self, name: str) -> TagRecord:
        """The tag called ``name`` (case-insensitively), or ``TagNotFoundError``."""
        self.ensure_vocabulary()
        tag = self.store.tags.named(" ".join(name.split()))
        if tag is None:
            raise TagNotFoundError(name)
        return tag

    def add(self, name: str, prompts: Sequence[str] = ()) -> TagRecord:
        """Add a tag, or give an existing one its own prompts; either way it is suggested.

        Without prompts the tag is embedded with the default ensemble over its name.
        """
        self.ensure_vocabulary()
        cleaned = clean_name(name)
        own = [" ".join(p.split()) for p in prompts if p.strip()]
        existing = self.store.tags.named(cleaned)
        if existing is None:
            self.store.tags.add([(cleaned, own or None)], origin=TagOrigin.USER)
            return self.find(cleaned)
        return self.store.tags.update(existing.id, prompts=own or None, enabled=True)

    def rename(self, old: str, new: str) -> TagRecord:
        """Rename a tag; a tag without its own prompts is then prompted by its new name."""
        tag = self.find(old)
        cleaned = clean_name(new)
        other = self.store.tags.named(cleaned)
        if other is not None and other.id != tag.id:
            raise PhotosenseError(f"a tag named {other.name!r} already exists")
        return self.store.tags.update(tag.id, name=cleaned)

    def remove(self, name: str) -> TagRecord:
        """Delete a tag and its photo rows; a default tag removed is not added back later."""
        tag = self.find(name)
        self.store.tags.remove(tag.id)
        return tag

    def tags(self, model_id: str | None = None, *, min_photos: int = 0) -> list[TagInfo]:
        """Tags with their thresholds and photo counts, by name.

        ``photos`` counts suggestions of ``model_id`` only (none when it is None). With
        ``min_photos`` only the tags that count on at least that many photos are listed: the
        ones a user would browse by, not the whole vocabulary.
        """
        self.ensure_vocabulary()
        tags = self.store.tags.all()
        counts = self.store.tags.counts()
        base = self.params.cutoff(sum(t.enabled for t in tags))
        counted = (
            self.store.tags.counted_photos(model_id=model_id, base_cutoff=base)
            if model_id is not None
            else {}
        )
        infos = [
            TagInfo(
                name=t.name,
                origin=t.origin,
                enabled=t.enabled,
                prompts=t.prompts,
                offset=t.threshold_offset,
                threshold=base + t.threshold_offset,
                accepted=counts.get(t.id, {}).get(TagState.ACCEPTED, 0),
                suggested=counts.get(t.id, {}).get(TagState.SUGGESTED, 0),
                rejected=counts.get(t.id, {}).get(TagState.REJECTED, 0),
                photos=counted.get(t.id, counts.get(t.id, {}).get(TagState.ACCEPTED, 0)),
            )
            for t in tags
        ]
        return [info for info in infos if info.photos >= min_photos]


class Tagger(TagVocabulary):
    """Auto-tagging for one model over one store; the tag vectors live in ``cache``.

    ``vocabulary`` (default: the shipped list) is added to the store once; ``background``
    (default: the shipped generic captions) calibrates tags while the library is small;
    ``families`` (default: the shipped ones) group tags that rule each other out, by name.
    """

    def __init__(
        self,
        store: Store,
        encoder: Encoder,
        cache: TagVectorCache,
        params: TaggingParams | None = None,
        *,
        vocabulary: Sequence[VocabularyEntry] | None = None,
        background: Sequence[str] | None = None,
        families: Sequence[TagFamily] | None = None,
    ) -> None:
        super().__init__(store, params, vocabulary=vocabulary)
        self.encoder = encoder
        self.cache = cache
        self._background = tuple(background if background is not None else background_captions())
        self._families = tuple(families if families is not None else default_families())
        self._scoring_cache: _Scoring | None = None

    # -- scoring ----------------------------------------------------------------------------

    def _signature(self, tags: Sequence[TagRecord]) -> str:
        model_id = self.encoder.model_id
        payload = json.dumps(
            [
                model_id,
                asdict(self.params),
                [(t.id, prompt_key(model_id, tag_templates(t.prompts) + (t.name,))) for t in tags],
                [list(c) for c in self._family_columns(tags)],
            ]
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _family_columns(self, tags: Sequence[TagRecord]) -> list[tuple[int, ...]]:
        """Each family present among ``tags`` as (parent column, member columns...)."""
        column = {t.name.casefold(): i for i, t in enumerate(tags)}
        found: list[tuple[int, ...]] = []
        for family in self._families:
            parent = column.get(family.parent.casefold())
            members = [column[m.casefold()] for m in family.members if m.casefold() in column]
            if parent is not None and members:
                found.append((parent, *members))
        return found

    def _vector_count(self) -> int:
        for model_id, _dim, _generation, count in self.store.vectors.models():
            if model_id == self.encoder.model_id:
                return count
        return 0

    def prepare(self, cancel: CancelToken | None = None) -> None:
        """Embed the vocabulary now if it is not cached (the first time takes a while).

        A set ``cancel`` raises ``Cancelled`` within one batch of tags; what was embedded is
        kept for the next time."""
        self.ensure_vocabulary()
        self._tag_vectors(self.store.tags.all(enabled_only=True), cancel)

    def _tag_vectors(
        self, tags: Sequence[TagRecord], cancel: CancelToken | None = None
    ) -> tuple[Vectors, Vectors]:
        """The tags' vectors and the background captions' vectors, from the cache."""
        self.ensure_vocabulary()
        entries = [(t.name, tag_templates(t.prompts)) for t in tags]
        captions = [(caption, ("{}",)) for caption in self._background]
        return (
            self.cache.vectors(self.encoder, entries, cancel),
            self.cache.vectors(self.encoder, captions, cancel),
        )

    def _scoring(self, library: tuple[npt.NDArray[np.int64], Vectors] | None = None) -> _Scoring:
        """The current tag vectors and calibration, recomputed only when out of date."""
        self.ensure_vocabulary()
        tags = self.store.tags.all(enabled_only=True)
        signature = self._signature(tags)
        bucket = _bucket(self._vector_count())
        cached = self._scoring_cache
        if cached is not None and (cached.signature, cached.bucket) == (signature, bucket):
            # Same tags in the same order; fresh records carry the latest feedback offsets.
            return replace(cached, tags=tags)
        vectors, background = self._tag_vectors(tags)
        _, photos = (
            library if library is not None else self.store.vectors.load(self.encoder.model_id)
        )
        if photos.size == 0:
            photos = np.zeros((0, self.encoder.dim), dtype=np.float32)
        calibration = calibrate(vectors, photos, background, self.params.prior_photos)
        log.info("calibrated %d tags on %d photos", len(tags), len(photos))
        families = tuple(
            (c[0], np.array(c[1:], dtype=np.int64)) for c in self._family_columns(tags)
        )
        self._scoring_cache = _Scoring(tags, vectors, calibration, signature, bucket, families)
        return self._scoring_cache

    def _cutoffs(self, scoring: _Scoring) -> npt.NDArray[np.float32]:
        base = self.params.cutoff(len(scoring.tags))
        offsets = np.array([t.threshold_offset for t in scoring.tags], dtype=np.float32)
        return (base + offsets).astype(np.float32)

    def _suggest(
        self, scoring: _Scoring, photo_ids: Sequence[int], vectors: Vectors
    ) -> list[tuple[int, int, float]]:
        """(photo id, tag id, z) suggestions for photos, by the current calibration."""
        if not scoring.tags or len(photo_ids) == 0:
            return []
        z = zscores(vectors, scoring.vectors, scoring.calibration)
        chosen = select_tags(z, self._cutoffs(scoring), self.params, scoring.families)
        tag_ids = [t.id for t in scoring.tags]
        return [
            (int(photo_ids[r]), tag_ids[c], float(s))
            for r, c, s in zip(chosen.rows, chosen.cols, chosen.scores, strict=True)
        ]

    def tag(
        self, *, retag: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TagReport]:
        """Read keywords not read yet, then suggest tags for photos whose tagging is out of date.

        ``retag`` recomputes every photo's suggestions. Decided tags (accepted, rejected, user,
        imported) are kept either way. A file's keywords are read once (and again when
        indexing finds the file changed).
        """
        cancel = cancel or CancelToken()
        started = time.perf_counter()
        keywords = yield from self._import_keywords(cancel)
        yield Progress(0, None, "preparing tags")
        library = self.store.vectors.load(self.encoder.model_id)
        scoring = self._scoring(library)
        all_ids, all_vectors = library
        if retag:
            todo = np.arange(len(all_ids))
        else:
            wanted = np.array(self.store.tags.photos_to_tag(self.encoder.model_id, scoring.key))
            todo = np.flatnonzero(np.isin(all_ids, wanted))
        written = done = 0
        for start in range(0, len(todo), BLOCK):
            if cancel.cancelled:
                break
            rows = todo[start : start + BLOCK]
            ids = [int(i) for i in all_ids[rows]]
            suggestions = self._suggest(scoring, ids, all_vectors[rows])
            written += self.store.tags.replace_suggestions(
                self.encoder.model_id, scoring.key, ids, suggestions
            )
            done += len(ids)
            yield Progress(done, len(todo), "tagging")
        return TagReport(done, written, keywords, time.perf_counter() - started, cancel.cancelled)

    def tag_new(self, photo_ids: Sequence[int], vectors: Vectors) -> int:
        """Tag photos just indexed (and import their files' keywords); returns suggestions."""
        self._read_keywords(photo_ids)
        scoring = self._scoring()
        suggestions = self._suggest(scoring, photo_ids, vectors)
        return self.store.tags.replace_suggestions(
            self.encoder.model_id, scoring.key, photo_ids, suggestions
        )

    # -- keywords ---------------------------------------------------------------------------

    def _read_keywords(self, photo_ids: Sequence[int]) -> int:
        records = self.store.photos.get(photo_ids)
        found = {i: read_keywords(Path(r.path)) for i, r in records.items()}
        return self.store.tags.import_keywords(found)

    def _import_keywords(self, cancel: CancelToken) -> Generator[Progress, None, int]:
        self.ensure_vocabulary()
        todo = self.store.tags.photos_keywords_unread()
        imported = 0
        for start in range(0, len(todo), 256):
            if cancel.cancelled:
                break
            chunk = todo[start : start + 256]
            found = {photo_id: read_keywords(Path(path)) for photo_id, path in chunk}
            imported += self.store.tags.import_keywords(found)
            yield Progress(start + len(chunk), len(todo), "reading keywords")
        return imported

    # -- feedback ---------------------------------------------------------------------------

    def _cutoff(self, tag: TagRecord) -> float:
        enabled = len(self.store.tags.all(enabled_only=True))
        return self.params.cutoff(enabled) + tag.threshold_offset

    def _photo_score(self, tag: TagRecord, vector: Vectors | None) -> float | None:
        """The z-score of a photo vector (1 x dim) for ``tag``; None when there is none."""
        if vector is None or not tag.enabled:
            return None
        scoring = self._scoring()
        column = next((i for i, t in enumerate(scoring.tags) if t.id == tag.id), None)
        if column is None:
            return None
        z = zscores(vector.reshape(1, -1), scoring.vectors, scoring.calibration)
        return float(z[0, column])

    def _was_shown(self, before: PhotoTagRecord | None, tag: TagRecord) -> bool:
        return (
            before is not None
            and before.state == TagState.SUGGESTED
            and before.model_id == self.encoder.model_id
            and before.score is not None
            and before.score >= self._cutoff(tag)
        )

    def accept(self, photo_id: int, name: str, vector: Vectors | None = None) -> TagRecord:
        """The user confirms ``name`` on the photo; the tag's threshold eases a little.

        ``vector`` (the photo's, under this model) lets a tag the user adds carry a score.
        """
        tag = self.find(name)
        score = self._photo_score(tag, vector)
        model_id = self.encoder.model_id if score is not None else None
        before = self.store.tags.put_photo_tag(
            photo_id,
            tag.id,
            state=TagState.ACCEPTED,
            source=TagSource.USER,
            score=score,
            model_id=model_id,
        )
        if tag.enabled and (before is None or before.state != TagState.ACCEPTED):
            self.store.tags.shift_offset(tag.id, -ACCEPT_STEP, *OFFSET_RANGE)
        return tag

    def reject(self, photo_id: int, name: str) -> TagRecord:
        """The user says ``name`` is wrong on the photo: it never comes back there, and if it
        had been suggested the tag's threshold rises for the whole library."""
        tag = self.find(name)
        before = self.store.tags.put_photo_tag(
            photo_id, tag.id, state=TagState.REJECTED, source=TagSource.USER
        )
        if self._was_shown(before, tag):
            self.store.tags.shift_offset(tag.id, REJECT_STEP, *OFFSET_RANGE)
        return tag

    def photo_tags(self, photo_ids: Sequence[int]) -> dict[int, list[PhotoTagInfo]]:
        """Photos' tag rows, best first, each marked whether it currently counts."""
        self.ensure_vocabulary()
        tags = {t.id: t for t in self.store.tags.all()}
        base = self.params.cutoff(sum(t.enabled for t in tags.values()))
        out: dict[int, list[PhotoTagInfo]] = {photo_id: [] for photo_id in photo_ids}
        for row in self.store.tags.photo_tags(photo_ids):
            cutoff = base + tags[row.tag_id].threshold_offset
            shown = row.state == TagState.ACCEPTED or (
                row.state == TagState.SUGGESTED
                and row.model_id == self.encoder.model_id
                and row.score is not None
                and row.score >= cutoff
            )
            info = PhotoTagInfo(row.tag, row.source, row.state, row.score, row.model_id, shown)
            out[row.photo_id].append(info)
        return out

    def photos_with(self, name: str) -> set[int]:
        """Photos that carry the tag: accepted, or suggested above its current threshold."""
        tag = self.find(name)
        return self.store.tags.photos_with_tag(
            tag.id, model_id=self.encoder.model_id, min_score=self._cutoff(tag)
        )

    # -- sidecars ---------------------------------------------------------------------------

    def export_xmp(
        self, *, include_suggested: bool = False, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ExportReport]:
        """Write each tagged photo's tags into its XMP sidecar (never into the photo).

        Accepted tags are added and rejected ones taken out; with ``include_suggested`` the
        suggestions that clear their thresholds are added too.
        """
        cancel = cancel or CancelToken()

        def for_chunk(chunk: Sequence[int]) -> SidecarWriter:
            tagged = self.photo_tags(chunk)

            def write(photo_id: int, path: Path) -> Path | None:
                rows = tagged.get(photo_id, [])
                add = [
                    r.tag
                    for r in rows
                    if r.shown and (include_suggested or r.state == TagState.ACCEPTED)
                ]
                remove = [r.tag for r in rows if r.state == TagState.REJECTED]
                return write_sidecar(path, add, remove) if add or remove else None

            return write

        ids = sorted(self.store.photos.ids())
        return (yield from write_sidecars(self.store, ids, for_chunk, cancel))
