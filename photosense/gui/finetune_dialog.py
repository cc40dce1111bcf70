"""The fine-tuning dialog: teach the model the user's own words from their captioned photos.

The user picks what to learn from (every captioned photo, some albums, or a ``path,caption``
file), may open the advanced settings, and starts ``Library.finetune`` as a job. The dialog
plots each epoch's loss and held-out recall@5, then shows the numbers before and after and
offers to activate the new model (the window's model switch, which re-embeds the library),
discard it, or revert to the base model afterwards.

Training runs on the models lane: it writes no library data, and the job holds the library's
lock one step (a batch of photos, an epoch) at a time, so searches slip in between steps.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.errors import NotEnoughDataError
from photosense.gui.finetune_result import FineTuneResultPanel
from photosense.gui.finetune_sources import Choice, FineTuneSources
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.status import format_duration
from photosense.gui.training_plot import TrainingPlot, percent
from photosense.gui.words import photos, user_message
from photosense.library import (
    MIN_PAIRS,
    FineTuneReport,
    FineTuneSettings,
    Library,
    SwitchReport,
    TrainingProgress,
)
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

SwitchModel = Callable[[str, Callable[[Job], None] | None], Job | None]
"""The window's ``switch_model(spec, before_start)``: re-embeds the library with ``spec``."""

PHASES = {
    "features": "Reading the photos",
    "training": "Training",
    "blending": "Blending with the original model",
}


class Stage(enum.Enum):
    """Where the dialog is: choosing, training, or doing something with the result."""

    SETUP = "setup"
    RUNNING = "running"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    FINISHED = "finished"
    SWITCHING = "switching"
    ACTIVATED = "activated"
    REVERTED = "reverted"
    DISCARDED = "discarded"


class FineTuneDialog(QDialog):
    """Teach the model: choose photos, train with a live plot, then activate, discard or revert.

    ``switch_model`` is the window's (it re-embeds the library and shows progress in the status
    bar). Closing the dialog while training cancels the run; it resumes when started again.
    """

    stage_changed = Signal(object)  # Stage

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        switch_model: SwitchModel,
        *,
        settings: FineTuneSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.switch_model = switch_model
        self.base_settings = settings or FineTuneSettings()
        self.stage = Stage.SETUP
        self.job: Job | None = None
        self.switch_job: Job | None = None
        self.report: FineTuneReport | None = None
        self._switch_target = ""
        self._run_key: tuple[Choice, FineTuneSettings] | None = None
        self.setWindowTitle("Teach the model")
        self.setMinimumWidth(560)
        self._build()
        self.set_settings(self.base_settings)
        self._update()
        self.refresh()

    # -- construction -----------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(
            "Teach the model your own words (a pet's name, a place, a club's jargon) from photos "
            "you have captioned. It trains on this computer; some photos are kept aside to "
            "check that it got better."
        )
        intro.setWordWrap(True)

        self.sources_box = FineTuneSources(self.library, self.runner)

        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced settings")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced = QWidget()
        form = QFormLayout(self.advanced)
        self.epochs_field = QSpinBox()
        self.epochs_field.setRange(1, 1000)
        self.epochs_field.setToolTip("At most this many passes; it stops early once it stalls.")
        self.rank_field = QSpinBox()
        self.rank_field.setRange(1, 512)
        self.rank_field.setToolTip("Size of the small adapters that learn; larger learns more.")
        self.rate_field = QDoubleSpinBox()
        self.rate_field.setDecimals(5)
        self.rate_field.setRange(0.00001, 1.0)
        self.rate_field.setSingleStep(0.0005)
        self.views_field = QSpinBox()
        self.views_field.setRange(1, 16)
        self.views_field.setToolTip("Augmented copies (crops, flips) of each training photo.")
        self.wise_field = QCheckBox("Blend with the original model where that measures better")
        form.addRow("Epochs", self.epochs_field)
        form.addRow("Adapter rank", self.rank_field)
        form.addRow("Learning rate", self.rate_field)
        form.addRow("Views per photo", self.views_field)
        form.addRow("", self.wise_field)
        self.advanced.setVisible(False)
        self.name_field = QLineEdit()
        self.name_field.setPlaceholderText("optional, e.g. my-words")
        self.name_field.setToolTip(
            "The new model's name, as the Models page and `photosense models` list it "
            "(fine-tuned/NAME); leave empty for one made from the base model's name."
        )
        self.name_field.setAccessibleName("Name of the new model")
        self.name_row = QWidget()
        name_row = QHBoxLayout(self.name_row)
        name_row.setContentsMargins(0, 0, 0, 0)
        name_row.addWidget(QLabel("Name of the new model:"))
        name_row.addWidget(self.name_field, 1)
        self.choice_label = QLabel()
        self.choice_label.setWordWrap(True)

        self.progress_box = QGroupBox("Training")
        self.phase_label = QLabel()
        self.bar = QProgressBar()
        self.eta_label = QLabel()
        self.plot = TrainingPlot()
        progress = QVBoxLayout(self.progress_box)
        top = QHBoxLayout()
        top.addWidget(self.phase_label, 1)
        top.addWidget(self.eta_label)
        progress.addLayout(top)
        progress.addWidget(self.bar)
        progress.addWidget(self.plot, 1)

        self.result_box = FineTuneResultPanel()

        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.start_button = QPushButton("Start")
        self.cancel_button = QPushButton("Cancel")
        self.activate_button = QPushButton("Activate")
        self.discard_button = QPushButton("Discard")
        self.revert_button = QPushButton("Revert")
        self.new_run_button = QPushButton("New run…")
        self.close_button = QPushButton("Close")
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_run_button)
        buttons.addStretch(1)
        for button in (
            self.start_button,
            self.cancel_button,
            self.activate_button,
            self.discard_button,
            self.revert_button,
            self.close_button,
        ):
            button.setAutoDefault(False)
            buttons.addWidget(button)

        # Everything but the buttons scrolls, so the dialog never needs more than the screen.
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(intro)
        body.addWidget(self.sources_box)
        body.addWidget(self.name_row)
        body.addWidget(self.advanced_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        body.addWidget(self.advanced)
        body.addWidget(self.choice_label)
        body.addWidget(self.progress_box, 1)
        body.addWidget(self.result_box)
        body.addWidget(self.message_label)
        self.scroller = QScrollArea()
        self.scroller.setWidget(self.body)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroller, 1)
        layout.addLayout(buttons)

        self.sources_box.changed.connect(self._update)
        self.sources_box.changed.connect(self._fit_later)  # a preview came
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        self.activate_button.clicked.connect(self.activate)
        self.discard_button.clicked.connect(lambda: self.discard())
        self.revert_button.clicked.connect(self.revert)
        self.new_run_button.clicked.connect(self.new_run)
        self.close_button.clicked.connect(self.reject)

    def _toggle_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        arrow = Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        self.advanced_toggle.setArrowType(arrow)

    # -- what to learn from -----------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the albums and recount the photos (while choosing; a result stays as it is)."""
        if self.stage not in (Stage.SETUP, Stage.CANCELLED, Stage.FAILED):
            return
        job = Job.call(self.library.albums.list, name="albums", lane=Lane.READ)
        job.signals.finished.connect(self.sources_box.set_albums)
        self.runner.start(job)
        self.sources_box.count()

    # -- settings ---------------------------------------------------------------------------

    def set_settings(self, settings: FineTuneSettings) -> None:
        """Show ``settings`` in the advanced fields; the ones not shown are kept as given."""
        self.base_settings = settings
        self.sources_box.heldout_fraction = settings.heldout_fraction
        self.epochs_field.setValue(settings.epochs)
        self.rank_field.setValue(settings.rank)
        self.rate_field.setValue(settings.learning_rate)
        self.views_field.setValue(settings.views)
        self.wise_field.setChecked(settings.wise)

    def _settings(self) -> FineTuneSettings:
        return replace(
            self.base_settings,
            epochs=self.epochs_field.value(),
            rank=self.rank_field.value(),
            learning_rate=self.rate_field.value(),
            views=self.views_field.value(),
            wise=self.wise_field.isChecked(),
        )

    # -- the run ----------------------------------------------------------------------------

    def start(self, before_start: Callable[[Job], None] | None = None) -> Job | None:
        """Train in the background; ``before_start`` gets the job first, to connect to it."""
        if self.job is not None:
            return None
        choice, settings = self.sources_box.choice(), self._settings()
        if choice.albums == () or choice.captions == "":
            self.message_label.setText("Choose what to learn from first.")
            return None
        if (choice, settings) != self._run_key:
            self.plot.clear()  # the same run again resumes, and its plot carries on
        self._run_key = (choice, settings)
        self.choice_label.setText(self._describe(choice, settings))
        self.plot.set_epochs(settings.epochs)
        self.report = None
        library = self.library
        name = self.name_field.text().strip() or None

        def work(cancel: CancelToken) -> Any:
            return library.finetune.run(
                albums=choice.albums,
                captions=choice.captions,
                settings=settings,
                name=name,
                cancel=cancel,
            )

        job = Job(work, name="fine-tune", lane=Lane.MODELS)
        job.signals.progressed.connect(self._on_progress)
        job.signals.finished.connect(self._on_finished)
        job.signals.cancelled.connect(self._on_cancelled)
        job.signals.failed.connect(self._on_failed)
        job.signals.done.connect(self._on_done)
        if before_start is not None:
            before_start(job)
        self.job = job
        self.phase_label.setText(
            "Waiting for other model work…"
            if self.runner.busy(Lane.MODELS)
            else "Loading the model…"
        )
        self.eta_label.clear()
        self.bar.setRange(0, 0)
        self.message_label.clear()
        self._set_stage(Stage.RUNNING)
        self.runner.start(job)
        return job

    def _describe(self, choice: Choice, settings: FineTuneSettings) -> str:
        if choice.albums:
            what = "the albums " + ", ".join(choice.albums)
        elif choice.captions:
            what = f"the captions in {choice.captions}"
        else:
            what = "all captioned photos"
        pair_count = self.sources_box.pair_count
        count = f" ({photos(pair_count)})" if pair_count else ""
        return (
            f"Learning from {what}{count}: up to {settings.epochs} epochs, adapter rank "
            f"{settings.rank}, learning rate {settings.learning_rate:g}, {settings.views} "
            f"view(s) per photo, blend {'on' if settings.wise else 'off'}."
        )

    def cancel(self) -> None:
        """Stop after the current step; what was done is kept for the next start."""
        if self.job is not None and self.stage is Stage.RUNNING:
            self.job.cancel()
            self.phase_label.setText("Stopping after this step…")
            self._set_stage(Stage.CANCELLING)

    def _on_progress(self, progress: Progress) -> None:
        if self.stage is not Stage.RUNNING:
            return
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.done, progress.total))
        else:
            self.bar.setRange(0, 0)
        if not isinstance(progress, TrainingProgress):
            self.phase_label.setText(progress.message[:1].upper() + progress.message[1:])
            return
        phase = PHASES.get(progress.phase, progress.phase.capitalize())
        if progress.phase == "features" and progress.total:
            phase += f": {progress.done:,} of {progress.total:,}"
        elif progress.phase == "training":
            phase += f": epoch {progress.epoch} of {progress.total}"
            if progress.loss is not None and progress.heldout:
                recall = progress.heldout.get("t2i_r5", 0.0)
                self.plot.add_point(progress.epoch, progress.loss, recall)
                phase += f" · loss {progress.loss:.3f} · held-out recall@5 {percent(recall)}"
        self.phase_label.setText(phase)
        eta = progress.eta_seconds
        self.eta_label.setText(f"{format_duration(eta)} left" if eta else "")

    def _on_finished(self, report: FineTuneReport) -> None:
        self.report = report
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.eta_label.clear()
        self.phase_label.setText(f"Done in {report.result.seconds:.0f} s")
        self.result_box.show_report(report)
        self.activate_button.setText("Activate" if report.improved else "Activate anyway")
        self._set_stage(Stage.FINISHED)

    def _on_cancelled(self) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.eta_label.clear()
        self.phase_label.setText("Stopped")
        self.message_label.setText(
            "Training stopped; nothing was changed. What it did so far is kept: start again "
            "with the same photos and settings to carry on from there."
        )
        self._set_stage(Stage.CANCELLED)

    def _on_failed(self, exc: object) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.eta_label.clear()
        self.phase_label.setText("Not trained")
        if isinstance(exc, NotEnoughDataError):
            text = (
                f"Not enough to learn from: {exc}. Caption more photos (select one and press "
                "Ctrl+E) or add photos to the albums you learn from."
            )
        else:
            text = f"Fine-tuning failed: {user_message(exc)}"
        self.message_label.setText(text)
        self._set_stage(Stage.FAILED)

    def _on_done(self) -> None:
        self.job = None
        self._update()

    # -- what to do with the result ---------------------------------------------------------

    def activate(self) -> Job | None:
        """Switch the library to the new model (it re-embeds every photo in the background)."""
        return self._switch(self.report.model_id) if self.report is not None else None

    def revert(self) -> Job | None:
        """Switch back to the model the new one was trained from; the new one stays stored."""
        return self._switch(self.report.result.base) if self.report is not None else None

    def _switch(self, spec: str) -> Job | None:
        self._switch_target = spec
        job = self.switch_model(spec, self._track_switch)
        if job is None:
            self.message_label.setText(
                "Another model switch is still running; try again when it has finished."
            )
        return job

    def _track_switch(self, job: Job) -> None:
        self.switch_job = job
        job.signals.progressed.connect(self._on_switch_progress)
        job.signals.finished.connect(self._on_switched)
        job.signals.cancelled.connect(self._on_switch_stopped)
        job.signals.failed.connect(self._on_switch_failed)
        job.signals.done.connect(self._on_switch_done)
        self.phase_label.setText(f"Switching to {self._switch_target}…")
        self.bar.setRange(0, 0)
        self.message_label.setText(
            "Your photos are being embedded with the model; searches keep using the current one "
            "until that is done. You can close this dialog."
        )
        self._set_stage(Stage.SWITCHING)

    def _on_switch_progress(self, progress: Progress) -> None:
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.done, progress.total))
            self.phase_label.setText(
                f"Switching to {self._switch_target}: {progress.done:,} of "
                f"{progress.total:,} photos embedded"
            )

    def _on_switched(self, report: SwitchReport) -> None:
        if self.report is None:
            return
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        if not report.activated:
            self.phase_label.setText("Not switched")
            self.message_label.setText("Another model was chosen meanwhile; nothing changed here.")
            self._set_stage(Stage.FINISHED)
        elif report.model_id == self.report.model_id:
            self.phase_label.setText("Active")
            self.message_label.setText(
                f"Searches and tags now use {report.model_id}. Revert to "
                f"{self.report.result.base} at any time; nothing is lost."
            )
            self._set_stage(Stage.ACTIVATED)
        else:
            self.phase_label.setText("Reverted")
            self.message_label.setText(
                f"Searches use {report.model_id} again. The new model is still stored; "
                "activate it again or discard it."
            )
            self._set_stage(Stage.REVERTED)

    def _on_switch_stopped(self) -> None:
        self.message_label.setText(
            "Switching stopped; the photos done so far are kept. Choose again to carry on."
        )
        self._set_stage(Stage.FINISHED)

    def _on_switch_failed(self, exc: object) -> None:
        self.message_label.setText(f"Switching failed: {user_message(exc)}")
        self._set_stage(Stage.FINISHED)

    def _on_switch_done(self) -> None:
        self.switch_job = None
        self._update()

    def discard(self, *, confirm: bool = True) -> Job | None:
        """Delete the new model's files (never the active model's)."""
        if self.report is None:
            return None
        model_id = self.report.model_id
        if confirm:
            answer = QMessageBox.question(
                self,
                "Discard the new model",
                f"Delete {model_id}? The library keeps using its current model.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        job = Job.call(self.library.models.remove, model_id, name="discard", lane=Lane.MODELS)
        job.signals.finished.connect(self._on_discarded)
        job.signals.failed.connect(
            lambda exc: self.message_label.setText(f"Not deleted: {user_message(exc)}")
        )
        self.switch_job = job  # one model action at a time
        job.signals.done.connect(self._on_switch_done)
        self.runner.start(job)
        self._update()
        return job

    def _on_discarded(self, _removed: object) -> None:
        model_id = self.report.model_id if self.report is not None else "The new model"
        self.message_label.setText(f"Deleted {model_id}; nothing else changed.")
        self._set_stage(Stage.DISCARDED)

    def new_run(self) -> None:
        """Back to choosing photos and settings (a stored model stays stored)."""
        self.report = None
        self._run_key = None
        self.plot.clear()
        self.phase_label.clear()
        self.eta_label.clear()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.message_label.clear()
        self._set_stage(Stage.SETUP)
        self.refresh()

    # -- state ------------------------------------------------------------------------------

    def _set_stage(self, stage: Stage) -> None:
        self.stage = stage
        self._update()
        self.stage_changed.emit(stage)
        self._fit_later()

    def _fit_later(self) -> None:
        """Fit once the widgets just shown or filled in have their sizes."""
        QTimer.singleShot(0, self, self._fit)

    def _fit(self) -> None:
        """Grow to show what the new stage shows (a top-level window does not by itself), but
        never past the screen's free area: beyond it the body scrolls."""
        viewport = self.scroller.viewport().size()
        wanted = self.body.sizeHint()
        width = self.width() + max(0, wanted.width() - viewport.width())
        height = self.height() + max(0, wanted.height() - viewport.height())
        screen = self.screen()
        if screen is not None:
            free = screen.availableGeometry()
            frame = self.frameGeometry().size() - self.size()  # title bar and borders
            width = min(width, free.width() - frame.width())
            height = min(height, free.height() - frame.height())
        if width != self.width() or height != self.height():
            self.resize(max(width, self.width()), max(height, self.height()))
        if screen is not None:
            free, box = screen.availableGeometry(), self.frameGeometry()
            x = max(free.left(), min(box.left(), free.right() - box.width() + 1))
            y = max(free.top(), min(box.top(), free.bottom() - box.height() + 1))
            if (x, y) != (box.left(), box.top()):
                self.move(x, y)

    def _update(self) -> None:
        stage, busy = self.stage, self.job is not None or self.switch_job is not None
        choosing = stage in (Stage.SETUP, Stage.CANCELLED, Stage.FAILED) and self.job is None
        result = stage in (
            Stage.FINISHED,
            Stage.SWITCHING,
            Stage.ACTIVATED,
            Stage.REVERTED,
            Stage.DISCARDED,
        )
        # Once a run starts, the choice shrinks to one line so the plot and numbers fit.
        self.sources_box.setVisible(choosing)
        self.name_row.setVisible(choosing)
        self.name_field.setEnabled(choosing)
        self.advanced_toggle.setVisible(choosing)
        self.advanced.setVisible(choosing and self.advanced_toggle.isChecked())
        self.choice_label.setVisible(not choosing and self._run_key is not None)
        self.sources_box.set_choosing(choosing)
        self.progress_box.setVisible(stage is not Stage.SETUP or bool(self.plot.points))
        self.result_box.setVisible(result and self.report is not None)
        self.start_button.setVisible(choosing)
        self.start_button.setText("Start again" if stage is Stage.CANCELLED else "Start")
        self.start_button.setEnabled(choosing and (self.sources_box.pair_count or 0) >= MIN_PAIRS)
        self.start_button.setDefault(choosing)
        # Enter activates only what the verdict recommends; otherwise it keeps the current model.
        recommended = self.report is not None and self.report.improved
        self.activate_button.setDefault(stage is Stage.FINISHED and recommended)
        self.close_button.setDefault(stage is Stage.FINISHED and not recommended)
        self.cancel_button.setVisible(stage in (Stage.RUNNING, Stage.CANCELLING))
        self.cancel_button.setEnabled(stage is Stage.RUNNING)
        self.activate_button.setVisible(stage in (Stage.FINISHED, Stage.SWITCHING, Stage.REVERTED))
        self.activate_button.setEnabled(not busy)
        self.discard_button.setVisible(stage in (Stage.FINISHED, Stage.SWITCHING, Stage.REVERTED))
        self.discard_button.setEnabled(not busy)
        base = self.report.result.base if self.report is not None else ""
        self.revert_button.setText(f"Revert to {base}")
        self.revert_button.setVisible(stage is Stage.ACTIVATED)
        self.revert_button.setEnabled(not busy)
        self.new_run_button.setVisible(result)
        self.new_run_button.setEnabled(not busy)

    # -- closing ----------------------------------------------------------------------------

    def reject(self) -> None:
        """Close (Esc, Close, the window's close box): a run in progress is cancelled."""
        self.cancel()
        super().reject()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._fit_later()  # the scrolling body does not size the dialog by itself

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.cancel()
        super().closeEvent(event)
