"""Typed errors raised by the photosense core.

The core never prints or exits; the CLI and the GUI turn these into words for the user.
"""

from __future__ import annotations


class PhotosenseError(Exception):
    """Base class of every error the core raises on purpose."""


class ImageSkipped(PhotosenseError):
    """A file could not be used as a photo; ``reason`` tells the user what to do about it.

    ``kind`` is one of: ``missing``, ``permission``, ``empty``, ``unsupported``, ``truncated``,
    ``too_large``, ``unreadable``, ``timeout``.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Cancelled(PhotosenseError):
    """Long work stopped because its cancel token was set."""


class LibraryError(PhotosenseError):
    """The library folder or its database cannot be used."""


class ModelError(PhotosenseError):
    """A model cannot be found, loaded or used."""


class ModelMismatchError(ModelError):
    """Vectors made by one model were about to be used with another."""


class NotIndexedError(PhotosenseError):
    """A photo or a model has no vectors in this library yet."""


class IndexCorruptError(PhotosenseError):
    """A vector index file is unreadable or does not match the store."""


class AlbumNotFoundError(PhotosenseError):
    """An album name (or id) that is not in the library."""
