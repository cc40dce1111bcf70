"""The indexing pipeline: folders in, photos out at once, their vectors behind them.

A run scans the folders, compares what it finds with the store, and works in two phases, so that
new photos can be browsed long before the model has seen them:

1. **Adding** (no model needed): new and changed files are hashed and their headers read
   (dimensions, date taken, camera, place) in worker threads, and they are written to the
   store in small early batches, without a vector; each batch's :class:`IndexProgress` says
   how many photos became browsable. Moves and renames are recognised by content hash and
   keep their ids, albums, tags and vectors; files that vanished are removed; a folder that
   is not there at all (an unmounted drive) is marked offline and kept.
2. **Indexing**: every photo of the scanned folders that has no vector for the model (just
   added, left by a run that stopped, or a model switch) goes to the embedding step
   (:mod:`photosense.embedding`: decoding threads and the encoder here, or a cluster's
   workers), and the vectors it streams back are written here, batch by batch, by this one
   writer. A copy of a photo that has a vector reuses it. A photo whose pixels turn out to be
   unreadable is recorded as skipped with its reason and removed again (unless another model
   has a vector of it).

Each batch is one transaction, so an interrupted run loses at most the batch in flight, and the
next run carries on from there. Cancelling stops at the next photo, without waiting for the files
being read: the batch being encoded finishes, and the photos read but not encoded wait for the
next run.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from filelock import FileLock, Timeout

from photosense import embedding
from photosense.embedding import EmbedRequest, EmbedStep, LocalEmbedding, timed_out
from photosense.errors import ImageSkipped, LibraryError
from photosense.media.decode import PhotoMetadata, read_metadata
from photosense.media.hashing import content_hash
from photosense.media.parallel import in_order
from photosense.media.scan import ScannedFile, ScanProblem, printable, scan_files
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, IndexProgress, Progress
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

LOCK_NAME = "indexing.lock"
"""In the index folder: held by the indexing run in progress (of any process)."""
LOCK_POLL_S = 0.1
"""While waiting for another run, how long each step waits: short, because a step holds the
library's lock, which searches in the same process need."""
FILE_TIMEOUT_S = embedding.FILE_TIMEOUT_S
"""A file whose reading (and decoding) takes longer is skipped (``timeout``); see there."""
SCAN_PROGRESS_EVERY = 2000
ADDED_FIRST_BATCH = 8
"""Photos in the first batch added to a library: the first screen of the grid, at once."""
ADDED_MAX_BATCH = 512
"""Added batches double up to this: fewer transactions once the first photos are shown."""
ADDED_WAIT_S = 0.5
"""An added batch waits no longer than this for more photos (a slow drive)."""
REUSED_BATCH = 512
"""Photos per transaction when copies reuse the vectors of their originals (nothing to encode)."""

ADDING = "adding photos"
PREPARING = "preparing the model"
INDEXING = "indexing"

W = TypeVar("W")
R = TypeVar("R")


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
    done: int = 0  # of the phase under way
    total: int = 0


@dataclass(frozen=True)
class _Work:
    """A file to add: a path the library does not know, or a known photo whose file changed."""

    file: ScannedFile
    photo_id: int | None = None  # None for a path the library does not know
    known_hash: str | None = None


@dataclass
class _Added:
    work: _Work
    hash: str = ""
    metadata: PhotoMetadata | None = None  # None for a known photo whose content is the same
    skipped: ImageSkipped | None = None


@dataclass(frozen=True)
class _Embed:
    """A photo in the store without a vector for the model."""

    photo_id: int
    file: ScannedFile
    hash: str
    counts: bool  # counted as indexed (a photo moved in this run counts as moved)


@dataclass
class _Plan:
    folder: FolderRecord
    work: list[_Work] = field(default_factory=list)
    vanished: list[PhotoState] = field(default_factory=list)
    skipped: list[SkippedRecord] = field(default_factory=list)
    known_skipped: list[SkippedRecord] = field(default_factory=list)
    fixed_skips: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    unchanged: int = 0
    offline: bool = False  # went away during the run


@dataclass
class _Run:
    """State shared by the folders of one run: moves can cross folders."""

    counters: _Counters
    vanished: dict[int, PhotoState]
    by_hash: dict[str, list[int]]  # content hash -> vanished photos with it
    claimed: set[int] = field(default_factory=set)
    written: set[str] = field(default_factory=set)  # paths added, changed or moved in this run
    moved: set[str] = field(default_factory=set)
    skipped: list[SkippedRecord] = field(default_factory=list)


def normalise_root(path: str | os.PathLike[str]) -> str:
    """The form in which folder paths are stored: absolute, normalised, no trailing slash."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


class Indexer:
    """Runs indexing over one store, mirroring changes into the search index.

    ``load_encoder`` is called once the photos are added (adding needs no model); the encoder
    it returns embeds them, here (:class:`~photosense.embedding.LocalEmbedding`) or through the
    step ``embedding`` makes of it (a cluster's). ``before_embedding`` (steps of its own, e.g.
    preparing tags) runs once the model is loaded, when there is something to embed.
    """

    def __init__(
        self,
        store: Store,
        load_encoder: Callable[[], Encoder],
        indexes: SearchIndexes,
        *,
        workers: int | None = None,
        batch_size: int | None = None,
        on_committed: Callable[[list[int], npt.NDArray[np.float32]], object] | None = None,
        before_embedding: Callable[[], Generator[Progress, None, None]] | None = None,
        embedding: Callable[[Encoder], EmbedStep] | None = None,
    ) -> None:
        self.store = store
        self.load_encoder = load_encoder
        self.indexes = indexes
        self.workers = workers or max(2, min(8, os.cpu_count() or 2))
        self.batch_size = batch_size  # None: what suits the encoder's device
        # Called with the ids and vectors of each committed batch's new or re-encoded photos
        # (the library tags them); runs on the indexing thread, between batches.
        self.on_committed = on_committed
        self.before_embedding = before_embedding
        self.embedding = embedding

    def run(
        self, roots: Iterable[str], cancel: CancelToken | None = None
    ) -> Generator[Progress, None, IndexReport]:
        """Index ``roots`` (registering them) and yield progress; returns the report.

        Progress records are :class:`IndexProgress`: one with ``browsable`` photos says that
        new photos can be shown. Setting ``cancel`` stops the run at the next photo; what was
        committed stays, and the next run carries on. One run at a time works on a library, in
        any process: a second one waits for the first to end (cancellably), then finds its work
        done.
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
                yield IndexProgress(0, None, f"scanning {folder.path}")
                if went_offline(folder):
                    continue
                plan = yield from self._plan(folder, cancel)
                if went_offline(folder):  # gone during the scan: what it saw is incomplete
                    continue
                plans.append(plan)
                counters.unchanged += plan.unchanged
                counters.total += len(plan.work)
            vanished = {s.id: s for plan in plans for s in plan.vanished}
            by_hash: dict[str, list[int]] = {}
            for state in vanished.values():
                by_hash.setdefault(state.content_hash, []).append(state.id)
            run = _Run(counters, vanished, by_hash)
            for plan in plans:
                if cancel.cancelled:
                    break
                yield from self._add(plan, run, cancel)
                if went_offline(plan.folder):  # gone while its files were read
                    plan.vanished.clear()
                    plan.offline = True
                elif not cancel.cancelled:
                    self.store.folders.mark(plan.folder.id, online=True, scanned=True)
            if not cancel.cancelled:
                self._remove_vanished(run, plans)
                yield from self._embed(plans, run, cancel, went_offline)
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
        seen = plan.seen
        # Paths stay strings here: a ScannedFile (its Path) is made only for the files to read.
        for entry in scan_files(Path(folder.path), cancel):
            if isinstance(entry, ScanProblem):
                path = str(entry.path)
                seen.add(path)
                plan.skipped.append(SkippedRecord(path, entry.kind, entry.reason))
                continue
            path, size, mtime_ns = entry
            seen.add(path)
            if len(seen) % SCAN_PROGRESS_EVERY == 0:
                yield IndexProgress(len(seen), None, f"scanning {folder.path}")
            state = known.get(path)
            if state is not None:
                if state.size == size and state.mtime_ns == mtime_ns:
                    plan.unchanged += 1
                else:
                    plan.work.append(_Work(entry.scanned(), state.id, state.content_hash))
                continue
            skip = known_skips.get(path)
            if skip is not None and (skip.size, skip.mtime_ns) == (size, mtime_ns):
                plan.known_skipped.append(skip)
                continue
            if skip is not None:
                plan.fixed_skips.append(path)
            plan.work.append(_Work(entry.scanned()))
        cancel.raise_if_cancelled()
        # A sub-folder that could not be listed hides its files without deleting them.
        unlisted = tuple(s.path + os.sep for s in plan.skipped)
        plan.vanished = [
            s for p, s in known.items() if p not in seen and not p.startswith(unlisted)
        ]
        plan.fixed_skips.extend(p for p in known_skips if p not in seen)
        return plan

    # -- phase 1: adding photos -------------------------------------------------------------

    def _add(self, plan: _Plan, run: _Run, cancel: CancelToken) -> Generator[Progress, None, None]:
        """Write the plan's new and changed files as photos without vectors, in batches that
        start small (the first photos show at once) and grow."""
        if plan.fixed_skips:
            self.store.photos.forget_skipped(plan.fixed_skips)
        batch = Batch(plan.folder.id, skipped=list(plan.skipped))
        limit, last = ADDED_FIRST_BATCH, time.monotonic()
        for work, added in self._in_order(plan.work, self._read, cancel, self.workers * 4):
            added = added or _Added(work, skipped=timed_out(work.file, FILE_TIMEOUT_S))
            self._record_added(added, batch, run)
            now = time.monotonic()
            if len(batch) >= limit or (len(batch) and now - last >= ADDED_WAIT_S):
                yield self._commit_added(batch, run)
                batch, limit, last = Batch(plan.folder.id), min(2 * limit, ADDED_MAX_BATCH), now
        if len(batch):
            yield self._commit_added(batch, run)

    @staticmethod
    def _read(work: _Work) -> _Added:
        """Worker thread: hash a file, and read its header unless its content is known."""
        added = _Added(work)
        path = work.file.path
        try:
            added.hash = content_hash(path)
            if added.hash == work.known_hash:
                return added  # only touched: same content
            added.metadata = read_metadata(path)
        except ImageSkipped as exc:
            added.skipped = exc
        except Exception as exc:  # a library's bug must not stop the run
            log.exception("unexpected failure reading %s", path)
            added.skipped = ImageSkipped("unreadable", f"could not be read: {exc}")
        return added

    def _record_added(self, added: _Added, batch: Batch, run: _Run) -> None:
        """Main thread: turn one read file into batch rows."""
        work, file, counters = added.work, added.work.file, run.counters
        path = str(file.path)
        counters.done += 1
        if added.skipped is not None:
            _skip(file, added.skipped, batch, run)
            return
        if work.photo_id is not None:
            batch.touched.append((work.photo_id, file.size, file.mtime_ns))
            if added.metadata is None:
                counters.unchanged += 1
            else:
                batch.changed.append((work.photo_id, _fields(added), None))
                run.written.add(path)
            return
        source = next((i for i in run.by_hash.get(added.hash, ()) if i not in run.claimed), None)
        if source is not None:
            run.claimed.add(source)
            batch.moves.append(Move(source, path, batch.folder_id, file.size, file.mtime_ns))
            run.written.add(path)
            run.moved.add(path)
            counters.moved += 1
            return
        batch.new.append((_fields(added), None))
        run.written.add(path)

    def _commit_added(self, batch: Batch, run: _Run) -> IndexProgress:
        result = self.store.vectors.commit_batch(None, batch)
        dropped = [photo_id for photo_id, _, _ in batch.changed]  # their vectors are stale
        if result.removed or dropped:
            self.indexes.remove_photos([*result.removed, *dropped])
        browsable = len(batch.new) + len(batch.changed) + len(batch.moves)
        counters = run.counters
        return IndexProgress(counters.done, counters.total, ADDING, browsable=browsable)

    def _remove_vanished(self, run: _Run, plans: Sequence[_Plan]) -> None:
        # Not the photos of a folder that went offline during the run: their plans were cleared.
        vanished = {state.id for plan in plans for state in plan.vanished}
        gone = [i for i in run.vanished if i not in run.claimed and i in vanished]
        if not gone:
            return
        result = self.store.vectors.commit_batch(None, Batch(plans[0].folder.id, removed=gone))
        self.indexes.remove_photos(result.removed)
        run.counters.removed += len(gone)

    # -- phase 2: embedding -----------------------------------------------------------------

    def _embed(
        self,
        plans: Sequence[_Plan],
        run: _Run,
        cancel: CancelToken,
        went_offline: Callable[[FolderRecord], bool],
    ) -> Generator[Progress, None, None]:
        """Give every photo of the scanned folders that lacks one a vector of the model;
        ``went_offline`` checks each folder after its photos were read (a drive unplugged)."""
        if not plans:
            return
        encoder = self.load_encoder()
        model_id = encoder.model_id
        self.store.vectors.ensure_model(model_id, encoder.dim)
        counters = run.counters
        todo: list[tuple[_Plan, list[_Embed]]] = []
        for plan in plans:
            missing = [
                (photo_id, path)
                for photo_id, path in self.store.vectors.missing(plan.folder.id, model_id)
                if path in plan.seen
            ]
            if plan.offline or not missing:
                continue
            states = self.store.photos.states(plan.folder.id)
            work = []
            for photo_id, path in missing:
                state = states[path]
                if path not in run.written:
                    counters.unchanged -= 1  # counted as unchanged while scanning
                file = ScannedFile(Path(path), state.size, state.mtime_ns)
                work.append(_Embed(photo_id, file, state.content_hash, path not in run.moved))
            todo.append((plan, work))
        if not todo:
            return  # the index is not loaded: a rescan that finds nothing to embed never waits
        self.indexes.get(model_id)  # loaded before the batches, which are mirrored into it
        counters.done, counters.total = 0, sum(len(work) for _, work in todo)
        # A model that loads lazily (the starter builds its class vectors on first use, for
        # seconds) does it now, under its own name, rather than inside the first batch.
        yield IndexProgress(0, None, PREPARING)
        load = getattr(encoder, "load", None)
        if callable(load):
            load()
        if self.before_embedding is not None:
            yield from self.before_embedding()
        step = (
            self.embedding(encoder)
            if self.embedding is not None
            else LocalEmbedding(
                encoder, workers=self.workers, batch_size=self.batch_size, timeout_s=FILE_TIMEOUT_S
            )
        )
        reusable = self.store.vectors.hashes(model_id)
        for plan, work in todo:
            if cancel.cancelled:
                break
            yield from self._embed_folder(plan.folder.id, work, step, reusable, run, cancel)
            went_offline(plan.folder)

    def _embed_folder(
        self,
        folder_id: int,
        work: Sequence[_Embed],
        step: EmbedStep,
        reusable: dict[str, int],
        run: _Run,
        cancel: CancelToken,
    ) -> Generator[Progress, None, None]:
        """Embed one folder's photos through ``step``, committing each chunk it answers; a copy
        of a photo that has a vector reuses it. Each photo is recorded once, whatever the step
        answers twice."""
        model_id = step.model_id
        batch = Batch(folder_id)

        def commit() -> Progress:
            nonlocal batch
            result = self.store.vectors.commit_batch(model_id, batch)
            self.indexes.apply(model_id, result.upserted, result.removed, result.generation)
            if self.on_committed is not None and result.upserted:
                ids = [photo_id for photo_id, _ in result.upserted]
                self.on_committed(ids, np.stack([vector for _, vector in result.upserted]))
            batch = Batch(folder_id)
            return IndexProgress(run.counters.done, run.counters.total, INDEXING)

        waiting: dict[int, _Embed] = {}
        requests: list[EmbedRequest] = []
        for item in work:
            source = reusable.get(item.hash)
            if source is None or source == item.photo_id:
                waiting[item.photo_id] = item
                requests.append(EmbedRequest(item.photo_id, item.file))
                continue
            index = self.indexes.get(model_id)
            assert index is not None
            self._record_embedded(item, index.vectors_for([source])[0], None, batch, run)
            if len(batch) >= REUSED_BATCH:
                yield commit()
        for chunk in step.embed(requests, cancel):
            for answer in chunk:
                if answer.photo_id in waiting:  # else answered already (a retried batch)
                    item = waiting.pop(answer.photo_id)
                    self._record_embedded(item, answer.vector, answer.skipped, batch, run)
            if len(batch):
                yield commit()
        if len(batch):
            yield commit()

    def _record_embedded(
        self,
        item: _Embed,
        vector: npt.NDArray[np.float32] | None,
        skipped: ImageSkipped | None,
        batch: Batch,
        run: _Run,
    ) -> None:
        """Main thread: one photo's vector, or why it has none, into batch rows."""
        run.counters.done += 1
        if skipped is not None or vector is None:
            problem = skipped or ImageSkipped("unreadable", "the model gave it no vector")
            _skip(item.file, problem, batch, run)
            if problem.kind != "missing":  # gone meanwhile: the next run looks again
                batch.unreadable.append(item.photo_id)
            return
        batch.embedded.append((item.photo_id, vector))
        if item.counts:
            run.counters.indexed += 1

    def _in_order(
        self, items: Sequence[W], prepare: Callable[[W], R], cancel: CancelToken, window: int
    ) -> Iterator[tuple[W, R | None]]:
        return in_order(
            items,
            prepare,
            cancel,
            workers=self.workers,
            window=window,
            timeout_s=FILE_TIMEOUT_S,
        )


def _fields(added: _Added) -> PhotoFields:
    """The store's row for an added file: its identity plus what its header said."""
    file, meta = added.work.file, added.metadata
    header = {} if meta is None else dataclasses.asdict(meta)
    return PhotoFields(str(file.path), file.size, file.mtime_ns, added.hash, **header)


def _skip(file: ScannedFile, problem: ImageSkipped, batch: Batch, run: _Run) -> None:
    """Record a file that cannot be a photo, with why."""
    skipped = SkippedRecord(str(file.path), problem.kind, problem.reason, file.size, file.mtime_ns)
    run.skipped.append(skipped)
    # A file that vanished meanwhile (its drive went away) is not remembered as bad: when it is
    # back, the next run takes it.
    if problem.kind != "missing":
        batch.skipped.append(skipped)


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
