"""Progress records and cancel tokens: how long work talks to the CLI and the GUI."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from photosense.errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One step of long work: ``done`` of ``total`` units (``total`` is None when unknown)."""

    done: int
    total: int | None
    message: str = ""


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
