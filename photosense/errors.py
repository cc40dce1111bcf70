"""Typed errors raised by the photosense core: data, not sentences for a particular front.

Each error carries the fields a front needs to explain it (which photo, which model, which
album) and a plain description (``str(error)``) that names no command, menu or button. The CLI
(:mod:`photosense.cli.words`) and the GUI (:mod:`photosense.gui.words`) turn them into words,
each in its own terms: the CLI may name a command, the GUI names a menu or a button. No code
parses an error's text.
"""

from __future__ import annotations

from pathlib import Path


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


class DatasetError(PhotosenseError):
    """A data set folder is missing or its files do not follow the shared format."""


class XmpError(PhotosenseError):
    """An XMP packet or sidecar that cannot be parsed or written safely."""


# -- photos and indexes ----------------------------------------------------------------------


class NotIndexedError(PhotosenseError):
    """A photo or a model has no vectors in this library yet (see the subclasses)."""


class PhotoNotFoundError(NotIndexedError):
    """``photo`` (a path, or an id) is not in the library; ``exists`` says whether a file is
    there at all (a path outside the library's folders) or not (moved, deleted, mistyped)."""

    def __init__(self, photo: str, *, exists: bool | None = None, more: int = 0) -> None:
        self.photo = photo
        self.exists = exists
        self.more = more
        """How many other photos given with it are not in the library either."""
        extra = f" (and {more} more)" if more else ""
        missing = ": there is no such file" if exists is False else ""
        super().__init__(f"{photo}{extra} is not in the library{missing}")


class FolderNotFoundError(NotIndexedError):
    """``folder`` is not one of the library's folders, nor inside one."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        super().__init__(f"{folder} is not a folder of the library")


class NothingIndexedError(NotIndexedError):
    """No photo has a vector under ``model_id`` yet: nothing to search."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"no photos are indexed with model {model_id} yet")


class NoVectorError(NotIndexedError):
    """``photo`` is in the library but has no vector under ``model_id`` yet (indexing has not
    reached it, or the library is switching models)."""

    def __init__(self, photo: str, model_id: str) -> None:
        self.photo = photo
        self.model_id = model_id
        super().__init__(f"{photo} has no vector for model {model_id} yet")


class IndexCorruptError(PhotosenseError):
    """A vector index file is unreadable or does not match the store."""


# -- albums and tags -------------------------------------------------------------------------


class AlbumNotFoundError(PhotosenseError):
    """No album is called ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no album named {name!r}")


class TagNotFoundError(PhotosenseError):
    """No tag of the vocabulary is called ``name``."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no tag named {name!r}")


# -- people ----------------------------------------------------------------------------------


class PersonNotFoundError(PhotosenseError):
    """No person is called ``name`` (or has that number)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no person named {name!r}")


class PersonNameTakenError(PhotosenseError):
    """Another person is already called ``name``: merging the two is what is meant, if so."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"another person is already called {name!r}")


class FaceNotFoundError(PhotosenseError):
    """No face has the number ``face_id`` (it was forgotten, or its photo removed)."""

    def __init__(self, face_id: int) -> None:
        self.face_id = face_id
        super().__init__(f"no face number {face_id}")


class FaceModelMissingError(PhotosenseError):
    """Face analysis needs ``missing`` (a package), which is not installed."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(f"face analysis needs {missing}, which is not installed")


# -- models ----------------------------------------------------------------------------------


class ModelError(PhotosenseError):
    """A model cannot be found, loaded or used."""


class ModelMismatchError(ModelError):
    """Vectors made by one model were about to be used with another."""


class CatalogueError(ModelError):
    """The catalogue file is missing, unreadable or has an invalid entry."""


class UnknownModelError(ModelError):
    """``spec`` names no model photosense knows; ``accepted`` describes the forms it takes."""

    def __init__(self, spec: str, accepted: str) -> None:
        self.spec = spec
        self.accepted = accepted
        super().__init__(f"Unknown model {spec!r}; accepted: {accepted}.")


class NotDownloadableError(ModelError):
    """``spec`` is a model that cannot be downloaded (the starter, a stored model, random
    weights); ``recommended`` is the catalogue model to download instead."""

    def __init__(self, spec: str, recommended: str) -> None:
        self.spec = spec
        self.recommended = recommended
        super().__init__(
            f"{spec!r} is not a downloadable model: give a catalogue id such as "
            f"{recommended!r} or ARCH/PRETRAINED"
        )


class ModelNotDownloadedError(ModelError):
    """Weights that are not on this machine and cannot be downloaded now (offline, or the hub
    cannot be reached). ``name`` is what to download them by; ``filenames`` in ``repo`` on the
    Hugging Face hub are the files to copy by hand (with the ``support`` repositories' tokenizer
    and config files, when the model reads any); ``arch`` is what they load into; ``label`` is
    the weights' full name (``ARCH/PRETRAINED``)."""

    def __init__(
        self,
        name: str,
        arch: str,
        *,
        label: str | None = None,
        repo: str | None = None,
        filenames: tuple[str, ...] = (),
        support: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.arch = arch
        self.label = label or name
        self.repo = repo
        self.filenames = filenames
        self.support = support
        super().__init__(
            f"{self.label} is not downloaded, and it cannot be downloaded now (offline, or "
            "huggingface.co cannot be reached)"
        )


class StoredModelMissingError(ModelError):
    """The stored (imported or fine-tuned) model ``model_id`` is not on this machine."""

    def __init__(self, model_id: str, folder: Path) -> None:
        self.model_id = model_id
        self.folder = folder
        super().__init__(f"the model {model_id} is not on this machine (looked in {folder})")


class ModelExistsError(ModelError):
    """A stored model called ``model_id`` already exists; a new one needs another name."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"a model called {model_id} already exists; choose another name")


class ModelInUseError(ModelError):
    """``model_id`` cannot be removed: it is the library's ``active`` model or the ``pending``
    one it is being switched to."""

    def __init__(self, model_id: str, role: str) -> None:
        self.model_id = model_id
        self.role = role
        what = (
            "this library's active model"
            if role == "active"
            else "the model this library is being switched to"
        )
        super().__init__(f"{model_id} is {what}; switch to another model first")


# -- fine-tuning -----------------------------------------------------------------------------


class NotEnoughDataError(PhotosenseError):
    """Too few captioned photos to fine-tune on: ``found`` usable of the ``needed``;
    ``unreadable`` more were given but their files could not be read."""

    def __init__(self, found: int, needed: int, *, unreadable: int = 0) -> None:
        self.found = found
        self.needed = needed
        self.unreadable = unreadable
        if unreadable:
            text = (
                f"only {found} of {found + unreadable} captioned photos could be read; "
                f"fine-tuning needs at least {needed}"
            )
        else:
            text = f"fine-tuning needs at least {needed} captioned photos; found {found}"
        super().__init__(text)


class StorageError(PhotosenseError):
    """Work could not write ``what`` in ``where`` (a full disk, a read-only folder); it carries
    on from its last saved step when started again."""

    def __init__(self, what: str, where: Path, reason: str) -> None:
        self.what = what
        self.where = where
        self.reason = reason
        super().__init__(
            f"could not save {what} in {where}: {reason}. The disk may be full: free some space "
            "and start it again; it carries on from the last step it saved"
        )


# -- ratings, export and duplicates ----------------------------------------------------------


class BadRatingError(PhotosenseError):
    """A rating outside 0 to 5 stars."""

    def __init__(self, value: int) -> None:
        self.value = value
        super().__init__(f"a rating is 0 to 5 stars, not {value}")


class ExportError(PhotosenseError):
    """The export folder cannot be used (``reason`` says why); nothing was copied."""

    def __init__(self, destination: str, reason: str) -> None:
        self.destination = destination
        self.reason = reason
        super().__init__(f"cannot export to {destination}: {reason}")


# -- indexing on a cluster -------------------------------------------------------------------


class ClusterUnavailableError(PhotosenseError):
    """Indexing on a cluster needs Ray, which is not installed: ``extra`` is the optional
    extra that brings it, ``requirement`` the pinned package, ``reason`` what the import said."""

    def __init__(self, extra: str, requirement: str, reason: str) -> None:
        self.extra = extra
        self.requirement = requirement
        self.reason = reason
        super().__init__(f"indexing on a cluster needs {requirement}, which is not installed")


class ClusterError(PhotosenseError):
    """The cluster at ``address`` could not be reached (``connecting`` true) or failed during
    a run (``reason`` says how). What was indexed before is kept; a new run carries on."""

    def __init__(self, address: str, reason: str, *, connecting: bool = False) -> None:
        self.address = address
        self.reason = reason
        self.connecting = connecting
        what = "could not connect to" if connecting else "indexing stopped on"
        super().__init__(f"{what} the cluster at {address}: {reason}")


class ClusterModelError(ClusterError):
    """The cluster's workers could not load ``model_id`` (its files are only on this machine,
    or they cannot be downloaded there), or loaded another model than this library's."""

    def __init__(self, address: str, model_id: str, reason: str) -> None:
        self.model_id = model_id
        super().__init__(address, f"its workers could not load the model {model_id}: {reason}")


class ClusterFilesError(ClusterError):
    """The cluster's workers cannot see ``path``, which is here: the photos must be at the same
    path on every node (a shared drive mounted alike)."""

    def __init__(self, address: str, path: str) -> None:
        self.path = path
        super().__init__(address, f"its workers cannot see {path}, which is on this machine")


# -- places ------------------------------------------------------------------------------------


class PlacesUnavailableError(PhotosenseError):
    """The place names (GeoNames data in the ``package`` package) cannot be read: ``reason``.
    Photos keep their positions and are given places once the data is back."""

    def __init__(self, package: str, reason: str) -> None:
        self.package = package
        self.reason = reason
        super().__init__(f"the place names in the {package} package cannot be read ({reason})")
