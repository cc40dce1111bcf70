"""The main window: sidebar, search bar, photo grid, detail pane and indexing status; the
menus that open the Models page and About.

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

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
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
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.desktop import open_files, show_in_folder
from photosense.gui.detail import DetailPane
from photosense.gui.dialogs import AboutDialog, SkippedFilesDialog
from photosense.gui.dialogs import confirm as ask
from photosense.gui.finetune_dialog import FineTuneDialog
from photosense.gui.grid import PhotoGridView
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.model_manager_page import ModelsDialog
from photosense.gui.photo_grid_model import GridRole, PhotoGridModel
from photosense.gui.search_bar import SearchBar, SearchQuery
from photosense.gui.sidebar import ALBUM, FOLDER, TAG, LibrarySidebar, Scope, SidebarEntry
from photosense.gui.status import IndexingStatus
from photosense.gui.thumbnail_loader import ThumbnailLoader
from photosense.gui.welcome import WelcomePanel
from photosense.gui.words import fallback_notice, photos, user_message
from photosense.library import (
    AlbumInfo,
    IndexReport,
    Library,
    LibraryStatus,
    PhotoRecord,
    SearchResults,
    SwitchReport,
    TagInfo,
)
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

SEARCH_LIMIT = 500
SIMILAR_LIMIT = 200
LIVE_REFRESH_S = 2.5  # how often the grid and counts refresh while indexing
SETTINGS_ORG = "photosense"
SETTINGS_APP = "photosense"


def default_settings() -> QSettings:
    """The user's settings store (organisation "photosense")."""
    return QSettings(SETTINGS_ORG, SETTINGS_APP)


def list_photo_ids(library: Library, query: SearchQuery) -> list[int]:
    """Any thread: the photos the grid shows when browsing, newest first, filters applied."""
    return library.photos.ids(
        folder=query.folder,
        after=query.after_datetime,
        before=query.before_datetime,
        album=query.album,
        tag=query.tag,
    )


def scope_of(query: SearchQuery) -> Scope:
    """The sidebar item that stands for ``query``: its folder, else its album, else its tag."""
    if query.folder:
        return Scope(FOLDER, query.folder)
    if query.album:
        return Scope(ALBUM, query.album)
    if query.tag:
        return Scope(TAG, query.tag)
    return Scope()


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
        device: str = "auto",  # what the library's models were opened on
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.library = library
        self.settings = settings
        self.index_batch_size = index_batch_size
        self.device = device
        self.runner = JobRunner(self)
        self.thumbnail_cache = library.photos.thumbnails()
        self.thumbnails = ThumbnailLoader(self.runner, self.thumbnail_cache, fit=320, parent=self)
        self.model = PhotoGridModel(self.runner, library.photos.get, self.thumbnails, parent=self)
        self.overview: LibraryStatus | None = None
        self.query = SearchQuery()
        self.similar_to: PhotoRecord | None = None
        self.last_error: str = ""
        self.skipped_dialog: SkippedFilesDialog | None = None
        self.models_dialog: ModelsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        self.albums: list[AlbumInfo] = []
        self.tags: list[TagInfo] | None = None  # None until loaded (it needs the model)
        self.switch_job: Job | None = None
        self._tags_loading = False
        self._switch_name = ""
        self._job_verbs: dict[object, str] = {}  # an embedding job's signals -> its verb
        self._album_submenu: QMenu | None = None
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
        self.refresh_albums()
        self.refresh_grid()

    # -- construction -----------------------------------------------------------------------

    def _build_widgets(self, pictures_folder: str | None) -> None:
        self.sidebar = LibrarySidebar()
        self.sidebar.scope_selected.connect(self._on_scope_selected)
        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.remove_folder)
        self.sidebar.rescan_requested.connect(self.rescan)
        self.sidebar.new_album_requested.connect(self.new_album)
        self.sidebar.rename_album_requested.connect(self.prompt_rename_album)
        self.sidebar.delete_album_requested.connect(self.delete_album)
        self.sidebar.photos_dropped.connect(self.add_to_album)

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
        self.grid.add_to_album_requested.connect(self.add_to_album)
        self.grid.new_album_requested.connect(self.new_album)
        self.grid.remove_from_album_requested.connect(self.remove_from_album)
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

        self.detail = DetailPane(self.runner, self.thumbnail_cache, self.library)
        self.detail.open_requested.connect(self.open_photos)
        self.detail.similar_requested.connect(self.show_similar)
        self.detail.show_in_folder_requested.connect(self.show_in_folder)
        self.detail.tags_changed.connect(self._on_tags_changed)
        self.detail.caption_saved.connect(
            lambda path: self.statusBar().showMessage(
                f"Caption of {os.path.basename(path)} saved", 5000
            )
        )
        self.detail.failed.connect(lambda text: self.statusBar().showMessage(text, 15000))

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
            "&Back from the search", self.back_to_all, QKeySequence.StandardKey.Back
        )
        self.cancel_action = self._action("&Cancel indexing", self.cancel_indexing)
        self.cancel_action.setEnabled(False)
        self.show_detail_action = self._action("&Details pane", self._toggle_detail, "Ctrl+I")
        self.show_detail_action.setCheckable(True)
        self.show_detail_action.setChecked(True)
        self.show_sidebar_action = self._action("&Sidebar", self._toggle_sidebar, "Ctrl+B")
        self.show_sidebar_action.setCheckable(True)
        self.show_sidebar_action.setChecked(True)
        self.models_action = self._action("&Models…", self.show_models, "Ctrl+Shift+M")
        self.about_action = self._action("&About photosense", self.show_about)
        self.new_album_action = self._action(
            "&New album…", lambda: self.new_album(self.grid.selected_ids()), "Ctrl+Shift+N"
        )
        self.caption_action = self._action("Edit &caption", self._focus_caption, "Ctrl+E")
        self.tag_action = self._action("Add a &tag", self._focus_tag_field, "Ctrl+T")

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        for action in (self.add_folder_action, self.rescan_action, self.cancel_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.skipped_action)
        file_menu.addAction(self.models_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu("&Edit")
        edit_menu.addAction(self.find_action)
        photo_menu = self.photo_menu = menus.addMenu("&Photo")
        photo_menu.aboutToShow.connect(self._fill_photo_menu)
        self._fill_photo_menu()
        view_menu = menus.addMenu("&View")
        view_menu.addAction(self.show_sidebar_action)
        view_menu.addAction(self.show_detail_action)
        self.finetune_action = self._action("&Teach the model…", self.show_finetune, "Ctrl+Shift+T")
        tools_menu = menus.addMenu("&Tools")
        tools_menu.addAction(self.finetune_action)
        help_menu = menus.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _fill_photo_menu(self) -> None:
        """The Photo menu, rebuilt as it opens: its album list follows the albums."""
        menu = self.photo_menu
        menu.clear()
        if self._album_submenu is not None:
            self._album_submenu.deleteLater()
        for action in (
            self.grid.similar_action,
            self.grid.open_action,
            self.grid.show_in_folder_action,
        ):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.tag_action)
        menu.addAction(self.caption_action)
        menu.addSeparator()
        self._album_submenu = self.grid.album_menu(menu)
        menu.addMenu(self._album_submenu)
        menu.addAction(self.grid.remove_from_album_action)
        menu.addAction(self.new_album_action)
        menu.addSeparator()
        menu.addAction(self.back_action)

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
        sidecar = settings.value("detail/caption_sidecar", False)
        self.detail.caption.sidecar.setChecked(_bool_setting(sidecar, False))
        self.show_detail_action.setChecked(_bool_setting(settings.value("view/detail"), True))
        self.show_sidebar_action.setChecked(_bool_setting(settings.value("view/sidebar"), True))
        self._toggle_detail()
        self._toggle_sidebar()
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
        settings.setValue("detail/caption_sidecar", self.detail.caption.sidecar.isChecked())
        settings.setValue("view/detail", self.show_detail_action.isChecked())
        settings.setValue("view/sidebar", self.show_sidebar_action.isChecked())
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
        if overview.photos and self.tags is None and not self._tags_loading:
            self.refresh_tags()  # the first time there are photos (tags need the model)
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
            job = Job.call(
                lambda: library.search.similar(path, limit=SIMILAR_LIMIT), name="similar"
            )
            job.signals.finished.connect(self._on_results)
        elif query.text:
            job = Job.call(
                lambda: library.search.text(
                    query.text,
                    limit=SEARCH_LIMIT,
                    min_score=query.min_score,
                    folder=query.folder,
                    after=query.after_datetime,
                    before=query.before_datetime,
                    sort=query.sort,
                    tag=query.tag,
                    album=query.album,
                ),
                name="search",
            )
            job.signals.finished.connect(self._on_results)
            self.results_label.setText("Searching…")
        else:
            job = Job.call(list_photo_ids, library, query, name="all photos")
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
        self.back_button.setText(f"Back to {self._scope_words() or 'all photos'}")
        self.back_action.setEnabled(self.back_button.isVisible())
        if self.last_error:
            text = self.last_error
        elif self.similar_to is not None:
            name = os.path.basename(self.similar_to.path)
            text = f"Photos that look like {name}" if count else f"Nothing looks like {name}"
        elif self.query.text:
            where = self._scope_words()
            within = f" in {where}" if where else ""
            text = (
                f"Best matches for “{self.query.text}”{within} · {count:,}"
                if count
                else f"Nothing{within} matches “{self.query.text}”"
            )
            if self.query.sort == "date":
                text += ", newest first"
        else:
            query = self.query
            where = self._scope_words() or "all photos"
            text = f"{where[:1].upper()}{where[1:]} · {count:,}, newest first"
            named = not query.folder and bool(query.album or query.tag)  # the album or tag
            if query.filter_count > int(named):
                text += " (filtered)"
        self.results_label.setText(text)

    def _scope_words(self) -> str:
        """The folder, album or tag the grid is limited to, in words ("" for none)."""
        query = self.query
        if query.folder:
            return os.path.basename(query.folder) or query.folder
        if query.album:
            return f"album “{query.album}”"
        if query.tag:
            return f"photos tagged “{query.tag}”"
        return ""

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
        self.sidebar.show_scope(scope_of(self.query))
        self.grid.set_current_album(self.query.album)
        self.refresh_grid()

    def _on_scope_selected(self, scope: Scope) -> None:
        """A sidebar item was chosen: show that folder, album or tag (or all photos)."""
        self.query = replace(
            self.query,
            folder=scope.value if scope.kind == FOLDER else None,
            album=scope.value if scope.kind == ALBUM else None,
            tag=scope.value if scope.kind == TAG else None,
        )
        self.search_bar.restore(self.query)  # the Filters menu shows the album and tag
        self.grid.set_current_album(self.query.album)
        self.similar_to = None
        self.refresh_grid()

    def show_scope(self, scope: Scope) -> None:
        """Select ``scope`` in the sidebar (as a click would)."""
        self.sidebar.select(scope)

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
            return library.folders.index(roots, cancel, batch_size=batch_size)

        job = Job(work, name="index", lane=Lane.WRITE)
        return self._wire_library_job(job, self._on_index_finished)

    def _wire_library_job(self, job: Job, on_finished: Callable[[Any], None]) -> Job:
        """Connect a job that embeds photos (indexing, switching models) to the status bar."""
        job.signals.started.connect(self._on_index_started)
        job.signals.progressed.connect(self._on_index_progress)
        job.signals.finished.connect(on_finished)
        job.signals.cancelled.connect(self._on_index_cancelled)
        job.signals.failed.connect(self._on_index_failed)
        job.signals.done.connect(self._on_index_done)
        return job

    def start_index_job(self, job: Job, verb: str = "Indexing") -> Job:
        """Queue an indexing job; runs happen one at a time (database writes are serialised).

        ``verb`` starts the status bar's progress line ("Indexing 120 of 500").
        """
        self._index_jobs.append(job)
        self._job_verbs[job.signals] = verb
        if len(self._index_jobs) == 1:
            self.indexing_status.begin("Starting… (loading the model)", verb)
        self.cancel_action.setEnabled(True)
        self.runner.start(job)
        self.indexing_started.emit(job)
        return job

    def cancel_indexing(self) -> None:
        """Stop indexing (or switching models) after the batch in flight; queued runs do not
        start."""
        for job in self._index_jobs:
            job.cancel()

    def _on_index_started(self) -> None:
        verb = self._job_verbs.get(self.sender(), "Indexing")
        self.indexing_status.begin("Starting… (loading the model)", verb)

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
        if self._job_verbs.get(self.sender(), "Indexing") == "Indexing":
            text = "Indexing stopped. What was indexed is kept; rescan (F5) to finish."
        else:
            text = (
                "Switching models stopped. The photos done are kept; choose the model again "
                "on the Models page to carry on."
            )
        self.statusBar().showMessage(text, 15000)

    def _on_index_failed(self, exc: object) -> None:
        verb = self._job_verbs.get(self.sender(), "Indexing")
        what = "Indexing" if verb == "Indexing" else "Switching models"
        self.statusBar().showMessage(f"{what} failed: {user_message(exc)}", 30000)

    def _on_index_done(self) -> None:
        sender = self.sender()
        self._job_verbs.pop(sender, None)
        self._index_jobs = [j for j in self._index_jobs if j.signals is not sender]
        if not self._index_jobs:
            self.indexing_status.end()
            self.cancel_action.setEnabled(False)
        self.model.forget_records()
        self.refresh_overview()
        self.refresh_albums()
        if self.tags is not None:
            self.refresh_tags()  # new photos were tagged
        self.detail.load_notes()
        self.refresh_grid(keep_position=True)
        self.indexing_ended.emit()

    def remove_folder(self, path: str, *, confirm: bool = True) -> Job | None:
        """Forget ``path`` and its photos (the files stay), after asking."""
        if confirm and not ask(
            self,
            "Remove folder",
            f"Remove {path} from the library?\n\nThe photos stay on disk; photosense "
            "forgets them and what it learnt about them.",
        ):
            return None
        library = self.library
        job = Job.call(
            lambda: library.folders.remove(path),
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
        job = Job.call(library.folders.skipped, name="skipped files")
        job.signals.finished.connect(self._on_skipped_loaded)
        job.signals.failed.connect(self._on_overview_failed)
        return self.runner.start(job)

    def _on_skipped_loaded(self, skipped: list[Any]) -> None:
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        self.skipped_dialog = SkippedFilesDialog(skipped, self)
        self.skipped_dialog.open()

    # -- albums and tags -------------------------------------------------------------------

    def refresh_albums(self) -> Job:
        """Reload the albums and their counts in the background."""
        job = Job.call(self.library.albums.list, name="albums", lane=Lane.READ)
        job.signals.finished.connect(self._on_albums)
        job.signals.failed.connect(self._on_overview_failed)
        return self.runner.start(job)

    def _on_albums(self, albums: list[AlbumInfo]) -> None:
        self.albums = albums
        self.grid.albums = [album.name for album in albums]
        self.search_bar.filters.set_choices(self.grid.albums, None)
        entries = [
            SidebarEntry(a.name, a.count, f"{a.name}\n{a.description}" if a.description else "")
            for a in albums
        ]
        self.sidebar.set_albums(entries)
        self.sidebar.show_scope(scope_of(self.query))

    def refresh_tags(self) -> Job:
        """Reload the tags and their counts in the background (this loads the model)."""
        self._tags_loading = True
        job = Job.call(self.library.tags.list, name="tags", lane=Lane.READ)
        job.signals.finished.connect(self._on_tags)
        job.signals.failed.connect(lambda exc: log.warning("could not list the tags: %s", exc))
        job.signals.done.connect(lambda: setattr(self, "_tags_loading", False))
        return self.runner.start(job)

    def _on_tags(self, tags: list[TagInfo]) -> None:
        self.tags = tags
        used = [t for t in tags if t.accepted + t.suggested > 0]
        used.sort(key=lambda t: (-(t.accepted + t.suggested), t.name.casefold()))
        self.sidebar.set_tags(
            [
                SidebarEntry(
                    t.name,
                    t.accepted + t.suggested,
                    f"{t.name}: {t.accepted:,} confirmed, {t.suggested:,} suggested",
                )
                for t in used
            ]
        )
        self.sidebar.show_scope(scope_of(self.query))
        self.search_bar.filters.set_choices(None, sorted((t.name for t in used), key=str.casefold))
        self.detail.tag_editor.set_vocabulary([t.name for t in tags])

    def _on_tags_changed(self) -> None:
        self.refresh_tags()
        if self.query.tag is not None:
            self.refresh_grid(keep_position=True)

    def _focus_caption(self) -> None:
        if self.detail.record is not None:
            self.show_detail_action.setChecked(True)
            self.detail.setVisible(True)
            self.detail.caption.edit.setFocus()

    def _focus_tag_field(self) -> None:
        if self.detail.record is not None:
            self.show_detail_action.setChecked(True)
            self.detail.setVisible(True)
            self.detail.tag_editor.add_field.setFocus()

    def new_album(self, photo_ids: Sequence[int] = ()) -> Job | None:
        """Ask for a name and create an album (holding ``photo_ids``, if any)."""
        what = f" for {len(photo_ids):,} photos" if photo_ids else ""
        name, ok = QInputDialog.getText(
            self, "New album", f"Name of the new album{what}:", QLineEdit.EchoMode.Normal
        )
        if not ok or not name.strip():
            return None
        return self.create_album(name, photo_ids)

    def create_album(self, name: str, photo_ids: Sequence[int] = ()) -> Job:
        """Create an album in the background, with ``photo_ids`` in it."""
        library, ids = self.library, list(photo_ids)

        def create() -> tuple[AlbumInfo, int]:
            album = library.albums.create(name)
            return album, library.albums.add(album.name, ids) if ids else 0

        job = Job.call(create, name="create album", lane=Lane.WRITE)
        job.signals.finished.connect(self._on_album_created)
        return self._start_album_job(job)

    def _on_album_created(self, result: tuple[AlbumInfo, int]) -> None:
        album, added = result
        what = f" with {photos(added)}" if added else ""
        self.statusBar().showMessage(f"Album “{album.name}” created{what}", 8000)

    def prompt_rename_album(self, old: str) -> Job | None:
        new, ok = QInputDialog.getText(
            self, "Rename album", f"New name for “{old}”:", QLineEdit.EchoMode.Normal, old
        )
        if not ok or not new.strip() or new.strip() == old:
            return None
        return self.rename_album(old, new)

    def rename_album(self, old: str, new: str) -> Job:
        """Rename an album in the background; the grid follows it if it shows that album."""
        job = Job.call(self.library.albums.rename, old, new, name="rename album", lane=Lane.WRITE)
        job.signals.finished.connect(lambda album: self._on_album_renamed(old, album))
        return self._start_album_job(job)

    def _on_album_renamed(self, old: str, album: AlbumInfo) -> None:
        self.sidebar.rename(Scope(ALBUM, old), album.name)
        if self.query.album == old:
            self.query = replace(self.query, album=album.name)
            self.search_bar.restore(self.query)
            self.grid.set_current_album(album.name)
        self.statusBar().showMessage(f"Album “{old}” is now “{album.name}”", 8000)

    def delete_album(self, name: str, *, confirm: bool = True) -> Job | None:
        """Delete an album (its photos stay), after asking."""
        if confirm and not ask(
            self,
            "Delete album",
            f"Delete the album “{name}”?\n\nIts photos stay in the library and on disk.",
        ):
            return None
        job = Job.call(self.library.albums.delete, name, name="delete album", lane=Lane.WRITE)
        job.signals.finished.connect(lambda _count: self._on_album_deleted(name))
        return self._start_album_job(job)

    def _on_album_deleted(self, name: str) -> None:
        if self.query.album == name:
            self.query = replace(self.query, album=None)
            self.search_bar.restore(self.query)
            self.grid.set_current_album(None)
        self.statusBar().showMessage(f"Album “{name}” deleted; its photos stay", 8000)

    def add_to_album(self, name: str, photo_ids: Sequence[int]) -> Job | None:
        """Add photos to an album in the background (those already in it stay once)."""
        ids = list(photo_ids)
        if not ids:
            return None
        job = Job.call(self.library.albums.add, name, ids, name="add to album", lane=Lane.WRITE)
        job.signals.finished.connect(
            lambda added: self.statusBar().showMessage(
                f"Added {photos(added)} to “{name}”"
                + (f" ({len(ids) - added:,} already in it)" if added < len(ids) else ""),
                8000,
            )
        )
        return self._start_album_job(job)

    def remove_from_album(self, photo_ids: Sequence[int]) -> Job | None:
        """Take photos out of the album the grid shows (they stay in the library)."""
        name, ids = self.query.album, list(photo_ids)
        if name is None or not ids:
            return None
        job = Job.call(
            self.library.albums.remove, name, ids, name="remove from album", lane=Lane.WRITE
        )
        job.signals.finished.connect(
            lambda removed: self.statusBar().showMessage(
                f"Took {photos(removed)} out of “{name}”; the library keeps them", 8000
            )
        )
        return self._start_album_job(job)

    def _start_album_job(self, job: Job) -> Job:
        """Album changes: say what failed; afterwards reload the albums, the grid, the pane."""
        job.signals.failed.connect(
            lambda exc: self.statusBar().showMessage(user_message(exc), 15000)
        )
        job.signals.done.connect(self._after_album_change)
        return self.runner.start(job)

    def _after_album_change(self) -> None:
        self.refresh_albums()
        if self.query.album is not None:
            self.refresh_grid(keep_position=True)
        self.detail.load_notes()

    # -- models and about -------------------------------------------------------------------

    def show_models(self) -> ModelsDialog:
        """Open the Models page (one page, kept while the window lives)."""
        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(
                self.library,
                self.runner,
                self.switch_model,
                settings=self.settings,
                device=self.device,
                parent=self,
            )
            self.models_dialog.device_applied.connect(self._on_device_applied)
            if self.switch_job is not None and self.switch_job in self.runner.jobs:
                self.models_dialog.track_switch(self.switch_job, self._switch_name)
        else:
            self.models_dialog.refresh()
        self.models_dialog.show()
        self.models_dialog.raise_()
        return self.models_dialog

    def show_finetune(self) -> FineTuneDialog:
        """Open the fine-tuning dialog (one, kept while the window lives, so a result stays)."""
        dialog = self.findChild(FineTuneDialog)
        if dialog is None:
            dialog = FineTuneDialog(self.library, self.runner, self.switch_model, parent=self)
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()
        return dialog

    def _on_device_applied(self, device: str) -> None:
        self.device = device

    def show_about(self) -> AboutDialog:
        overview = self.overview
        model = overview.active_model if overview is not None else self.library.models.spec
        if self.library.models.fallback:
            model += f" ({fallback_notice(self.library.models.fallback)})"
        self.about_dialog = AboutDialog(
            model=model, library=str(self.library.path), device=self.device, parent=self
        )
        self.about_dialog.open()
        return self.about_dialog

    def switch_model(
        self, spec: str, before_start: Callable[[Job], None] | None = None
    ) -> Job | None:
        """Re-embed the library with ``spec`` in the background, then search with it.

        ``before_start`` gets the job before it starts, to connect to its signals.
        """
        if self.switch_job is not None:
            return None
        library, batch_size = self.library, self.index_batch_size

        def work(cancel: CancelToken) -> Any:
            return library.models.use(spec, cancel, batch_size=batch_size)

        job = Job(work, name="switch model", lane=Lane.WRITE)
        self.switch_job, self._switch_name = job, spec
        self._wire_library_job(job, self._on_switch_finished)
        job.signals.done.connect(self._on_switch_done)
        if before_start is not None:
            before_start(job)
        return self.start_index_job(job, verb=f"Embedding with {spec}")

    def _on_switch_finished(self, report: SwitchReport) -> None:
        if report.activated:
            self.statusBar().showMessage(f"Searches now use {report.model_id}", 15000)

    def _on_switch_done(self) -> None:
        self.switch_job = None
        self.refresh_tags()  # tags are scored under the active model
        if self.query.text or self.similar_to is not None:
            self.refresh_grid()

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

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        # The system switched between light and dark: redraw what was drawn in the old colours.
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.model.palette_changed()
            if self.overview is not None:
                self.sidebar.set_folders(self.overview.folders, self.overview.photos)
                self.refresh_albums()  # their icon is drawn in the text colour
        super().changeEvent(event)

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


def _bool_setting(value: object, default: bool) -> bool:
    """QSettings gives booleans back as strings from INI files."""
    if value is None or value == "":
        return default
    return str(value).lower() in ("true", "1")


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
