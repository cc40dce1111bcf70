"""Walking photo folders quickly: supported files with their size and mtime, plus problems.

A rescan of a large library must take seconds, so the walk uses ``os.scandir`` with an explicit
stack, reads ``d_type`` from the directory listing and stats only the files it yields (and each
folder once, to detect symbolic-link loops).
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from photosense.media._files import skip_for_os_error
from photosense.progress import CancelToken

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".webp",
        ".heic",
        ".heif",
        ".hif",
        ".avif",
        ".tif",
        ".tiff",
        ".bmp",
        ".gif",
    }
)

_FOLDER_PERMISSION = (
    "permission denied: photosense cannot open this folder; "
    "check its permissions or remove it from the library"
)


_NOT_UTF8 = (
    "the name is not valid UTF-8 (it was probably written by a system that uses another "
    "character set); rename it to include it"
)


@dataclass(frozen=True)
class ScannedFile:
    """A supported photo file found by the scan; (path, size, mtime_ns) is its identity."""

    path: Path
    size: int
    mtime_ns: int


class FoundFile(NamedTuple):
    """A supported photo file as the walk finds it, its path a string (cheap to make by the
    million; :meth:`scanned` gives the :class:`ScannedFile`)."""

    path: str
    size: int
    mtime_ns: int

    def scanned(self) -> ScannedFile:
        return ScannedFile(Path(self.path), self.size, self.mtime_ns)


@dataclass(frozen=True)
class ScanProblem:
    """Something under the root that looks like a photo or folder but cannot be used.

    ``kind`` uses the same words as ``ImageSkipped.kind``.
    """

    path: Path
    kind: str
    reason: str


def printable(path: str) -> str:
    """``path`` with any bytes that are not UTF-8 (kept by Python as surrogates) shown as \ufffd.

    Such a path cannot be stored, printed or sent to the GUI as it is.
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_supported(path: Path) -> bool:
    """True if the file name has a photo extension photosense can decode (case-insensitive)."""
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def _has_supported_extension(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SUPPORTED_EXTENSIONS


def _problem(path: str, exc: OSError, *, folder: bool) -> ScanProblem:
    """Describe why an entry could not be listed or stat'ed, in words the user can act on."""
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        return ScanProblem(
            Path(path), "missing", "broken link: the file it points to does not exist"
        )
    if folder and exc.errno != errno.ELOOP:
        if isinstance(exc, FileNotFoundError):
            reason = "the folder does not exist: it was moved or deleted, or its drive is offline"
            return ScanProblem(Path(path), "missing", reason)
        if isinstance(exc, PermissionError):
            return ScanProblem(Path(path), "permission", _FOLDER_PERMISSION)
        detail = exc.strerror or type(exc).__name__
        return ScanProblem(Path(path), "unreadable", f"the folder could not be read ({detail})")
    skip = skip_for_os_error(exc)
    return ScanProblem(Path(path), skip.kind, skip.reason)


def scan_folder(
    root: Path, cancel: CancelToken | None = None
) -> Iterator[ScannedFile | ScanProblem]:
    """Yield every supported photo file under ``root``, recursively, and the problems met
    (see :func:`scan_files`)."""
    for entry in scan_files(root, cancel):
        yield entry if isinstance(entry, ScanProblem) else entry.scanned()


def scan_files(root: Path, cancel: CancelToken | None = None) -> Iterator[FoundFile | ScanProblem]:
    """Yield every supported photo file under ``root``, recursively, and the problems met.

    Hidden files and folders (name starting with ".") are skipped. Symlinked folders are
    followed, each real folder once, so link loops end. Paths are absolute but keep the links
    as given (not resolved). Raises ``Cancelled`` between folders when ``cancel`` is set, so a
    caller never mistakes a cancelled scan for a complete one.
    """
    top = os.fspath(Path(root).absolute())
    try:
        st = os.stat(top)
    except OSError as exc:
        yield _problem(top, exc, folder=True)
        return
    if not os.path.isdir(top):
        yield ScanProblem(Path(top), "unreadable", "this is a file, not a folder")
        return

    visited = {(st.st_dev, st.st_ino)}
    stack = [top]
    while stack:
        if cancel is not None:
            cancel.raise_if_cancelled()
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            yield _problem(folder, exc, folder=True)
            continue
        with entries:
            try:
                for entry in entries:
                    if not entry.name.startswith("."):
                        yield from _visit(entry, visited, stack)
            except OSError as exc:
                # The listing broke midway (I/O error, unmounted drive): report it, so the
                # caller does not take the files it never saw for deleted ones.
                yield _problem(folder, exc, folder=True)


def _visit(
    entry: os.DirEntry[str], visited: set[tuple[int, int]], stack: list[str]
) -> Iterator[FoundFile | ScanProblem]:
    """Push a new folder onto ``stack``, or yield the file or problem this entry stands for."""
    is_folder = False
    try:
        if not _is_utf8(entry.name):
            if entry.is_dir() or _has_supported_extension(entry.name):
                yield ScanProblem(Path(printable(entry.path)), "unreadable", _NOT_UTF8)
        elif entry.is_dir():
            is_folder = True
            st = entry.stat()
            key = (st.st_dev, st.st_ino)
            if key in visited:
                log.debug("skipping %s: folder already scanned (link loop?)", entry.path)
            else:
                visited.add(key)
                stack.append(entry.path)
        elif not _has_supported_extension(entry.name):
            pass
        elif entry.is_file():
            st = entry.stat()
            yield FoundFile(entry.path, st.st_size, st.st_mtime_ns)
        elif entry.is_symlink():
            os.stat(entry.path)  # is_file() said no: this raises the real reason, if any
            yield ScanProblem(
                Path(entry.path), "unreadable", "the link points to something that is not a file"
            )
        else:
            yield ScanProblem(
                Path(entry.path),
                "unreadable",
                "not a regular file (a pipe, socket or device); photosense skips it",
            )
    except FileNotFoundError as exc:
        if os.path.islink(entry.path):
            yield _problem(entry.path, exc, folder=is_folder)
        else:
            log.debug("%s vanished during the scan", entry.path)
    except OSError as exc:
        yield _problem(entry.path, exc, folder=is_folder)
