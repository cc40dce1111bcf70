"""Status bar widgets: indexing progress with speed and ETA, and a Cancel button."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import Qt, QTime, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from photosense.progress import Progress

SPEED_WINDOW_S = 15.0
MAIN_STEP = "indexing"
"""The message of the steps that embed photos, the run's own work."""


def format_duration(seconds: float) -> str:
    """A rough remaining time: "about 40 s", "about 3 min", "about 2 h 10 min"."""
    if seconds < 60:
        return f"about {max(1, round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"


class SpeedMeter:
    """Photos per second over the last few seconds, and the time left at that pace."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._samples: deque[tuple[float, int]] = deque()

    def reset(self) -> None:
        self._samples.clear()

    def add(self, done: int) -> None:
        now = self.clock()
        if self._samples and done < self._samples[-1][1]:
            self._samples.clear()  # a new phase (another folder) restarted the count
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > SPEED_WINDOW_S:
            self._samples.popleft()

    @property
    def rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 and d1 > d0 else None

    def eta(self, done: int, total: int) -> float | None:
        rate = self.rate
        return (total - done) / rate if rate else None


class IndexingStatus(QWidget):
    """ "Indexing 120 of 500 · 14.2 photos/s · about 30 s left [=====   ] [Cancel]" (or
    another verb: switching models embeds the photos again)."""

    cancel_requested = Signal()

    def __init__(
        self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.meter = SpeedMeter(clock)
        self.verb = "Indexing"
        self._phase: str | None = None
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current batch; what is indexed stays")
        self.cancel_button.clicked.connect(self._on_cancel)
        # The last run's outcome stays here once the status bar's message has gone.
        self.last_label = QLabel()
        self.last_label.setAccessibleName("Last run")
        self.last_label.setMaximumWidth(420)
        self._reveal = QTimer(self)
        self._reveal.setSingleShot(True)
        self._reveal.timeout.connect(self._show_last)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.last_label)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.setVisible(False)

    def begin(self, text: str = "Starting…", verb: str = "Indexing") -> None:
        """Show the widget for a new run; ``verb`` starts its progress line."""
        self.meter.reset()
        self._phase = None
        self.verb = verb
        self.label.setText(text)
        self.bar.setRange(0, 0)  # busy until the total is known
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self._running(True)

    def update_progress(self, progress: Progress, queued: int = 0) -> None:
        more = f" (+{queued} queued)" if queued else ""
        if progress.message != self._phase:  # a new phase (adding photos, then indexing them)
            self._phase = progress.message
            self.meter.reset()  # has a pace of its own
        if progress.total is None:
            self.bar.setRange(0, 0)
            message = progress.message or "working"
            self.label.setText(f"{message[:1].upper()}{message[1:]}…{more}")
            return
        self.meter.add(progress.done)
        self.bar.setRange(0, max(1, progress.total))
        self.bar.setValue(progress.done)
        # The run's own work says its verb ("Indexing", "Embedding with …"); the steps around
        # it say what they are ("Adding photos", "Tagging").
        what = progress.message if progress.message not in ("", MAIN_STEP) else self.verb
        parts = [f"{what[:1].upper()}{what[1:]} {progress.done:,} of {progress.total:,}"]
        rate = self.meter.rate
        if rate is not None:
            parts.append(f"{rate:.1f} photos/s")
            eta = self.meter.eta(progress.done, progress.total)
            if eta is not None and progress.done < progress.total:
                parts.append(f"{format_duration(eta)} left")
        self.label.setText(" · ".join(parts) + more)

    def end(self) -> None:
        """The run is over: hide the progress; the last outcome (if any) stays reachable."""
        self._running(False)

    def show_outcome(self, text: str, shown_ms: int = 0) -> None:
        """Keep ``text`` (the outcome of a run) as the last run's, shown once the status bar's
        own message of it (``shown_ms``; 0: until the next) has gone, with the time in a tip."""
        self.last_label.setToolTip(f"Last run, at {QTime.currentTime().toString('HH:mm')}: {text}")
        metrics = self.last_label.fontMetrics()
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, 400)
        self.last_label.setText(f"Last run: {elided}" if elided == text else elided)
        self.last_label.setVisible(False)
        if shown_ms > 0:
            self._reveal.start(shown_ms)
        else:
            self._show_last()

    def _show_last(self) -> None:
        running = self.bar.isVisibleTo(self)
        self.last_label.setVisible(not running and bool(self.last_label.text()))
        self.setVisible(running or self.last_label.isVisibleTo(self))

    def _running(self, running: bool) -> None:
        for widget in (self.label, self.bar, self.cancel_button):
            widget.setVisible(running)
        if running:
            self.last_label.setVisible(False)
            self.setVisible(True)
        elif not self._reveal.isActive():
            self._show_last()
        else:
            self.setVisible(False)

    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Stopping…")
        self.cancel_requested.emit()
