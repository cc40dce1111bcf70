"""Duplicates (``photosense duplicates``): the same photo more than once, found, reviewed and
the extra copies moved to the system trash (never deleted outright).

Exact duplicates share a content hash. Near duplicates (the same photo resized, re-encoded or
cropped, and the frames of a burst) are found in two steps: the library's vectors propose
candidates (each photo's nearest neighbours above a loose cosine, cheap but unsure: a small model
scores many unrelated photos alike), and the pixels decide (the :func:`likeness` of their
detail, which another photo of the same scene does not share). Groups are stars, not chains:
the best photo of a group (the one it suggests keeping: the largest, then the sharpest) matches
every other photo of it, so two groups are never joined through one photo that resembles both.
See docs/duplicates.md for how the thresholds and the grouping were measured; the user decides.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosense.enums import DuplicateKind
from photosense.errors import ImageSkipped, NothingIndexedError
from photosense.library.runtime import ModelRuntime
from photosense.media.perceptual import Look, likeness, look
from photosense.progress import CancelToken, Progress
from photosense.store.records import PhotoRecord
from photosense.vectors.duplicates import near_pairs

log = logging.getLogger(__name__)

MIN_SCORE = 0.80
"""Cosine at or above which two photos' vectors make them near-duplicate candidates."""
MIN_LIKENESS = 0.60
"""Pixel likeness (:func:`photosense.media.perceptual.likeness`) at or above which two
candidates are the same photo."""


@dataclass(frozen=True)
class DuplicatePhoto:
    """One photo of a group; ``sharpness`` is None when not measured (exact copies, or a file
    that could not be decoded)."""

    photo: PhotoRecord
    sharpness: float | None = None

    @property
    def pixels(self) -> int:
        return (self.photo.width or 0) * (self.photo.height or 0)


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are the same picture, the suggested keeper first; ``score`` is the lowest
    cosine of the candidate pairs that brought them together, ``likeness`` the lowest
    likeness of the keeper's pixels to another photo's (both 1.0 for exact copies)."""

    kind: DuplicateKind
    photos: list[DuplicatePhoto]
    score: float = 1.0
    likeness: float = 1.0

    @property
    def keep(self) -> DuplicatePhoto:
        return self.photos[0]

    @property
    def others(self) -> list[DuplicatePhoto]:
        return self.photos[1:]


@dataclass(frozen=True)
class Choice:
    """What the user decided for one group: the photos to keep and those to trash."""

    keep: Sequence[int]
    trash: Sequence[int]


@dataclass(frozen=True)
class TrashReport:
    """Paths moved to the trash, paths already gone (taken out of the library too), paths
    that could not be trashed (path, why), and groups left whole because every photo to keep
    had gone (their photos' paths)."""

    trashed: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    refused: list[list[str]] = field(default_factory=list)


SHARPNESS_STEP = 1.15
"""Sharpness within this ratio counts as the same: a copy re-encoded at a low JPEG quality
measures a hair sharper than its original (the blocks add edges), and must not be kept over it."""


def _rank(item: DuplicatePhoto) -> tuple[int, int, int, str]:
    """Best first: the most pixels, then the sharpest (by steps of 15 %), then the largest file
    (of two encodings of one picture, the one compressed less)."""
    sharp = math.floor(math.log(max(item.sharpness or 0.0, 1e-6)) / math.log(SHARPNESS_STEP))
    return (-item.pixels, -sharp, -item.photo.size, item.photo.path)


class _Groups:
    """Union-find over photo ids."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)

    def sets(self) -> list[list[int]]:
        found: dict[int, list[int]] = {}
        for item in self.parent:
            found.setdefault(self.find(item), []).append(item)
        return [sorted(members) for members in found.values() if len(members) > 1]


def star_groups(
    ranked: Sequence[int],
    links: dict[int, set[int]],
    alike: Callable[[int, int], bool] = lambda centre, other: False,
) -> list[list[int]]:
    """Groups without chains. Taken best first, each photo not yet in a group becomes the
    centre of one: with every photo it links to, and every photo linked to those (and so on)
    that is ``alike`` the centre itself, none of them in a group yet. So every member is
    alike the centre, while two members need not be alike each other (a crop and a burst
    frame of one photo). Groups of one are left out."""
    placed: set[int] = set()
    groups = []
    for centre in ranked:
        if centre in placed:
            continue
        members = [centre, *sorted(links.get(centre, set()) - placed)]
        tried = set(members)
        reached = members[1:]
        while reached:
            near = sorted({i for m in reached for i in links.get(m, set())} - tried - placed)
            tried.update(near)
            reached = [i for i in near if alike(centre, i)]
            members += reached
        if len(members) > 1:
            placed.update(members)
            groups.append(members)
    return groups


def _unchanged(record: PhotoRecord) -> bool | None:
    """True when the file is as indexed, False when it changed, None when it is gone."""
    try:
        stat = os.stat(record.path)
    except FileNotFoundError:
        return None
    return (stat.st_size, stat.st_mtime_ns) == (record.size, record.mtime_ns)


def _looks(
    records: dict[int, PhotoRecord], wanted: Sequence[int], cancel: CancelToken
) -> Generator[Progress, None, dict[int, Look | None]]:
    """The look of each wanted photo; None for one that cannot be decoded."""
    looks: dict[int, Look | None] = {}
    for done, photo_id in enumerate(wanted, 1):
        cancel.raise_if_cancelled()
        try:
            looks[photo_id] = look(Path(records[photo_id].path))
        except ImageSkipped as exc:
            log.info("cannot compare %s: %s", records[photo_id].path, exc.reason)
            looks[photo_id] = None
        if done % 16 == 0 or done == len(wanted):
            yield Progress(done, len(wanted), "looking at similar photos")
    return looks


class Duplicates:
    """Find duplicate groups and move the copies the user does not keep to the trash."""

    def __init__(self, runtime: ModelRuntime) -> None:
        self._runtime = runtime
        self._store = runtime.store

    def find(
        self,
        *,
        min_score: float = MIN_SCORE,
        min_likeness: float = MIN_LIKENESS,
        near: bool = True,
        cancel: CancelToken | None = None,
    ) -> Generator[Progress, None, list[DuplicateGroup]]:
        """Every group of exact (and, with ``near``, near) duplicates, the largest groups
        first. Near duplicates need the library's vectors (photos not yet embedded are
        compared by content hash only); no model is loaded for them. Candidates (cosine at
        least ``min_score``) are the same photo when their pixels' likeness is at least
        ``min_likeness``."""
        cancel = cancel or CancelToken()
        yield Progress(0, None, "reading the library")
        records = self._store.photos.get(self._store.photos.ids())
        exact = _Groups()
        first: dict[str, int] = {}
        for photo_id in sorted(records):
            content = records[photo_id].content_hash
            exact.join(photo_id, first.setdefault(content, photo_id))
        near_groups: list[DuplicateGroup] = []
        if near:
            near_groups = yield from self._near(records, exact, min_score, min_likeness, cancel)
        joined = {item.photo.id for group in near_groups for item in group.photos}
        groups = [
            DuplicateGroup(
                DuplicateKind.EXACT, sorted((DuplicatePhoto(records[i]) for i in s), key=_rank)
            )
            for s in exact.sets()
            if s[0] not in joined  # copies of a photo that has near duplicates join its group
        ]
        groups += near_groups
        groups.sort(
            key=lambda g: (-len(g.photos), g.kind != DuplicateKind.EXACT, g.keep.photo.path)
        )
        return groups

    def _near(
        self,
        records: dict[int, PhotoRecord],
        exact: _Groups,
        min_score: float,
        min_likeness: float,
        cancel: CancelToken,
    ) -> Generator[Progress, None, list[DuplicateGroup]]:
        runtime = self._runtime
        try:
            with runtime.lock:
                model_id = runtime.indexed_model()
            index = runtime.index(model_id)
        except NothingIndexedError:
            return []
        pairs = yield from runtime.stepwise(near_pairs(index, min_score, cancel=cancel))
        # Exact copies are one photo here, named by the first of them.
        cosine: dict[tuple[int, int], float] = {}
        for a, b, score in pairs:
            if a in records and b in records and exact.find(a) != exact.find(b):
                key = (min(exact.find(a), exact.find(b)), max(exact.find(a), exact.find(b)))
                cosine[key] = max(cosine.get(key, -1.0), score)
        looks = yield from _looks(records, sorted({i for pair in cosine for i in pair}), cancel)
        links: dict[int, set[int]] = {}
        alike: dict[tuple[int, int], float] = {}
        for a, b in cosine:
            one, two = looks.get(a), looks.get(b)
            if one is None or two is None:
                continue
            alike[a, b] = likeness(one.detail, two.detail)
            if alike[a, b] >= min_likeness:
                links.setdefault(a, set()).add(b)
                links.setdefault(b, set()).add(a)
        copies: dict[int, list[int]] = {}
        for photo_id in records:
            copies.setdefault(exact.find(photo_id), []).append(photo_id)

        def item(photo_id: int) -> DuplicatePhoto:
            seen = looks.get(exact.find(photo_id))
            return DuplicatePhoto(records[photo_id], None if seen is None else seen.sharpness)

        def same(a: int, b: int) -> bool:
            one, two = looks.get(a), looks.get(b)
            if one is None or two is None:
                return False
            key = (min(a, b), max(a, b))
            alike[key] = likeness(one.detail, two.detail)
            return alike[key] >= min_likeness

        ranked = sorted(links, key=lambda root: _rank(item(root)))
        groups: list[DuplicateGroup] = []
        for centre, *others in star_groups(ranked, links, same):
            roots = {centre, *others}
            members = [i for root in roots for i in copies[root]]
            groups.append(
                DuplicateGroup(
                    DuplicateKind.NEAR,
                    sorted(map(item, members), key=_rank),
                    min(c for (a, b), c in cosine.items() if a in roots and b in roots),
                    min(alike[min(centre, o), max(centre, o)] for o in others),
                )
            )
        return groups

    def trash(
        self, choices: Sequence[Choice], cancel: CancelToken | None = None
    ) -> Generator[Progress, None, TrashReport]:
        """Move the photos to trash of each choice to the system trash and take them out of
        the library. A group none of whose photos to keep is still there (and unchanged) is
        left whole; a photo already gone is taken out of the library; one changed since it
        was found, or that the trash refuses, is reported and left where it is."""
        from send2trash import send2trash
        from send2trash.exceptions import TrashPermissionError

        cancel = cancel or CancelToken()
        report = TrashReport()
        wanted = [i for c in choices for i in (*c.keep, *c.trash)]
        records = self._store.photos.get(wanted)
        gone: list[int] = []
        total = sum(len(c.trash) for c in choices)
        done = 0
        yield Progress(0, total, "moving to the trash")
        for choice in choices:
            if cancel.cancelled:
                break
            kept = [records[i] for i in choice.keep if i in records]
            if not any(_unchanged(r) for r in kept):
                report.refused.append([records[i].path for i in choice.trash if i in records])
                done += len(choice.trash)
                continue
            for photo_id in choice.trash:
                record = records.get(photo_id)
                done += 1
                if record is None:
                    continue  # already out of the library
                state = _unchanged(record)
                if state is None:
                    report.vanished.append(record.path)
                    gone.append(photo_id)
                elif not state:
                    report.failed.append((record.path, "it changed since it was compared"))
                else:
                    try:
                        send2trash(record.path)
                    except (OSError, TrashPermissionError) as exc:
                        report.failed.append((record.path, str(exc)))
                    else:
                        report.trashed.append(record.path)
                        gone.append(photo_id)
                yield Progress(done, total, "moving to the trash")
        if gone:
            with self._runtime.lock:
                removed = self._store.photos.forget(gone)
                self._runtime.indexes.remove_photos(removed)
                self._runtime.indexes.save_all()
        log.info("duplicates: %d trashed, %d already gone", len(report.trashed), len(gone))
        return report
