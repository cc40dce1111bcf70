"""The indexing queue: runs that embed photos (indexing folders, switching models) one at a time
on the write lane, their progress and live refreshes while they run, and what the last one did;
and forgetting a folder."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from photosense.gui.dialogs import confirm as ask
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.words import user_message
from photosense.library import IndexReport, Library, SwitchReport
from photosense.progress import CancelToken, IndexProgress, Progress

LIVE_REFRESH_S = 2.5  # how often the grid and counts refresh while indexing
ADDED_REFRESH_S = 0.5  # how often, at most, while photos are being added (they show at once)
STARTING = "Starting…"
SHOWN_MS = 15000  # how long an outcome stays in the status bar
FAILURE_SHOWN_MS = 30000


class RunKind(enum.Enum):
    """What an embedding run does: index folders, or re-embed the library for a model switch."""

    INDEX = "index"
    SWITCH = "switch"


@dataclass(frozen=True)
class Run:
    """A queued run's kind, and the verb that starts its progress line ("Indexing 120 of 500")."""

    kind: RunKind = RunKind.INDEX
    verb: str = "Indexing"


INDEXING = Run()


class IndexingController(QObject):
    """Queues embedding runs (database writes are serialised) and reports on them."""

    began = Signal(str, str)  # the status line's text and the run's verb
    progressed = Signal(object, int)  # Progress, runs queued behind it
    busy_changed = Signal(bool)  # a run is queued or running
    scanning = Signal()  # a folder is being scanned: it shows in the sidebar at once
    refresh_due = Signal()  # time to show what the run has added so far
    started = Signal(object)  # Job, queued
    ended = Signal()  # a run is over (finished, cancelled or failed)
    model_switched = Signal()  # a model switch is over
    folder_removed = Signal(int)  # photos forgotten
    reported = Signal(str, int)  # an outcome in words, and how long to show it (ms; 0: until next)

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        *,
        batch_size: int | None = None,  # None: what suits the model's device
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.batch_size = batch_size
        self.widget = parent  # dialogs are asked over it
        self.jobs: list[Job] = []
        self.switch_job: Job | None = None
        self.last_outcome = ""
        self._runs: dict[object, Run] = {}  # a run's job signals -> the run
        self.switch_name = ""  # the model the last switch embedded with
        self._last_live_refresh = 0.0
        # Photos added while a refresh was too recent show when this fires.
        self._added_timer = QTimer(self)
        self._added_timer.setSingleShot(True)
        self._added_timer.timeout.connect(self._refresh)

    def start_indexing(self, paths: Sequence[str] | None = None) -> Job:
        """Index ``paths`` (None: rescan every folder) in the background."""
        return self.start(self.create_job(paths))

    def rescan(self, folder: str | None) -> Job:
        """Look for new, changed and deleted photos in ``folder`` (None: every folder)."""
        return self.start_indexing([folder] if folder else None)

    def create_job(self, paths: Sequence[str] | None = None) -> Job:
        """An indexing job wired to the queue, not started yet (tests connect to it first)."""
        library, batch_size = self.library, self.batch_size
        roots = list(paths or ())

        def work(cancel: CancelToken) -> Any:
            return library.folders.index(roots, cancel, batch_size=batch_size)

        job = Job(work, name="index", lane=Lane.WRITE)
        return self._wire(job, self._on_index_finished)

    def switch_model(
        self, spec: str, before_start: Callable[[Job], None] | None = None
    ) -> Job | None:
        """Re-embed the library with ``spec`` in the background, then search with it.

        ``before_start`` gets the job before it starts, to connect to its signals.
        """
        if self.switch_job is not None:
            return None
        library, batch_size = self.library, self.batch_size

        def work(cancel: CancelToken) -> Any:
            return library.models.use(spec, cancel, batch_size=batch_size)

        job = Job(work, name="switch model", lane=Lane.WRITE)
        self.switch_job, self.switch_name = job, spec
        self._wire(job, self._on_switch_finished)
        job.signals.done.connect(self._on_switch_done)
        if before_start is not None:
            before_start(job)
        return self.start(job, Run(RunKind.SWITCH, f"Embedding with {spec}"))

    def _wire(self, job: Job, on_finished: Callable[[Any], None]) -> Job:
        job.signals.started.connect(self._on_started)
        job.signals.progressed.connect(self._on_progress)
        job.signals.finished.connect(on_finished)
        job.signals.cancelled.connect(self._on_cancelled)
        job.signals.failed.connect(self._on_failed)
        job.signals.done.connect(self._on_done)
        return job

    def start(self, job: Job, run: Run = INDEXING) -> Job:
        """Queue a run; runs happen one at a time (database writes are serialised)."""
        self.jobs.append(job)
        self._runs[job.signals] = run
        if len(self.jobs) == 1:
            self.began.emit(STARTING, run.verb)
        self.busy_changed.emit(True)
        self.runner.start(job)
        self.started.emit(job)
        return job

    def cancel(self) -> None:
        """Stop the runs after the batch in flight; queued runs do not start."""
        for job in self.jobs:
            job.cancel()

    def _run(self) -> Run:
        return self._runs.get(self.sender(), INDEXING)

    def _report(self, text: str, shown_ms: int = SHOWN_MS) -> None:
        self.last_outcome = text
        self.reported.emit(text, shown_ms)

    def _on_started(self) -> None:
        self._last_live_refresh = 0.0  # the first photos a run adds show at once
        self.began.emit(STARTING, self._run().verb)

    def _on_progress(self, progress: Progress) -> None:
        self.progressed.emit(progress, len(self.jobs) - 1)
        since = time.monotonic() - self._last_live_refresh
        if progress.total is None and progress.message.startswith("scanning"):
            self.scanning.emit()
        elif isinstance(progress, IndexProgress) and progress.browsable:
            # New photos are in the library (no vectors yet): the grid shows them now.
            if since >= ADDED_REFRESH_S:
                self._refresh()
            elif not self._added_timer.isActive():
                self._added_timer.start(round((ADDED_REFRESH_S - since) * 1000))
        elif since >= LIVE_REFRESH_S:
            self._refresh()

    def _refresh(self) -> None:
        self._added_timer.stop()
        self._last_live_refresh = time.monotonic()
        self.refresh_due.emit()

    def _on_index_finished(self, report: IndexReport) -> None:
        rate = report.indexed / report.seconds if report.seconds > 0 else 0.0
        parts = [f"Indexed {report.indexed:,} photos in {report.seconds:.1f} s ({rate:.1f}/s)"]
        if report.removed:
            parts.append(f"{report.removed:,} removed")
        if report.moved:
            parts.append(f"{report.moved:,} moved")
        if report.skipped:
            parts.append(f"{len(report.skipped):,} skipped")
        if report.offline:
            parts.append(f"{len(report.offline)} folder(s) offline, photos kept")
        self._report(", ".join(parts))

    def _on_switch_finished(self, report: SwitchReport) -> None:
        if report.activated:
            self._report(f"Searches now use {report.model_id}")

    def _on_cancelled(self) -> None:
        if self._run().kind is RunKind.INDEX:
            text = "Indexing stopped. What was indexed is kept; rescan (F5) to finish."
        else:
            text = (
                "Switching models stopped. The photos done are kept; choose the model again "
                "on the Models page to carry on."
            )
        self._report(text)

    def _on_failed(self, exc: object) -> None:
        what = "Indexing" if self._run().kind is RunKind.INDEX else "Switching models"
        self._report(f"{what} failed: {user_message(exc)}", FAILURE_SHOWN_MS)

    def _on_done(self) -> None:
        self._added_timer.stop()  # the window refreshes after a run anyway
        sender = self.sender()
        self._runs.pop(sender, None)
        self.jobs = [j for j in self.jobs if j.signals is not sender]
        if not self.jobs:
            self.busy_changed.emit(False)
        self.ended.emit()

    def _on_switch_done(self) -> None:
        self.switch_job = None
        self.model_switched.emit()

    def remove_folder(self, path: str, *, confirm: bool = True) -> Job | None:
        """Forget ``path`` and its photos (the files stay), after asking."""
        if confirm and not ask(
            self.widget,
            "Remove folder",
            f"Remove {path} from the library?\n\nThe photos stay on disk; photosense "
            "forgets them and what it learnt about them.",
        ):
            return None
        library = self.library
        job = Job.call(
            lambda: library.folders.remove(path),
            name="remove folder",
            lane=Lane.WRITE,
        )
        job.signals.finished.connect(self._on_folder_removed)
        job.signals.failed.connect(lambda exc: self.reported.emit(user_message(exc), 0))
        return self.runner.start(job)

    def _on_folder_removed(self, removed: int) -> None:
        self.reported.emit(f"Folder removed ({removed:,} photos forgotten)", 8000)
        self.folder_removed.emit(removed)
