"""The job pattern: one Job drives a core generator; the runner owns pools and closes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from photosense.errors import Cancelled, PhotosenseError
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.progress import CancelToken, Progress
from tests.gui.conftest import WAIT_MS, RunnerWatch, assert_runner_idle


def counting(n: int, cancel: CancelToken) -> Generator[Progress, None, str]:
    for i in range(n):
        if cancel.cancelled:
            return "stopped"
        yield Progress(i + 1, n, "counting")
    return f"counted {n}"


@dataclass(frozen=True)
class Report:
    cancelled: bool


class Recorder(QObject):
    """Receives job signals on the GUI thread (a QObject, so deliveries are queued)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []
        self.threads: set[int] = set()

    def connect_to(self, job: Job) -> None:
        job.signals.progressed.connect(self.on_progressed)
        job.signals.finished.connect(self.on_finished)
        job.signals.cancelled.connect(self.on_cancelled)
        job.signals.failed.connect(self.on_failed)

    def on_progressed(self, progress: Progress) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(("progressed", progress))

    def on_finished(self, result: object) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(("finished", result))

    def on_cancelled(self) -> None:
        self.events.append(("cancelled", None))

    def on_failed(self, exc: object) -> None:
        self.events.append(("failed", exc))


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    runner = JobRunner()
    yield runner
    runner.close()
    assert_runner_idle(runner)


def test_run_synchronously_emits_progress_then_the_result(qtbot: QtBot) -> None:
    job = Job(lambda cancel: counting(3, cancel))
    recorder = Recorder()
    recorder.connect_to(job)
    job.run()
    kinds = [kind for kind, _ in recorder.events]
    assert kinds == ["progressed", "progressed", "progressed", "finished"]
    assert recorder.events[-1][1] == "counted 3"
    assert recorder.events[0][1] == Progress(1, 3, "counting")


def test_job_on_a_pool_reports_on_the_gui_thread(qtbot: QtBot, runner: JobRunner) -> None:
    job = Job(lambda cancel: counting(5, cancel))
    recorder = Recorder()
    recorder.connect_to(job)
    with qtbot.waitSignal(job.signals.done, timeout=WAIT_MS):
        runner.start(job)
    qtbot.waitUntil(lambda: any(k == "finished" for k, _ in recorder.events))
    assert recorder.threads == {threading.get_ident()}
    assert recorder.events[-1] == ("finished", "counted 5")
    qtbot.waitUntil(lambda: not runner.jobs)


def test_a_generator_that_raises_emits_failed_with_the_exception(qtbot: QtBot) -> None:
    def broken(_cancel: CancelToken) -> Generator[Progress, None, None]:
        yield Progress(0, None, "starting")
        raise PhotosenseError("the disk caught fire")

    job = Job(broken)
    with qtbot.waitSignal(job.signals.failed) as blocker:
        job.run()
    assert isinstance(blocker.args[0], PhotosenseError)
    assert str(blocker.args[0]) == "the disk caught fire"


def test_failed_on_a_pool(qtbot: QtBot, runner: JobRunner) -> None:
    def boom() -> None:
        raise ValueError("boom")

    job = Job.call(boom)
    recorder = Recorder()
    recorder.connect_to(job)
    runner.start(job)
    qtbot.waitUntil(lambda: bool(recorder.events), timeout=WAIT_MS)
    kind, exc = recorder.events[0]
    assert kind == "failed" and isinstance(exc, ValueError)


def test_cancel_before_start_never_runs_the_work(qtbot: QtBot) -> None:
    ran = []

    def work(_cancel: CancelToken) -> Generator[Progress, None, None]:
        ran.append(True)
        yield Progress(0, 1)

    job = Job(work)
    job.cancel()
    with qtbot.waitSignal(job.signals.cancelled):
        job.run()
    assert not ran


def test_cancel_between_steps(qtbot: QtBot) -> None:
    job = Job(lambda cancel: counting(100, cancel))
    seen: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        seen.append(progress)
        if progress.done == 2:
            job.cancel()

    job.signals.progressed.connect(on_progress)
    with qtbot.waitSignal(job.signals.cancelled):
        job.run()
    assert [p.done for p in seen] == [1, 2]


def test_cancelled_error_and_cancelled_report_mean_cancelled(qtbot: QtBot) -> None:
    def raises(_cancel: CancelToken) -> Generator[Progress, None, None]:
        raise Cancelled("cancelled")
        yield  # noqa: B901

    def reports(_cancel: CancelToken) -> Generator[Progress, None, Report]:
        yield Progress(1, 1)
        return Report(cancelled=True)

    for work in (raises, reports):
        job = Job(work)
        with qtbot.waitSignal(job.signals.cancelled):
            job.run()


def test_job_call_wraps_a_plain_function(qtbot: QtBot) -> None:
    job = Job.call(lambda a, b: a + b, 2, 3)
    with qtbot.waitSignal(job.signals.finished) as blocker:
        job.run()
    assert blocker.args == [5]


def test_write_lane_runs_one_job_at_a_time(qtbot: QtBot, runner: JobRunner) -> None:
    active = 0
    most = 0
    lock = threading.Lock()

    def write() -> None:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    jobs = [runner.start(Job.call(write, lane=Lane.WRITE)) for _ in range(5)]
    assert runner.busy(Lane.WRITE)
    assert runner.wait(WAIT_MS)
    assert most == 1
    qtbot.waitUntil(lambda: not runner.jobs)
    assert all(job not in runner.jobs for job in jobs)


def test_close_cancels_queued_and_running_jobs(qtbot: QtBot) -> None:
    runner = JobRunner()
    started = threading.Event()

    def slow(cancel: CancelToken) -> Generator[Progress, None, str]:
        started.set()
        while not cancel.cancelled:
            time.sleep(0.005)
            yield Progress(0, None)
        return "stopped"

    running = runner.start(Job(slow, lane=Lane.WRITE))
    queued = runner.start(Job(slow, lane=Lane.WRITE))
    assert started.wait(5)
    runner.close()
    assert running.cancelled and queued.cancelled
    assert_runner_idle(runner)
    # A report arriving after close may ask for more work: it is ignored, not an error.
    late = runner.start(Job.call(lambda: None))
    assert late not in runner.jobs


def test_finished_jobs_are_freed(qtbot: QtBot) -> None:
    """The pool must not keep jobs alive once they have reported (one job per thumbnail)."""
    import gc
    import weakref

    runner = JobRunner()
    refs: list[weakref.ref[Job]] = []
    try:
        for _ in range(20):
            job = Job.call(lambda: 1, name="tiny")
            refs.append(weakref.ref(job))
            with qtbot.waitSignal(job.signals.done, timeout=WAIT_MS):
                runner.start(job)
        del job
        qtbot.waitUntil(lambda: not runner.jobs, timeout=WAIT_MS)
        assert runner.wait(WAIT_MS)
        gc.collect()
        assert [r for r in refs if r() is not None] == []
    finally:
        runner.close()
    assert_runner_idle(runner)


def test_a_job_left_running_is_caught(qtbot: QtBot, no_job_threads_left: RunnerWatch) -> None:
    """The check after each GUI test sees a runner it made with a job thread still running."""
    release = threading.Event()
    runner = JobRunner()
    assert any(made is runner for made in no_job_threads_left.runners)
    job = Job.call(release.wait, WAIT_MS / 1000, name="left behind", lane=Lane.WRITE)
    with qtbot.waitSignal(job.signals.started, timeout=WAIT_MS):
        runner.start(job)
    assert no_job_threads_left.running(grace_ms=50) == ["write pool: 1 running ['left behind']"]
    release.set()
    runner.close()
    assert no_job_threads_left.running(grace_ms=50) == []
