"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(target: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Write through a temporary file beside ``target`` that replaces it only on success.

    The temporary file is on the same file system, so the final rename is atomic; on any error
    it is removed and ``target`` keeps its previous content.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
