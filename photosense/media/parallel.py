"""Reading files on worker threads, handed back in order, with a time limit per file.

The indexing pipeline reads and decodes files on a pool while its own thread encodes and writes
them in order. A file that hangs (a stalled drive, a decoder bug) must not stop the run, and a
cancelled run must not wait for the files still queued.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from photosense.progress import CancelToken

log = logging.getLogger(__name__)

POLL_S = 0.1
"""How often a wait for a file looks at the cancel token and the clock."""

W = TypeVar("W")
R = TypeVar("R")


def in_order(
    items: Sequence[W],
    prepare: Callable[[W], R],
    cancel: CancelToken,
    *,
    workers: int,
    window: int,
    timeout_s: float,
) -> Iterator[tuple[W, R | None]]:
    """Run ``prepare`` on ``workers`` threads, ``window`` items ahead of the caller; yields each
    item with its result, in order (None: its preparation ran over ``timeout_s``, counted from
    when a thread began on it). Stops once ``cancel`` is set, without waiting for the files
    being read (their threads finish them in the background)."""
    started: dict[int, float] = {}  # id(item) -> when a thread began preparing it

    def timed(item: W) -> R:
        started[id(item)] = time.monotonic()
        return prepare(item)

    def pool() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(workers, thread_name_prefix="photosense-decode")

    threads = pool()
    queue: deque[tuple[W, Future[R]]] = deque()
    todo = iter(items)
    try:
        while not cancel.cancelled:
            while len(queue) < window and (item := next(todo, None)) is not None:
                queue.append((item, threads.submit(timed, item)))
            if not queue:
                return
            item, future = queue[0]
            result = _result_within(future, id(item), started, cancel, timeout_s)
            if cancel.cancelled:
                return
            queue.popleft()
            if result is None:
                # Its thread stays busy: a fresh pool takes the files still waiting.
                threads.shutdown(wait=False, cancel_futures=True)
                threads = pool()
                queue = deque(
                    (w, threads.submit(timed, w)) if f.cancelled() else (w, f) for w, f in queue
                )
            yield item, result
    finally:
        for _, future in queue:
            future.cancel()
        threads.shutdown(wait=not cancel.cancelled, cancel_futures=True)


def _result_within(
    future: Future[R],
    key: int,
    started: dict[int, float],
    cancel: CancelToken,
    timeout_s: float,
) -> R | None:
    """The result, or None once it has been prepared for ``timeout_s`` or ``cancel`` is set."""
    while not cancel.cancelled:
        start = started.get(key)
        wait = POLL_S if start is None else min(POLL_S, start + timeout_s - time.monotonic())
        try:
            return future.result(timeout=max(wait, 0.0))
        except TimeoutError:
            if start is not None and time.monotonic() >= start + timeout_s:
                return None
    return None
