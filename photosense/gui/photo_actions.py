"""Stars, turns, export and duplicates for the window: the actions (keys 0-5 on the grid,
Ctrl+R and Ctrl+Shift+R), the Photo and Tools menu entries, and the jobs they start.

Installed on the main window with :meth:`PhotoActions.install`, which adds its entries to the
window's menus and reloads the grid after each change; window.py only calls it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QProgressDialog, QWidget

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.words import photos, user_message
from photosense.library import FAVOURITE, CopyReport, Library, MarkReport, PhotoRecord
from photosense.progress import CancelToken, Progress

SHOWN_MS = 8000
FAILURE_SHOWN_MS = 15000


def stars(count: int) -> str:
    return "★" * count + "☆" * (FAVOURITE - count)


def mark_words(report: MarkReport, done: str) -> str:
    """What a rating or rotation did, and which sidecars could not be written."""
    text = f"{photos(report.photos)} {done}"
    if report.failed:
        path, reason = report.failed[0]
        text += (
            f"; the XMP sidecar of {len(report.failed):,} could not be written "
            f"({path}: {reason}), the library keeps it"
        )
    return text


def copy_words(report: CopyReport) -> str:
    text = f"Copied {photos(len(report.copied))} to {report.destination}"
    if report.renamed:
        text += f" ({report.renamed:,} renamed: their names were taken)"
    if report.failed:
        path, reason = report.failed[0]
        text += f"; {len(report.failed):,} could not be copied ({path}: {reason})"
    if report.cancelled:
        text += "; stopped, what was copied stays"
    return text


class PhotoActions(QObject):
    """Rate, turn, export the grid's selected photos; open the duplicates review."""

    changed = Signal()  # photos' marks or the library changed: reload what shows them
    reported = Signal(str, int)  # what happened in words, and how long to show it (ms)

    def __init__(
        self,
        library: Library,
        runner: JobRunner,
        selected: Callable[[], list[PhotoRecord]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.selected = selected
        self.widget = parent
        self.export_job: Job | None = None
        self.progress: QProgressDialog | None = None
        self.rate_actions = [
            self._action(stars(n) if n else "Unrated", partial(self.rate_selected, n), str(n))
            for n in range(FAVOURITE + 1)
        ]
        self.favourite_action = self._action("&Favourite", self.toggle_favourite)
        self.rotate_right_action = self._action(
            "Rotate &right", lambda: self.rotate_selected(1), "Ctrl+R"
        )
        self.rotate_left_action = self._action(
            "Rotate &left", lambda: self.rotate_selected(-1), "Ctrl+Shift+R"
        )
        self.export_action = self._action("&Export…", self.choose_export, "Ctrl+Shift+E")
        self.duplicates_action = self._action("Find &duplicates…", self.show_duplicates)

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str | None = None
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    @classmethod
    def install(cls, window: Any) -> PhotoActions:
        """Make the actions for ``window`` (a MainWindow): keys 0-5 while the grid has focus
        (so typing in a field is never taken for a rating), the rest window-wide, and their
        entries at the end of the Photo menu and in the Tools menu."""
        actions = cls(window.library, window.runner, window.grid.selected_records, window)
        for action in actions.rate_actions:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            window.grid.addAction(action)
        for action in (
            actions.rotate_right_action,
            actions.rotate_left_action,
            actions.export_action,
        ):
            window.addAction(action)
        window.photo_menu.aboutToShow.connect(lambda: actions.fill_menu(window.photo_menu))
        actions.fill_menu(window.photo_menu)
        tools = next(
            (m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Tools"), None
        )
        if tools is not None:
            tools.addAction(actions.duplicates_action)
        actions.reported.connect(window.statusBar().showMessage)
        actions.changed.connect(lambda: _reload(window))
        return actions

    def fill_menu(self, menu: QMenu) -> None:
        """Append the entries to ``menu`` (the window's Photo menu, rebuilt as it opens)."""
        menu.addSeparator()
        rating = menu.addMenu("&Rating")
        for action in self.rate_actions:
            rating.addAction(action)
        menu.addAction(self.favourite_action)
        menu.addAction(self.rotate_right_action)
        menu.addAction(self.rotate_left_action)
        menu.addSeparator()
        menu.addAction(self.export_action)

    # -- stars and turns ---------------------------------------------------------------------

    def rate_selected(self, count: int) -> Job | None:
        return self.rate([r.id for r in self.selected()], count)

    def rate(self, photo_ids: Sequence[int], count: int) -> Job | None:
        """Give photos ``count`` stars in the background (also in their sidecars)."""
        ids = list(photo_ids)
        if not ids:
            return None
        done = f"rated {stars(count)}" if count else "unrated"
        job = Job.call(self.library.ratings.rate, ids, count, name="rate", lane=Lane.WRITE)
        return self._start(job, done)

    def toggle_favourite(self) -> Job | None:
        """Favourites (5 stars) for the selection, or unrated when all are favourites already."""
        records = self.selected()
        on = not records or not all(r.rating == FAVOURITE for r in records)
        return self.rate([r.id for r in records], FAVOURITE if on else 0)

    def rotate_selected(self, quarter_turns: int) -> Job | None:
        ids = [r.id for r in self.selected()]
        if not ids:
            return None
        job = Job.call(
            self.library.rotation.rotate, ids, quarter_turns, name="rotate", lane=Lane.WRITE
        )
        return self._start(job, "turned (the files are unchanged)")

    def _start(self, job: Job, done: str) -> Job:
        job.signals.finished.connect(
            lambda report: self.reported.emit(mark_words(report, done), SHOWN_MS)
        )
        job.signals.failed.connect(
            lambda exc: self.reported.emit(user_message(exc), FAILURE_SHOWN_MS)
        )
        job.signals.done.connect(self.changed.emit)
        return self.runner.start(job)

    # -- export ------------------------------------------------------------------------------

    def choose_export(self) -> Job | None:
        """Ask for a folder, then copy the selected photos there."""
        ids = [r.id for r in self.selected()]
        if not ids:
            self.reported.emit("Select the photos to export first.", SHOWN_MS)
            return None
        folder = QFileDialog.getExistingDirectory(
            self.widget, f"Export {photos(len(ids))} to a folder"
        )
        return self.export(ids, folder) if folder else None

    def export(self, photo_ids: Sequence[int], folder: str) -> Job:
        """Copy photos into ``folder`` in the background, with a progress dialog to cancel."""
        ids, library = list(photo_ids), self.library

        def work(cancel: CancelToken) -> Any:
            return library.export.copy(ids, folder, cancel)

        job = Job(work, name="export", lane=Lane.READ)
        progress = QProgressDialog(f"Copying {photos(len(ids))}…", "Cancel", 0, len(ids))
        progress.setWindowTitle("Export")
        progress.setMinimumDuration(400)
        progress.canceled.connect(job.cancel)
        job.signals.progressed.connect(lambda p: progress.setValue(_done(p)))
        job.signals.finished.connect(lambda r: self.reported.emit(copy_words(r), SHOWN_MS))
        job.signals.cancelled.connect(
            lambda: self.reported.emit("Export stopped; what was copied stays.", SHOWN_MS)
        )
        job.signals.failed.connect(
            lambda exc: self.reported.emit(user_message(exc), FAILURE_SHOWN_MS)
        )
        job.signals.done.connect(progress.reset)
        self.export_job, self.progress = job, progress
        return self.runner.start(job)

    # -- duplicates --------------------------------------------------------------------------

    def show_duplicates(self) -> QWidget:
        """Open the duplicates review (it starts looking at once)."""
        from photosense.gui.duplicates_dialog import DuplicatesDialog

        dialog = DuplicatesDialog(self.library, self.runner, self.widget)
        dialog.library_changed.connect(self.changed.emit)
        dialog.show()
        return dialog


def _done(progress: Progress) -> int:
    return progress.done


def _reload(window: QMainWindow) -> None:
    """The photos' records changed: fetch them again and redraw the grid and detail pane."""
    window.model.forget_records()  # type: ignore[attr-defined]
    window.refresh_overview()  # type: ignore[attr-defined]
    window.refresh_grid(keep_position=True)  # type: ignore[attr-defined]
