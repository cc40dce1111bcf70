"""Tag text vectors, computed once per model and prompt set and kept in a file per model.

Embedding a vocabulary of a thousand tags with a prompt ensemble takes the text tower about a
minute on a CPU, so the vectors are cached under the library folder. Each row is keyed by a hash
of the model id and the tag's exact prompts: renaming a tag or giving it new prompts makes a new
key (its old row is simply not asked for again), and adding one tag embeds one tag.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from photosense.fileio import atomic_write
from photosense.models.encoder import TextEncoder, Vectors, l2_normalise
from photosense.progress import CancelToken
from photosense.tagging.vocabulary import fill, prompt_key

__all__ = ["CACHE_DIR_NAME", "TagVectorCache", "TextEmbedder"]

log = logging.getLogger(__name__)

TextEmbedder = Callable[[TextEncoder, Sequence[str], Sequence[str]], Vectors]
"""``embed(encoder, names, templates)``: one normalised vector per name, the mean of its
templates filled with the name (``photosense.learn.metrics.class_text_vectors``)."""

CACHE_DIR_NAME = "tagging"
"""Folder of the tag vector files inside a library folder."""

MAX_ROWS = 50_000
CHUNK = 32
"""Names embedded per call when filling the cache: a cancel is seen between chunks, and what
was embedded before it is kept."""
"""A cache file that would grow past this keeps only the rows asked for last."""

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class TagVectorCache:
    """Per-model files of prompt-set vectors under ``folder`` (created on first write)."""

    def __init__(self, folder: Path, embed: TextEmbedder) -> None:
        self.folder = folder
        self._embed = embed
        self._rows: dict[str, dict[str, Vectors]] = {}

    def path(self, model_id: str) -> Path:
        digest = hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:8]
        return self.folder / f"{_SLUG.sub('_', model_id)[:60]}-{digest}.npz"

    def vectors(
        self,
        encoder: TextEncoder,
        entries: Sequence[tuple[str, Sequence[str]]],
        cancel: CancelToken | None = None,
    ) -> Vectors:
        """One vector per (name, templates) entry: the embedder's prompt ensemble for it.

        Entries that share their templates (the whole default vocabulary does) are embedded
        together, ``CHUNK`` names a call; a tag with its own prompts passes them as templates with
        no ``{}`` in them. A set ``cancel`` raises ``Cancelled`` between calls, after saving the
        vectors embedded so far (the next call goes on from there).
        """
        model_id = encoder.model_id
        rows = self._load(model_id, encoder.dim)
        keys = [prompt_key(model_id, fill(name, templates)) for name, templates in entries]
        missing: dict[tuple[str, ...], dict[str, str]] = {}
        for key, (name, templates) in zip(keys, entries, strict=True):
            if key not in rows:
                missing.setdefault(tuple(templates), {})[key] = name
        if missing:
            count = sum(len(group) for group in missing.values())
            log.info("embedding %d tags with %s (once; cached afterwards)", count, model_id)
            try:
                for embedded in self._embed_groups(encoder, missing):
                    rows.update(embedded)
                    if cancel is not None and cancel.cancelled:
                        break
            finally:
                self._save(model_id, rows, set(keys))
            if cancel is not None:
                cancel.raise_if_cancelled()
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([rows[k] for k in keys]), dtype=np.float32)

    def _embed_groups(
        self, encoder: TextEncoder, groups: dict[tuple[str, ...], dict[str, str]]
    ) -> Iterator[dict[str, Vectors]]:
        """Vectors for {templates: {key: name}}, ``CHUNK`` names of a shared template set per
        embedder call, handed out call by call.

        Tags with their own prompts have a template set each; rather than one small encoder
        call per tag (slow: hundreds of them in the default vocabulary), their prompts go
        through shared calls as single prompts and are averaged here the same way.
        """
        singles: list[tuple[str, tuple[str, ...]]] = []
        for templates, group in groups.items():
            if len(group) == 1 and "{}" not in "".join(templates):
                singles.extend((key, templates) for key in group)
                continue
            items = list(group.items())
            for start in range(0, len(items), CHUNK):
                chunk = items[start : start + CHUNK]
                vectors = self._embed(encoder, [name for _, name in chunk], templates)
                yield dict(zip((key for key, _ in chunk), vectors.astype(np.float32), strict=True))
        for start in range(0, len(singles), CHUNK):
            batch = singles[start : start + CHUNK]
            prompts = [prompt for _, own in batch for prompt in own]
            each = self._embed(encoder, prompts, ("{}",))
            out: dict[str, Vectors] = {}
            first = 0
            for key, own in batch:
                mean = each[first : first + len(own)].mean(axis=0)
                out[key] = l2_normalise(mean)[0]
                first += len(own)
            yield out

    def stored(self, model_id: str) -> Vectors | None:
        """Every vector the file of ``model_id`` holds (its tags and caption prompts), read
        without the model; None when there is no readable file."""
        read = self._read(model_id)
        if read is None or read[1].ndim != 2:
            return None
        return np.ascontiguousarray(read[1], np.float32)

    def _load(self, model_id: str, dim: int) -> dict[str, Vectors]:
        cached = self._rows.get(model_id)
        if cached is not None:
            return cached
        rows: dict[str, Vectors] = {}
        read = self._read(model_id)
        if read is not None:
            keys, vectors = read
            if vectors.ndim == 2 and vectors.shape == (len(keys), dim):
                rows = {str(k): v.astype(np.float32) for k, v in zip(keys, vectors, strict=True)}
            else:
                log.warning(
                    "ignoring tag vector cache %s: shape %s", self.path(model_id), vectors.shape
                )
        self._rows[model_id] = rows
        return rows

    def _read(self, model_id: str) -> tuple[npt.NDArray[np.str_], Vectors] | None:
        """The keys and vectors of ``model_id``'s file; None when there is none or it is
        unreadable (a cache: it is made again)."""
        path = self.path(model_id)
        try:
            with np.load(path, allow_pickle=False) as stored:
                return stored["keys"], stored["vectors"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, EOFError) as exc:
            log.warning("ignoring unreadable tag vector cache %s: %s", path, exc)
            return None

    def _save(self, model_id: str, rows: dict[str, Vectors], wanted: set[str]) -> None:
        """Write atomically; a cache that cannot be written only costs time later."""
        if len(rows) > MAX_ROWS:
            for key in [k for k in rows if k not in wanted]:
                del rows[key]
        path = self.path(model_id)
        try:
            with atomic_write(path) as handle:
                np.savez(
                    handle,
                    keys=np.array(list(rows), dtype=str),
                    vectors=np.stack(list(rows.values())).astype(np.float32),
                )
        except OSError as exc:
            log.warning("could not write the tag vector cache %s: %s", path, exc)
