"""Writing files so that a crash never leaves a half-written one in place."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(
    target: Path, mode: str = "wb", encoding: str | None = None, *, shared: bool = False
) -> Iterator[IO[Any]]:
    """Write through a temporary file beside ``target`` that replaces it only on success.

    The temporary file is on the same file system, so the final rename is atomic; on any error
    it is removed and ``target`` keeps its previous content. The new file keeps the permissions
    of the one it replaces; a new file is private to the user (0600), as caches of their photos
    must be, unless ``shared``: then it is 0644, like files other programs keep beside photos.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            os.chmod(tmp, _permissions(target, shared))
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _permissions(target: Path, shared: bool) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o644 if shared else 0o600
