"""Model files photosense owns: imported checkpoints (and, later, fine-tuned models).

Each model is a folder ``paths.models_dir()/KIND/NAME`` holding ``model.safetensors`` (a state
dict that loads strictly into its open_clip architecture) and ``model.json`` (the record: id,
architecture, sizes, where it came from). Its model id is ``KIND/NAME``, e.g. ``imported/holiday``.

Checkpoints are read safely only: safetensors, or ``torch.load(weights_only=True)``, which
refuses any pickle that would run code. A checkpoint is checked against the architecture's
weight names and shapes (on the meta device, so nothing is allocated) before anything is
written, so a file that does not fit is refused whole, never half-loaded.

Reading, listing and removing the records needs no torch, so the library and the window import
this module before any model loads; reading, checking and loading weights import torch then.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosense import paths
from photosense.errors import ModelError, ModelExistsError, StoredModelMissingError

if TYPE_CHECKING:
    import torch

    from photosense.models.openclip import OpenClipEncoder

log = logging.getLogger(__name__)

LOCAL_KINDS = ("imported", "fine-tuned")
WEIGHTS_NAME = "model.safetensors"
RECORD_NAME = "model.json"
RECORD_FORMAT = 1
PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")
ADAPTER_ARCH = "photosense-adapter"
"""The ``architecture`` a fine-tuned model's record names; its ``base`` says what it adapts."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SAFETENSORS_MAX_HEADER = 100_000_000


@dataclass(frozen=True)
class LocalModel:
    """The record of one model folder (``model.json``), with its weights file."""

    id: str
    kind: str
    architecture: str
    embedding_size: int
    image_size: int
    created_at: str
    weights: Path
    size_bytes: int
    base: str | None = None
    source: str | None = None
    preprocess: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def is_local_id(spec: str) -> bool:
    """Whether ``spec`` names a local model (``imported/NAME``, ``fine-tuned/NAME``)."""
    kind, _, name = spec.strip().partition("/")
    return kind in LOCAL_KINDS and bool(name)


def model_folder(model_id: str) -> Path:
    """The folder of a local model id; raises ``ModelError`` for a malformed one."""
    kind, _, name = model_id.strip().partition("/")
    if kind not in LOCAL_KINDS or not _NAME.fullmatch(name):
        raise ModelError(
            f"{model_id!r} is not a local model id: expected imported/NAME or fine-tuned/NAME "
            "(letters, digits, '.', '_' and '-')"
        )
    return paths.models_dir() / kind / name


# -- reading checkpoints safely -------------------------------------------------------------


def _is_safetensors(path: Path) -> bool:
    """safetensors starts with a little-endian header length, then a JSON object."""
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        return False
    length = int.from_bytes(head[:8], "little")
    return 2 <= length <= _SAFETENSORS_MAX_HEADER and head[8:9] == b"{"


def _looks_pickled(path: Path) -> bool:
    """A torch zip archive (``PK``) or a raw pickle (protocol 2+ starts with 0x80)."""
    with path.open("rb") as handle:
        head = handle.read(2)
    return head == b"PK" or head[:1] == b"\x80"


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's state dict, read without ever running code from the file.

    safetensors files load as they are; anything else goes through
    ``torch.load(weights_only=True)``, whose unpickler refuses every class and function that
    is not plain tensor data, so a pickle carrying code is rejected, not run.
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelError(f"{path} does not exist or is not a file")
    try:
        if _is_safetensors(path):
            loaded: object = load_file(str(path), device="cpu")
        else:
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _looks_pickled(path):
            raise ModelError(
                f"{path.name} is not a checkpoint photosense can read: neither safetensors nor "
                "a torch state dict"
            ) from exc
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        refers = f" (it refers to {found.group(1)})" if found else ""
        raise ModelError(
            f"refused {path.name}: it is a pickle that carries code or objects other than "
            f"tensors{refers}, and photosense never runs code from a model file. Convert it to "
            "safetensors on a machine you trust."
        ) from exc
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ModelError(f"{path.name} is not a checkpoint photosense can read: {exc}") from exc
    return _state_dict_of(loaded, path)


def _state_dict_of(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    import torch

    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]  # an open_clip training checkpoint
    if not isinstance(loaded, dict) or not loaded:
        raise ModelError(f"{path.name} holds no state dict (a mapping of weight names to tensors)")
    state: dict[str, torch.Tensor] = {}
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ModelError(f"{path.name} is not a plain state dict: {key!r} is not a tensor")
        state[key] = value
    if all(key.startswith("module.") for key in state):  # saved from DistributedDataParallel
        state = {key[len("module.") :]: value for key, value in state.items()}
    return state


# -- fitting a state dict to an architecture ------------------------------------------------


def fit_state_dict(arch: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` in ``arch``'s own names, checked to match its every weight name and shape.

    Applies open_clip's format conversions (Apple's MobileCLIP files, older text-tower names,
    scalar ``logit_scale``), then raises ``ModelError`` listing missing, unexpected and
    mis-shaped weights if anything differs. Nothing is loaded into a model here.
    """
    import torch
    from open_clip.convert import convert_state_dict
    from open_clip.model import convert_to_custom_text_state_dict

    from photosense.models.openclip import build_skeleton

    skeleton = build_skeleton(arch)
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    state = dict(state)
    try:
        state = convert_state_dict(skeleton, state)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ModelError(f"the checkpoint does not fit {arch}: {exc}") from exc
    if "positional_embedding" in state and "positional_embedding" not in expected:
        state = convert_to_custom_text_state_dict(state)
    for key in ("logit_scale", "logit_bias"):
        if key in state and key in expected and state[key].numel() == 1:
            state[key] = state[key].reshape(expected[key])
    if "logit_bias" in expected and "logit_bias" not in state and "logit_scale" in state:
        state["logit_bias"] = torch.zeros(expected["logit_bias"])  # as open_clip does
    state.pop("text.transformer.embeddings.position_ids", None)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{key} {tuple(state[key].shape)} (the model has {expected[key]})"
        for key in sorted(set(expected) & set(state))
        if tuple(state[key].shape) != expected[key]
    ]
    if missing or unexpected or wrong:
        raise ModelError(
            f"the checkpoint does not fit {arch}: {_listing('missing', missing)}"
            f"{_listing('unexpected', unexpected)}{_listing('with another shape', wrong)}"
            "nothing was imported"
        )
    return state


def _listing(what: str, items: list[str], shown: int = 3) -> str:
    if not items:
        return ""
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return f"{len(items)} weights {what} ({', '.join(items[:shown])}{more}); "


def guess_architecture(state: dict[str, torch.Tensor], candidates: Iterable[str]) -> str:
    """The first of ``candidates`` that ``state`` fits exactly; ``ModelError`` if none does."""
    tried = []
    for arch in candidates:
        tried.append(arch)
        try:
            fit_state_dict(arch, state)
        except ModelError as exc:
            log.debug("not %s: %s", arch, exc)
            continue
        return arch
    raise ModelError(
        f"could not tell which architecture the checkpoint is for (tried {', '.join(tried)}); "
        "give it with --arch ARCH (any name in open_clip.list_models())"
    )


def _catalogue_architectures() -> list[str]:
    """Catalogue architectures that can be checked offline (transformers configs cached)."""
    import open_clip

    from photosense.models import hub
    from photosense.models.catalogue import load_catalogue

    found: list[str] = []
    for entry in load_catalogue().entries:
        text_cfg = (open_clip.get_model_config(entry.architecture) or {}).get("text_cfg", {})
        repo = text_cfg.get("hf_model_name")
        if entry.architecture in found or (repo and not hub.cached_file(repo, "config.json")):
            continue
        found.append(entry.architecture)
    return found


def default_preprocess(arch: str) -> dict[str, Any] | None:
    """The image normalisation every pretrained tag of ``arch`` agrees on, or None.

    A checkpoint file does not say how its images were normalised (MobileCLIP uses no mean
    and std at all), so an import borrows it from open_clip's pretrained configs.
    """
    import open_clip
    from open_clip import pretrained as oc_pretrained

    seen = {
        json.dumps({k: oc_pretrained.get_pretrained_cfg(arch, tag).get(k) for k in PREPROCESS_KEYS})
        for tag in open_clip.list_pretrained_tags_by_model(arch)
    }
    if len(seen) != 1:
        return None
    values: dict[str, Any] = json.loads(seen.pop())
    return {key: value for key, value in values.items() if value is not None} or None


# -- storing ------------------------------------------------------------------------------


def save_local(
    state: Mapping[str, torch.Tensor],
    arch: str,
    model_id: str,
    *,
    base: str | None = None,
    source: str | None = None,
    preprocess: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> LocalModel:
    """Store a state dict that fits ``arch`` as ``model_id`` (see :func:`write_model`)."""
    import open_clip

    config = open_clip.get_model_config(arch) or {}
    size = config.get("vision_cfg", {}).get("image_size", 224)
    return write_model(
        model_id,
        state,
        architecture=arch,
        embedding_size=int(config.get("embed_dim", 0)),
        image_size=int(size if isinstance(size, int) else max(size)),
        base=base,
        source=source,
        preprocess=preprocess,
        extra=extra,
    )


def write_model(
    model_id: str,
    state: Mapping[str, torch.Tensor],
    *,
    architecture: str,
    embedding_size: int,
    image_size: int,
    base: str | None = None,
    source: str | None = None,
    preprocess: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> LocalModel:
    """Write a model folder: ``state`` as safetensors plus its ``model.json`` record.

    The folder is written under a temporary name and renamed, so a crash leaves no half
    model. Refuses to overwrite an existing model.
    """
    from safetensors.torch import save_file

    folder = model_folder(model_id)
    if folder.exists():
        raise ModelExistsError(model_id)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        weights = staging / WEIGHTS_NAME
        # clone: tied weights share storage, which safetensors refuses to write.
        tensors = {key: value.detach().clone().contiguous() for key, value in state.items()}
        metadata = {"photosense_id": model_id, "arch": architecture}
        save_file(tensors, str(weights), metadata=metadata)
        record = {
            "format": RECORD_FORMAT,
            "id": model_id,
            "kind": model_id.split("/", 1)[0],
            "architecture": architecture,
            "embedding_size": embedding_size,
            "image_size": image_size,
            "created_at": datetime.now().isoformat(timespec="seconds"),
            "base": base,
            "source": source,
            "preprocess": dict(preprocess) if preprocess else None,
            "extra": dict(extra or {}),
        }
        (staging / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("stored %s (%s) in %s", model_id, architecture, folder)
    return read_local(model_id)


def import_checkpoint(
    path: Path,
    arch: str | None = None,
    name: str | None = None,
    *,
    candidates: Iterable[str] | None = None,
) -> LocalModel:
    """Check a checkpoint file against ``arch`` (guessed from the catalogue if None), store it.

    The stored model is ``imported/NAME`` (``NAME`` defaults to the file's stem). Refused with
    ``ModelError``: pickles that carry code, files that do not fit the architecture, names
    already taken. Nothing is written unless the whole checkpoint fits.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-.") or "model"
    model_id = f"imported/{name or stem}"
    if model_folder(model_id).exists():
        raise ModelExistsError(model_id)
    state = read_checkpoint(path)
    if arch is None:
        arch = guess_architecture(
            state, _catalogue_architectures() if candidates is None else candidates
        )
    fitted = fit_state_dict(arch, state)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return save_local(
        fitted,
        arch,
        model_id,
        source=str(path.resolve()),
        preprocess=default_preprocess(arch),
        extra={"source_sha256": digest.hexdigest()},
    )


# -- reading, listing, removing, loading ------------------------------------------------------


def read_local(model_id: str) -> LocalModel:
    """The record of a stored model; ``ModelError`` if it is missing or damaged."""
    folder = model_folder(model_id)
    record_path, weights = folder / RECORD_NAME, folder / WEIGHTS_NAME
    if not record_path.is_file() or not weights.is_file():
        raise StoredModelMissingError(model_id, folder)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        return LocalModel(
            id=record["id"],
            kind=record["kind"],
            architecture=record["architecture"],
            embedding_size=int(record["embedding_size"]),
            image_size=int(record["image_size"]),
            created_at=record["created_at"],
            weights=weights,
            size_bytes=weights.stat().st_size,
            base=record.get("base"),
            source=record.get("source"),
            preprocess=record.get("preprocess"),
            extra=record.get("extra") or {},
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"the record of {model_id} ({record_path}) is damaged: {exc}") from exc


def is_adapted_id(model_id: str) -> bool:
    """Whether ``model_id`` names a stored fine-tuned (adapter) model on this machine."""
    if not is_local_id(model_id):
        return False
    try:
        return read_local(model_id).architecture == ADAPTER_ARCH
    except ModelError:
        return False


def list_local() -> list[LocalModel]:
    """Every stored model, by id; damaged folders are logged and left out."""
    found = []
    for kind in LOCAL_KINDS:
        root = paths.models_dir() / kind
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                found.append(read_local(f"{kind}/{folder.name}"))
            except ModelError as exc:
                log.warning("%s", exc)
    return found


def remove_local(model_id: str) -> int:
    """Delete a stored model's folder; returns the bytes freed."""
    folder = model_folder(model_id)
    if not folder.is_dir():
        raise ModelError(f"there is no model {model_id} to remove")
    freed = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    shutil.rmtree(folder)
    log.info("removed %s (%d bytes)", model_id, freed)
    return freed


def load_local(model_id: str, device: str = "auto") -> OpenClipEncoder:
    """The stored model as an encoder (its weights load strictly, from safetensors)."""
    from photosense.models.openclip import OpenClipEncoder

    model = read_local(model_id)
    return OpenClipEncoder.create(
        model.architecture,
        str(model.weights),
        device=device,
        model_id=model.id,
        preprocess=model.preprocess,
    )
