"""Background work for the GUI: one generic :class:`Job` and the :class:`JobRunner` that owns pools.

Core long operations are generators of :class:`~photosense.progress.Progress` that return their
result; a :class:`Job` drives one on a pool thread and reports through :class:`JobSignals`. It
never touches a widget: the signals' receivers live on the GUI thread, so Qt queues them there.

Jobs run in *lanes*, each a pool of its own: ``write`` (one thread, so database writes and the
search index updates they make happen one at a time), ``read`` (searches, listings),
``thumbnails`` (decoding images for the grid) and ``models`` (downloads and imports, which
take minutes and touch no library, so they never hold up a search or a write). The library
serialises use of its model and vector index itself (an indexing run holds its lock one batch at
a time, so searches slip in between batches).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from photosense.errors import Cancelled
from photosense.progress import CancelToken, Progress, run_to_end

log = logging.getLogger(__name__)

Work = Callable[[CancelToken], Generator[Progress, None, Any]]


class Lane(enum.Enum):
    """Which pool a job runs on."""

    WRITE = "write"
    READ = "read"
    THUMBNAILS = "thumbnails"
    MODELS = "models"


LANE_THREADS = {Lane.WRITE: 1, Lane.READ: 2, Lane.THUMBNAILS: 2, Lane.MODELS: 1}
PROGRESS_INTERVAL_S = 0.05
"""A callback-reporting job forwards at most one progress record this often (and the last)."""


class JobSignals(QObject):
    """What a job reports; emitted from the pool thread, delivered on the receiver's thread."""

    started = Signal()
    progressed = Signal(object)  # Progress
    finished = Signal(object)  # the generator's return value
    cancelled = Signal()
    failed = Signal(object)  # the Exception
    done = Signal()  # after exactly one of finished / cancelled / failed


class Job(QRunnable):
    """Runs one core generator of Progress to its end on a pool thread.

    ``work`` is called with the job's cancel token and returns the generator. A job whose token
    is set before it starts, or whose generator raises ``Cancelled`` or returns a report with
    ``cancelled`` true, emits ``cancelled`` instead of ``finished``.
    """

    def __init__(
        self,
        work: Work,
        *,
        name: str = "job",
        lane: Lane = Lane.READ,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns the job; the runner keeps it until it reports
        self.work = work
        self.name = name
        self.lane = lane
        self.cancel_token = CancelToken()
        self.signals = JobSignals()

    @classmethod
    def call(
        cls,
        function: Callable[..., Any],
        /,
        *args: Any,
        name: str = "job",
        lane: Lane = Lane.READ,
    ) -> Job:
        """A job for ``function(*args)``, which has no progress to report; it returns the result."""

        def work(_cancel: CancelToken) -> Generator[Progress, None, Any]:
            return function(*args)
            yield  # noqa: B901 - unreachable, but makes this a generator function

        return cls(work, name=name, lane=lane)

    @classmethod
    def reporting(
        cls,
        function: Callable[[Callable[[Progress], None], CancelToken], Any],
        /,
        *,
        name: str = "job",
        lane: Lane = Lane.READ,
    ) -> Job:
        """A job for core work that reports through a callback: ``function(on_progress, cancel)``.

        Progress is forwarded as ``progressed``, thinned to one record per
        :data:`PROGRESS_INTERVAL_S` (and every record that completes a total), so a download
        that reports each chunk does not flood the GUI thread.
        """
        job = cls(_no_work, name=name, lane=lane)  # the real work, below, needs its signals
        progressed = job.signals.progressed  # not the job: no reference cycle through it
        last = [0.0]

        def forward(progress: Progress) -> None:
            now = time.monotonic()
            complete = progress.total is not None and progress.done >= progress.total
            if complete or now - last[0] >= PROGRESS_INTERVAL_S:
                last[0] = now
                progressed.emit(progress)

        def work(cancel: CancelToken) -> Generator[Progress, None, Any]:
            return function(forward, cancel)
            yield  # noqa: B901 - unreachable, but makes this a generator function

        job.work = work
        return job

    def cancel(self) -> None:
        """Ask the work to stop after its current step; a job not yet started will not start."""
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    def run(self) -> None:
        """Pool thread: step the generator, emitting progress; exactly one outcome signal."""
        signals = self.signals
        try:
            if self.cancel_token.cancelled:
                signals.cancelled.emit()
                return
            signals.started.emit()
            steps = self.work(self.cancel_token)
            result = run_to_end(steps, signals.progressed.emit)
            if self.cancel_token.cancelled or getattr(result, "cancelled", False) is True:
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)
        except Cancelled:
            signals.cancelled.emit()
        except Exception as exc:
            log.debug("job %s failed", self.name, exc_info=True)
            signals.failed.emit(exc)
        finally:
            signals.done.emit()


def _no_work(_cancel: CancelToken) -> Generator[Progress, None, None]:
    return
    yield  # noqa: B901 - unreachable, but makes this a generator function


class JobRunner(QObject):
    """Owns the lanes' thread pools and keeps every job alive until it has reported."""

    job_started = Signal(object)  # Job
    job_done = Signal(object)  # Job

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pools: dict[Lane, QThreadPool] = {}
        for lane, threads in LANE_THREADS.items():
            pool = QThreadPool(self)
            pool.setMaxThreadCount(threads)
            pool.setObjectName(f"photosense-{lane.value}")
            self.pools[lane] = pool
        self._jobs: dict[JobSignals, Job] = {}
        self._closed = False

    def start(self, job: Job) -> Job:
        """Queue ``job`` on its lane's pool and return it.

        Connect to the job's signals *before* starting it: a fast job may report at once, and
        the runner drops its reference on ``done``, after every earlier-connected receiver.
        """
        if self._closed:
            # A report that arrives while the window closes may ask for more work: ignore it.
            log.debug("job %s not started: the runner is closed", job.name)
            return job
        self._jobs[job.signals] = job
        job.signals.done.connect(self._on_job_done)
        # The pool gets the bound method, not the QRunnable: PySide keeps every runnable it
        # was given alive for the pool's lifetime (one leaked job per thumbnail), or with
        # auto-delete drops some of them at random; a callable is released after it runs.
        self.pools[job.lane].start(job.run)
        self.job_started.emit(job)
        return job

    def _on_job_done(self) -> None:
        job = self._jobs.pop(self.sender(), None)  # type: ignore[call-overload]
        if job is not None:
            self.job_done.emit(job)

    @property
    def jobs(self) -> frozenset[Job]:
        """Jobs queued or running (or finished, with their report still on its way)."""
        return frozenset(self._jobs.values())

    def busy(self, lane: Lane | None = None) -> bool:
        """Whether any job (in ``lane``) has not yet reported."""
        return any(lane is None or job.lane is lane for job in self._jobs.values())

    def cancel_all(self, lane: Lane | None = None) -> None:
        """Ask every job (in ``lane``) to stop; queued ones will not start."""
        for job in list(self._jobs.values()):
            if lane is None or job.lane is lane:
                job.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every pool is idle (``msecs`` < 0: no limit). True when all are idle."""
        return all(pool.waitForDone(msecs) for pool in self.pools.values())

    def close(self) -> None:
        """Cancel everything and wait for the pools' threads to finish: call on window close."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        for pool in self.pools.values():
            pool.clear()  # queued jobs that never started
        self.wait()
        self._jobs.clear()
