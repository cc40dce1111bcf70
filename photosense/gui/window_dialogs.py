"""The dialogs the window opens: the Models page and the fine-tuning dialog (one of each, kept
while the window lives, so a download or a result stays), the skipped files and About."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QWidget

from photosense.gui.dialogs import AboutDialog, SkippedFilesDialog
from photosense.gui.finetune_dialog import FineTuneDialog
from photosense.gui.indexing_controller import IndexingController
from photosense.gui.jobs import Job, JobRunner
from photosense.gui.model_manager_page import ModelsDialog
from photosense.gui.words import fallback_notice, user_message
from photosense.library import Library, LibraryStatus, SkippedRecord


class WindowDialogs(QObject):
    """Opens the window's dialogs over ``parent`` and remembers the device models load on."""

    failed = Signal(str)  # what could not be loaded for a dialog, in words

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        indexing: IndexingController,
        *,
        settings: QSettings | None = None,
        device: str = "auto",  # what the library's models were opened on
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.indexing = indexing
        self.settings = settings
        self.device = device
        self.widget = parent
        self.skipped_dialog: SkippedFilesDialog | None = None
        self.models_dialog: ModelsDialog | None = None
        self.about_dialog: AboutDialog | None = None

    def show_models(self) -> ModelsDialog:
        """Open the Models page (one page, kept while the window lives)."""
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(
                self.library,
                self.runner,
                self.indexing.switch_model,
                settings=self.settings,
                device=self.device,
                parent=self.widget,
            )
            self.models_dialog.device_applied.connect(self._on_device_applied)
            switch = self.indexing.switch_job
            if switch is not None and switch in self.runner.jobs:
                self.models_dialog.track_switch(switch, self.indexing.switch_name)
        else:
            self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def show_finetune(self) -> FineTuneDialog:
        """Open the fine-tuning dialog (one, kept while the window lives, so a result stays)."""
        dialog = self.widget.findChild(FineTuneDialog) if self.widget is not None else None
        if dialog is None:
            dialog = FineTuneDialog(
                self.library, self.runner, self.indexing.switch_model, parent=self.widget
            )
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def _on_device_applied(self, device: str) -> None:
        self.device = device

    def show_about(self, overview: LibraryStatus | None) -> AboutDialog:
        """About photosense: the model that answers (the overview's, once it is read)."""
        model = overview.active_model if overview is not None else self.library.models.spec
        if self.library.models.fallback:
            model += f" ({fallback_notice(self.library.models.fallback)})"
        self.about_dialog = AboutDialog(
            model=model, library=str(self.library.path), device=self.device, parent=self.widget
        )
        self.about_dialog.open()
        return self.about_dialog

    def show_skipped(self) -> Job:
        """Open the list of skipped files (loaded in the background)."""
        job = Job.call(self.library.folders.skipped, name="skipped files")
        job.signals.finished.connect(self._on_skipped_loaded)
        job.signals.failed.connect(lambda exc: self.failed.emit(user_message(exc)))
        return self.runner.start(job)

    def _on_skipped_loaded(self, skipped: list[SkippedRecord]) -> None:
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        self.skipped_dialog = SkippedFilesDialog(skipped, self.widget)
        self.skipped_dialog.open()
