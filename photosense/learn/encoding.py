"""Decode on worker threads, encode in batches on the calling thread: the one pipeline that
evaluation and fine-tuning run images through (indexing has its own, which also hashes and
commits)."""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from photosense.errors import ImageSkipped
from photosense.media.decode import decode_photo
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

R = TypeVar("R")

DEFAULT_BATCH_SIZE = 32


def decode_for(encoder: Encoder, path: Path) -> Any:
    """Decode one image at the size ``encoder`` wants (EXIF-rotated, RGB)."""
    return decode_photo(path, min_side=encoder.image_size).image


def prepare_with(encoder: Encoder) -> Callable[[Path], list[Any]]:
    """The plain preparation: one decoded, preprocessed item per image."""

    def prepare(path: Path) -> list[Any]:
        return [encoder.prepare_image(decode_for(encoder, path))]

    return prepare


def _guarded(prepare: Callable[[Path], list[Any]], path: Path) -> list[Any]:
    """Worker thread: ``prepare`` one image; any failure becomes ``ImageSkipped``."""
    try:
        return prepare(path)
    except ImageSkipped:
        raise
    except Exception as exc:  # a model's preprocessing must not stop the run
        log.exception("unexpected failure preparing %s", path)
        raise ImageSkipped("unreadable", f"could not be prepared: {exc}") from exc


def encode_paths(
    paths: Sequence[Path],
    prepare: Callable[[Path], list[Any]],
    encode: Callable[[list[Any]], R],
    on_batch: Callable[[list[int], list[int], R], None],
    cancel: CancelToken | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    message: str = "encoding images",
) -> Generator[Progress, None, list[int]]:
    """Run every path through ``prepare`` (threads) and ``encode`` (here, in batches).

    ``prepare`` returns one or more items per image (augmented views, say); ``encode`` takes a
    flat list of items; ``on_batch(positions, counts, encoded)`` receives, for each batch, the
    positions in ``paths`` it covers, how many items each contributed, and ``encode``'s result.
    Returns the positions that could not be read (they are logged and left out). The queue of
    prepared images is bounded, so memory stays flat however many paths there are.
    """
    cancel = cancel or CancelToken()
    workers = workers or max(2, min(4, os.cpu_count() or 2))
    skipped: list[int] = []
    positions: list[int] = []
    counts: list[int] = []
    items: list[Any] = []

    def flush() -> None:
        if items:
            on_batch(list(positions), list(counts), encode(list(items)))
        positions.clear()
        counts.clear()
        items.clear()

    with ThreadPoolExecutor(workers, thread_name_prefix="photosense-encode") as pool:
        queue: deque[tuple[int, Future[list[Any]]]] = deque()
        todo = iter(enumerate(paths))
        try:
            for done in range(len(paths)):
                while len(queue) < workers * 2 + batch_size and (item := next(todo, None)):
                    queue.append((item[0], pool.submit(_guarded, prepare, item[1])))
                i, future = queue.popleft()
                try:
                    prepared = future.result()
                except ImageSkipped as exc:
                    log.warning("skipped %s: %s", paths[i], exc.reason)
                    skipped.append(i)
                else:
                    positions.append(i)
                    counts.append(len(prepared))
                    items.extend(prepared)
                if len(items) >= batch_size or done == len(paths) - 1:
                    cancel.raise_if_cancelled()
                    flush()
                    yield Progress(done + 1, len(paths), message)
        finally:
            for _, future in queue:
                future.cancel()
    return skipped
