"""open_clip weights in the Hugging Face cache: is a model downloaded, fetch it, remove it.

The files are exactly those open_clip itself reads for ``create_model(arch, pretrained=tag)``:
the checkpoint named by the tag's ``hf_hub`` entry (its ``.safetensors`` alternative first, as
open_clip tries it) plus, for architectures whose text tower or tokenizer comes from
``transformers``, the config and tokenizer files of those repositories. Nothing is stored
anywhere else, so a model downloaded by any open_clip program is found here too. For catalogue
models the catalogue records open_clip's entries, so nothing here imports open_clip (or torch)
unless the pair is not in the catalogue.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photosense.errors import ModelError, ModelNotDownloadedError
from photosense.models.catalogue import find_entry, load_catalogue
from photosense.progress import CancelToken, Progress

if TYPE_CHECKING:
    from huggingface_hub import HFCacheInfo

log = logging.getLogger(__name__)

SUPPORT_PATTERNS = ["*.json", "*.model", "*.txt", "*.tiktoken"]
"""Config and tokenizer files of a ``transformers`` text tower (never its weights)."""

HF_WEIGHTS_NAME = "open_clip_pytorch_model.bin"
HF_SAFE_WEIGHTS_NAME = "open_clip_model.safetensors"
"""open_clip.pretrained's default checkpoint names (a test keeps them equal)."""

ProgressCallback = Callable[[Progress], object]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_GIT_SHA1 = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class HubSource:
    """Where open_clip fetches ``arch``/``pretrained`` from."""

    arch: str
    pretrained: str
    repo: str
    filenames: tuple[str, ...]
    """Checkpoint names open_clip tries, in its order (the safetensors alternative first)."""
    support: tuple[tuple[str, str], ...]
    """(repository, a file that proves it is cached) for transformers configs and tokenizers."""

    @property
    def label(self) -> str:
        return f"{self.arch}/{self.pretrained}"


def hub_source(arch: str, pretrained: str) -> HubSource:
    """The hub files behind an open_clip (architecture, pretrained tag) pair.

    A catalogue pair is read from the catalogue (no open_clip import), any other from
    open_clip's tables. Raises ``ModelError`` when open_clip knows no such pair, or fetches it
    from a plain URL rather than the hub (no such model is in the catalogue).
    """
    return catalogue_hub_source(arch, pretrained) or open_clip_hub_source(arch, pretrained)


def catalogue_hub_source(arch: str, pretrained: str) -> HubSource | None:
    """:func:`hub_source` for a catalogue pair (no open_clip import), None for any other."""
    tag = pretrained.lower().replace("-", "_")  # how open_clip normalises a tag
    for entry in load_catalogue().entries:
        if (entry.architecture, entry.pretrained) == (arch, tag):
            names = (entry.hf_model_name, entry.hf_tokenizer_name)
            return _hub_source(arch, pretrained, entry.hf_hub, *names)
    return None


def open_clip_hub_source(arch: str, pretrained: str) -> HubSource:
    """:func:`hub_source` from open_clip's own tables (imports open_clip, so torch)."""
    import open_clip
    from open_clip import pretrained as oc_pretrained

    cfg = oc_pretrained.get_pretrained_cfg(arch, pretrained)
    if not cfg:
        raise ModelError(f"open_clip has no pretrained weights {arch}/{pretrained}")
    text_cfg = (open_clip.get_model_config(arch) or {}).get("text_cfg", {})
    names = (text_cfg.get("hf_model_name"), text_cfg.get("hf_tokenizer_name"))
    return _hub_source(arch, pretrained, cfg.get("hf_hub", ""), *names)


def _hub_source(
    arch: str,
    pretrained: str,
    location: str,
    hf_model_name: str | None,
    hf_tokenizer_name: str | None,
) -> HubSource:
    """What open_clip reads for an ``hf_hub`` location and a ``text_cfg``'s hf names."""
    if not location:
        raise ModelError(f"{arch}/{pretrained} is not on the Hugging Face hub; import its file")
    repo, filename = os.path.split(location)
    # Mirrors open_clip.pretrained.download_pretrained_from_hf.
    filename = filename or HF_WEIGHTS_NAME
    names = [filename]
    if filename == HF_WEIGHTS_NAME:
        names.insert(0, HF_SAFE_WEIGHTS_NAME)
    elif filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    support: dict[str, str] = {}
    if hf_model_name:
        support[hf_model_name] = "config.json"
    if hf_tokenizer_name:
        support.setdefault(hf_tokenizer_name, "tokenizer_config.json")
    return HubSource(arch, pretrained, repo, tuple(names), tuple(support.items()))


def cached_file(repo: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename)
    return Path(found) if isinstance(found, str) else None


def cached_weights(source: HubSource) -> Path | None:
    """The checkpoint file in the local cache, or None."""
    for name in source.filenames:
        path = cached_file(source.repo, name)
        if path is not None:
            return path
    return None


def is_downloaded(arch: str, pretrained: str) -> bool:
    """Whether everything open_clip needs for the pair is in the local cache (no network)."""
    source = hub_source(arch, pretrained)
    if cached_weights(source) is None:
        return False
    return all(cached_file(repo, marker) is not None for repo, marker in source.support)


def not_downloaded(source: HubSource) -> ModelNotDownloadedError:
    """The error for weights that are not cached and cannot be fetched now, with what a front
    needs to say how to get them onto this machine."""
    entry = find_entry(source.label)
    return ModelNotDownloadedError(
        entry.id if entry is not None else source.label,
        source.arch,
        label=source.label,
        repo=source.repo,
        filenames=source.filenames,
        support=tuple(repo for repo, _ in source.support),
    )


def _progress_class(
    on_progress: ProgressCallback | None, cancel: CancelToken | None, label: str
) -> type[Any]:
    """A silent tqdm for huggingface_hub that forwards byte counts and honours ``cancel``.

    Raising ``Cancelled`` from ``update`` stops the download between chunks; huggingface_hub
    keeps the partial file and resumes it next time.
    """
    from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

    class ForwardingBar(hf_tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
            self.done = int(kwargs.get("initial") or 0)
            self.report()

        def update(self, n: float | None = 1) -> bool | None:
            if cancel is not None:
                cancel.raise_if_cancelled()
            self.done += int(n or 0)
            self.report()
            result: bool | None = super().update(n)
            return result

        def report(self) -> None:
            if on_progress is not None:
                total = int(self.total) if self.total else None
                on_progress(Progress(self.done, total, label))

    return ForwardingBar


def download(
    arch: str,
    pretrained: str,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Fetch the pair's files into the Hugging Face cache (no-op for cached files).

    Reports bytes through ``on_progress``. Offline (``HF_HUB_OFFLINE=1`` or no connection) with
    the files missing, raises ``ModelError`` saying how to get them; ``cancel`` raises
    ``Cancelled`` between chunks. Returns the checkpoint's path.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    source = hub_source(arch, pretrained)
    try:
        weights = cached_weights(source) or _download_weights(source, on_progress, cancel)
        for repo, marker in source.support:
            if cached_file(repo, marker) is not None:
                continue
            # Small files over several parallel bars: announce them, report no bytes.
            if on_progress is not None:
                on_progress(Progress(0, None, f"fetching {repo} (tokenizer, config)"))
            quiet = _progress_class(None, cancel, repo)
            folder = snapshot_download(repo, allow_patterns=SUPPORT_PATTERNS, tqdm_class=quiet)
            for file in sorted(Path(folder).rglob("*")):
                if file.is_file():
                    verify_download(file)
    except LocalEntryNotFoundError as exc:
        raise not_downloaded(source) from exc
    except (HfHubHTTPError, OSError) as exc:  # refused by the hub, a full disk, permissions
        raise ModelError(f"downloading {source.label} failed: {exc}") from exc
    log.info("%s is in the Hugging Face cache: %s", source.label, weights)
    return weights


def _download_weights(
    source: HubSource, on_progress: ProgressCallback | None, cancel: CancelToken | None
) -> Path:
    """The first of the checkpoint names the repository has, downloaded."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError, RemoteEntryNotFoundError

    for name in source.filenames:
        bar = _progress_class(on_progress, cancel, f"downloading {source.label}")
        try:
            path = Path(hf_hub_download(source.repo, name, tqdm_class=bar))
            verify_download(path)
            return path
        except LocalEntryNotFoundError:
            raise
        except RemoteEntryNotFoundError:
            log.debug("%s has no %s; trying the next name", source.repo, name)
    raise ModelError(f"{source.repo} on huggingface.co has none of {', '.join(source.filenames)}")


def verify_download(path: Path) -> None:
    """Check a file in the Hugging Face cache against the hash it is stored under.

    The cache names each file's content (its blob) by the hub's etag: the SHA-256 of the
    content for large (LFS) files, the git blob SHA-1 for small ones. huggingface_hub itself
    checks only the size, so a file whose content does not match is deleted here and the
    download refused. A cache that copies instead of linking (no hash in the name) is trusted.
    """
    blob = path.resolve()
    expected = blob.name
    if _SHA256.fullmatch(expected):
        digest = hashlib.sha256()
    elif _GIT_SHA1.fullmatch(expected):
        digest = hashlib.sha1(f"blob {blob.stat().st_size}\0".encode())
    else:
        log.debug("%s is not named by its hash; not verified", path)
        return
    with blob.open("rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        blob.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise ModelError(
            f"the download of {path.name} is damaged: its content does not match the hash the "
            f"hub gave for it ({expected}). It was deleted; run the same command again to "
            "download it afresh"
        )


def _scan_cache() -> HFCacheInfo:
    """scan_cache_dir over the cache huggingface_hub uses now (its default is bound at import)."""
    from huggingface_hub import constants, scan_cache_dir

    return scan_cache_dir(constants.HF_HUB_CACHE)


def cached_repo_sizes() -> dict[str, int]:
    """Bytes on disk of each model repository in the Hugging Face cache (scans the cache)."""
    from huggingface_hub.errors import CacheNotFound

    try:
        info = _scan_cache()
    except CacheNotFound:
        return {}
    return {repo.repo_id: repo.size_on_disk for repo in info.repos if repo.repo_type == "model"}


def remove_download(arch: str, pretrained: str) -> int:
    """Delete the pair's checkpoint repository from the Hugging Face cache; returns bytes freed.

    Shared tokenizer repositories (``xlm-roberta-base``…) are small and may serve other
    programs, so they stay. Raises ``ModelError`` when nothing is downloaded.
    """
    from huggingface_hub.errors import CacheNotFound

    source = hub_source(arch, pretrained)
    try:
        info = _scan_cache()
    except CacheNotFound:
        info = None
    repos = [] if info is None else [r for r in info.repos if r.repo_id == source.repo]
    revisions = [rev.commit_hash for repo in repos for rev in repo.revisions]
    if info is None or not revisions:
        raise ModelError(f"{source.label} is not downloaded; there is nothing to remove")
    strategy = info.delete_revisions(*revisions)
    freed = int(strategy.expected_freed_size)
    strategy.execute()
    log.info("removed %s from the Hugging Face cache (%d bytes)", source.repo, freed)
    return freed
