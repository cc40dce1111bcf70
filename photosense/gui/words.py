"""Errors and notices in the window's words: menus and buttons, never command lines.

The core's errors are data (:mod:`photosense.errors`); this is the one place where the GUI turns
them into sentences. The command line has its own words.
"""

from __future__ import annotations

import logging

from photosense.errors import (
    AlbumNotFoundError,
    Cancelled,
    FolderNotFoundError,
    ModelExistsError,
    ModelInUseError,
    ModelNotDownloadedError,
    NotEnoughDataError,
    NothingIndexedError,
    NoVectorError,
    PersonNameTakenError,
    PersonNotFoundError,
    PhotoNotFoundError,
    PhotosenseError,
    StoredModelMissingError,
    TagNotFoundError,
)
from photosense.library import ModelFallback
from photosense.library.models import is_starter

log = logging.getLogger(__name__)


def user_message(exc: object) -> str:
    """An error as one line for the user (an unexpected one is logged with its traceback)."""
    if isinstance(exc, PhotoNotFoundError):
        return f"{exc.photo} is no longer in the library (moved or deleted?): rescan with F5."
    if isinstance(exc, FolderNotFoundError):
        return f"{exc.folder} is not one of the library's folders any more: add it again."
    if isinstance(exc, NothingIndexedError):
        return "No photos are indexed yet: add a folder, or wait for indexing to finish."
    if isinstance(exc, NoVectorError):
        return "Indexing has not reached this photo yet: wait for it, or rescan with F5."
    if isinstance(exc, Cancelled):
        return "Stopped."
    if isinstance(exc, AlbumNotFoundError):
        return f"There is no album called {exc.name!r} any more."
    if isinstance(exc, TagNotFoundError):
        return f"There is no tag called {exc.name!r}; type it in the tag field to add it."
    if isinstance(exc, PersonNameTakenError):
        return f"Another person is called {exc.name!r}: if they are one, use Merge into."
    if isinstance(exc, PersonNotFoundError):
        return f"There is no person called {exc.name!r} any more."
    if isinstance(exc, ModelInUseError):
        return f"{exc}: choose another model and press Use first."
    if isinstance(exc, ModelExistsError):
        return f"{exc}."
    if isinstance(exc, StoredModelMissingError):
        return f"The model {exc.model_id} is not on this computer any more."
    if isinstance(exc, ModelNotDownloadedError):
        return (
            f"{exc.name} is not downloaded and cannot be downloaded now: connect to the internet "
            "and press Download on the Models page, or Import a file of its weights."
        )
    if isinstance(exc, NotEnoughDataError):
        return (
            f"{exc}. Caption more photos in the detail pane, or add photos to the albums you "
            "teach from."
        )
    if isinstance(exc, PhotosenseError):
        return str(exc)
    log.error("unexpected error", exc_info=exc if isinstance(exc, BaseException) else None)
    return f"Something went wrong: {exc}"


def fallback_notice(fallback: ModelFallback) -> str:
    """Why the starter answers instead of the library's model."""
    if fallback.older_starter:
        return "the library was indexed with an older starter model: rescan with F5 to update it"
    return f"{fallback.model_id} is not on this computer, so the starter model answers"


def photos(count: int) -> str:
    """ "1 photo", "2,048 photos"."""
    return f"{count:,} photo" if count == 1 else f"{count:,} photos"


def model_name(model_id: str) -> str:
    """The answering model as the status bar names it: "starter model" or its id."""
    return "starter model" if is_starter(model_id) else model_id


def reading_notice(notice: str) -> str:
    """The core's notice that the model will not read a query, with the window's way out."""
    return f"⚠ {notice} Choose one on the Models page."
