"""What the fault tests share: photo folders, the child command line, and the invariants.

``check_library`` asserts what must hold whenever photosense stops, however it stopped: the
database passes SQLite's integrity and foreign-key checks, no photo is there twice, every
vector is whole, and an index file on disk is either exactly the store's vectors or refused
(so it is rebuilt). ``assert_kept`` says that nothing committed before was lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photosense.library import Library
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.models.fake import FAKE_MODEL_ID
from photosense.paths import DATABASE_NAME, INDEX_DIR_NAME
from photosense.store.repository import Store
from photosense.vectors import load_index
from tests.conftest import save_photo
from tests.faults.child import fake_models

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT_S = 300


def make_photos(root: Path, count: int, seed: int, *, folders: int = 4) -> list[Path]:
    """``count`` small JPEGs of distinct random colours in ``folders`` sub-folders."""
    rng = random.Random(seed)
    colours: set[tuple[int, int, int]] = set()
    while len(colours) < count:
        colours.add((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    return [
        save_photo(root / f"album{i % folders}" / f"photo{i:04}.jpg", colour, size=(48, 32))
        for i, colour in enumerate(sorted(colours))
    ]


def photo_files(root: Path) -> set[str]:
    """The JPEG paths under ``root`` now (what a complete index must hold)."""
    return {str(p) for p in root.rglob("*.jpg")}


@dataclass(frozen=True)
class Child:
    code: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.code == -9


def run_child(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    preexec: Callable[[], object] | None = None,
    report: Path | None = None,
) -> Child:
    """Run the photosense command line in a child process (see ``tests/faults/child.py``)."""
    environment = {**os.environ, **(env or {})}
    if report is not None:
        environment["FAULT_REPORT"] = str(report)
    done = subprocess.run(
        [sys.executable, "-m", "tests.faults.child", *map(str, args)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        preexec_fn=preexec,
        check=False,
    )
    return Child(done.returncode, done.stdout, done.stderr)


def assert_clean_failure(child: Child) -> None:
    """A failure the user can read: one ``photosense:`` line, a non-zero exit, no traceback."""
    assert child.code not in (0, -9), child.stderr
    assert "Traceback" not in child.stderr, child.stderr
    assert "photosense: " in child.stderr, child.stderr


@dataclass(frozen=True)
class LibraryState:
    """What a library holds: photo ids by path, vector ids by model, and its index files."""

    photos: dict[str, int]
    vectors: dict[str, set[int]]
    index_files: dict[str, str]  # model -> "current" (matches the store) or "rebuild"
    settings: dict[str, object]


def check_library(library: Path, allowed: Iterable[str]) -> LibraryState:
    """Assert the invariants of a library at rest; ``allowed`` are the paths it may hold."""
    allowed = set(allowed)
    with closing(sqlite3.connect(library / DATABASE_NAME)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        if not tables:  # killed between creating the file and creating the tables
            return LibraryState({}, {}, {}, {})
        rows = db.execute("SELECT id, path, content_hash FROM photos").fetchall()
        embeddings = db.execute(
            "SELECT photo_id, model_id, dim, dtype, vector FROM embeddings"
        ).fetchall()
        models = dict(db.execute("SELECT id, dim FROM models").fetchall())
        generations = dict(db.execute("SELECT id, generation FROM models").fetchall())
        settings = {
            k: None if v is None else json.loads(v)
            for k, v in db.execute("SELECT key, value FROM settings")
        }
    photos = {path: photo_id for photo_id, path, _ in rows}
    assert len(photos) == len(rows), "a path is in the library twice"
    hashes = [content_hash for _, _, content_hash in rows]
    assert len(set(hashes)) == len(hashes), "one photo is in the library twice"
    assert set(photos) <= allowed, f"unexpected photos: {sorted(set(photos) - allowed)[:5]}"
    vectors: dict[str, dict[int, np.ndarray]] = {m: {} for m in models}
    for photo_id, model_id, dim, dtype, blob in embeddings:
        vector = np.frombuffer(blob, "<f2" if dtype == "f2" else "<f4").astype(np.float32)
        assert dim == models[model_id] == len(vector), "a torn or mis-sized vector"
        assert np.isfinite(vector).all() and abs(np.linalg.norm(vector) - 1) < 2e-3
        vectors[model_id][photo_id] = vector
    index_files = {}
    for model_id, dim in models.items():
        index = load_index(library / INDEX_DIR_NAME, model_id, dim, generations[model_id])
        if index is None:
            index_files[model_id] = "rebuild"
            continue
        stored = vectors[model_id]
        assert set(index.ids().tolist()) == set(stored), "an index file disagrees with the store"
        if stored:
            ids = sorted(stored)
            np.testing.assert_allclose(
                index.vectors_for(ids), np.stack([stored[i] for i in ids]), atol=1e-3
            )  # the store keeps float16
        index_files[model_id] = "current"
    return LibraryState(photos, {m: set(v) for m, v in vectors.items()}, index_files, settings)


def assert_kept(before: LibraryState, after: LibraryState, existing: set[str]) -> None:
    """Every photo committed before whose file is still there is kept, with the same id and
    (for each model) its vector."""
    kept = {p: i for p, i in before.photos.items() if p in existing}
    assert kept.items() <= after.photos.items(), "a committed photo was lost or renumbered"
    for model_id, ids in before.vectors.items():
        still = ids & set(kept.values())
        assert still <= after.vectors.get(model_id, set()), f"vectors of {model_id} were lost"


def open_library(library: Path, *, tagging: bool = True) -> Library:
    """The library in this process, over the same fake models the child uses; ``tagging``
    False turns auto-tagging off in it (tests that need no tags run faster)."""
    opened = Library(Store.open(library), library, fake_models)
    if not tagging:
        opened.store.settings.set(AUTO_TAG_KEY, False)
    return opened


def assert_complete(library: Path, root: Path, model_id: str = FAKE_MODEL_ID) -> LibraryState:
    """Everything under ``root`` is indexed with ``model_id`` and searches find it."""
    files = photo_files(root)
    state = check_library(library, files)
    assert set(state.photos) == files
    assert state.vectors[model_id] == set(state.photos.values())
    with open_library(library) as lib:
        assert lib.models.current().model_id == model_id
        for path in sorted(files)[:3]:  # each photo is its own nearest neighbour
            hits = lib.search.similar(path, limit=len(files)).hits
            assert len(hits) == len(files) - 1
            assert path not in {h.photo.path for h in hits}
    return state


def exact_vector(path: str, model_id: str = FAKE_MODEL_ID) -> np.ndarray:
    """The vector the fake model gives the photo at ``path``."""
    encoder = fake_models(model_id)
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(encoder.encode_images([image.convert("RGB")])[0])


def tree_snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every file and folder under ``root``: (mode, size, mtime_ns, sha256 of the content)."""
    snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        snapshot[str(path.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return snapshot
