"""Errors in words for the user: core messages name CLI commands, the GUI has buttons."""

from __future__ import annotations

import logging

from photosense.errors import Cancelled, NotIndexedError, PhotosenseError

log = logging.getLogger(__name__)

NOT_IN_LIBRARY = " is not in the library"


def user_message(exc: object) -> str:
    """An error as one line for the user (an unexpected one is logged with its traceback)."""
    if isinstance(exc, NotIndexedError):
        text = str(exc)
        if NOT_IN_LIBRARY in text:
            photo = text.split(NOT_IN_LIBRARY, 1)[0]
            return f"{photo} is no longer in the library (moved or deleted?): rescan with F5."
        if text.startswith("no photos are indexed") or not text:
            return "No photos are indexed yet: add a folder, or wait for indexing to finish."
        return "Indexing has not reached this photo yet: wait for it, or rescan with F5."
    if isinstance(exc, Cancelled):
        return "Stopped."
    if isinstance(exc, PhotosenseError):
        return str(exc)
    log.error("unexpected error", exc_info=exc if isinstance(exc, BaseException) else None)
    return f"Something went wrong: {exc}"


def photos(count: int) -> str:
    """ "1 photo", "2,048 photos"."""
    return f"{count:,} photo" if count == 1 else f"{count:,} photos"
