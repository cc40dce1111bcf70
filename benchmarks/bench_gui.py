"""The desktop app with a 100k-photo library: time to first window, GUI-thread stalls, memory.

    PYTHONPATH=. xvfb-run -a .venv/bin/python benchmarks/bench_gui.py [--photos 100000]
        [--thumbnail-files 3000] [--index-folder DIR] [--runs 3] [--window-only]
        [--index-in-process]

(``QT_QPA_PLATFORM=offscreen`` instead of ``xvfb-run`` works too.)

The library is synthetic and cached in ~/.cache/photosense-bench/gui-N: N photo rows with
metadata and a fake-encoder vector each, written in bulk into the store (``_library.py``;
decoding 100k images would measure indexing, not the GUI), and its search index. Its photo
paths do not exist, so the grid is shown with a record fetcher that points photo ``i`` at real
file ``i mod K`` of K generated 1024x768 JPEGs (``--thumbnail-files``): every grid cell decodes
a real thumbnail file from the on-disk cache and holds its own pixmap, but only K thumbnail files
have to be made (they are made before measuring, so the figures are for a warm thumbnail cache).
The library uses the deterministic fake encoder, so searching measures the GUI and the vector
index, not a text model; auto-tagging is off in it.

Measured:

- **time to first window**, in a fresh process per run: from process start to the window on
  screen, to the grid holding all N photos with the first screen of records, and to the first
  screen of thumbnails; the first run after building has cold caches, the others are warm;
- **longest GUI-thread stall**: a QTimer firing every 5 ms records the longest gap between two
  firings (an event-loop lag probe) while typing searches (one key every 100 ms, debounced),
  going back to all N photos, scrolling through all N photos (two screens every 16 ms; above
  100,000 photos proportionally more, so a scroll takes as many steps as through 100,000),
  and indexing ``--index-folder`` (default: the tuxpaint-stamps images) into a copy of the
  library with the window open; target under 50 ms. The GUI thread's own CPU time in a gap
  is reported too: on a shared machine most of a long gap can be waiting for a core;
- **memory**: resident set size after opening the window and after scrolling through the
  N photos (thumbnail pixmaps are kept up to the loader's budget);
- **the timeline and the viewer**: the photos are listed by date, so scrolling goes through the
  timeline (month headers, then again grouped by day); the cost of reading the N photos' dates
  (the grid's job, off the GUI thread) and of grouping them (on the GUI thread); then the viewer
  stepping through the photos, at a browsing pace (one photo every 250 ms: how many were
  decoded before they were reached) and with the key held (one every 33 ms), with the same lag
  probe. ``--window-only`` leaves the viewer and indexing out (for a 1M library: neither
  depends on the library's size).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from _common import CACHE, dataset, machine, peak_rss_mib
from _library import fill_library
from PIL import Image

from photosense.library import Library
from photosense.media.thumbnails import GRID_SIZE, ThumbnailCache
from photosense.models.fake import FakeEncoder
from photosense.store.records import PhotoFields, PhotoRecord
from photosense.store.repository import Store

PROBE_MS = 5
TARGET_MS = 50.0


# -- the synthetic library ----------------------------------------------------------------------


def build_library(directory: Path, count: int) -> None:
    """``count`` photo rows with fake-encoder vectors, written once and cached.

    The photos are dated 47 minutes apart up to 100,000 photos (about 9 years, 108 months); a
    larger library spans the same years, more photos a day."""
    marker = directory / f".complete-{count}"
    if marker.exists():
        return
    if directory.exists():
        shutil.rmtree(directory)
    root = directory / "photos"
    root.mkdir(parents=True)
    first = datetime(2015, 1, 1)
    minutes = 47 * min(1.0, 100_000 / count)
    photos = (
        PhotoFields(
            path=str(root / f"{i // 1000:03d}" / f"IMG_{i:06d}.jpg"),
            size=2_000_000 + i,
            mtime_ns=1_600_000_000_000_000_000 + i,
            content_hash=f"{i:064x}",
            width=4000,
            height=3000,
            format="JPEG",
            taken_at=first + timedelta(minutes=minutes * i),
            camera_make="Bench",
            camera_model="Synthetic 1",
        )
        for i in range(count)
    )
    fill_library(directory, root, photos, count)
    marker.touch()


def make_image_files(directory: Path, count: int) -> list[str]:
    """``count`` distinct 1024x768 JPEGs (smooth colour fields with noise), made once."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"photo{i:05d}.jpg" for i in range(count)]
    rng = np.random.default_rng(1)
    for i, path in enumerate(paths):
        if path.exists():
            continue
        base = rng.integers(0, 255, size=(6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((1024, 768), Image.Resampling.BICUBIC)
        noise = rng.integers(-12, 12, size=(768, 1024, 3))
        pixels = np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        path.write_bytes(buffer.getvalue())
        if (i + 1) % 500 == 0:
            print(f"  image files: {i + 1:,} of {count:,}", flush=True)
    return [str(p) for p in paths]


def warm_thumbnails(directory: Path, files: Sequence[str]) -> None:
    """Make the grid thumbnails of the image files once: the figures are for a warm cache."""
    cache = ThumbnailCache.for_library(directory)
    started = time.perf_counter()
    for path in files:
        cache.get(Path(path), GRID_SIZE)
    print(f"  thumbnails ready in {time.perf_counter() - started:.1f} s", flush=True)


def cycling_fetcher(
    library: Library, files: Sequence[str]
) -> Callable[[Sequence[int]], dict[int, PhotoRecord]]:
    """Records of the library with photo ``i``'s path pointing at real file ``i mod K``."""

    def fetch(ids: Sequence[int]) -> dict[int, PhotoRecord]:
        records = library.photos.get(ids)
        return {i: replace(r, path=files[i % len(files)]) for i, r in records.items()}

    return fetch


SERVED_INDEXES = True
"""Open the library as the app does: search graphs load in a helper process
(``--index-in-process`` loads them here instead, as the command line does)."""


def open_library(directory: Path) -> Library:
    encoder = FakeEncoder()
    return Library(
        Store.open(directory), directory, lambda _spec: encoder, served_indexes=SERVED_INDEXES
    )


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the event-loop lag probe -------------------------------------------------------------------


@dataclass(frozen=True)
class Lag:
    seconds: float
    ticks: int
    longest_ms: float
    p99_ms: float
    over_target: int
    longest_busy_ms: float
    """The GUI thread's own CPU time in the longest-working gap: the rest of a long gap is
    waiting (for the CPU on a busy machine, or for the GIL held by a worker thread)."""


class LagProbe:
    """A timer every 5 ms on the GUI thread; the gaps between its firings are the stalls."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self.busy: list[float] = []
        self.last = self.last_cpu = 0.0
        self.started = 0.0

    def start(self) -> None:
        self.gaps, self.busy = [], []
        self.started = self.last = time.perf_counter()
        self.last_cpu = time.thread_time()
        self.timer.start()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append(now - self.last)
        self.busy.append(cpu - self.last_cpu)
        self.last, self.last_cpu = now, cpu

    def stop(self) -> Lag:
        self.timer.stop()
        self._tick()
        gaps_ms = sorted(g * 1000 for g in self.gaps)
        p99 = gaps_ms[min(len(gaps_ms) - 1, int(len(gaps_ms) * 0.99))]
        return Lag(
            time.perf_counter() - self.started,
            len(gaps_ms),
            gaps_ms[-1],
            p99,
            sum(g > TARGET_MS for g in gaps_ms),
            max(self.busy) * 1000,
        )


def run_until(condition: Callable[[], bool], timeout_s: float, poll_ms: int = 10) -> bool:
    """Run the Qt event loop (a real one, as the app does) until ``condition`` holds."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout_s
    met = [condition()]

    def check() -> None:
        met[0] = condition()
        if met[0] or time.monotonic() > deadline:
            loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(poll_ms)
    if not met[0]:
        loop.exec()
    poll.stop()
    return met[0]


def run_for(seconds: float) -> None:
    end = time.monotonic() + seconds
    run_until(lambda: time.monotonic() >= end, seconds + 1)


# -- the window ---------------------------------------------------------------------------------


def visible_rows(grid: object) -> list[int]:
    """Rows of the cells on screen now."""
    return list(grid.rows_on_screen())  # type: ignore[attr-defined]


def first_screen_ready(window: object, thumbnails: bool) -> bool:
    """The grid shows every photo and the first screen has its records (and thumbnails)."""
    from photosense.gui.photo_grid_model import GridRole

    grid, model = window.grid, window.model  # type: ignore[attr-defined]
    if window.runner.busy() or not model.rowCount():  # type: ignore[attr-defined]
        return False
    rows = visible_rows(grid)
    if not rows:
        return False
    if any(model.index(row).data(GridRole.PhotoRole) is None for row in rows):
        return False
    if not thumbnails:
        return True
    states = [model.index(row).data(GridRole.ThumbnailStateRole) for row in rows]
    return all(state != "loading" for state in states)


def make_window(library: Library, files: Sequence[str]) -> object:
    """The window as ``photosense`` opens it (see ``run_app``), over the cycled files."""
    from photosense.gui.app import freeze_long_lived_objects
    from photosense.gui.window import MainWindow

    window = MainWindow(library, settings=None, device="cpu")
    window.model.fetch_records = cycling_fetcher(library, files)
    window.resize(1400, 900)
    window.show()
    freeze_long_lived_objects()
    return window


def first_window(directory: Path, files_dir: Path, count: int) -> None:
    """Child process: open the window; print when it shows and when its grid is ready."""
    events = {"process": time.time()}
    from photosense.gui.app import application
    from photosense.gui.window import MainWindow  # noqa: F401  (timed with the imports)

    events["imported"] = time.time()
    app = application()
    library = open_library(directory)
    files = [str(p) for p in sorted(files_dir.glob("photo*.jpg"))]
    window = make_window(library, files)
    from PySide6.QtTest import QTest

    QTest.qWaitForWindowExposed(window)  # type: ignore[call-overload]
    app.processEvents()
    events["shown"] = time.time()
    run_until(lambda: first_screen_ready(window, False), 120, poll_ms=1)
    events["grid"] = time.time()
    run_until(lambda: first_screen_ready(window, True), 120, poll_ms=1)
    events["thumbnails"] = time.time()
    assert window.model.rowCount() == count, window.model.rowCount()  # type: ignore[attr-defined]
    print(json.dumps(events), flush=True)
    window.close()  # type: ignore[attr-defined]
    library.close()


def time_first_window(directory: Path, files_dir: Path, count: int, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        spawned = time.time()
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--first-window",
                str(directory),
                str(files_dir),
                "--photos",
                str(count),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        events = json.loads(done.stdout.strip().splitlines()[-1])
        results.append({k: v - spawned for k, v in events.items()})
    return results


# -- the measurements in this process -----------------------------------------------------------


def type_search(window: object, text: str) -> float:
    """Type ``text`` one key per 100 ms; returns seconds from the last key to the results."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest

    field = window.search_bar.field  # type: ignore[attr-defined]
    field.setFocus()
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(field, Qt.Key.Key_Backspace)
    keys = list(text)
    typed = [0.0]

    def next_key() -> None:
        if keys:
            QTest.keyClicks(field, keys.pop(0))
            typed[0] = time.perf_counter()
        else:
            timer.stop()

    timer = QTimer()
    timer.timeout.connect(next_key)
    timer.start(100)
    run_until(lambda: not keys and window.search_scope.query.text == text, 30)  # type: ignore[attr-defined]
    run_until(lambda: first_screen_ready(window, False), 60)
    return time.perf_counter() - typed[0]


def scroll_through(window: object, pages_per_step: float) -> tuple[int, int]:
    """Scroll from top to bottom, ``pages_per_step`` screens every 16 ms; returns the steps and
    the thumbnails loaded on the way."""
    from PySide6.QtCore import QTimer

    grid = window.grid  # type: ignore[attr-defined]
    bar = grid.verticalScrollBar()
    loaded = [0]
    window.thumbnails.loaded.connect(lambda _id: loaded.__setitem__(0, loaded[0] + 1))  # type: ignore[attr-defined]
    step = max(1, int(grid.viewport().height() * pages_per_step))
    steps = [0]

    def advance() -> None:
        bar.setValue(bar.value() + step)
        steps[0] += 1

    timer = QTimer()
    timer.timeout.connect(advance)
    bar.setValue(0)
    timer.start(16)
    run_until(lambda: bar.value() >= bar.maximum(), 3600)
    timer.stop()
    run_until(lambda: first_screen_ready(window, True), 60)
    return steps[0], loaded[0]


def wait_for_layout(window: object) -> None:
    """Until the batched layout has placed every photo (the scroll range stops growing)."""
    bar = window.grid.verticalScrollBar()  # type: ignore[attr-defined]
    seen = [-1, time.monotonic()]

    def stable() -> bool:
        if bar.maximum() != seen[0]:
            seen[0], seen[1] = bar.maximum(), time.monotonic()
        return bar.maximum() > 0 and time.monotonic() - seen[1] > 0.5

    run_until(stable, 120)


def step_through_viewer(window: object, steps: int, interval_ms: int) -> tuple[int, int]:
    """Open the viewer on the first photo and press → every ``interval_ms``; returns the steps
    taken and how many photos were already decoded when they were reached."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest

    grid, viewer = window.grid, window.viewer  # type: ignore[attr-defined]
    grid.setCurrentIndex(window.model.index(0))  # type: ignore[attr-defined]
    window.viewer_mode.open([])  # type: ignore[attr-defined]
    run_until(lambda: viewer.canvas.has_image, 60)
    done, ready = [0], [0]

    def step() -> None:
        QTest.keyClick(viewer, Qt.Key.Key_Right)
        done[0] += 1
        ready[0] += viewer.canvas.has_image

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(interval_ms)
    run_until(lambda: done[0] >= steps, steps * interval_ms / 1000 * 20 + 60)
    timer.stop()
    window.viewer_mode.close()  # type: ignore[attr-defined]
    return done[0], ready[0]


def time_timeline(library: Library) -> dict[str, float]:
    """Seconds to read every photo's date for the timeline (the grid's job) and to group them
    by month and by day (the GUI thread's share)."""
    from photosense.gui.search_bar import SearchQuery
    from photosense.gui.search_scope import GridContents, list_photo_ids
    from photosense.gui.timeline import Grouping, date_sections

    started = time.perf_counter()
    ids = list_photo_ids(library, SearchQuery())
    listed = time.perf_counter()
    contents = GridContents.listed(library, ids)
    dated = time.perf_counter()
    assert contents.days is not None
    months = date_sections(contents.days, Grouping.MONTH)
    grouped = time.perf_counter()
    days = date_sections(contents.days, Grouping.DAY)
    return {
        "ids_s": listed - started,
        "dates_s": dated - listed,
        "month_s": grouped - dated,
        "day_s": time.perf_counter() - grouped,
        "months": len(months),
        "days": len(days),
    }


def measure_in_process(
    directory: Path,
    files: Sequence[str],
    index_folder: Path | None,
    screens_per_step: float = 2.0,
) -> dict:
    """The figures of one window; with no ``index_folder`` the viewer and indexing are left
    out (``--window-only``)."""
    from photosense.gui.app import application

    app = application()
    figures: dict[str, object] = {"rss_before_window_mib": rss_mib()}
    library = open_library(directory)
    window = make_window(library, files)
    probe = LagProbe()

    probe.start()  # building and showing the window are in the time to first window
    run_until(lambda: first_screen_ready(window, True), 120)
    wait_for_layout(window)
    figures["lag_opening"] = probe.stop()
    figures["rss_after_window_mib"] = rss_mib()

    probe.start()
    latencies = [type_search(window, text) for text in ("red car", "blue sky", "green field")]
    figures["lag_typing"] = probe.stop()
    figures["search_after_last_key_s"] = latencies

    probe.start()
    window.back_to_all()  # type: ignore[attr-defined]
    run_until(lambda: not window.model.has_scores, 60)  # type: ignore[attr-defined]
    run_until(lambda: first_screen_ready(window, True), 120)
    wait_for_layout(window)
    figures["lag_back_to_all"] = probe.stop()

    probe.start()
    steps, loaded = scroll_through(window, screens_per_step)
    figures["lag_scrolling"] = probe.stop()
    figures["scroll_steps"] = steps
    figures["thumbnails_loaded"] = loaded
    figures["thumbnail_memory_mib"] = window.thumbnails.memory_bytes / 2**20  # type: ignore[attr-defined]
    figures["rss_after_scroll_mib"] = rss_mib()
    figures["timeline_sections"] = len(window.grid.sections)  # type: ignore[attr-defined]

    from photosense.gui.timeline import Grouping

    started = time.perf_counter()
    window.timeline.set_grouping(Grouping.DAY)  # type: ignore[attr-defined]
    figures["regroup_day_ms"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    window.grid.doItemsLayout()  # type: ignore[attr-defined]
    figures["relayout_day_ms"] = (time.perf_counter() - started) * 1000  # as on a resize
    probe.start()
    scroll_through(window, screens_per_step)
    figures["lag_scrolling_days"] = probe.stop()
    figures["timeline_day_sections"] = len(window.grid.sections)  # type: ignore[attr-defined]
    window.timeline.set_grouping(Grouping.MONTH)  # type: ignore[attr-defined]
    if index_folder is None:
        figures["rss_after_viewer_mib"] = rss_mib()
        figures["timeline_cost"] = time_timeline(library)
        window.close()  # type: ignore[attr-defined]
        library.close()
        figures["peak_rss_mib"] = peak_rss_mib()
        figures["load_average"] = os.getloadavg()[0]
        return figures

    probe.start()
    figures["viewer_browsing"] = step_through_viewer(window, 60, 250)
    figures["lag_viewer_browsing"] = probe.stop()
    probe.start()
    figures["viewer_held"] = step_through_viewer(window, 300, 33)
    figures["lag_viewer_held"] = probe.stop()
    figures["rss_after_viewer_mib"] = rss_mib()
    figures["timeline_cost"] = time_timeline(library)
    window.close()  # type: ignore[attr-defined]
    library.close()
    app.processEvents()

    # Indexing real files into a copy of the library, with the window open on it.
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as scratch:
        copy = Path(scratch) / "library"
        shutil.copytree(directory, copy)
        library = open_library(copy)
        window = make_window(library, files)
        run_until(lambda: first_screen_ready(window, True), 120)
        wait_for_layout(window)
        probe.start()
        started = time.perf_counter()
        job = window.indexing.start_indexing([str(index_folder)])  # type: ignore[attr-defined]
        run_until(lambda: job not in window.runner.jobs, 3600)  # type: ignore[attr-defined]
        run_until(lambda: first_screen_ready(window, True), 120)
        figures["lag_indexing"] = probe.stop()
        figures["indexing_s"] = time.perf_counter() - started
        window.close()  # type: ignore[attr-defined]
        library.close()
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["load_average"] = os.getloadavg()[0]
    return figures


def photos_on_screen(window: object) -> bool:
    """The grid shows photos, with their records and thumbnails (indexing may go on)."""
    from photosense.gui.photo_grid_model import GridRole

    model = window.model  # type: ignore[attr-defined]
    rows = visible_rows(window.grid) if model.rowCount() else []  # type: ignore[attr-defined]
    if not rows:
        return False
    if any(model.index(row).data(GridRole.PhotoRole) is None for row in rows):
        return False
    states = [model.index(row).data(GridRole.ThumbnailStateRole) for row in rows]
    return all(state != "loading" for state in states)


def time_first_photos(count: int) -> dict[str, float]:
    """Add a folder of ``count`` new photos to an empty library in the window, with the real
    (offline starter) model, as "Add folder" does: seconds to the first photos on screen, to
    every photo in the grid, and to the end of indexing."""
    from photosense.gui.app import application
    from photosense.gui.window import MainWindow

    application()
    folder = CACHE / f"first-photos-{count}"
    make_image_files(folder, count)
    # The starter's class vectors are cached here after the first run, as for a user's second
    # library; every new library embeds its tag vocabulary (after the photos are shown).
    os.environ["PHOTOSENSE_HOME"] = str(CACHE / "first-photos-home")
    figures: dict[str, float] = {"load_average_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-first-photos-") as scratch:
        library = Library.open(Path(scratch) / "library", device="cpu")
        window = MainWindow(library, settings=None, device="cpu")
        window.resize(1400, 900)
        window.show()
        run_until(lambda: not window.runner.busy(), 120)
        started = time.perf_counter()
        job = window.indexing.start_indexing([str(folder)])
        run_until(lambda: photos_on_screen(window), 1800)
        figures["first_photos_s"] = time.perf_counter() - started
        run_until(lambda: window.model.rowCount() == count, 1800)
        figures["all_photos_s"] = time.perf_counter() - started
        run_until(lambda: job not in window.runner.jobs, 3600)
        figures["indexed_s"] = time.perf_counter() - started
        window.close()
        library.close()
    figures["load_average_end"] = os.getloadavg()[0]
    return figures


def lag_row(name: str, lag: Lag) -> str:
    met = "yes" if lag.longest_ms < TARGET_MS else "no"
    return (
        f"| {name} | {lag.seconds:.1f} | {lag.longest_ms:.0f} | {lag.p99_ms:.0f} | "
        f"{lag.over_target} | {lag.longest_busy_ms:.0f} | {met} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--thumbnail-files", type=int, default=3000)
    parser.add_argument("--index-folder", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes timed to a window")
    parser.add_argument(
        "--window-only",
        action="store_true",
        help="leave out the viewer and indexing (they do not depend on the library's size)",
    )
    parser.add_argument(
        "--index-in-process",
        action="store_true",
        help="load the search graph in the window's process (the command line's way), not in "
        "a helper process as the app does",
    )
    parser.add_argument("--first-window", nargs=2, type=Path, metavar=("LIBRARY", "FILES"))
    parser.add_argument(
        "--first-photos",
        type=int,
        metavar="N",
        help="only time adding a folder of N new photos to an empty library (real model)",
    )
    args = parser.parse_args()
    global SERVED_INDEXES
    SERVED_INDEXES = not args.index_in_process
    if args.first_window:
        first_window(args.first_window[0], args.first_window[1], args.photos)
        return
    if args.first_photos:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        print(f"machine: {machine()}; Qt platform: {os.environ['QT_QPA_PLATFORM']}")
        first = time_first_photos(args.first_photos)
        print(f"\n### Adding a folder of {args.first_photos} new photos (offline starter)\n")
        print("| first photos on screen s | every photo in the grid s | indexed s | load |")
        print("|---|---|---|---|")
        print(
            f"| {first['first_photos_s']:.1f} | {first['all_photos_s']:.1f} | "
            f"{first['indexed_s']:.1f} | {first['load_average_start']:.1f}"
            f"-{first['load_average_end']:.1f} |"
        )
        return

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = CACHE / f"gui-{args.photos}"
    directory, files_dir = root / "library", CACHE / "gui-images"
    index_folder = None
    if not args.window_only:
        index_folder = args.index_folder or dataset("tuxpaint-stamps") / "images"
    # As many scroll steps as through 100,000 photos at 2 screens a step: a larger library is
    # scrolled through faster (20 screens every 16 ms at 1M).
    screens = 2.0 * max(1.0, args.photos / 100_000)
    print(
        f"machine: {machine()}; Qt platform: {os.environ['QT_QPA_PLATFORM']}; "
        f"load average at start: {os.getloadavg()[0]:.1f}; search graph loaded "
        + ("in a helper process" if SERVED_INDEXES else "in the window's process")
    )
    build_library(directory, args.photos)
    files = make_image_files(files_dir, args.thumbnail_files)
    warm_thumbnails(directory, files)

    starts = time_first_window(directory, files_dir, args.photos, args.runs)
    figures = measure_in_process(directory, files, index_folder, screens)

    print(f"\n### Time to first window, {args.photos:,} photos (fresh process each run)\n")
    print("| run | window shown s | grid ready s | first thumbnails s | imports s |")
    print("|---|---|---|---|---|")
    for i, run in enumerate(starts):
        label = "first (cold)" if i == 0 else f"{i + 1}"
        print(
            f"| {label} | {run['shown']:.2f} | {run['grid']:.2f} | {run['thumbnails']:.2f} | "
            f"{run['imported']:.2f} |"
        )
    if len(starts) > 1:
        warm = starts[1:]
        print(
            f"| median warm | {statistics.median(r['shown'] for r in warm):.2f} | "
            f"{statistics.median(r['grid'] for r in warm):.2f} | "
            f"{statistics.median(r['thumbnails'] for r in warm):.2f} | "
            f"{statistics.median(r['imported'] for r in warm):.2f} |"
        )

    print(f"\n### Longest GUI-thread stall (lag probe every {PROBE_MS} ms)\n")
    print(
        "| while | seconds | longest gap ms | p99 ms | gaps > 50 ms | "
        "most GUI-thread CPU in a gap, ms | longest under 50 ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for key, name in (
        ("lag_opening", "opening the window (records, thumbnails, layout)"),
        ("lag_typing", "typing 3 searches (100 ms a key, 300 ms debounce)"),
        ("lag_back_to_all", f"back to all {args.photos:,} photos"),
        ("lag_scrolling", f"scrolling the timeline through {args.photos:,} photos (months)"),
        ("lag_scrolling_days", "scrolling the timeline again, grouped by day"),
        ("lag_viewer_browsing", "viewer: → every 250 ms, 60 photos"),
        ("lag_viewer_held", "viewer: → held (every 33 ms), 300 photos"),
        ("lag_indexing", f"indexing {index_folder.name if index_folder else ''} into the library"),
    ):
        if key not in figures:
            continue
        lag = figures[key]
        assert isinstance(lag, Lag)
        print(lag_row(name, lag))
    searches = figures["search_after_last_key_s"]
    assert isinstance(searches, list)
    print(
        "\nresults after the last key: "
        + ", ".join(f"{s * 1000:.0f} ms" for s in searches)
        + " (includes the 300 ms debounce)"
    )
    print(
        f"scroll: {figures['scroll_steps']:,} steps of {screens:g} screens every 16 ms; "
        f"{figures['thumbnails_loaded']:,} thumbnails loaded on the way; "
        f"pixmaps held {figures['thumbnail_memory_mib']:.0f} MiB"
    )
    if "indexing_s" in figures:
        print(f"indexing: {figures['indexing_s']:.1f} s with the window open")
    cost = figures["timeline_cost"]
    assert isinstance(cost, dict)
    print(
        f"timeline: {cost['months']:,} months, {cost['days']:,} days; the grid's job reads "
        f"the ids in {cost['ids_s'] * 1000:.0f} ms and their dates in "
        f"{cost['dates_s'] * 1000:.0f} ms (off the GUI thread); grouping on the GUI thread "
        f"{cost['month_s'] * 1000:.1f} ms by month, {cost['day_s'] * 1000:.1f} ms by day"
    )
    print(
        f"timeline on the GUI thread: switching to days {figures['regroup_day_ms']:.0f} ms, "
        f"laying the {figures['timeline_day_sections']:,} days out again (a resize) "
        f"{figures['relayout_day_ms']:.1f} ms"
    )
    for key, pace in (("viewer_browsing", "every 250 ms"), ("viewer_held", "held, every 33 ms")):
        if key not in figures:
            continue
        steps, ready = figures[key]  # type: ignore[misc]
        print(f"viewer, → {pace}: {ready} of {steps} photos were decoded when reached")
    print(f"load average at the end: {figures['load_average']:.1f}")

    print("\n### Memory (resident set size)\n")
    print("| point | MiB |")
    print("|---|---|")
    print(f"| before the window | {figures['rss_before_window_mib']:.0f} |")
    opened = figures["rss_after_window_mib"]
    print(f"| window open, {args.photos:,} photos in the grid | {opened:.0f} |")
    print(f"| after scrolling through all of them | {figures['rss_after_scroll_mib']:.0f} |")
    if "viewer_held" in figures:
        viewer = figures["rss_after_viewer_mib"]
        print(f"| after stepping through 360 in the viewer | {viewer:.0f} |")
    print(f"| peak of the process | {figures['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
