"""The indexing pipeline: folders in, photos with vectors out.

A run scans the folders, compares what it finds with the store, and sends only new or changed
files through decoding (worker threads) and the model (the calling thread, in batches), while
earlier batches are written. Each batch is one transaction, so an interrupted run loses at most
the batch in flight, and the next run carries on from there. Moves and renames are recognised by
content hash and keep their vectors; files that vanished are removed; a folder that is not there
at all (an unmounted drive) is marked offline and kept.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from filelock import FileLock, Timeout

from photosense.errors import ImageSkipped, LibraryError
from photosense.media.decode import PhotoMetadata, decode_photo, read_metadata
from photosense.media.hashing import content_hash
from photosense.media.scan import ScannedFile, ScanProblem, printable, scan_folder
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, Progress
from photosense.store.records import (
    Batch,
    FolderRecord,
    Move,
    PhotoFields,
    PhotoState,
    SkippedRecord,
)
from photosense.store.repository import Store
from photosense.vectors.cache import SearchIndexes

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
LOCK_NAME = "indexing.lock"
"""In the index folder: held by the indexing run in progress (of any process)."""
LOCK_POLL_S = 0.1
"""While waiting for another run, how long each step waits: short, because a step holds the
library's lock, which searches in the same process need."""
FILE_TIMEOUT_S = 120.0
"""A file whose reading and decoding takes longer is skipped (``timeout``) and the run goes on.

The slowest real photo measured (a 33-megapixel 10-bit HEIF) takes a few seconds; only a hung
decoder or a stalled drive comes near this.
"""
SCAN_PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class IndexReport:
    """What one indexing run did."""

    indexed: int
    unchanged: int
    removed: int
    moved: int
    skipped: list[SkippedRecord]
    offline: list[str]
    seconds: float
    cancelled: bool = False


@dataclass
class _Counters:
    indexed: int = 0
    unchanged: int = 0
    removed: int = 0
    moved: int = 0
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class _Work:
    """A file that may need the model: a new path, a changed file, or one with no vector."""

    file: ScannedFile
    photo_id: int | None = None  # None for a path the library does not know
    known_hash: str | None = None
    needs_vector: bool = False


@dataclass
class _Prepared:
    work: _Work
    hash: str = ""
    source_id: int | None = None  # a known photo with the same content
    metadata: PhotoMetadata | None = None
    tensor: Any = None
    skipped: ImageSkipped | None = None


@dataclass
class _Plan:
    folder: FolderRecord
    work: list[_Work] = field(default_factory=list)
    vanished: list[PhotoState] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    known_skipped: list[SkippedRecord] = field(default_factory=list)
    fixed_skips: list[str] = field(default_factory=list)
    unchanged: int = 0


@dataclass
class _Run:
    """State shared by the folders of one run: moves can cross folders."""

    counters: _Counters
    reusable: dict[str, tuple[int, bool]]  # content hash -> (photo id, has a vector)
    vanished: dict[int, PhotoState]
    claimed: set[int] = field(default_factory=set)
    skipped: list[SkippedRecord] = field(default_factory=list)
    model_ready: bool = False


def normalise_root(path: str | os.PathLike[str]) -> str:
    """The form in which folder paths are stored: absolute, normalised, no trailing slash."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


class Indexer:
    """Runs indexing for one encoder over one store, mirroring changes into the search index."""

    def __init__(
        self,
        store: Store,
        encoder: Encoder,
        indexes: SearchIndexes,
        *,
        workers: int | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_committed: Callable[[list[int], npt.NDArray[np.float32]], object] | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.indexes = indexes
        self.workers = workers or max(2, min(8, os.cpu_count() or 2))
        self.batch_size = batch_size
        # Called with the ids and vectors of each committed batch's new or re-encoded photos
        # (the library tags them); runs on the indexing thread, between batches.
        self.on_committed = on_committed

    def run(
        self, roots: Iterable[str], cancel: CancelToken | None = None
    ) -> Generator[Progress, None, IndexReport]:
        """Index ``roots`` (registering them) and yield progress; returns the report.

        Setting ``cancel`` stops the run after the batch in flight; what was committed stays,
        and the next run carries on. One run at a time works on a library, in any process: a
        second one waits for the first to end (cancellably), then finds its work done.
        """
        cancel = cancel or CancelToken()
        started = time.perf_counter()
        self.indexes.index_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.indexes.index_dir / LOCK_NAME, mode=0o600)
        if not (yield from _acquire(lock, cancel)):
            return IndexReport(0, 0, 0, 0, [], [], time.perf_counter() - started, cancelled=True)
        try:
            return (yield from self._run(roots, cancel, started))
        finally:
            lock.release()

    def _run(
        self, roots: Iterable[str], cancel: CancelToken, started: float
    ) -> Generator[Progress, None, IndexReport]:
        model_id = self.encoder.model_id
        self.store.vectors.ensure_model(model_id, self.encoder.dim)
        self.indexes.get(model_id)
        counters = _Counters()
        offline: list[str] = []
        plans: list[_Plan] = []
        run: _Run | None = None
        try:
            folders = [self.store.folders.add(root) for root in roots]
            known = self.store.photos.counts_by_folder()

            def went_offline(folder: FolderRecord) -> bool:
                if _available(folder.path, known.get(folder.id, 0) > 0):
                    return False
                log.warning("folder %s is not available; keeping its photos", folder.path)
                self.store.folders.mark(folder.id, online=False)
                offline.append(folder.path)
                return True

            for folder in folders:
                yield Progress(0, None, f"scanning {folder.path}")
                if went_offline(folder):
                    continue
                plan = yield from self._plan(folder, cancel)
                if went_offline(folder):  # gone during the scan: what it saw is incomplete
                    continue
                plans.append(plan)
                counters.unchanged += plan.unchanged
                counters.total += len(plan.work)
            vanished = {s.id: s for plan in plans for s in plan.vanished}
            reusable: dict[str, tuple[int, bool]] = {}
            if any(w.photo_id is None for plan in plans for w in plan.work):
                reusable = {h: (i, True) for h, i in self.store.vectors.hashes(model_id).items()}
                for state in vanished.values():
                    reusable.setdefault(state.content_hash, (state.id, False))
            run = _Run(counters, reusable, vanished)
            for plan in plans:
                if cancel.cancelled:
                    break
                yield from self._execute(plan, run, cancel)
                if went_offline(plan.folder):  # gone while its files were read
                    plan.vanished.clear()
                elif not cancel.cancelled:
                    self.store.folders.mark(plan.folder.id, online=True, scanned=True)
            if not cancel.cancelled:
                self._remove_vanished(run, plans)
        finally:
            self.indexes.save_all()
        skipped = [s for plan in plans for s in (*plan.known_skipped, *plan.skipped)]
        skipped += run.skipped if run is not None else []
        return IndexReport(
            indexed=counters.indexed,
            unchanged=counters.unchanged,
            removed=counters.removed,
            moved=counters.moved,
            skipped=sorted(skipped, key=lambda s: s.path),
            offline=offline,
            seconds=time.perf_counter() - started,
            cancelled=cancel.cancelled,
        )

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, folder: FolderRecord, cancel: CancelToken) -> Generator[Progress, None, _Plan]:
        """Compare a scan with the store: what is unchanged, changed, new, gone, or bad."""
        plan = _Plan(folder)
        known = self.store.photos.states(folder.id)
        known_skips = self.store.photos.skipped_states(folder.id)
        seen: set[str] = set()
        for entry in scan_folder(Path(folder.path), cancel):
            path = str(entry.path)
            seen.add(path)
            if len(seen) % SCAN_PROGRESS_EVERY == 0:
                yield Progress(len(seen), None, f"scanning {folder.path}")
            if isinstance(entry, ScanProblem):
                plan.skipped.append(SkippedRecord(path, entry.kind, entry.reason))
                continue
            state = known.get(path)
            if state is not None:
                if state.size == entry.size and state.mtime_ns == entry.mtime_ns:
                    plan.unchanged += 1
                else:
                    plan.work.append(_Work(entry, state.id, state.content_hash))
                continue
            skip = known_skips.get(path)
            if skip is not None and (skip.size, skip.mtime_ns) == (entry.size, entry.mtime_ns):
                plan.known_skipped.append(skip)
                continue
            if skip is not None:
                plan.fixed_skips.append(path)
            plan.work.append(_Work(entry))
        cancel.raise_if_cancelled()
        # A sub-folder that could not be listed hides its files without deleting them.
        unlisted = tuple(s.path + os.sep for s in plan.skipped)
        plan.vanished = [
            s for p, s in known.items() if p not in seen and not p.startswith(unlisted)
        ]
        plan.fixed_skips.extend(p for p in known_skips if p not in seen)
        # Known photos without a vector for this model: the library was made with another
        # model, or an earlier run stopped before encoding them.
        changed = {w.photo_id for w in plan.work}
        for photo_id, path in self.store.vectors.missing(folder.id, self.encoder.model_id):
            if photo_id in changed or path not in seen:
                continue
            state = known[path]
            plan.unchanged -= 1
            file = ScannedFile(Path(path), state.size, state.mtime_ns)
            plan.work.append(_Work(file, photo_id, state.content_hash, needs_vector=True))
        return plan

    # -- execution --------------------------------------------------------------------------

    def _prepare(self, work: _Work, reusable: dict[str, tuple[int, bool]]) -> _Prepared:
        """Worker thread: hash the file, then decode it unless a known vector can serve."""
        prepared = _Prepared(work)
        try:
            prepared.hash = content_hash(work.file.path)
            if work.photo_id is not None:
                if prepared.hash == work.known_hash and not work.needs_vector:
                    return prepared  # only touched: same content
            elif prepared.hash in reusable:
                prepared.source_id, has_vector = reusable[prepared.hash]
                if has_vector:
                    prepared.metadata = read_metadata(work.file.path)
                    return prepared
            decoded = decode_photo(work.file.path, min_side=self.encoder.image_size)
            prepared.metadata = decoded.metadata
            prepared.tensor = self.encoder.prepare_image(decoded.image)
        except ImageSkipped as exc:
            prepared.skipped = exc
        except Exception as exc:  # a model's preprocessing must not stop the run
            log.exception("unexpected failure preparing %s", work.file.path)
            prepared.skipped = ImageSkipped("unreadable", f"could not be prepared: {exc}")
        return prepared

    def _execute(
        self, plan: _Plan, run: _Run, cancel: CancelToken
    ) -> Generator[Progress, None, None]:
        model_id = self.encoder.model_id
        folder_id = plan.folder.id
        load = getattr(self.encoder, "load", None)
        if plan.work and not run.model_ready and callable(load):
            # A model that loads lazily (the starter builds its class vectors on first use, for
            # seconds) does it now, under its own name, rather than inside the first batch.
            yield Progress(0, None, "preparing the model")
            load()
        run.model_ready = run.model_ready or bool(plan.work)
        if plan.fixed_skips:
            self.store.photos.forget_skipped(plan.fixed_skips)
        batch = Batch(folder_id, skipped=list(plan.skipped))
        pending: list[_Prepared] = []

        def flush() -> Progress:
            nonlocal batch, pending
            if pending:
                vectors = self.encoder.encode_prepared([p.tensor for p in pending])
                for prepared, vector in zip(pending, vectors, strict=True):
                    self._record(prepared, vector, batch, run)
            result = self.store.vectors.commit_batch(model_id, batch)
            self.indexes.apply(model_id, result.upserted, result.removed, result.generation)
            if self.on_committed is not None and result.upserted:
                ids = [photo_id for photo_id, _ in result.upserted]
                self.on_committed(ids, np.stack([vector for _, vector in result.upserted]))
            batch, pending = Batch(folder_id), []
            return Progress(run.counters.done, run.counters.total, "indexing")

        started: dict[int, float] = {}  # id(work) -> when a worker began preparing it
        pool = self._pool()

        def submit(work: _Work) -> tuple[_Work, Future[_Prepared]]:
            return work, pool.submit(self._prepare_timed, work, run.reusable, started)

        queue: deque[tuple[_Work, Future[_Prepared]]] = deque()
        todo = iter(plan.work)
        window = self.workers * 2 + self.batch_size
        try:
            while not cancel.cancelled:
                while len(queue) < window:
                    work = next(todo, None)
                    if work is None:
                        break
                    queue.append(submit(work))
                if not queue:
                    break
                work, future = queue.popleft()
                prepared = _result_within(future, work, started)
                if prepared is None:
                    log.warning(
                        "%s took over %.0f s to prepare; skipped", work.file.path, FILE_TIMEOUT_S
                    )
                    prepared = _Prepared(work, skipped=_timed_out())
                    # Its thread stays busy: a fresh pool takes the files still waiting.
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool()
                    queue = deque(submit(w) if f.cancelled() else (w, f) for w, f in queue)
                if prepared.tensor is not None:
                    pending.append(prepared)
                else:
                    self._record(prepared, None, batch, run)
                if len(pending) >= self.batch_size or len(batch) >= 8 * self.batch_size:
                    yield flush()
        finally:
            for _, future in queue:
                future.cancel()
            pool.shutdown(wait=True)
        if pending or len(batch):
            yield flush()

    def _pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.workers, thread_name_prefix="photosense-decode")

    def _prepare_timed(
        self, work: _Work, reusable: dict[str, tuple[int, bool]], started: dict[int, float]
    ) -> _Prepared:
        started[id(work)] = time.monotonic()
        return self._prepare(work, reusable)

    def _record(
        self,
        prepared: _Prepared,
        vector: npt.NDArray[np.float32] | None,
        batch: Batch,
        run: _Run,
    ) -> None:
        """Main thread: turn one prepared file (and its vector, if encoded) into batch rows."""
        work, file, counters = prepared.work, prepared.work.file, run.counters
        counters.done += 1
        if prepared.skipped is not None:
            skipped = SkippedRecord(
                str(file.path),
                prepared.skipped.kind,
                prepared.skipped.reason,
                file.size,
                file.mtime_ns,
            )
            run.skipped.append(skipped)
            # A file that vanished meanwhile (its drive went away) is not remembered as bad:
            # when it is back, the next run takes it.
            if prepared.skipped.kind != "missing":
                batch.skipped.append(skipped)
            return
        if work.photo_id is not None:
            batch.touched.append((work.photo_id, file.size, file.mtime_ns))
            if vector is None:
                counters.unchanged += 1
            elif prepared.hash == work.known_hash:
                batch.embedded.append((work.photo_id, vector))
                counters.indexed += 1
            else:
                batch.changed.append((work.photo_id, self._fields(prepared), vector))
                counters.indexed += 1
            return
        source = run.vanished.get(prepared.source_id or -1)
        if source is not None and source.id not in run.claimed:
            run.claimed.add(source.id)
            batch.moves.append(
                Move(source.id, str(file.path), batch.folder_id, file.size, file.mtime_ns)
            )
            if vector is not None:
                batch.embedded.append((source.id, vector))
            counters.moved += 1
            return
        if vector is None:
            assert prepared.source_id is not None
            index = self.indexes.get(self.encoder.model_id)
            assert index is not None
            vector = index.vectors_for([prepared.source_id])[0]
        batch.new.append((self._fields(prepared), vector))
        counters.indexed += 1

    def _remove_vanished(self, run: _Run, plans: Sequence[_Plan]) -> None:
        # Not the photos of a folder that went offline during the run: their plans were cleared.
        vanished = {state.id for plan in plans for state in plan.vanished}
        gone = [i for i in run.vanished if i not in run.claimed and i in vanished]
        if not gone:
            return
        result = self.store.vectors.commit_batch(
            self.encoder.model_id, Batch(plans[0].folder.id, removed=gone)
        )
        self.indexes.remove_photos(result.removed)
        run.counters.removed += len(gone)

    @staticmethod
    def _fields(prepared: _Prepared) -> PhotoFields:
        """The store's row for a prepared file: its identity plus what its header said."""
        file, meta = prepared.work.file, prepared.metadata
        header = {} if meta is None else dataclasses.asdict(meta)
        return PhotoFields(str(file.path), file.size, file.mtime_ns, prepared.hash, **header)


def _available(folder: str, has_photos: bool) -> bool:
    """Whether a library folder is there to scan.

    A folder that is missing is offline; so is one that is empty although photos were indexed
    in it: the mount point of a drive that is not mounted looks exactly like that, and taking
    it for "every photo deleted" would purge them.
    """
    try:
        with os.scandir(folder) as entries:
            return not has_photos or next(entries, None) is not None
    except OSError:
        return False


def _result_within(
    future: Future[_Prepared], work: _Work, started: dict[int, float]
) -> _Prepared | None:
    """The prepared file, or None once its preparation has run for ``FILE_TIMEOUT_S``.

    The limit counts from when a worker began on the file, not while it waited its turn.
    """
    while True:
        began = started.get(id(work))
        wait = LOCK_POLL_S if began is None else began + FILE_TIMEOUT_S - time.monotonic()
        try:
            return future.result(timeout=max(wait, 0.0))
        except TimeoutError:
            if began is not None:
                return None


def _timed_out() -> ImageSkipped:
    return ImageSkipped(
        "timeout",
        f"reading and decoding this file took over {FILE_TIMEOUT_S:.0f} s, so it was skipped: "
        "it may be damaged, or on a slow or failing drive. It is tried again when it changes",
    )


def _acquire(lock: FileLock, cancel: CancelToken) -> Generator[Progress, None, bool]:
    """Take ``lock``, saying that we wait while another run holds it; False if cancelled."""
    try:
        lock.acquire(timeout=0)
        return True
    except Timeout:
        log.info("waiting for another indexing run on this library to finish")
    while not cancel.cancelled:
        yield Progress(0, None, "waiting for another indexing run on this library to finish")
        try:
            lock.acquire(timeout=LOCK_POLL_S)
            return True
        except Timeout:
            continue
    return False


def check_roots(paths: Iterable[str], known: Iterable[str]) -> list[str]:
    """Normalise roots; a path that does not exist is an error unless it is a known folder."""
    known_set = set(known)
    roots = []
    for raw in paths:
        root = normalise_root(raw)
        if printable(root) != root:
            raise LibraryError(
                f"the folder name {printable(root)} is not valid UTF-8 (it was probably written "
                "by a system that uses another character set); rename it to index it"
            )
        if not os.path.isdir(root) and root not in known_set:
            if os.path.exists(root):
                raise LibraryError(f"{raw} is a file, not a folder: give the folder that holds it")
            raise LibraryError(f"folder not found: {raw}")
        roots.append(root)
    return roots
