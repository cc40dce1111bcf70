"""Every model this machine can use: the starter, the catalogue, and stored model files.

One listing for ``photosense models list`` and the GUI: what each model is, whether it can be
loaded now without a network (downloaded, imported, shipped), and its size on disk. Also the
model operations that need no library: pulling a catalogue model into the Hugging Face cache
and removing downloaded or stored files.
"""

from __future__ import annotations

from dataclasses import dataclass

from photosense.errors import ModelError, NotDownloadableError
from photosense.models import hub, local
from photosense.models.catalogue import CatalogueEntry, load_catalogue
from photosense.models.registry import STARTER_ID, parse_spec
from photosense.models.starter_recipes import RECIPES, TEXT_DIM
from photosense.progress import CancelToken

STARTER_ALIAS = "starter"


@dataclass(frozen=True)
class ModelInfo:
    """One usable model. ``id`` is what the user types, ``model_id`` what vectors are stored as."""

    id: str
    model_id: str
    kind: str  # starter | catalogue | imported | fine-tuned
    embedding_size: int
    image_size: int
    available: bool
    """Loads now with no network: shipped, downloaded or stored."""
    good_for: str
    languages: tuple[str, ...]
    architecture: str | None = None
    pretrained: str | None = None
    licence: str | None = None
    download_mb: int | None = None
    size_bytes: int | None = None
    """Bytes on disk now, where known."""
    base: str | None = None


def starter_info() -> ModelInfo:
    """The default offline starter, described by its recipe (no model code loads)."""
    return ModelInfo(
        id=STARTER_ALIAS,
        model_id=STARTER_ID,
        kind="starter",
        embedding_size=TEXT_DIM,
        image_size=RECIPES[STARTER_ID].image_size,
        available=True,
        good_for="works offline out of the box; knows everyday objects and animals, little else",
        languages=("en",),
        licence="Apache-2.0 (EfficientNet-Lite weights, all-MiniLM-L6-v2)",
    )


def catalogue_info(entry: CatalogueEntry, repo_sizes: dict[str, int]) -> ModelInfo:
    """A catalogue entry with whether its files are in the Hugging Face cache."""
    source = hub.hub_source(entry.architecture, entry.pretrained)
    available = hub.is_downloaded(entry.architecture, entry.pretrained)
    return ModelInfo(
        id=entry.id,
        model_id=entry.model_id,
        kind="catalogue",
        embedding_size=entry.embedding_size,
        image_size=entry.image_size,
        available=available,
        good_for=entry.good_for,
        languages=entry.languages,
        architecture=entry.architecture,
        pretrained=entry.pretrained,
        licence=entry.licence,
        download_mb=entry.download_mb,
        size_bytes=repo_sizes.get(source.repo) if available else None,
    )


def local_info(model: local.LocalModel) -> ModelInfo:
    origin = f"from {model.source}" if model.source else f"based on {model.base or '?'}"
    return ModelInfo(
        id=model.id,
        model_id=model.id,
        kind=model.kind,
        embedding_size=model.embedding_size,
        image_size=model.image_size,
        available=True,
        good_for=f"{model.kind} {model.architecture} {origin}",
        languages=(),
        architecture=model.architecture,
        size_bytes=model.size_bytes,
        base=model.base,
    )


def list_models() -> list[ModelInfo]:
    """The starter, then the catalogue, then stored models (imported, fine-tuned)."""
    repo_sizes = hub.cached_repo_sizes()
    models = [starter_info()]
    models += [catalogue_info(entry, repo_sizes) for entry in load_catalogue().entries]
    models += [local_info(model) for model in local.list_local()]
    return models


def pretrained_pair(spec: str) -> tuple[str, str]:
    """(architecture, pretrained tag) of a catalogue id or ``ARCH/PRETRAINED`` spec."""
    arch, tag, _seed = parse_spec(spec)
    if arch in ("starter", "local") or tag is None:
        raise NotDownloadableError(spec, load_catalogue().recommended)
    return arch, tag


def pull(
    spec: str, on_progress: hub.ProgressCallback | None = None, cancel: CancelToken | None = None
) -> str:
    """Download a catalogue (or any open_clip pretrained) model; returns its model id."""
    from photosense.models.openclip import pretrained_model_id

    arch, tag = pretrained_pair(spec)
    hub.download(arch, tag, on_progress, cancel)
    return pretrained_model_id(arch, tag)


def remove_files(spec: str) -> int:
    """Delete a model's files (stored folder, or Hugging Face cache); returns bytes freed."""
    kind, value, _seed = parse_spec(spec)
    if kind == "starter":
        raise ModelError("the starter model ships with photosense and cannot be removed")
    if kind == "local" and value is not None:
        return local.remove_local(value)
    if value is None:
        raise ModelError(f"{spec!r} has random weights: there are no files to remove")
    return hub.remove_download(kind, value)


def model_id_of(spec: str) -> str:
    """The stored model id a spec stands for, without loading anything."""
    from photosense.models.openclip import pretrained_model_id, random_model_id

    kind, value, seed = parse_spec(spec)
    if kind == "starter":
        return value or STARTER_ID
    if kind == "local" and value is not None:
        return value
    if value is not None:
        return pretrained_model_id(kind, value)
    return random_model_id(kind, seed or 0)


def other_info(model_id: str, dim: int) -> ModelInfo:
    """A model a library has vectors of but this machine does not list (e.g. a removed import)."""
    try:
        kind, value, _seed = parse_spec(model_id)
        if kind == "local":
            available = False  # stored models are listed; this one is gone
        elif value is None:
            available = kind != "starter"  # random weights need no files
        else:
            available = hub.is_downloaded(kind, value)
    except ModelError:
        available = False  # e.g. an older starter version
    return ModelInfo(
        id=model_id,
        model_id=model_id,
        kind="other",
        embedding_size=dim,
        image_size=0,
        available=available,
        good_for="has vectors in this library",
        languages=(),
    )
