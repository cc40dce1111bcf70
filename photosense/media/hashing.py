"""Content hashes, so a moved or renamed photo keeps its vector without being re-encoded."""

from __future__ import annotations

import hashlib
from pathlib import Path

from photosense.media._files import open_regular, skip_for_os_error


def content_hash(path: Path) -> str:
    """Return the blake2b-128 digest of the whole file as 32 hex characters.

    Raises ``ImageSkipped`` (missing, permission or unreadable) when the file cannot be read.
    """
    f, _ = open_regular(path)
    with f:
        try:
            return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
        except OSError as exc:
            raise skip_for_os_error(exc) from exc
