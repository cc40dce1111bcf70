"""The plain frozen records the store takes and hands out, never live ORM objects.

Callers on other threads (the GUI, the indexing pipeline) can keep and pass them freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from photosense.enums import CaptionSource, TagOrigin, TagSource, TagState


@dataclass(frozen=True)
class FolderRecord:
    id: int
    path: str
    online: bool
    last_scan_at: datetime | None


@dataclass(frozen=True)
class PhotoRecord:
    id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int
    content_hash: str
    width: int | None
    height: int | None
    format: str | None
    taken_at: datetime
    taken_at_exif: bool
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    rating: int = 0
    """Stars from 0 (unrated) to 5 (a favourite)."""
    rotation: int = 0
    """Degrees clockwise (0, 90, 180, 270) to turn the upright photo when showing it."""


@dataclass(frozen=True)
class PhotoState:
    """What a rescan compares against: enough to tell unchanged from changed files."""

    id: int
    size: int
    mtime_ns: int
    content_hash: str


@dataclass(frozen=True)
class SkippedRecord:
    path: str
    kind: str
    reason: str
    size: int | None = None
    mtime_ns: int | None = None


@dataclass(frozen=True)
class PhotoFields:
    """Everything known about a file once it has been read: identity plus metadata."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    width: int | None = None
    height: int | None = None
    format: str | None = None
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Move:
    """A known photo found under a new path (same content): it keeps its id and vectors."""

    photo_id: int
    path: str
    folder_id: int
    size: int
    mtime_ns: int


@dataclass
class Batch:
    """One transaction's worth of indexing results for one model.

    A photo is written when it is found, with its vector or without one (``None``: the model
    embeds it later, and until then it can be browsed but not found by a search).
    """

    folder_id: int
    new: list[tuple[PhotoFields, npt.NDArray[np.float32] | None]] = field(default_factory=list)
    changed: list[tuple[int, PhotoFields, npt.NDArray[np.float32] | None]] = field(
        default_factory=list
    )  # a None vector drops every model's vector of the photo: its content changed
    embedded: list[tuple[int, npt.NDArray[np.float32]]] = field(default_factory=list)
    touched: list[tuple[int, int, int]] = field(default_factory=list)  # id, size, mtime_ns
    moves: list[Move] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    """Photos found earlier whose pixels could not be read: removed unless some model has a
    vector of them (their reasons are in ``skipped``)."""
    skipped: list[SkippedRecord] = field(default_factory=list)

    def __len__(self) -> int:
        parts: tuple[list[Any], ...] = (
            self.new,
            self.changed,
            self.embedded,
            self.touched,
            self.moves,
            self.removed,
            self.unreadable,
            self.skipped,
        )
        return sum(len(part) for part in parts)


@dataclass(frozen=True)
class BatchResult:
    """Ids whose vectors changed (to add to the index) and ids removed, after the commit."""

    upserted: list[tuple[int, npt.NDArray[np.float32]]]
    removed: list[int]
    generation: int


@dataclass(frozen=True)
class TagRecord:
    """A tag of the vocabulary (see :class:`photosense.store.schema.Tag`)."""

    id: int
    name: str
    prompts: tuple[str, ...] | None
    threshold_offset: float
    enabled: bool
    origin: TagOrigin


@dataclass(frozen=True)
class PhotoTagRecord:
    """One tag on one photo: who put it there and where it stands."""

    photo_id: int
    tag_id: int
    tag: str
    source: TagSource
    state: TagState
    score: float | None
    model_id: str | None


@dataclass(frozen=True)
class AlbumInfo:
    """An album: its name, description, how many photos it holds, and when it was made."""

    id: int
    name: str
    description: str | None
    count: int
    created_at: datetime


@dataclass(frozen=True)
class CaptionInfo:
    """A photo's caption and where it came from."""

    text: str
    source: CaptionSource
    updated_at: datetime


@dataclass(frozen=True)
class PhotoToAnalyse:
    """A photo an analysis (faces, text) has not seen in its present content and version."""

    photo_id: int
    path: str
    content_hash: str


@dataclass(frozen=True)
class AnalysisCounts:
    """How far an analysis got over the library: photos analysed in the current version (of
    which ``failed`` could not be, and ``found_photos`` had something), and photos waiting."""

    analysed: int
    pending: int
    failed: int
    found_photos: int


@dataclass(frozen=True)
class AnalysisMark:
    """What one photo's analysis left: the content it saw, items found, or why it failed."""

    fingerprint: str
    found: int = 0
    failure: str | None = None


@dataclass(frozen=True)
class FaceRecord:
    """A face found in a photo: its box (fractions of the upright photo, as
    ``photosense.media.regions.Box`` holds them), its person (None: unknown) and whether the
    user put it there."""

    id: int
    photo_id: int
    x: float
    y: float
    w: float
    h: float
    score: float
    person_id: int | None
    person_name: str | None
    locked: bool


@dataclass(frozen=True)
class PersonRecord:
    """A person with how many faces and photos they have, and the face that shows them."""

    id: int
    name: str | None
    hidden: bool
    faces: int
    photos: int
    cover: FaceRecord | None


@dataclass(frozen=True)
class NewFace:
    """A face to store: its box, detector score and descriptor, and who it is known to be: the
    person of the face it replaces (a re-analysed photo keeps its names), or a ``name`` read
    from the photo's XMP regions."""

    x: float
    y: float
    w: float
    h: float
    score: float
    vector: npt.NDArray[np.float32]
    person_id: int | None = None
    locked: bool = False
    name: str | None = None


@dataclass(frozen=True)
class TextLine:
    """A line of text read in a photo: its box is ``x, y, w, h`` as fractions (0..1) of the
    upright photo, top-left origin; ``confidence`` is the reader's (0..1)."""

    text: str
    confidence: float
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class TextMatch:
    """A photo whose text matched a word search: all its text and its full-text ``score``
    (bm25, higher is better)."""

    photo_id: int
    text: str
    score: float
