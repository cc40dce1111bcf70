"""The Models page: which model answers, the catalogue, downloads, imports, switching, device.

The listing is what ``photosense models list`` prints (``Library.models`` and
``library.models.progress``); downloading, importing and removing call the same functions as
``photosense models pull``, ``models import`` and ``models remove``. Downloads, imports and
removals of files run on the models lane (they touch no library); switching runs on the
window's write lane, like indexing, because it embeds every photo again, and so does a removal
that forgets a model's vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.model_list import (
    ModelListModel,
    ModelsListing,
    describe_model,
    read_listing,
    starter_note,
)
from photosense.gui.model_removal import ask_removal, has_files, removal_blocked, removed_text
from photosense.gui.photo_grid_model import format_size
from photosense.gui.words import user_message
from photosense.library import Library, LibraryModel
from photosense.library.models import DEVICE_CHOICES, check_device, import_file
from photosense.library.models import pull as pull_model
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

DEVICE_SETTING = "models/device"

DEVICE_NAMES = {
    "auto": "Automatic (a GPU when there is one)",
    "cpu": "CPU",
    "cuda": "NVIDIA GPU (CUDA)",
    "mps": "Apple GPU (Metal)",
}


def device_setting(settings: QSettings | None) -> str:
    """The saved device choice ("auto" when none is saved or it is not one of the choices)."""
    value = str(settings.value(DEVICE_SETTING, "auto")) if settings is not None else "auto"
    return value if value in DEVICE_CHOICES else "auto"


class ModelsDialog(QDialog):
    """The Models page. ``start_switch(spec, before_start)`` starts (and returns) the window's
    switch job, handing it to ``before_start`` first.

    The window keeps one page and shows it again: a download goes on while the page is closed,
    and its progress is there when it is opened again.
    """

    listing_loaded = Signal()
    device_checked = Signal(str)  # the note shown about the chosen device
    device_applied = Signal(str)  # models now load on this device

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        start_switch: Callable[[str, Callable[[Job], None]], Job | None],
        *,
        settings: QSettings | None = None,
        device: str = "auto",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(980, 640)
        self.library = library
        self.runner = runner
        self.start_switch = start_switch
        self.settings = settings
        self.device_in_use = device
        self.listing: ModelsListing | None = None
        self.task: Job | None = None  # a download or an import
        self.switch_job: Job | None = None
        self._switch_name = ""

        self.active_label = QLabel()
        self.active_label.setWordWrap(True)
        self.active_label.setTextFormat(Qt.TextFormat.PlainText)
        self.switch_bar = QProgressBar()
        self.switch_bar.setTextVisible(False)
        self.switch_label = QLabel()
        self.switch_cancel = QPushButton("Stop switching")
        self.switch_cancel.setToolTip(
            "Stop after the current batch; the photos done are kept and switching carries on "
            "when you choose the model again"
        )
        self.switch_cancel.clicked.connect(self._cancel_switch)
        self.switch_row = _row(self.switch_label, self.switch_bar, self.switch_cancel)
        self.starter_note = QLabel()
        self.starter_note.setWordWrap(True)
        self.starter_note.setObjectName("starterNote")

        self.table_model = ModelListModel(self)
        self.table = QTableView()
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setAccessibleName("Models")
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        for column in range(len(ModelListModel.COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table.selectionModel().currentRowChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _index: self.use_selected())

        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the model's weights once (Hugging Face hub)")
        self.download_button.clicked.connect(self.download_selected)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip(
            "Embed every photo with this model in the background, then search with it; "
            "searches keep using the current model until it is done"
        )
        self.use_button.clicked.connect(self.use_selected)
        self.import_button = QPushButton("Import a file…")
        self.import_button.setToolTip(
            "Add an open_clip checkpoint (safetensors, or a plain PyTorch state dict)"
        )
        self.import_button.clicked.connect(self.choose_import)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.clicked.connect(self.remove_selected)
        actions = QHBoxLayout()
        actions.addWidget(self.use_button)
        actions.addWidget(self.download_button)
        actions.addWidget(self.remove_button)
        actions.addStretch(1)
        actions.addWidget(self.import_button)

        self.task_label = QLabel()
        self.task_bar = QProgressBar()
        self.task_bar.setTextVisible(False)
        self.task_cancel = QPushButton("Cancel")
        self.task_cancel.clicked.connect(self.cancel_task)
        self.task_row = _row(self.task_label, self.task_bar, self.task_cancel)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.device = QComboBox()
        self.device.setAccessibleName("Device")
        for choice in DEVICE_CHOICES:
            self.device.addItem(DEVICE_NAMES.get(choice, choice), choice)
        self.device.setCurrentIndex(max(0, self.device.findData(device_setting(settings))))
        self.device.currentIndexChanged.connect(self._on_device_changed)
        self.device_note = QLabel()
        self.device_note.setWordWrap(True)
        device_box = QGroupBox("Where models run")
        device_form = QFormLayout(device_box)
        device_form.addRow("Device", self.device)
        device_form.addRow(self.device_note)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.active_label)
        layout.addWidget(self.switch_row)
        layout.addWidget(self.starter_note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.description)
        layout.addLayout(actions)
        layout.addWidget(self.task_row)
        layout.addWidget(self.message)
        layout.addWidget(device_box)
        layout.addWidget(buttons)
        self.switch_row.setVisible(False)
        self.task_row.setVisible(False)
        self.message.setVisible(False)
        self.starter_note.setVisible(False)
        self._update_buttons()
        self.refresh()
        self.check_device()

    # -- the listing ------------------------------------------------------------------------

    def refresh(self) -> Job:
        """Reload the models and the switch state in the background."""
        self.active_label.setText("Reading the models on this computer…")
        job = Job.call(read_listing, self.library, name="models", lane=Lane.READ)
        job.signals.finished.connect(self._on_listing)
        job.signals.failed.connect(lambda exc: self._say(user_message(exc)))
        return self.runner.start(job)

    def _on_listing(self, listing: ModelsListing) -> None:
        selected = self.selected_model()
        self.listing = listing
        self.table_model.set_models(listing.models, listing.state)
        state = listing.state
        active = next((m for m in listing.models if m.active), None)
        name = active.info.id if active is not None else state.active
        text = f"Searches are answered by {name}"
        if active is not None and active.info.good_for:
            text += f": {active.info.good_for}"
        self.active_label.setText(text + ".")
        if self.switch_job is None:
            # A switch stopped earlier (or by a crash) waits to be carried on.
            self.switch_row.setVisible(state.pending is not None)
            self.switch_cancel.setVisible(False)
            if state.pending:
                self.switch_label.setText(
                    f"Switching to {state.pending} stopped at {state.done:,} of "
                    f"{state.total:,} photos; choose it again to carry on."
                )
                self.switch_bar.setRange(0, max(1, state.total))
                self.switch_bar.setValue(state.done)
        on_starter = active is not None and active.info.kind == "starter"
        self.starter_note.setText(starter_note(listing.recommended, listing.recommended_mb))
        self.starter_note.setVisible(on_starter)
        wanted = selected.info.model_id if selected is not None else state.active
        row = self.table_model.row_of(wanted)
        if row is not None:
            self.table.selectRow(row)
        self._update_buttons()
        self.listing_loaded.emit()

    def selected_model(self) -> LibraryModel | None:
        index = self.table.selectionModel().currentIndex()
        return self.table_model.model_at(index.row()) if index.isValid() else None

    def select(self, model_id: str) -> bool:
        """Select the row of ``model_id`` (an id as listed, or a stored model id)."""
        row = self.table_model.row_of(model_id)
        if row is not None:
            self.table.selectRow(row)
        return row is not None

    def _update_buttons(self, *_args: object) -> None:
        model = self.selected_model()
        self.description.setText(
            f"{model.info.id}: {describe_model(model)}" if model is not None else ""
        )
        busy = self.task is not None
        self.download_button.setVisible(
            model is not None and model.info.kind == "catalogue" and not model.info.available
        )
        self.download_button.setEnabled(not busy)
        switching = self.switch_job is not None
        usable = model is not None and model.info.available and not model.active
        self.use_button.setEnabled(usable and not switching)
        if model is not None and model.pending and not switching:
            self.use_button.setText("Carry on switching")
        else:
            self.use_button.setText("Use this model")
        self.import_button.setEnabled(not busy)
        blocked = removal_blocked(model)
        self.remove_button.setEnabled(not blocked and not busy)
        self.remove_button.setToolTip(
            blocked
            or "Delete this model's files to free disk space, or forget its vectors in this "
            "library (you are asked first)"
        )

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- switching --------------------------------------------------------------------------

    def use_selected(self) -> Job | None:
        """Switch the library to the selected model (re-embedding in the background)."""
        model = self.selected_model()
        if model is None or model.active or not model.info.available:
            return None
        name = model.info.id
        return self.start_switch(name, lambda job: self.track_switch(job, name))

    def track_switch(self, job: Job, name: str) -> None:
        """Show the progress of a switch the window runs."""
        self.switch_job = job
        self._switch_name = name
        self.switch_row.setVisible(True)
        self.switch_cancel.setVisible(True)
        self.switch_cancel.setEnabled(True)
        self.switch_label.setText(f"Loading {name}…")
        self.switch_bar.setRange(0, 0)
        job.signals.progressed.connect(self._on_switch_progress)
        job.signals.finished.connect(self._on_switch_finished)
        job.signals.cancelled.connect(
            lambda: self._say("Switching stopped; the photos done so far are kept.")
        )
        job.signals.failed.connect(lambda exc: self._say(user_message(exc)))
        job.signals.done.connect(self._on_switch_done)
        self._update_buttons()

    def _show_switch_progress(self, done: int, total: int, name: str) -> None:
        self.switch_label.setText(f"Switching to {name}: {done:,} of {total:,} photos embedded")
        self.switch_bar.setRange(0, max(1, total))
        self.switch_bar.setValue(done)

    def _on_switch_progress(self, progress: Progress) -> None:
        if progress.total is None:
            message = progress.message or "working"
            self.switch_label.setText(f"{message[:1].upper()}{message[1:]}…")
            self.switch_bar.setRange(0, 0)
        else:
            self._show_switch_progress(progress.done, progress.total, self._switch_name)

    def _on_switch_finished(self, report: object) -> None:
        activated = getattr(report, "activated", False)
        model_id = getattr(report, "model_id", "")
        self._say(f"{model_id} now answers searches." if activated else "")

    def _on_switch_done(self) -> None:
        self.switch_job = None
        self.refresh()

    def _cancel_switch(self) -> None:
        if self.switch_job is not None:
            self.switch_job.cancel()
            self.switch_cancel.setEnabled(False)
            self.switch_label.setText("Stopping after the current batch…")

    # -- downloads and imports --------------------------------------------------------------

    def download_selected(self) -> Job | None:
        """Download the selected catalogue model, with progress; cancellable."""
        model = self.selected_model()
        if model is None or model.info.kind != "catalogue" or self.task is not None:
            return None
        spec = model.info.id

        def pull(on_progress: Callable[[Progress], None], cancel: CancelToken) -> str:
            return pull_model(spec, on_progress, cancel)

        job = Job.reporting(pull, name=f"download {spec}", lane=Lane.MODELS)
        job.signals.finished.connect(lambda _id: self._say(f"{spec} is downloaded."))
        return self._start_task(job, f"Downloading {spec}…")

    def choose_import(self) -> Job | None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import a model checkpoint",
            "",
            "Checkpoints (*.safetensors *.pt *.pth *.bin);;All files (*)",
        )
        return self.import_file(Path(path)) if path else None

    def import_file(self, path: Path) -> Job | None:
        """Import a checkpoint file as ``imported/NAME`` (its architecture guessed)."""
        if self.task is not None:
            return None
        job = Job.call(import_file, path, name=f"import {path.name}", lane=Lane.MODELS)
        job.signals.finished.connect(
            lambda model: self._say(
                f"Imported {model.id} ({model.architecture}); choose it and “Use this model”."
            )
        )
        return self._start_task(job, f"Importing {path.name} (checking it fits)…")

    def remove_selected(self) -> Job | None:
        """Remove the selected model's files (and, if the user ticks it, this library's vectors
        of it) after asking; never the active or pending model."""
        model = self.selected_model()
        if model is None or self.task is not None or removal_blocked(model):
            return None
        forget = ask_removal(self, model)
        if forget is None:
            return None
        library, name, files = self.library, model.info.id, has_files(model)
        job = Job.call(
            lambda: library.models.remove(name, files=files, vectors=forget),
            name=f"remove {name}",
            # Forgetting vectors writes to the library, so it waits its turn with the writes.
            lane=Lane.WRITE if forget else Lane.MODELS,
        )
        job.signals.finished.connect(lambda removed: self._say(removed_text(name, removed)))
        return self._start_task(job, f"Removing {name}…", cancellable=False)

    def _start_task(self, job: Job, text: str, *, cancellable: bool = True) -> Job:
        self.task = job
        self._say("")
        self.task_label.setText(text)
        self.task_bar.setRange(0, 0)
        self.task_cancel.setEnabled(True)
        self.task_cancel.setVisible(cancellable)
        self.task_row.setVisible(True)
        job.signals.progressed.connect(self._on_task_progress)
        job.signals.cancelled.connect(lambda: self._say("Stopped. A download resumes next time."))
        job.signals.failed.connect(lambda exc: self._say(user_message(exc)))
        job.signals.done.connect(self._on_task_done)
        self._update_buttons()
        return self.runner.start(job)

    def _on_task_progress(self, progress: Progress) -> None:
        if progress.total:
            self.task_bar.setRange(0, progress.total)
            self.task_bar.setValue(progress.done)
            self.task_label.setText(
                f"{progress.message[:1].upper()}{progress.message[1:]}: "
                f"{format_size(progress.done)} of {format_size(progress.total)}"
            )
        else:
            self.task_bar.setRange(0, 0)
            self.task_label.setText(f"{progress.message[:1].upper()}{progress.message[1:]}…")

    def cancel_task(self) -> None:
        """Stop the download or import in progress."""
        if self.task is not None:
            self.task.cancel()
            self.task_cancel.setEnabled(False)
            self.task_label.setText("Stopping…")

    def _on_task_done(self) -> None:
        self.task = None
        self.task_row.setVisible(False)
        self._update_buttons()
        self.refresh()

    # -- device -----------------------------------------------------------------------------

    @property
    def chosen_device(self) -> str:
        return str(self.device.currentData())

    def _on_device_changed(self) -> None:
        if self.settings is not None:
            self.settings.setValue(DEVICE_SETTING, self.chosen_device)
            self.settings.sync()
        self.check_device()

    def check_device(self) -> Job:
        """Say whether the chosen device is there; move the models to it when it is."""
        choice, in_use = self.chosen_device, self.device_in_use

        def check() -> tuple[str, str]:
            return check_device(choice), check_device(in_use)

        job = Job.call(check, name="device", lane=Lane.READ)
        job.signals.finished.connect(lambda found: self._on_device_checked(choice, found, ""))
        job.signals.failed.connect(
            lambda exc: self._on_device_checked(choice, ("", ""), user_message(exc))
        )
        return self.runner.start(job)

    def _on_device_checked(self, choice: str, found: tuple[str, str], problem: str) -> None:
        if choice != self.chosen_device:
            return  # the user has chosen again meanwhile
        chosen, running = found
        if problem:
            self._say_device(problem)
        elif chosen == running:
            self._say_device(f"Models run on: {running}.")
        else:
            self.device_note.setText(f"Moving models to {chosen}…")
            self.apply_device(choice)

    def apply_device(self, choice: str) -> Job:
        """Run models on ``choice`` from now on: the library lets its model go, and the next
        search (or any model use) loads it there; a running job finishes where it is."""
        job = Job.call(self.library.models.set_device, choice, name="move models", lane=Lane.MODELS)
        job.signals.finished.connect(lambda _result: self._on_device_applied(choice))
        job.signals.failed.connect(lambda exc: self._say_device(user_message(exc)))
        return self.runner.start(job)

    def _on_device_applied(self, choice: str) -> None:
        self.device_in_use = choice
        self.device_applied.emit(choice)
        if choice == self.chosen_device:
            self.check_device()  # says where models run now

    def _say_device(self, text: str) -> None:
        self.device_note.setText(text)
        self.device_checked.emit(text)


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, QProgressBar) else 0)
    return row
