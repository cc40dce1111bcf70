"""Index files on disk, one per model, and the choice between an exact and an HNSW index.

The files are a cache of the vectors in SQLite: anything missing, stale, corrupt or made for
another model loads as ``None`` and the caller rebuilds from the store. Each save writes the data
file and a JSON meta file to temporary names and renames them into place; the meta records the
data file's length and CRC-32, so a torn or damaged file is detected before hnswlib parses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from photosense.arrays import Ids, Vectors
from photosense.fileio import atomic_write
from photosense.vectors.index import ExactIndex, HnswIndex, VectorIndex, table_path
from photosense.vectors.querylinks import link_file

log = logging.getLogger(__name__)

EXACT_THRESHOLD = 20_000
"""Below this many vectors an :class:`ExactIndex` is used; from it on, an :class:`HnswIndex`.

Exact search over 20k 512-d vectors takes ~2 ms (single thread, measured with
benchmarks/bench_search.py), invisible next to the text encoder, with perfect recall, free
updates and no build; an HNSW graph for 20k costs ~5 s to build on two cores.
"""

FORMAT = 2
"""2: written since vector rows record the generation that wrote them, so a file of an older
generation can catch up with the store (:func:`load_stale`); a format-1 file loads only when it
is current."""
_READ_CHUNK = 1 << 22


@dataclass(frozen=True)
class IndexMeta:
    """What the JSON side file says about an index file."""

    model_id: str
    dim: int
    generation: int
    count: int
    kind: str  # "exact" | "hnsw"
    data_bytes: int = 0
    data_crc32: int = 0
    deleted: tuple[int, ...] = ()  # HNSW tombstones, which hnswlib's file cannot tell apart
    format: int = FORMAT
    table_bytes: int = 0  # an HNSW graph's vector table file (0: none, written before tables)
    table_crc32: int = 0
    linked_size: int = 0  # an HNSW graph with query links: the photos it held when they were placed
    text_ef: int = 0  # the text ef calibrated for those links (0: none)


def index_path(index_dir: Path, model_id: str) -> Path:
    """The data file for a model: a readable slug of the id plus a short hash of the exact id."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_id).strip("-.")[:60] or "model"
    digest = hashlib.blake2b(model_id.encode(), digest_size=5).hexdigest()
    return index_dir / f"{slug}-{digest}.index"


def meta_path(index_dir: Path, model_id: str) -> Path:
    """The JSON side file next to :func:`index_path`."""
    data = index_path(index_dir, model_id)
    return data.with_name(data.name + ".json")


def save_index(
    index: VectorIndex,
    index_dir: Path,
    generation: int,
    *,
    query_top: npt.NDArray[np.int64] | None = None,
) -> None:
    """Write the index and its meta atomically; the previous files stay valid until the renames.

    ``query_top`` (an HNSW graph only): training queries' nearest ids, nearest first; the file
    is written with query links placed from them (:func:`.querylinks.link_file`), which the
    index in memory does not have: load the file to search with them.

    The data files (an HNSW graph's vector table, then the graph) are renamed first: a crash
    between the renames leaves a meta whose CRC no longer matches, which loads as ``None``
    (rebuild), never as a wrong index.
    """
    if not isinstance(index, ExactIndex | HnswIndex):
        raise TypeError(f"cannot save a {type(index).__name__}")
    index_dir.mkdir(parents=True, exist_ok=True)
    data_file = index_path(index_dir, index.model_id)
    meta_file = meta_path(index_dir, index.model_id)
    with _temp_file(data_file) as data_tmp, _temp_file(meta_file) as meta_tmp:
        table_tmp = table_path(data_tmp)
        try:
            index.save(data_tmp)
            linked_size = index.linked_size if isinstance(index, HnswIndex) else 0
            calibrated = index.calibrated_ef if isinstance(index, HnswIndex) else 0
            if query_top is not None and isinstance(index, HnswIndex):
                calibrated = 0  # new links: calibrated once loaded (record_text_ef)
                try:
                    linked_size = len(index) if link_file(data_tmp, query_top) else 0
                except Exception:  # the links are a speed-up: never lose the graph for them
                    log.warning("no query links: the graph is saved plain", exc_info=True)
                    index.save(data_tmp)
                    linked_size = 0
            size, crc = _fingerprint(data_tmp, sync=True)
            table_size, table_crc = 0, 0
            if isinstance(index, HnswIndex):
                table_size, table_crc = _fingerprint(table_tmp, sync=True)
            deleted = index.deleted_ids() if isinstance(index, HnswIndex) else np.empty(0, np.int64)
            meta = IndexMeta(
                model_id=index.model_id,
                dim=index.dim,
                generation=generation,
                count=len(index),
                kind=index.kind,
                data_bytes=size,
                data_crc32=crc,
                deleted=tuple(deleted.tolist()),
                table_bytes=table_size,
                table_crc32=table_crc,
                linked_size=linked_size,
                text_ef=calibrated if linked_size else 0,
            )
            with meta_tmp.open("w", encoding="utf-8") as file:
                _dump_meta(meta, file)
            if isinstance(index, HnswIndex):
                os.replace(table_tmp, table_path(data_file))
            else:
                table_path(data_file).unlink(missing_ok=True)
            os.replace(data_tmp, data_file)
            os.replace(meta_tmp, meta_file)
        finally:
            table_tmp.unlink(missing_ok=True)
    _sync_dir(index_dir)
    log.debug("saved %s index of %d vectors to %s", index.kind, len(index), data_file)


def record_text_ef(index_dir: Path, model_id: str, ef: int) -> None:
    """Write the text ef calibrated for a graph's query links into its meta file (atomically);
    nothing when the file has no links."""
    meta = read_meta(index_dir, model_id)
    if meta is None or not meta.linked_size:
        return
    with atomic_write(meta_path(index_dir, model_id), "w", encoding="utf-8") as file:
        _dump_meta(replace(meta, text_ef=ef), file)
    _sync_dir(index_dir)


def _dump_meta(meta: IndexMeta, file: IO[str]) -> None:
    """Write ``meta`` as JSON to ``file`` and make it durable."""
    json.dump(asdict(meta), file)
    file.flush()
    os.fsync(file.fileno())


def read_meta(index_dir: Path, model_id: str) -> IndexMeta | None:
    """The meta of a model's index file, or ``None`` if there is none or it is unreadable."""
    try:
        raw = json.loads(meta_path(index_dir, model_id).read_text(encoding="utf-8"))
        raw["deleted"] = tuple(raw.get("deleted", ()))
        return IndexMeta(**raw)
    except FileNotFoundError:
        return None
    except Exception:
        log.warning("unreadable index meta for %s in %s", model_id, index_dir, exc_info=True)
        return None


def load_index(
    index_dir: Path, model_id: str, dim: int, generation: int, *, served: bool = False
) -> VectorIndex | None:
    """The saved index if it is intact and current for this model, else ``None`` (rebuild it).
    ``served``: an HNSW graph is loaded into a helper process (:mod:`.served`)."""
    meta = read_meta(index_dir, model_id)
    if meta is None:
        return None
    wanted = (model_id, dim, generation)
    if meta.format not in (1, FORMAT) or (meta.model_id, meta.dim, meta.generation) != wanted:
        log.info("index for %s is stale or foreign (%s)", model_id, meta)
        return None
    path = index_path(index_dir, model_id)
    try:
        if _fingerprint(path) != (meta.data_bytes, meta.data_crc32) or (
            meta.table_bytes
            and _fingerprint(table_path(path)) != (meta.table_bytes, meta.table_crc32)
        ):
            log.warning("index file %s does not match its meta; it will be rebuilt", path)
            return None
        index: ExactIndex | HnswIndex
        if meta.kind == "exact":
            index = ExactIndex.load(path, model_id, dim)
        elif meta.kind == "hnsw":
            index = HnswIndex.load(
                path,
                model_id,
                dim,
                meta.deleted,
                served=served,
                linked_size=meta.linked_size,
                calibrated_ef=meta.text_ef,
            )
        else:
            raise ValueError(f"unknown index kind {meta.kind!r}")
    except Exception:
        log.warning("cannot load index file %s; it will be rebuilt", path, exc_info=True)
        return None
    if len(index) != meta.count:
        log.warning("index file %s holds %d vectors, meta says %d", path, len(index), meta.count)
        if isinstance(index, HnswIndex):
            index.close()
        return None
    return index


def load_stale(
    index_dir: Path, model_id: str, dim: int, generation: int, *, served: bool = False
) -> tuple[VectorIndex, int] | None:
    """A saved index of this model at an older generation, intact, with that generation: the
    caller catches it up with the store's changes since then. ``None`` when there is none, or
    when it cannot catch up (damaged, foreign, newer than the store, or written before vector
    rows recorded their generation)."""
    meta = read_meta(index_dir, model_id)
    if meta is None or meta.format != FORMAT or not 0 <= meta.generation < generation:
        return None
    index = load_index(index_dir, model_id, dim, meta.generation, served=served)
    return None if index is None else (index, meta.generation)


def build_index(model_id: str, dim: int, ids: Ids, vectors: Vectors) -> VectorIndex:
    """A fresh index over these vectors: exact below :data:`EXACT_THRESHOLD`, HNSW from it on."""
    if len(ids) < EXACT_THRESHOLD:
        return ExactIndex(model_id, dim, ids, vectors)
    index = HnswIndex(model_id, dim, capacity=len(ids))
    index.add(ids, vectors)
    return index


def maybe_upgrade(index: VectorIndex) -> VectorIndex:
    """An exact index that has grown to :data:`EXACT_THRESHOLD` becomes HNSW; others are kept."""
    if isinstance(index, ExactIndex) and len(index) >= EXACT_THRESHOLD:
        ids = index.ids()
        log.info("upgrading the %s index to HNSW at %d vectors", index.model_id, len(ids))
        return build_index(index.model_id, index.dim, ids, index.vectors_for(ids))
    return index


@contextlib.contextmanager
def _temp_file(target: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` (same file system, so renames are atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _fingerprint(path: Path, sync: bool = False) -> tuple[int, int]:
    """Length and CRC-32 of a file: enough to catch truncation and damage (not tampering)."""
    size, crc = 0, 0
    with path.open("r+b" if sync else "rb") as file:
        while chunk := file.read(_READ_CHUNK):
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
        if sync:
            os.fsync(file.fileno())
    return size, crc


def _sync_dir(directory: Path) -> None:
    """Make the renames durable; directories cannot be opened for syncing on Windows."""
    if os.name == "posix":
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
