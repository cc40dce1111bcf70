"""Model loaders that run on a test cluster's workers (importable there, picklable here)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from photosense.arrays import Vectors
from photosense.errors import ModelError
from photosense.models.fake import FakeEncoder


class SlowEncoder(FakeEncoder):
    """The colour encoder, taking ``delay_s`` per batch; its process id is left in ``pids``."""

    def __init__(self, pids: Path, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        pids.mkdir(parents=True, exist_ok=True)
        (pids / str(os.getpid())).touch()

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        time.sleep(self.delay_s)
        return super().encode_prepared(prepared)


def slow_encoder(pids: Path, delay_s: float, _spec: str) -> FakeEncoder:
    return SlowEncoder(pids, delay_s)


def only_here(driver: int, _spec: str) -> FakeEncoder:
    """The colour encoder in the process ``driver``; anywhere else its files are missing."""
    if os.getpid() != driver:
        raise ModelError("the model's files are not on this node")
    return FakeEncoder()


def worker_pids(pids: Path) -> set[int]:
    """The processes other than this one that loaded a :class:`SlowEncoder` so far."""
    found = {int(p.name) for p in pids.iterdir()} if pids.is_dir() else set()
    return found - {os.getpid()}
