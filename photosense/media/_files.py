"""Opening photo files safely and turning OS errors into reasons a user can act on."""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from photosense.errors import ImageSkipped

PERMISSION_REASON = "permission denied: photosense cannot read this file; check its permissions"

# O_NONBLOCK keeps open() from waiting for ever on a named pipe that merely looks like a photo.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def skip_for_os_error(exc: OSError) -> ImageSkipped:
    """Map an ``OSError`` met while opening or reading a file to a typed, actionable skip."""
    if isinstance(exc, FileNotFoundError):
        return ImageSkipped(
            "missing", "the file no longer exists: it was moved or deleted, or its drive is offline"
        )
    if isinstance(exc, PermissionError):
        return ImageSkipped("permission", PERMISSION_REASON)
    if isinstance(exc, IsADirectoryError):
        return ImageSkipped("unreadable", "this is a folder, not a photo file")
    if exc.errno == errno.ELOOP:
        return ImageSkipped(
            "unreadable", "symbolic link loop: the link leads back to itself; fix or delete it"
        )
    detail = exc.strerror or str(exc) or type(exc).__name__
    return ImageSkipped(
        "unreadable", f"the file could not be read ({detail}); check the disk or copy it again"
    )


def open_regular(path: Path) -> tuple[io.BufferedReader, int]:
    """Open a regular file for binary reading and return it with its size.

    Raises ``ImageSkipped`` for missing, unreadable or special files (pipes, devices, folders).
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise skip_for_os_error(exc) from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageSkipped("unreadable", "this is a folder, not a photo file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageSkipped(
                "unreadable", "not a regular file (a pipe, socket or device); photosense skips it"
            )
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise
