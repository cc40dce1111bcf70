"""Named values that cross layers: stored in the database, shown by the GUI, printed by the CLI.

Each is a ``StrEnum``, so a member is its stored string: rows, JSON output and comparisons with
plain strings stay exactly as they were.
"""

from __future__ import annotations

from enum import StrEnum


class TagState(StrEnum):
    """Where a tag on a photo stands: suggested by the model, or decided by the user."""

    SUGGESTED = "suggested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class TagSource(StrEnum):
    """Who put a tag on a photo: the model, the user, or a keyword in the photo's file."""

    AUTO = "auto"
    USER = "user"
    IMPORTED = "imported"


class TagOrigin(StrEnum):
    """Where a tag of the vocabulary came from: the shipped list, the user, or a keyword read
    from a file (not suggested until given prompts)."""

    VOCABULARY = "vocabulary"
    USER = "user"
    IMPORTED = "imported"


class CaptionSource(StrEnum):
    """Where a caption (or a fine-tuning text) came from.

    ``USER``, ``FILE``, ``SIDECAR`` and ``CSV`` are stored with captions; ``ALBUM`` (an album's
    title standing in for a caption) and ``DATASET`` only name fine-tuning pairs.
    """

    USER = "user"
    FILE = "file"
    SIDECAR = "sidecar"
    CSV = "csv"
    ALBUM = "album"
    DATASET = "dataset"


FILE_CAPTION_SOURCES = frozenset({CaptionSource.FILE, CaptionSource.SIDECAR})
"""Sources of captions read from the photos' files, which follow the files when they change;
nothing automatic ever replaces a ``USER`` caption."""


class FineTuneVerdict(StrEnum):
    """What a fine-tuning run's numbers say: ``better`` (activated automatically), ``not_better``
    on the held-out photos, ``lost_general`` knowledge on the general sets, or ``changes_library``
    (the user's own photos no longer find what they found under the base), whatever it gained.
    The rule is :attr:`photosense.learn.finetune.FineTuneResult.verdict`'s, and only its."""

    BETTER = "better"
    NOT_BETTER = "not_better"
    LOST_GENERAL = "lost_general"
    CHANGES_LIBRARY = "changes_library"


class DuplicateKind(StrEnum):
    """How the photos of a duplicate group are alike."""

    EXACT = "exact"  # the same bytes (the same content hash)
    NEAR = "near"  # the same picture resized, re-encoded or cropped, or a burst's frames


class ReadingKind(StrEnum):
    """What a part of a search query was read as: a span of dates, months of any year (a
    season, "in June"), a place of the library, or a colour."""

    DATES = "dates"
    MONTHS = "months"
    PLACE = "place"
    COLOUR = "colour"


class MatchReason(StrEnum):
    """Why a photo is a search result: the words read in it, the model's sense of it, or both."""

    TEXT = "text"
    MEANING = "meaning"
    BOTH = "both"
