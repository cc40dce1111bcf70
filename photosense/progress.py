"""Progress records and cancel tokens: how long work talks to the CLI and the GUI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from photosense.errors import Cancelled

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of long work: ``done`` of ``total`` units (``total`` is None when unknown)."""

    done: int
    total: int | None
    message: str = ""


@dataclass(frozen=True)
class IndexProgress(Progress):
    """A step of indexing. ``browsable`` counts the photos this step wrote to the library (new,
    changed or moved): they can be shown now, dated and with thumbnails, before the model has
    embedded them (a search finds a photo only once it has its vector)."""

    browsable: int = 0


class CancelToken:
    """A thread-safe flag that long work checks between batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def run_to_end(
    job: Generator[Progress, None, T], on_progress: Callable[[Progress], object] | None = None
) -> T:
    """Drive a progress generator to its end and return its result.

    ``on_progress`` sees each record as it comes (a tqdm bar, a Qt signal, a rescaled report).
    """
    while True:
        try:
            progress = next(job)
        except StopIteration as stop:
            result: T = stop.value
            return result
        if on_progress is not None:
            on_progress(progress)


def locked_steps(
    job: Generator[Progress, None, T], lock: AbstractContextManager[Any]
) -> Generator[Progress, None, T]:
    """The steps of ``job``, each taken while holding ``lock`` and released between steps, so
    other work gets the lock between batches; returns ``job``'s result."""
    while True:
        with lock:
            try:
                progress = next(job)
            except StopIteration as stop:
                result: T = stop.value
                return result
        yield progress
