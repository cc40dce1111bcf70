"""Running analyses over the photos that need them: decoded once, analysed on worker threads,
saved in batches (each batch one transaction per analysis), resumable and cancellable."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from photosense.analysis.base import Analyser, AnalysisFailed, Outcome
from photosense.errors import ImageSkipped
from photosense.media.decode import decode_for_analysis
from photosense.media.parallel import in_order
from photosense.progress import CancelToken, Progress
from photosense.store.records import PhotoToAnalyse
from photosense.store.repository import Store

log = logging.getLogger(__name__)

PHOTO_TIMEOUT_S = 120.0
"""A photo whose decoding and analyses take longer is marked as timed out and the run goes on
(analyses bound their own time far below this; only a hung decoder or drive comes near)."""
SAVE_EVERY = 16
"""Photos per saved batch: little is lost when the run stops, and writes stay few."""
SAVE_AFTER_S = 2.0
"""A batch is saved at least this often, so slow analyses show their results as they go."""
TIMED_OUT = "reading and analysing the photo took too long"


@dataclass
class AnalysisReport:
    """What one run did: photos analysed (per kind), failures (per kind), and whether it was
    stopped before the end."""

    analysed: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cancelled: bool = False


@dataclass(frozen=True)
class _Job:
    photo: PhotoToAnalyse
    analysers: tuple[Analyser[Any], ...]


def analyse(
    store: Store,
    analysers: Sequence[Analyser[Any]],
    cancel: CancelToken | None = None,
    *,
    workers: int | None = None,
) -> Generator[Progress, None, AnalysisReport]:
    """Run ``analysers`` on every photo one of them has not seen in its present content and
    version; yields progress, returns the report. What was saved stays when the run is stopped,
    and the next run does the rest."""
    cancel = cancel or CancelToken()
    started = time.perf_counter()
    report = AnalysisReport({a.kind: 0 for a in analysers}, {a.kind: 0 for a in analysers})
    if cancel.cancelled:  # stopped before it started (indexing cancelled): says nothing
        report.cancelled = True
        return report
    jobs = _jobs(store, analysers)
    if not jobs:
        return report
    message = "looking for " + " and ".join(a.kind for a in analysers)
    yield Progress(0, len(jobs), message)
    workers = workers or max(1, min(4, (os.cpu_count() or 2) - 1))
    pending: dict[str, dict[int, Outcome[Any]]] = {a.kind: {} for a in analysers}
    by_kind = {a.kind: a for a in analysers}
    last_save = time.monotonic()

    def save() -> None:
        for kind, outcomes in pending.items():
            if outcomes:
                by_kind[kind].save(dict(outcomes))
                report.analysed[kind] += len(outcomes)
                report.failed[kind] += sum(o.failure is not None for o in outcomes.values())
                outcomes.clear()

    done = 0
    for job, outcomes in in_order(
        jobs, _run, cancel, workers=workers, window=workers * 2, timeout_s=PHOTO_TIMEOUT_S
    ):
        for analyser in job.analysers:
            outcome = None if outcomes is None else outcomes.get(analyser.kind)
            pending[analyser.kind][job.photo.photo_id] = outcome or Outcome(
                None, TIMED_OUT, job.photo.content_hash
            )
        done += 1
        waiting = max(len(o) for o in pending.values())
        if waiting >= SAVE_EVERY or time.monotonic() - last_save >= SAVE_AFTER_S:
            save()
            last_save = time.monotonic()
            yield Progress(done, len(jobs), message)
    save()
    report.cancelled = cancel.cancelled
    report.seconds = time.perf_counter() - started
    if not report.cancelled:
        yield Progress(len(jobs), len(jobs), message)
    log.info("analysed %d photos in %.1f s: %s", done, report.seconds, report.analysed)
    return report


def _jobs(store: Store, analysers: Sequence[Analyser[Any]]) -> list[_Job]:
    """Each photo that needs analysing, with the analyses it needs, in the order of the store."""
    needs: dict[int, tuple[PhotoToAnalyse, list[Analyser[Any]]]] = {}
    for analyser in analysers:
        for photo in store.analyses.pending(analyser.kind, analyser.version):
            needs.setdefault(photo.photo_id, (photo, []))[1].append(analyser)
    return [_Job(photo, tuple(needed)) for _, (photo, needed) in sorted(needs.items())]


def _run(job: _Job) -> dict[str, Outcome[Any]]:
    """Decode the photo once, at the largest size asked, and run each analysis on it."""
    fingerprint = job.photo.content_hash
    try:
        image = decode_for_analysis(Path(job.photo.path), max(a.max_side for a in job.analysers))
    except ImageSkipped as problem:
        return {a.kind: Outcome(None, problem.reason, fingerprint) for a in job.analysers}
    outcomes: dict[str, Outcome[Any]] = {}
    for analyser in job.analysers:
        try:
            result = analyser.analyse(_fitted(image, analyser.max_side))
        except AnalysisFailed as failed:
            outcomes[analyser.kind] = Outcome(None, failed.reason, fingerprint)
        except Exception as exc:  # a model's own error on one photo must not stop the run
            log.warning("%s analysis failed on %s", analyser.kind, job.photo.path, exc_info=True)
            outcomes[analyser.kind] = Outcome(None, f"the analysis failed ({exc})", fingerprint)
        else:
            outcomes[analyser.kind] = Outcome(result, None, fingerprint)
    return outcomes


def _fitted(image: Image.Image, max_side: int) -> Image.Image:
    """``image`` with its longer side at most ``max_side`` (a reduced copy when larger)."""
    if max(image.size) <= max_side:
        return image
    smaller = image.copy()
    smaller.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return smaller
