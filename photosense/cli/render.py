"""The one place that writes the command line's output: JSON, tables, notes and progress bars.

Every command builds a plain document (dicts, lists, records) and hands it here, so that all of
them print JSON the same way. tqdm is imported on first use: commands that show no progress
start without it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from photosense.cli import words
from photosense.cli.common import EXIT_ERROR, EXIT_INTERRUPTED
from photosense.library import ExportReport, Library
from photosense.progress import Progress, run_to_end

T = TypeVar("T")


def _jsonable(value: object) -> object:
    """How the records that documents hold become JSON: fields, paths and ISO dates."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(document: object) -> None:
    """Print a document as indented UTF-8 JSON on standard output (names and captions in any
    script print as themselves), every command the same way."""
    print(json.dumps(document, indent=2, ensure_ascii=False, default=_jsonable))


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of a text table: its title, its width, its alignment and the gap before it."""

    title: str
    width: int = 0
    right: bool = False
    gap: str = " "


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[object]]) -> None:
    """Print a title line, then one line per row, each cell padded to its column's width."""
    print(_table_line(columns, [column.title for column in columns]).rstrip())
    for row in rows:
        print(_table_line(columns, row))


def _table_line(columns: Sequence[Column], cells: Sequence[object]) -> str:
    parts = []
    for index, (column, cell) in enumerate(zip(columns, cells, strict=True)):
        align = ">" if column.right else "<"
        text = format(cell, f"{align}{column.width}") if column.width else str(cell)
        parts.append(text if index == 0 else column.gap + text)
    return "".join(parts)


def print_error(message: str) -> None:
    """``photosense: MESSAGE`` on standard error."""
    print(f"photosense: {message}", file=sys.stderr)


def fallback_warning(library: Library) -> None:
    """Say so on standard error when the starter stands in for the library's own model."""
    if library.models.fallback:
        print_error(f"warning: {words.describe_fallback(library.models.fallback)}")


def starter_hint(model_id: str) -> None:
    """When the offline starter answered, say on standard error which model would do better."""
    hint = words.starter_hint(model_id)
    if hint is not None:
        print(hint, file=sys.stderr)


def drive(job: Generator[Progress, None, T], quiet: bool, unit: str) -> T:
    """Run a core job under a progress bar on standard error; returns its result.

    Each step of the job (a new message with a count of its own) gets a fresh bar, so the rate
    and the time left are the step's own; a step of unknown length shows its running time. No
    bar with ``quiet`` or when standard error is not a terminal.
    """
    from tqdm import tqdm

    if quiet or not sys.stderr.isatty():
        return run_to_end(job)
    sized = _terminal_is_sized()
    with (
        tqdm(
            unit=unit,
            dynamic_ncols=sized,
            ncols=None if sized else 80,
            nrows=None if sized else 24,
            leave=False,
            file=sys.stderr,
            bar_format=_WAITING,
        ) as bar,
        _ticking(bar),
    ):
        phase: list[str | None] = [None]

        def update(progress: Progress) -> None:
            formats = (_WAITING, _COUNTING) if progress.total is None else (None, None)
            bar.bar_format = formats[progress.done > 0]
            if progress.message != phase[0]:
                phase[0] = progress.message
                bar.set_description_str(progress.message[:40], refresh=False)
                # A new count (another step) restarts the clock; a message that only says
                # how the same count goes (a training epoch's loss) does not.
                if progress.total is None or progress.total != bar.total or progress.done < bar.n:
                    bar.reset(total=progress.total)
            bar.total = progress.total  # reset() keeps the old total when given None
            if progress.done > bar.n:
                bar.update(progress.done - bar.n)
            else:
                bar.refresh()

        return run_to_end(job, update)


_WAITING = "{desc} [{elapsed}]"
_COUNTING = "{desc}: {n_fmt} [{elapsed}]"


def _terminal_is_sized() -> bool:
    """Whether the terminal reports its size; a pseudo-terminal that was never sized reports
    0 x 0, and tqdm would print nothing there unless told a size."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return size.columns > 0 and size.lines > 0


@contextmanager
def _ticking(bar: Any, every_s: float = 1.0) -> Iterator[None]:
    """Redraw ``bar`` every second, so the time shown moves during a long step (loading a
    model) that reports nothing."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every_s):
            bar.refresh()

    thread = threading.Thread(target=tick, name="photosense-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def bar_per_message(
    unit: str, *, scale: bool = False, quiet: bool = False, leave: bool = True
) -> Iterator[Callable[[Progress], None]]:
    """A progress callback that shows one tqdm bar per message (a file, a data set), each
    closed when the next one starts; ``quiet`` shows none."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(progress: Progress) -> None:
        if quiet or progress.total is None:
            return
        bar = bars.get(progress.message)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[progress.message] = tqdm(
                desc=progress.message,
                total=progress.total,
                unit=unit,
                unit_scale=scale,
                leave=leave,
            )
        bar.update(progress.done - bar.n)

    try:
        yield update
    finally:
        for bar in bars.values():
            bar.close()


def export_report(report: ExportReport, as_json: bool) -> int:
    """Print what writing sidecars did; the exit status: interrupted, some failed, or 0."""
    if as_json:
        failed = [{"path": p, "reason": r} for p, r in report.failed]
        document = {"written": report.written, "failed": failed, "cancelled": report.cancelled}
        print_json(document)
    else:
        print(f"{len(report.written)} sidecars written, {len(report.failed)} failed")
        for path, reason in report.failed:
            print(f"failed: {path}: {reason}")
        if report.cancelled:
            print("stopped early; run the same command again to finish")
    if report.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if report.failed else 0
