"""Copying photos out of the library into a folder: nothing there is ever overwritten.

Each photo is copied (with its modification time, and its XMP sidecar beside it so its stars,
turn, keywords and caption travel with it) to a temporary name in the destination, then given
its final name by a hard link that fails rather than replace a file, so a name already taken,
by an earlier file or by another photo of the same name in this export, becomes
``name (2).jpg``. A crash or a cancel leaves no half-copied photo under a real name.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from photosense.errors import Cancelled, ExportError
from photosense.media.xmp import sidecar_candidates
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
"""Bytes copied between two looks at the cancel token."""
MAX_TRIES = 10_000


@dataclass(frozen=True)
class CopyReport:
    """Where each photo went (source, copy), how many got a new name because theirs was
    taken, the photos that could not be copied (source, why), and whether it was cancelled."""

    destination: str
    copied: list[tuple[str, str]] = field(default_factory=list)
    renamed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def prepare_destination(destination: Path) -> Path:
    """The export folder, made if missing; ``ExportError`` when it cannot be written to."""
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportError(str(destination), "it is a file, not a folder") from None
    except OSError as exc:
        raise ExportError(str(destination), exc.strerror or str(exc)) from exc
    if not destination.is_dir():
        raise ExportError(str(destination), "it is a file, not a folder")
    if not os.access(destination, os.W_OK | os.X_OK):
        raise ExportError(str(destination), "the folder is not writable")
    return destination.resolve()


def numbered(name: str, n: int) -> str:
    """``photo.jpg`` as the ``n``-th of its name: ``photo (2).jpg`` (the first keeps it)."""
    if n <= 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem} ({n}).{suffix}" if dot and stem else f"{name} ({n})"


def _copy_data(source: Path, target: Path, cancel: CancelToken) -> None:
    with open(source, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(CHUNK_BYTES):
            cancel.raise_if_cancelled()
            writer.write(chunk)
    shutil.copystat(source, target)


def _claim(temporary: Path, final: Path) -> bool:
    """Give ``temporary`` the name ``final`` unless that name is taken; True when done."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        return False
    except OSError as exc:  # a file system without hard links (FAT on a memory card)
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(final):
            return False
        os.rename(temporary, final)
        return True
    temporary.unlink()
    return True


def _sidecar(source: Path) -> tuple[Path, bool] | None:
    """The source's XMP sidecar and whether it is named ``photo.jpg.xmp`` (else ``photo.xmp``)."""
    full, short = sidecar_candidates(source)
    if full.is_file():
        return full, True
    if short.is_file() and short != source:
        return short, False
    return None


def copy_one(source: Path, destination: Path, cancel: CancelToken) -> tuple[Path, bool]:
    """Copy ``source`` (and its sidecar) into ``destination`` under a free name; returns the
    copy and whether it had to be renamed."""
    sidecar = _sidecar(source)
    temporary = destination / f".{source.name}.{os.getpid()}.partial"
    temporary.unlink(missing_ok=True)
    try:
        _copy_data(source, temporary, cancel)
        for n in range(1, MAX_TRIES):
            final = destination / numbered(source.name, n)
            side = None
            if sidecar is not None:
                side = (
                    final.with_name(final.name + ".xmp")
                    if sidecar[1]
                    else final.with_suffix(".xmp")
                )
                if os.path.lexists(side):
                    continue
            if _claim(temporary, final):
                if sidecar is not None and side is not None:
                    _copy_sidecar(sidecar[0], side)
                return final, n > 1
    finally:
        temporary.unlink(missing_ok=True)
    raise OSError(f"no free name for {source.name}")


def _copy_sidecar(source: Path, target: Path) -> None:
    try:
        with open(source, "rb") as reader, open(target, "xb") as writer:
            shutil.copyfileobj(reader, writer)
    except OSError as exc:  # the photo is copied; its sidecar is a nicety
        log.warning("could not copy the sidecar %s: %s", source, exc)


def copy_photos(
    sources: Sequence[Path], destination: Path, cancel: CancelToken | None = None
) -> Generator[Progress, None, CopyReport]:
    """Copy ``sources`` into ``destination`` (see the module's docstring). A photo that
    cannot be read or written is reported and the rest go on; a cancel stops after the copy
    in flight is abandoned (what was copied stays)."""
    cancel = cancel or CancelToken()
    folder = prepare_destination(destination)
    copied: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    renamed = 0
    yield Progress(0, len(sources), "copying photos")
    for done, source in enumerate(sources, 1):
        if cancel.cancelled:
            break
        try:
            final, moved = copy_one(source, folder, cancel)
        except Cancelled:
            break
        except OSError as exc:
            reason = exc.strerror or str(exc)
            log.info("could not export %s: %s", source, reason)
            failed.append((str(source), reason))
        else:
            copied.append((str(source), str(final)))
            renamed += moved
        yield Progress(done, len(sources), "copying photos")
    return CopyReport(str(folder), copied, renamed, failed, cancel.cancelled)
