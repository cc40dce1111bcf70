"""The main window: sidebar, search bar, photo grid, detail pane and indexing status.

Everything slow (the model, the disk, the database) runs in jobs; the window only starts them
and shows what they report. It talks to the library only through the Library API, which is safe
to call from the jobs' threads (it serialises use of the model and the vector index itself).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import QByteArray, QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.errors import NotIndexedError, PhotosenseError
from photosense.gui.desktop import open_files, show_in_folder
from photosense.gui.detail import DetailPane
from photosense.gui.dialogs import SkippedFilesDialog
from photosense.gui.grid import PhotoGridView
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.models import GridRole, PhotoGridModel
from photosense.gui.search_bar import SearchBar, SearchQuery
from photosense.gui.sidebar import LibrarySidebar
from photosense.gui.status import IndexingStatus
from photosense.gui.thumbnail_loader import ThumbnailLoader
from photosense.gui.welcome import WelcomePanel
from photosense.indexing import IndexReport
from photosense.library import Library, LibraryStatus, SearchResults
from photosense.media.thumbnails import ThumbnailCache
from photosense.progress import CancelToken, Progress
from photosense.store.repository import PhotoRecord

log = logging.getLogger(__name__)

SEARCH_LIMIT = 500
SIMILAR_LIMIT = 200
LIVE_REFRESH_S = 2.5  # how often the grid and counts refresh while indexing
SETTINGS_ORG = "photosense"
SETTINGS_APP = "photosense"


def default_settings() -> QSettings:
    """The user's settings store (organisation "photosense")."""
    return QSettings(SETTINGS_ORG, SETTINGS_APP)


def user_message(exc: object) -> str:
    """An error as one line for the user; core messages name CLI commands, the GUI has buttons."""
    if isinstance(exc, NotIndexedError):
        return "No photos are indexed yet: add a folder, or wait for indexing to finish."
    if isinstance(exc, PhotosenseError):
        return str(exc)
    log.error("unexpected error", exc_info=exc if isinstance(exc, BaseException) else None)
    return f"Something went wrong: {exc}"


class MainWindow(QMainWindow):
    """The photosense window over one open :class:`Library` (the caller closes the library)."""

    overview_changed = Signal(object)  # LibraryStatus
    grid_changed = Signal()  # the grid shows new contents (all photos, a search, similar)
    indexing_started = Signal(object)  # Job
    indexing_ended = Signal()

    def __init__(
        self,
        library: Library,
        *,
        settings: QSettings | None = None,
        index_batch_size: int | None = None,  # None: what suits the model's device
        pictures_folder: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings
        self.index_batch_size = index_batch_size
        self.runner = JobRunner(self)
        self.thumbnail_cache = ThumbnailCache.for_library(library.path)
        self.thumbnails = ThumbnailLoader(self.runner, self.thumbnail_cache, fit=320, parent=self)
        self.model = PhotoGridModel(
            self.runner, library.store.photos, self.thumbnails, parent=self
        )  # core-api: Library.photos(ids) would be the door for this
        self.overview: LibraryStatus | None = None
        self.query = SearchQuery()
        self.similar_to: PhotoRecord | None = None
        self.last_error: str = ""
        self.skipped_dialog: SkippedFilesDialog | None = None
        self._grid_signals: object = None
        self._grid_keep_position = False
        self._detail_shown: tuple[PhotoRecord | None, int] = (None, 0)
        self._index_jobs: list[Job] = []
        self._last_live_refresh = 0.0
        self._closing = False

        self.setWindowTitle("photosense")
        self.setAcceptDrops(True)
        self._build_widgets(pictures_folder)
        self._build_actions()
        self._restore_settings()
        self.refresh_overview()
        self.refresh_grid()

    # -- construction -----------------------------------------------------------------------

    def _build_widgets(self, pictures_folder: str | None) -> None:
        self.sidebar = LibrarySidebar()
        self.sidebar.folder_selected.connect(self._on_folder_selected)
        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.remove_folder)
        self.sidebar.rescan_requested.connect(self.rescan)

        self.search_bar = SearchBar()
        self.search_bar.query_changed.connect(self._on_query_changed)

        self.results_label = QLabel()
        self.results_label.setObjectName("resultsLabel")
        self.results_label.setTextFormat(Qt.TextFormat.PlainText)
        self.back_button = QToolButton()
        self.back_button.setText("Back to all photos")
        self.back_button.setAutoRaise(True)
        self.back_button.clicked.connect(self.back_to_all)
        self.back_button.setVisible(False)
        banner = QHBoxLayout()
        banner.setContentsMargins(2, 0, 2, 0)
        banner.addWidget(self.results_label, 1)
        banner.addWidget(self.back_button)

        self.grid = PhotoGridView()
        self.grid.setModel(self.model)
        self.grid.open_requested.connect(self.open_photos)
        self.grid.similar_requested.connect(self.show_similar)
        self.grid.show_in_folder_requested.connect(self.show_in_folder)
        self.grid.selectionModel().selectionChanged.connect(self._update_detail)
        self.grid.selectionModel().currentChanged.connect(self._update_detail)
        self.search_bar.results_focus_requested.connect(self._focus_grid)
        self.model.records_loaded.connect(self._on_records_loaded)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.search_bar)
        centre_layout.addLayout(banner)
        centre_layout.addWidget(self.grid, 1)

        self.detail = DetailPane(self.runner, self.thumbnail_cache)
        self.detail.open_requested.connect(self.open_photos)
        self.detail.similar_requested.connect(self.show_similar)
        self.detail.show_in_folder_requested.connect(self.show_in_folder)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([220, 780, 320])
        self.splitter.setChildrenCollapsible(False)

        self.welcome = WelcomePanel(pictures_folder)
        self.welcome.folder_chosen.connect(lambda path: self.add_folders([path]))
        self.welcome.choose_requested.connect(self.choose_folder)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.splitter)
        self.stack.addWidget(self.welcome)
        self.setCentralWidget(self.stack)

        status = self.statusBar()
        self.indexing_status = IndexingStatus()
        self.indexing_status.cancel_requested.connect(self.cancel_indexing)
        self.count_label = QLabel()
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setToolTip("Files that could not be used, and why")
        self.skipped_button.clicked.connect(self.show_skipped)
        self.skipped_button.setVisible(False)
        status.addPermanentWidget(self.indexing_status)
        status.addPermanentWidget(self.skipped_button)
        status.addPermanentWidget(self.count_label)

        QWidget.setTabOrder(self.sidebar.tree, self.search_bar.field)
        QWidget.setTabOrder(self.search_bar.field, self.search_bar.filter_button)
        QWidget.setTabOrder(self.search_bar.filter_button, self.grid)
        QWidget.setTabOrder(self.grid, self.detail.similar_button)

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.add_folder_action = self._action(
            "&Add folder…", self.choose_folder, QKeySequence.StandardKey.Open
        )
        self.rescan_action = self._action("&Rescan all folders", lambda: self.rescan(None), "F5")
        self.skipped_action = self._action("&Skipped files…", self.show_skipped)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.find_action = self._action(
            "&Find…", self.search_bar.focus_field, QKeySequence.StandardKey.Find
        )
        self.back_action = self._action(
            "&Back to all photos", self.back_to_all, QKeySequence.StandardKey.Back
        )
        self.cancel_action = self._action("&Cancel indexing", self.cancel_indexing)
        self.cancel_action.setEnabled(False)
        self.show_detail_action = self._action("&Details pane", self._toggle_detail, "Ctrl+I")
        self.show_detail_action.setCheckable(True)
        self.show_detail_action.setChecked(True)
        self.show_sidebar_action = self._action("&Sidebar", self._toggle_sidebar, "Ctrl+B")
        self.show_sidebar_action.setCheckable(True)
        self.show_sidebar_action.setChecked(True)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in (self.add_folder_action, self.rescan_action, self.cancel_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.skipped_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu("&Edit")
        edit_menu.addAction(self.find_action)
        photo_menu = menus.addMenu("&Photo")
        for action in (
            self.grid.similar_action,
            self.grid.open_action,
            self.grid.show_in_folder_action,
        ):
            photo_menu.addAction(action)
        photo_menu.addSeparator()
        photo_menu.addAction(self.back_action)
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.show_sidebar_action)
        view_menu.addAction(self.show_detail_action)

    # -- settings ---------------------------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = self.settings
        if settings is None:
            self.resize(1320, 840)
            return
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1320, 840)
        state = settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self.query = SearchQuery(
            after=_date_setting(settings.value("search/after")),
            before=_date_setting(settings.value("search/before")),
            min_score=_float_setting(settings.value("search/min_score")),
            sort=str(settings.value("search/sort", "score")),
        )
        self.search_bar.restore(self.query)

    def save_settings(self) -> None:
        settings = self.settings
        if settings is None:
            return
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/splitter", self.splitter.saveState())
        query = self.search_bar.query
        settings.setValue("search/after", query.after.isoformat() if query.after else "")
        settings.setValue("search/before", query.before.isoformat() if query.before else "")
        settings.setValue("search/min_score", query.min_score if query.min_score else "")
        settings.setValue("search/sort", query.sort)
        settings.sync()

    # -- library overview -------------------------------------------------------------------

    def refresh_overview(self) -> Job:
        """Reload folders and counts in the background."""
        library = self.library
        job = Job.call(library.status, name="overview", lane=Lane.READ)
        job.signals.finished.connect(self._on_overview)
        job.signals.failed.connect(self._on_overview_failed)
        return self.runner.start(job)

    def _on_overview(self, overview: LibraryStatus) -> None:
        self.overview = overview
        self.sidebar.set_folders(overview.folders, overview.photos)
        self.count_label.setText(f"{overview.photos:,} photos")
        self.count_label.setToolTip(f"Library: {self.library.path}\nModel: {overview.active_model}")
        self.skipped_button.setText(f"{overview.skipped:,} skipped")
        self.skipped_button.setVisible(overview.skipped > 0)
        show_welcome = not overview.folders and not self._index_jobs
        self.stack.setCurrentWidget(self.welcome if show_welcome else self.splitter)
        self._update_banner()
        self.overview_changed.emit(overview)

    def _on_overview_failed(self, exc: object) -> None:
        self.statusBar().showMessage(user_message(exc))

    # -- the grid ---------------------------------------------------------------------------

    def refresh_grid(self, *, keep_position: bool = False) -> Job:
        """Reload what the grid shows: a search, similar photos, or all photos newest first."""
        query, library = self.query, self.library
        self._grid_keep_position = keep_position
        job: Job
        if self.similar_to is not None:
            path = self.similar_to.path
            job = Job.call(lambda: library.similar(path, limit=SIMILAR_LIMIT), name="similar")
            job.signals.finished.connect(self._on_results)
        elif query.text:
            job = Job.call(
                lambda: library.search(
                    query.text,
                    limit=SEARCH_LIMIT,
                    min_score=query.min_score,
                    folder=query.folder,
                    after=query.after_datetime,
                    before=query.before_datetime,
                    sort=query.sort,
                ),
                name="search",
            )
            job.signals.finished.connect(self._on_results)
            self.results_label.setText("Searching…")
        else:
            job = Job.call(
                lambda: library.photo_ids(
                    folder=query.folder,
                    after=query.after_datetime,
                    before=query.before_datetime,
                ),
                name="all photos",
            )
            job.signals.finished.connect(self._on_photo_ids)
        job.signals.failed.connect(self._on_grid_failed)
        self._grid_signals = job.signals
        return self.runner.start(job)

    def _current_grid_job(self) -> bool:
        return self.sender() is self._grid_signals

    def _on_photo_ids(self, ids: list[int]) -> None:
        if self._current_grid_job():
            self.last_error = ""
            self._show_in_grid(ids)

    def _on_results(self, results: SearchResults) -> None:
        if self._current_grid_job():
            self.last_error = ""
            self._show_in_grid(
                [h.photo.id for h in results.hits],
                [h.score for h in results.hits],
                [h.photo for h in results.hits],
            )

    def _on_grid_failed(self, exc: object) -> None:
        if self._current_grid_job():
            self.last_error = user_message(exc)
            self.model.clear()
            self._update_banner()
            self.grid_changed.emit()

    def _show_in_grid(
        self,
        ids: Sequence[int],
        scores: Sequence[float] | None = None,
        records: Sequence[PhotoRecord] = (),
    ) -> None:
        """Replace the grid's photos, keeping the selected photos selected when still there.

        A live refresh (indexing added photos) keeps the scroll position; a new query shows
        the current photo, or the top.
        """
        selection = self.grid.selectionModel()
        selected = [i.data(GridRole.PhotoIdRole) for i in selection.selectedIndexes()]
        current = self.grid.currentIndex().data(GridRole.PhotoIdRole)
        scroll = self.grid.verticalScrollBar().value()
        keep_position = self._grid_keep_position
        self.model.set_photos(ids, scores, records)
        for photo_id in selected:
            row = self.model.row_of(photo_id)
            if row is not None:
                selection.select(self.model.index(row), QItemSelectionModel.SelectionFlag.Select)
        row = self.model.row_of(current) if current is not None else None
        if row is not None:
            selection.setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate
            )
        if keep_position:
            self._restore_scroll(scroll)
        elif row is not None:
            index = self.model.index(row)
            QTimer.singleShot(0, self.grid, lambda: self.grid.scrollTo(index))
        self._update_banner()
        self._update_detail()
        self.grid_changed.emit()

    def _restore_scroll(self, value: int, tries: int = 50) -> None:
        """Scroll back to ``value`` once the batched layout has grown the grid that far."""
        bar = self.grid.verticalScrollBar()
        if bar.maximum() >= value or tries <= 0:
            bar.setValue(value)
        else:
            QTimer.singleShot(20, self.grid, lambda: self._restore_scroll(value, tries - 1))

    def _update_banner(self) -> None:
        count = self.model.rowCount()
        self.back_button.setVisible(self.similar_to is not None or bool(self.query.text))
        self.back_action.setEnabled(self.back_button.isVisible())
        if self.last_error:
            text = self.last_error
        elif self.similar_to is not None:
            name = os.path.basename(self.similar_to.path)
            text = f"Photos that look like {name}" if count else f"Nothing looks like {name}"
        elif self.query.text:
            text = (
                f"Best matches for “{self.query.text}” · {count:,}"
                if count
                else f"Nothing matches “{self.query.text}”"
            )
            if self.query.sort == "date":
                text += ", newest first"
        else:
            where = os.path.basename(self.query.folder) if self.query.folder else "All photos"
            text = f"{where} · {count:,}, newest first"
            if self.query.filtered:
                text += " (filtered)"
        self.results_label.setText(text)

    def _on_records_loaded(self) -> None:
        if self.detail.record is None:
            self._update_detail()

    def _update_detail(self, *_args: Any) -> None:
        index = self.grid.currentIndex()
        records = self.grid.selected_records()
        current = index.data(GridRole.PhotoRole) if index.isValid() else None
        if not isinstance(current, PhotoRecord) or not self.grid.selectionModel().isSelected(index):
            current = None
        if current is not None and (current, len(records)) == self._detail_shown:
            return  # a live refresh kept the same photo: no need to reload its preview
        self._detail_shown = (current, len(records))
        score = index.data(GridRole.ScoreRole) if current is not None else None
        self.detail.show_records(records, current, score if isinstance(score, float) else None)

    def _focus_grid(self) -> None:
        self.grid.setFocus()
        if not self.grid.currentIndex().isValid() and self.model.rowCount():
            self.grid.setCurrentIndex(self.model.index(0))

    # -- searching --------------------------------------------------------------------------

    def _on_query_changed(self, query: SearchQuery) -> None:
        self.query = replace(query, folder=self.query.folder)  # the sidebar owns the folder
        self.similar_to = None
        self.refresh_grid()

    def _on_folder_selected(self, folder: str | None) -> None:
        self.query = replace(self.query, folder=folder)
        self.similar_to = None
        self.refresh_grid()

    def show_similar(self, record: PhotoRecord) -> Job:
        """Fill the grid with photos that look like ``record``."""
        self.similar_to = record
        self.results_label.setText(f"Looking for photos like {os.path.basename(record.path)}…")
        return self.refresh_grid()

    def back_to_all(self) -> None:
        """Leave a search or a similar-photos view for all photos."""
        self.similar_to = None
        if self.search_bar.field.text():
            self.search_bar.field.clear()
        self.search_bar.commit()

    # -- photos -----------------------------------------------------------------------------

    def open_photos(self, records: list[PhotoRecord]) -> None:
        open_files([r.path for r in records])

    def show_in_folder(self, record: PhotoRecord) -> None:
        show_in_folder(record.path)

    # -- folders and indexing ---------------------------------------------------------------

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if path:
            self.add_folders([path])

    def add_folders(self, paths: Sequence[str]) -> Job | None:
        """Add folders to the library and index them in the background."""
        folders = [p for p in paths if os.path.isdir(p)]
        if not folders:
            self.statusBar().showMessage("Nothing to add: choose a folder (not a file).", 8000)
            return None
        self.stack.setCurrentWidget(self.splitter)
        return self.start_indexing(folders)

    def rescan(self, folder: str | None) -> Job:
        """Look for new, changed and deleted photos in ``folder`` (None: every folder)."""
        return self.start_indexing([folder] if folder else None)

    def start_indexing(self, paths: Sequence[str] | None = None) -> Job:
        """Index ``paths`` (None: rescan every folder) in the background."""
        return self.start_index_job(self.create_index_job(paths))

    def create_index_job(self, paths: Sequence[str] | None = None) -> Job:
        """An indexing job wired to the window, not started yet (tests connect to it first)."""
        library, batch_size = self.library, self.index_batch_size
        roots = list(paths or ())

        def work(cancel: CancelToken) -> Any:
            return library.index(roots, cancel, batch_size=batch_size)

        job = Job(work, name="index", lane=Lane.WRITE)
        job.signals.started.connect(self._on_index_started)
        job.signals.progressed.connect(self._on_index_progress)
        job.signals.finished.connect(self._on_index_finished)
        job.signals.cancelled.connect(self._on_index_cancelled)
        job.signals.failed.connect(self._on_index_failed)
        job.signals.done.connect(self._on_index_done)
        return job

    def start_index_job(self, job: Job) -> Job:
        """Queue an indexing job; runs happen one at a time (database writes are serialised)."""
        self._index_jobs.append(job)
        if len(self._index_jobs) == 1:
            self.indexing_status.begin("Starting… (loading the model)")
        self.cancel_action.setEnabled(True)
        self.runner.start(job)
        self.indexing_started.emit(job)
        return job

    def cancel_indexing(self) -> None:
        """Stop indexing after the batch in flight; queued runs do not start."""
        for job in self._index_jobs:
            job.cancel()

    def _on_index_started(self) -> None:
        self.indexing_status.begin("Starting… (loading the model)")

    def _on_index_progress(self, progress: Progress) -> None:
        self.indexing_status.update_progress(progress, queued=len(self._index_jobs) - 1)
        now = time.monotonic()
        if progress.total is None and progress.message.startswith("scanning"):
            self.refresh_overview()  # the new folder shows in the sidebar at once
        elif now - self._last_live_refresh >= LIVE_REFRESH_S:
            self._last_live_refresh = now
            self.refresh_overview()
            if self.similar_to is None and not self.query.text:
                self.refresh_grid(keep_position=True)

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
        self.statusBar().showMessage(", ".join(parts), 15000)

    def _on_index_cancelled(self) -> None:
        self.statusBar().showMessage(
            "Indexing stopped. What was indexed is kept; rescan (F5) to finish.", 15000
        )

    def _on_index_failed(self, exc: object) -> None:
        self.statusBar().showMessage(f"Indexing failed: {user_message(exc)}", 30000)

    def _on_index_done(self) -> None:
        self._index_jobs = [j for j in self._index_jobs if j.signals is not self.sender()]
        if not self._index_jobs:
            self.indexing_status.end()
            self.cancel_action.setEnabled(False)
        self.model.forget_records()
        self.refresh_overview()
        self.refresh_grid(keep_position=True)
        self.indexing_ended.emit()

    def remove_folder(self, path: str, *, confirm: bool = True) -> Job | None:
        """Forget ``path`` and its photos (the files stay), after asking."""
        if confirm:
            answer = QMessageBox.question(
                self,
                "Remove folder",
                f"Remove {path} from the library?\n\nThe photos stay on disk; photosense "
                "forgets them and what it learnt about them.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        library = self.library
        job = Job.call(
            lambda: library.remove_folder(path),
            name="remove folder",
            lane=Lane.WRITE,
        )
        job.signals.finished.connect(self._on_folder_removed)
        job.signals.failed.connect(self._on_overview_failed)
        return self.runner.start(job)

    def _on_folder_removed(self, removed: int) -> None:
        self.statusBar().showMessage(f"Folder removed ({removed:,} photos forgotten)", 8000)
        self.model.forget_records()
        self.refresh_overview()
        self.refresh_grid()

    def show_skipped(self) -> Job:
        """Open the list of skipped files (loaded in the background)."""
        library = self.library
        job = Job.call(library.skipped, name="skipped files")
        job.signals.finished.connect(self._on_skipped_loaded)
        job.signals.failed.connect(self._on_overview_failed)
        return self.runner.start(job)

    def _on_skipped_loaded(self, skipped: list[Any]) -> None:
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        self.skipped_dialog = SkippedFilesDialog(skipped, self)
        self.skipped_dialog.open()

    # -- view toggles -----------------------------------------------------------------------

    def _toggle_detail(self) -> None:
        self.detail.setVisible(self.show_detail_action.isChecked())

    def _toggle_sidebar(self) -> None:
        self.sidebar.setVisible(self.show_sidebar_action.isChecked())

    # -- drag and drop ----------------------------------------------------------------------

    @staticmethod
    def _dropped_folders(event: QDragEnterEvent | QDropEvent) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
        return [p for p in paths if os.path.isdir(p)]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_folders(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        folders = self._dropped_folders(event)
        if folders:
            event.acceptProposedAction()
            self.add_folders(folders)

    # -- closing ----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save settings, stop background work (indexing stops after its batch) and wait."""
        if self._closing:
            return
        self._closing = True
        self.save_settings()
        self.search_bar.debounce.stop()
        self.runner.close()


def _date_setting(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _float_setting(value: object) -> float | None:
    try:
        number = float(str(value)) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number else None
