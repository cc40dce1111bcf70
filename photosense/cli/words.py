"""Errors and notices in the command line's words: what went wrong, then the command to run.

The core's errors are data (:mod:`photosense.errors`); this is the one place where the CLI turns
them, and the notices about which model answers, into sentences naming its own commands.
"""

from __future__ import annotations

from photosense.errors import (
    AlbumNotFoundError,
    ClusterError,
    ClusterFilesError,
    ClusterModelError,
    ClusterUnavailableError,
    FaceModelMissingError,
    FaceNotFoundError,
    FolderNotFoundError,
    ModelExistsError,
    ModelInUseError,
    ModelNotDownloadedError,
    NotDownloadableError,
    NotEnoughDataError,
    NothingIndexedError,
    NoVectorError,
    PersonNameTakenError,
    PersonNotFoundError,
    PhotoNotFoundError,
    StoredModelMissingError,
    TagNotFoundError,
    UnknownModelError,
)
from photosense.library import ModelFallback
from photosense.library.models import catalogue, is_starter


def describe(exc: Exception) -> str:
    """One line (or a short paragraph) for ``photosense: …`` on standard error."""
    text = str(exc)
    if isinstance(exc, PhotoNotFoundError):
        if exc.exists is False:
            return text
        return f"{text}: index its folder first"
    if isinstance(exc, FolderNotFoundError):
        return f"{text}: index it first with `photosense index {exc.folder}`"
    if isinstance(exc, NothingIndexedError):
        return f"{text}: run `photosense index FOLDER`"
    if isinstance(exc, NoVectorError):
        return f"{text}: run `photosense index` to finish indexing"
    if isinstance(exc, AlbumNotFoundError):
        return (
            f"{text}: see `photosense albums list`, or make it with "
            f"`photosense albums create {exc.name!r}`"
        )
    if isinstance(exc, TagNotFoundError):
        return (
            f"{text}: see `photosense tags list`, or add it with `photosense tags add {exc.name!r}`"
        )
    if isinstance(exc, PersonNotFoundError):
        return f"{text}: see `photosense people list` (a number works too)"
    if isinstance(exc, PersonNameTakenError):
        return f"{text}: if they are one person, `photosense people merge` them"
    if isinstance(exc, FaceNotFoundError):
        return f"{text}: `photosense people faces PHOTO` lists a photo's faces"
    if isinstance(exc, FaceModelMissingError):
        return f"{text}: install it with `pip install {exc.missing}`"
    if isinstance(exc, UnknownModelError | StoredModelMissingError):
        return f"{text} (`photosense models list` shows the models there are)"
    if isinstance(exc, NotDownloadableError):
        return f"{text} (see `photosense models list`)"
    if isinstance(exc, ModelExistsError):
        return f"{text} (or remove it first: `photosense models remove {exc.model_id}`)"
    if isinstance(exc, ModelInUseError):
        return f"{text} (`photosense models use ID`)"
    if isinstance(exc, ModelNotDownloadedError):
        return f"{text}. {_how_to_get(exc)}"
    if isinstance(exc, ClusterUnavailableError):
        return f"{text}: install it with `pip install '{exc.extra}'`, or index without --cluster"
    if isinstance(exc, ClusterError):
        return f"{text}. {_cluster_hint(exc)}"
    if isinstance(exc, NotEnoughDataError) and not exc.unreadable:
        return (
            f"{text}. Caption more photos (`photosense captions set`, `captions import`) or add "
            "photos to the albums you train on."
        )
    return text


def _cluster_hint(exc: ClusterError) -> str:
    if exc.connecting:
        return (
            "Check the address (`ray status` on the cluster's head node shows it; `local` starts "
            "one on this machine), or index without --cluster."
        )
    if isinstance(exc, ClusterFilesError):
        hint = (
            "Mount the photo folders at the same path on every node of the cluster, or index "
            "without --cluster."
        )
    elif isinstance(exc, ClusterModelError):
        hint = (
            f"Install this photosense version on the cluster's nodes, with {exc.model_id} "
            "where they can load it (a model imported or fine-tuned here is only on this "
            "machine), or index without --cluster."
        )
    else:
        hint = "See the cluster's logs (`ray logs`)."
    return f"{hint} What was indexed is kept: run the same command again to carry on."


def _how_to_get(exc: ModelNotDownloadedError) -> str:
    if exc.repo is None:
        return "Connect to the internet once so they can be fetched, or import a checkpoint file."
    hint = (
        f"Connect to the internet once and run `photosense models pull {exc.name}`, or download "
        f"{' or '.join(exc.filenames)} from https://huggingface.co/{exc.repo} on another "
        f"machine, copy it here and run `photosense models import FILE --arch {exc.arch}`."
    )
    if exc.support:
        hint += (
            f" This model also reads tokenizer and config files from {', '.join(exc.support)}: "
            "for it, copy those repositories' folders of the Hugging Face cache "
            "(models--ORG--NAME) as well."
        )
    return hint


def describe_fallback(fallback: ModelFallback) -> str:
    """Why the starter answers, and what brings the library's own model back."""
    if fallback.older_starter:
        return (
            "the library was indexed with an older version of the starter model; "
            "`photosense index` embeds it with the current one"
        )
    return (
        f"the library's model {fallback.model_id} is not available, so the offline starter "
        f"model answers until it is back: {fallback.reason}"
    )


def starter_hint(model_id: str) -> str | None:
    """The model to get when the offline starter answered; None for any other model."""
    if not is_starter(model_id):
        return None
    better = catalogue().recommended
    return (
        "note: answered by the offline starter model; a full CLIP model searches much "
        f"better: `photosense models pull {better}` then `photosense models use {better}` "
        "(see `photosense models list`)"
    )
