"""A large indexed library written in bulk, for the benchmarks that need one (1M photos).

Writing photos through ``store.vectors.commit_batch`` goes through the ORM one photo at a time
(about 16 ms a photo on a loaded machine: hours for 1M). These helpers write the same rows an
indexing run leaves (photos, their fake-encoder vectors, the caption-read fingerprints) with
one multi-row INSERT per chunk, through the library's own schema, the marks of the analyses
that are on (faces, text: each photo seen, nothing found), then build and save the search index
through the library as a first search would.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.captions import caption_files
from photosense.models.fake import FakeEncoder
from photosense.store.photos import photo_columns
from photosense.store.records import PhotoFields
from photosense.store.repository import Store
from photosense.store.schema import Analysis, CaptionRead, Embedding, Photo
from photosense.store.vectors import STORED_DTYPE, encode_vector

CHUNK = 20_000


def _chunked(items: Iterable[PhotoFields], size: int) -> Iterator[list[PhotoFields]]:
    chunk: list[PhotoFields] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def fill_library(
    directory: Path, root: Path, photos: Iterable[PhotoFields], count: int, seed: int = 0
) -> None:
    """A library in ``directory`` holding ``root`` as its one folder, scanned, with the
    ``count`` photos of ``photos``, each with a fake-encoder vector of a random colour, their
    captions read (fingerprints of the files on disk, for those that exist), the analyses that
    are on done (nothing found), auto-tagging off, and a saved search index."""
    started = time.perf_counter()
    store = Store.open(directory)
    encoder = FakeEncoder()
    store.vectors.ensure_model(encoder.model_id, encoder.dim)
    store.settings.set("active_model", encoder.model_id)
    store.settings.set(AUTO_TAG_KEY, False)
    folder = store.folders.add(os.fspath(root))
    library = Library(store, directory, lambda _spec: encoder)
    analyses = library.analysis
    versions = {k: analyses.analyser(k).version for k in analyses.kinds() if analyses.enabled(k)}
    rng = np.random.default_rng(seed)
    now = datetime.now()
    written = 0
    with store.engine.begin() as connection:
        for chunk in _chunked(photos, CHUNK):
            first = written + 1  # ids of a fresh table, in order
            rows = [
                {"id": first + i, "folder_id": folder.id, "indexed_at": now, **photo_columns(f)}
                for i, f in enumerate(chunk)
            ]
            connection.execute(insert(Photo), rows)
            colours = rng.random((len(chunk), 3))
            connection.execute(
                insert(Embedding),
                [
                    {
                        "photo_id": first + i,
                        "model_id": encoder.model_id,
                        "dim": encoder.dim,
                        "dtype": STORED_DTYPE,
                        "vector": encode_vector(encoder.colour_vector(colours[i])[0]),
                        "changed": 1,
                    }
                    for i in range(len(chunk))
                ],
            )
            files = caption_files((r["id"], r["path"], r["size"], r["mtime_ns"]) for r in rows)
            if files:
                connection.execute(
                    insert(CaptionRead),
                    [
                        {"photo_id": i, "fingerprint": f.fingerprint, "read_at": now}
                        for i, f in files.items()
                    ],
                )
            for kind, version in versions.items():
                connection.execute(
                    insert(Analysis),
                    [
                        {
                            "photo_id": r["id"],
                            "kind": kind,
                            "version": version,
                            "fingerprint": r["content_hash"],
                            "found": 0,
                            "failure": None,
                            "analysed_at": now,
                        }
                        for r in rows
                    ],
                )
            written += len(chunk)
            print(f"  library: {written:,} of {count:,} rows", flush=True)
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE models SET generation = 1 WHERE id = ?", (encoder.model_id,)
        )
    store.folders.mark(folder.id, online=True, scanned=True)
    print(f"  rows written in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    library.runtime.indexes.background = False  # built here and saved, not in a thread
    library.search.text("red", limit=1)
    library.close()
    print(f"  search index built in {time.perf_counter() - started:.0f} s", flush=True)


def photo_fields(
    paths: Sequence[str], sizes: Sequence[int], mtimes: Sequence[int], hashes: Sequence[str]
) -> Iterator[PhotoFields]:
    """Rows for files as an indexing run reads them (JPEG headers of a 4000x3000 camera)."""
    for path, size, mtime_ns, content_hash in zip(paths, sizes, mtimes, hashes, strict=True):
        yield PhotoFields(
            path=path,
            size=size,
            mtime_ns=mtime_ns,
            content_hash=content_hash,
            width=4000,
            height=3000,
            format="JPEG",
        )
