"""Evaluate an encoder on a data set folder in the shared format: retrieval and zero-shot.

A folder holds ``captions.csv`` (path,caption) and/or ``labels.csv`` (path,label) with
``classes.txt`` (the label vocabulary, one per line), and optionally ``split.csv`` (path,split).
Paths are relative to the folder and use ``/``. Each image is decoded and encoded once, even
when both CSV files name it; images that cannot be decoded are skipped and counted.

Choices made here (the metrics themselves are in :mod:`photosense.learn.metrics`):

- one caption and one label per image; equal captions on different images are one group for
  retrieval, so they are not held against the model;
- ``classes.txt`` is de-duplicated preserving order (ImageNet names ``missile`` and
  ``sunglasses`` twice), labels map by name, so a class never competes with its own twin;
- a class name is prompted with ``/`` and ``_`` read as spaces (``animals/birds`` -> "animals
  birds");
- the default split is ``test`` when ``split.csv`` exists; a folder without one is used whole
  and reported as split ``all``.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from photosense.errors import DatasetError
from photosense.learn.encoding import encode_paths, prepare_with
from photosense.learn.metrics import (
    DEFAULT_TEMPLATES,
    class_text_vectors,
    retrieval_recall,
    zero_shot_accuracy,
)
from photosense.learn.records import GeneralSet
from photosense.models.encoder import Encoder, Vectors
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

CAPTIONS, LABELS, CLASSES, SPLIT = "captions.csv", "labels.csv", "classes.txt", "split.csv"
DEFAULT_BATCH_SIZE = 32
DEFAULT_SPLIT = "test"
ALL = "all"


@dataclass(frozen=True)
class EvalDataset:
    """A parsed data set: the images to encode and the caption and label rows over them."""

    folder: Path
    split: str
    images: tuple[str, ...]  # relative paths, each once
    captions: tuple[tuple[str, str], ...] = ()  # (path, caption)
    labels: tuple[tuple[str, int], ...] = ()  # (path, class index)
    classes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.folder.name


@dataclass(frozen=True)
class EvalResult:
    """What one data set scored; ``metrics`` holds only the metrics that apply to it."""

    name: str
    model_id: str
    split: str
    n: int
    n_captions: int
    n_labels: int
    skipped: int
    metrics: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: metrics plus counts, with no nulls for what does not apply."""
        return {
            **{key: round(value, 6) for key, value in self.metrics.items()},
            "n": self.n,
            "n_captions": self.n_captions,
            "n_labels": self.n_labels,
            "split": self.split,
            "skipped": self.skipped,
        }


def _safe_path(raw: str, where: str) -> str:
    """The row's path if it stays inside the data set folder; anything else is an error."""
    text = raw.strip()
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if not text or posix.is_absolute() or windows.anchor or ".." in posix.parts + windows.parts:
        raise DatasetError(f"{where}: path {raw!r} must be relative and stay inside the folder")
    return str(posix)


def _rows(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, list[str]]]:
    """Rows of a UTF-8 CSV file with a header, as (where, values of ``columns``)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{path}: needs a header row with the columns {','.join(columns)} "
                    f"(missing {', '.join(missing)})"
                )
            for row in reader:
                where = f"{path.name} line {reader.line_num}"
                values = [row.get(c) for c in columns]
                if any(v is None for v in values):
                    raise DatasetError(f"{where}: expected {len(columns)} columns")
                yield where, [v for v in values if v is not None]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot be read as a UTF-8 CSV file ({exc})") from exc


def _pairs(path: Path, column: str) -> dict[str, tuple[str, str]]:
    """path -> (value, where) for one CSV file; a path listed twice is an error."""
    out: dict[str, tuple[str, str]] = {}
    for where, (raw_path, value) in _rows(path, ("path", column)):
        key = _safe_path(raw_path, where)
        if key in out:
            raise DatasetError(f"{where}: {key} is listed twice (one {column} per image)")
        out[key] = (value.strip(), where)
    return out


def _classes(folder: Path) -> tuple[str, ...]:
    try:
        lines = (folder / CLASSES).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(
            f"{folder} has {LABELS} but no readable {CLASSES} (one label per line): {exc}"
        ) from exc
    names = tuple(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not names:
        raise DatasetError(f"{folder / CLASSES} lists no classes")
    return names


def load_dataset(folder: Path, split: str | None = None) -> EvalDataset:
    """Read and check a data set folder's CSV files (no images are opened).

    ``split`` picks rows by ``split.csv`` (default ``test`` when that file exists); ``all``, or
    a folder without ``split.csv``, uses every row.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"data set folder not found: {folder}")
    has_captions, has_labels = (folder / CAPTIONS).is_file(), (folder / LABELS).is_file()
    if not (has_captions or has_labels):
        raise DatasetError(
            f"{folder} is not a data set: expected {CAPTIONS} (path,caption) and/or "
            f"{LABELS} (path,label) with {CLASSES}"
        )
    captions = _pairs(folder / CAPTIONS, "caption") if has_captions else {}
    labelled = _pairs(folder / LABELS, "label") if has_labels else {}
    keep: set[str] | None = None
    if (folder / SPLIT).is_file() and split != ALL:
        split = split or DEFAULT_SPLIT
        keep = {p for p, (s, _) in _pairs(folder / SPLIT, "split").items() if s == split}
        if not keep:
            raise DatasetError(f"{folder / SPLIT} has no rows in split {split!r}")
    else:
        if split not in (None, ALL):
            log.info("%s has no %s; evaluating all of it", folder, SPLIT)
        split = ALL
    classes = _classes(folder) if has_labels else ()
    index = {name: i for i, name in enumerate(classes)}
    labels: list[tuple[str, int]] = []
    for path, (label, where) in labelled.items():
        if keep is not None and path not in keep:
            continue
        if label not in index:
            raise DatasetError(f"{where}: label {label!r} is not in {CLASSES}")
        labels.append((path, index[label]))
    pairs = [(p, c) for p, (c, _) in captions.items() if keep is None or p in keep]
    images = tuple(dict.fromkeys([p for p, _ in pairs] + [p for p, _ in labels]))
    return EvalDataset(folder, split, images, tuple(pairs), tuple(labels), classes)


def prompt_name(label: str) -> str:
    """How a label is put into a prompt: path-like labels read as words."""
    return " ".join(label.replace("/", " ").replace("_", " ").split())


def encode_images(
    encoder: Encoder,
    paths: Sequence[Path],
    cancel: CancelToken | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
) -> Generator[Progress, None, dict[int, Vectors]]:
    """Decode on worker threads, encode in batches; returns {position in paths: vector}.

    Unreadable images are left out (and logged).
    """
    vectors: dict[int, Vectors] = {}

    def keep(positions: list[int], _counts: list[int], encoded: Vectors) -> None:
        vectors.update(zip(positions, encoded, strict=True))

    yield from encode_paths(
        paths,
        prepare_with(encoder),
        encoder.encode_prepared,
        keep,
        cancel,
        batch_size=batch_size,
        workers=workers,
    )
    return vectors


def evaluate(
    dataset: EvalDataset,
    encoder: Encoder,
    cancel: CancelToken | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
) -> Generator[Progress, None, EvalResult]:
    """Encode the data set's images and texts and score them; yields progress per batch.

    Setting ``cancel`` raises ``Cancelled`` at the next batch: a partial score means nothing.
    """
    paths = [dataset.folder / p for p in dataset.images]
    encoded = yield from encode_images(
        encoder, paths, cancel, batch_size=batch_size, workers=workers
    )
    row = {path: encoded[i] for i, path in enumerate(dataset.images) if i in encoded}
    metrics: dict[str, float] = {}
    captions = [(p, c) for p, c in dataset.captions if p in row]
    if captions:
        yield Progress(len(paths), len(paths), "encoding captions")
        texts = [c for _, c in captions]
        groups = np.unique(texts, return_inverse=True)[1]
        images = np.stack([row[p] for p, _ in captions])
        metrics.update(retrieval_recall(images, encoder.encode_texts(texts), groups=groups))
    labels = [(p, c) for p, c in dataset.labels if p in row]
    if labels:
        yield Progress(len(paths), len(paths), "encoding class names")
        names = [prompt_name(name) for name in dataset.classes]
        classes = class_text_vectors(encoder, names, templates)
        images = np.stack([row[p] for p, _ in labels])
        metrics.update(zero_shot_accuracy(images, classes, [c for _, c in labels]))
    return EvalResult(
        name=dataset.name,
        model_id=encoder.model_id,
        split=dataset.split,
        n=len(row),
        n_captions=len(captions),
        n_labels=len(labels),
        skipped=len(paths) - len(row),
        metrics=metrics,
    )


def general_set(folder: Path, limit: int | None = None) -> GeneralSet:
    """A labelled data set's test split (or all of it) as fine-tuning's general-knowledge
    check, cut to ``limit`` photos chosen by a hash of their paths (stable, class-blind)."""
    dataset = load_dataset(folder)
    if not dataset.labels:
        raise DatasetError(f"{folder} has no {LABELS}: a general check needs labelled photos")
    rows = sorted(dataset.labels, key=lambda row: hashlib.sha256(row[0].encode()).hexdigest())
    rows = rows[:limit] if limit else rows
    return GeneralSet(
        dataset.name,
        tuple(dataset.folder / p for p, _ in rows),
        tuple(label for _, label in rows),
        tuple(prompt_name(c) for c in dataset.classes),
    )
