"""The main window: sidebar, search bar, photo grid, detail pane and indexing status; the
menus that open the Models page and About.

Everything slow (the model, the disk, the database) runs in jobs; the window only starts them
and shows what they report. It talks to the library only through the Library API, which is safe
to call from the jobs' threads (it serialises use of the model and the vector index itself).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.album_actions import AlbumActions
from photosense.gui.desktop import no_viewer_message, open_files, show_in_folder
from photosense.gui.detail import DetailPane
from photosense.gui.dialogs import AboutDialog
from photosense.gui.folder_drop import FolderDrop
from photosense.gui.help_menu import HelpMenu
from photosense.gui.indexing_controller import IndexingController
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.people_page import PeopleController
from photosense.gui.photo_actions import PhotoActions
from photosense.gui.photo_grid_model import GridRole, PhotoGridModel
from photosense.gui.places_controller import PlacesController
from photosense.gui.search_bar import SearchBar, SearchQuery
from photosense.gui.search_scope import GridContents, SearchScope
from photosense.gui.sidebar import ALBUM, LibrarySidebar, Scope, SidebarEntry
from photosense.gui.status import IndexingStatus
from photosense.gui.thumbnail_loader import ThumbnailLoader
from photosense.gui.thumbnail_size import ThumbnailSize
from photosense.gui.timeline import TimelineView
from photosense.gui.timeline_controls import Timeline
from photosense.gui.viewer import KEYS as VIEWER_KEYS
from photosense.gui.viewer import PhotoViewer, ViewerMode
from photosense.gui.welcome import WelcomePanel
from photosense.gui.window_dialogs import WindowDialogs
from photosense.gui.window_settings import SavedView, read_view, write_view
from photosense.gui.words import model_name, user_message
from photosense.library import AlbumInfo, Library, LibraryStatus, PhotoRecord, TagInfo

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The photosense window over one open :class:`Library` (the caller closes the library)."""

    overview_changed = Signal(object)  # LibraryStatus
    grid_changed = Signal()  # the grid shows new contents (all photos, a search, similar)

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
        self.runner = JobRunner(self)
        self.thumbnail_cache = library.photos.thumbnails()
        self.thumbnails = ThumbnailLoader(self.runner, self.thumbnail_cache, fit=320, parent=self)
        self.model = PhotoGridModel(self.runner, library.photos.get, self.thumbnails, parent=self)
        self.indexing = IndexingController(
            library, self.runner, batch_size=index_batch_size, parent=self
        )
        self.album_actions = AlbumActions(library, self.runner, parent=self)
        self.dialogs = WindowDialogs(
            library, self.runner, self.indexing, settings=settings, device=device, parent=self
        )
        self.search_scope = SearchScope(self)
        self.overview: LibraryStatus | None = None
        self.last_error: str = ""
        self.albums: list[AlbumInfo] = []
        self.tags: list[TagInfo] | None = None  # None until loaded (it needs the model)
        self._tags_loading = False
        self._album_submenu: QMenu | None = None
        self._grid_signals: object = None
        self._grid_keep_position = False
        self._detail_shown: tuple[PhotoRecord | None, int] = (None, 0)
        self._closing = False

        self.setWindowTitle("photosense")
        self.folder_drop = FolderDrop(self, self.add_folders)
        self._build_widgets(pictures_folder)
        self._build_actions()
        self._wire_controllers()
        self.photo_actions = PhotoActions.install(self)  # stars, turns, export, duplicates
        self.photo_actions.selected = self.viewer_mode.or_selected(self.grid.selected_records)
        self.places = PlacesController(self)  # the sidebar's places, how a query was read
        self._restore_settings()
        self.refresh_overview()
        self.refresh_albums()
        self.refresh_grid()

    # -- construction -----------------------------------------------------------------------

    def _build_widgets(self, pictures_folder: str | None) -> None:
        self.sidebar = LibrarySidebar()
        self.sidebar.scope_selected.connect(self._on_scope_selected)
        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.indexing.remove_folder)
        self.sidebar.rescan_requested.connect(self.indexing.rescan)
        self.sidebar.new_album_requested.connect(self.album_actions.new)
        self.sidebar.rename_album_requested.connect(self.album_actions.prompt_rename)
        self.sidebar.delete_album_requested.connect(self.album_actions.delete)
        self.sidebar.photos_dropped.connect(self.album_actions.add)

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

        self.grid = TimelineView()
        self.timeline = Timeline(self.grid, self)
        self.grid.setModel(self.model)
        self.grid.open_externally_requested.connect(self.open_photos)
        self.grid.similar_requested.connect(self.show_similar)
        self.grid.show_in_folder_requested.connect(self.show_in_folder)
        self.grid.add_to_album_requested.connect(self.album_actions.add)
        self.grid.new_album_requested.connect(self.album_actions.new)
        self.grid.remove_from_album_requested.connect(self._remove_from_shown_album)
        self.grid.selectionModel().selectionChanged.connect(self._update_detail)
        self.grid.selectionModel().currentChanged.connect(self._update_detail)
        self.search_bar.results_focus_requested.connect(self._focus_grid)
        self.model.records_loaded.connect(self._on_records_loaded)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.addWidget(self.search_bar)
        centre_layout.addLayout(banner)
        centre_layout.addWidget(self.timeline.widget, 1)

        self.detail = DetailPane(self.runner, self.thumbnail_cache, self.library)
        self.people = PeopleController(self.library, self.runner, self.search_bar.filters, self)
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
        self.viewer = PhotoViewer(self.runner, self.model, self.thumbnails)
        self.viewer.open_externally_requested.connect(self.open_photos)
        self.viewer_mode = ViewerMode(self, self.stack, self.viewer, self.grid)
        self.grid.open_requested.connect(self.viewer_mode.open)

        status = self.statusBar()
        self.indexing_status = IndexingStatus()
        self.indexing_status.cancel_requested.connect(self.indexing.cancel)
        self.count_label = QLabel()
        self.skipped_button = QPushButton()
        self.skipped_button.setFlat(True)
        self.skipped_button.setToolTip("Files that could not be used, and why")
        self.skipped_button.clicked.connect(self.dialogs.show_skipped)
        self.skipped_button.setVisible(False)
        status.addPermanentWidget(self.indexing_status)
        status.addPermanentWidget(self.skipped_button)
        status.addPermanentWidget(self.count_label)
        self.thumbnail_size = ThumbnailSize(self.grid, self)
        status.addPermanentWidget(self.thumbnail_size.widget)

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
        self.rescan_action = self._action(
            "&Rescan all folders", lambda: self.indexing.rescan(None), "F5"
        )
        self.skipped_action = self._action("&Skipped files…", self.dialogs.show_skipped)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.find_action = self._action(
            "&Find…", self.search_bar.focus_field, QKeySequence.StandardKey.Find
        )
        self.back_action = self._action(
            "&Back from the search", self.back_to_all, QKeySequence.StandardKey.Back
        )
        self.cancel_action = self._action("&Cancel indexing", self.indexing.cancel)
        self.cancel_action.setEnabled(False)
        self.show_detail_action = self._action("&Details pane", self._toggle_detail, "Ctrl+I")
        self.show_detail_action.setCheckable(True)
        self.show_detail_action.setChecked(True)
        self.show_sidebar_action = self._action("&Sidebar", self._toggle_sidebar, "Ctrl+B")
        self.show_sidebar_action.setCheckable(True)
        self.show_sidebar_action.setChecked(True)
        self.models_action = self._action("&Models…", self.dialogs.show_models, "Ctrl+Shift+M")
        self.new_album_action = self._action(
            "&New album…", lambda: self.album_actions.new(self.grid.selected_ids()), "Ctrl+Shift+N"
        )
        caption, tag = self.detail.caption.edit, self.detail.tag_editor.add_field
        self.caption_action = self._action("Edit &caption", lambda: self._focus(caption), "Ctrl+E")
        self.tag_action = self._action("Add a &tag", lambda: self._focus(tag), "Ctrl+T")

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
        view_menu.addAction(self.people.action)
        view_menu.addMenu(self.timeline.menu)
        view_menu.addSeparator()
        self.addActions(self.thumbnail_size.actions)
        view_menu.addActions(self.thumbnail_size.actions)
        self.finetune_action = self._action(
            "&Teach the model…", self.dialogs.show_finetune, "Ctrl+Shift+T"
        )
        tools_menu = menus.addMenu("&Tools")
        tools_menu.addAction(self.finetune_action)
        keys = [("Viewer", VIEWER_KEYS)]
        self.help = HelpMenu(self, menus, self.library.path, keys, self.show_about)
        self.help.fill(menus.addMenu("&Help"))

    def _wire_controllers(self) -> None:
        show = self.statusBar().showMessage
        indexing = self.indexing
        indexing.began.connect(self.indexing_status.begin)
        indexing.progressed.connect(self.indexing_status.update_progress)
        indexing.busy_changed.connect(self._on_indexing_busy)
        indexing.scanning.connect(self.refresh_overview)
        indexing.refresh_due.connect(self._live_refresh)
        indexing.reported.connect(show)
        indexing.reported.connect(self.indexing_status.show_outcome)
        indexing.ended.connect(self._after_indexing)
        indexing.model_switched.connect(self._on_model_switched)
        indexing.folder_removed.connect(self._on_folder_removed)
        albums = self.album_actions
        albums.renamed.connect(self._on_album_renamed)
        albums.deleted.connect(self._on_album_deleted)
        albums.reported.connect(show)
        albums.changed.connect(self._after_album_change)
        self.search_scope.changed.connect(self._on_scope_changed)
        self.search_scope.text_cleared.connect(self._on_text_cleared)
        self.dialogs.failed.connect(show)

    def _fill_photo_menu(self) -> None:
        """The Photo menu, rebuilt as it opens: its album list follows the albums."""
        menu = self.photo_menu
        menu.clear()
        if self._album_submenu is not None:
            self._album_submenu.deleteLater()
        for action in (
            self.grid.similar_action,
            self.grid.open_action,
            self.grid.open_externally_action,
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
        if self.settings is None:
            self.resize(1320, 840)
            return
        view = read_view(self.settings)
        if view.geometry is not None:
            self.restoreGeometry(view.geometry)
        else:
            self.resize(1320, 840)
        if view.state is not None:
            self.restoreState(view.state)
        if view.splitter is not None:
            self.splitter.restoreState(view.splitter)
        self.detail.caption.sidecar.setChecked(view.caption_sidecar)
        self.show_detail_action.setChecked(view.show_detail)
        self.show_sidebar_action.setChecked(view.show_sidebar)
        self._toggle_detail()
        self._toggle_sidebar()
        self.search_scope.query = view.query
        self.search_bar.restore(view.query)
        self.thumbnail_size.restore(self.settings)
        self.timeline.restore(self.settings)

    def save_settings(self) -> None:
        if self.settings is None:
            return
        view = SavedView(
            geometry=self.saveGeometry(),
            state=self.saveState(),
            splitter=self.splitter.saveState(),
            caption_sidecar=self.detail.caption.sidecar.isChecked(),
            show_detail=self.show_detail_action.isChecked(),
            show_sidebar=self.show_sidebar_action.isChecked(),
            query=self.search_bar.query,
        )
        self.thumbnail_size.save(self.settings)
        self.timeline.save(self.settings)
        write_view(self.settings, view)

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
        self.count_label.setText(
            f"{overview.photos:,} photos · {model_name(overview.active_model)}"
        )
        self.count_label.setToolTip(f"Library: {self.library.path}\nModel: {overview.active_model}")
        if overview.photos and self.tags is None and not self._tags_loading:
            self.refresh_tags()  # the first time there are photos (tags need the model)
        self.skipped_button.setText(f"{overview.skipped:,} skipped")
        self.skipped_button.setVisible(overview.skipped > 0)
        show_welcome = not overview.folders and not self.indexing.jobs
        if show_welcome or self.stack.currentWidget() is self.welcome:  # not out of the viewer
            self.stack.setCurrentWidget(self.welcome if show_welcome else self.splitter)
        self._update_banner()
        self.overview_changed.emit(overview)

    def _on_overview_failed(self, exc: object) -> None:
        self.statusBar().showMessage(user_message(exc))

    # -- the grid ---------------------------------------------------------------------------

    def refresh_grid(self, *, keep_position: bool = False) -> Job:
        """Reload what the grid shows: a search, similar photos, or all photos newest first."""
        self._grid_keep_position = keep_position
        scope = self.search_scope
        job = scope.fetch(self.library)
        if scope.similar_to is None and scope.query.text:
            self.results_label.setText("Searching…")
        job.signals.finished.connect(self._on_grid_contents)
        job.signals.failed.connect(self._on_grid_failed)
        self._grid_signals = job.signals
        return self.runner.start(job)

    def _current_grid_job(self) -> bool:
        return self.sender() is self._grid_signals

    def _on_grid_contents(self, contents: GridContents) -> None:
        if self._current_grid_job():
            self.last_error = ""
            self.search_scope.shown(contents)
            self.grid.set_days(contents.days)
            self._show_in_grid(
                contents.ids, contents.scores, contents.records, contents.good, contents.rows
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
        good: int | None = None,
        rows: Mapping[int, int] | None = None,
    ) -> None:
        keep_position = self._grid_keep_position
        self.grid.show_photos(
            self.model, ids, scores, records, good, keep_position=keep_position, rows=rows
        )
        self._update_banner()
        self._update_detail()
        self.grid_changed.emit()

    def _update_banner(self) -> None:
        scope = self.search_scope
        self.back_button.setVisible(not scope.browsing)
        self.back_button.setText(f"Back to {scope.words() or 'all photos'}")
        self.back_action.setEnabled(self.back_button.isVisible())
        self.results_label.setText(
            self.last_error or scope.banner(self.model.rowCount(), self.model.good_count)
        )

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
        self.search_scope.search(query)
        self.sidebar.show_scope(self.search_scope.sidebar_scope())

    def _on_scope_selected(self, scope: Scope) -> None:
        """A sidebar item was chosen: show that folder, album or tag (or all photos)."""
        self.search_scope.select(scope)
        self.search_bar.restore(self.search_scope.query)  # the Filters menu shows album and tag

    def _on_scope_changed(self) -> None:
        self.grid.set_current_album(self.search_scope.query.album)
        self.search_bar.show_scope(self.search_scope.words())
        self.refresh_grid()

    def _on_text_cleared(self, text: str) -> None:
        self.search_bar.clear_text()
        self.statusBar().showMessage(self.search_scope.cleared_words(text), 10000)

    def show_scope(self, scope: Scope) -> None:
        """Select ``scope`` in the sidebar (as a click would)."""
        self.sidebar.select(scope)

    def show_similar(self, record: PhotoRecord) -> None:
        """Fill the grid with photos that look like ``record``."""
        self.search_scope.look_like(record)
        self.results_label.setText(f"Looking for photos like {os.path.basename(record.path)}…")

    def back_to_all(self) -> None:
        """Leave a search or a similar-photos view for all photos."""
        self.search_scope.leave_similar()
        if self.search_bar.field.text():
            self.search_bar.field.clear()
        self.search_bar.commit()

    # -- photos -----------------------------------------------------------------------------

    def open_photos(self, records: list[PhotoRecord]) -> None:
        """Hand the photos to the system's viewer; say so when it has none for them."""
        if records and not open_files([r.path for r in records]):
            self.no_viewer_box = no_viewer_message(self, records[0].path)

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
        return self.indexing.start_indexing(folders)

    def _on_indexing_busy(self, busy: bool) -> None:
        if not busy:
            self.indexing_status.end()
        self.cancel_action.setEnabled(busy)

    def _live_refresh(self) -> None:
        """Indexing goes on: show the photos it added so far (unless searching)."""
        self.refresh_overview()
        if self.search_scope.browsing:
            self.refresh_grid(keep_position=True)

    def _after_indexing(self) -> None:
        self.model.forget_records()
        self.refresh_overview()
        self.refresh_albums()
        if self.tags is not None:
            self.refresh_tags()  # new photos were tagged
        self.detail.load_notes()
        self.refresh_grid(keep_position=True)

    def _on_folder_removed(self, _removed: int) -> None:
        self.model.forget_records()
        self.refresh_overview()
        self.refresh_grid()

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
        self.sidebar.show_scope(self.search_scope.sidebar_scope())

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
        # The sidebar lists the tags that count on photos (confirmed, or suggested with
        # confidence), not every suggestion row; the tag editor still knows the vocabulary.
        used = [t for t in tags if t.photos > 0]
        used.sort(key=lambda t: (-t.photos, t.name.casefold()))
        self.sidebar.set_tags(
            [
                SidebarEntry(
                    t.name, t.photos, f"{t.name}: {t.photos:,} photos, {t.accepted:,} confirmed"
                )
                for t in used
            ]
        )
        self.sidebar.show_scope(self.search_scope.sidebar_scope())
        self.search_bar.filters.set_choices(None, sorted((t.name for t in used), key=str.casefold))
        self.detail.tag_editor.set_vocabulary([t.name for t in tags])

    def _on_tags_changed(self) -> None:
        self.refresh_tags()
        if self.search_scope.query.tag is not None:
            self.refresh_grid(keep_position=True)

    def _focus(self, field: QWidget) -> None:
        """Show the detail pane and put the cursor in its ``field`` (caption, tag)."""
        if self.detail.record is not None:
            self.show_detail_action.setChecked(True)
            self.detail.setVisible(True)
            field.setFocus()

    def _on_album_renamed(self, old: str, album: AlbumInfo) -> None:
        self.sidebar.rename(Scope(ALBUM, old), album.name)
        if self.search_scope.follow_rename(old, album.name):
            self.search_bar.restore(self.search_scope.query)
            self.grid.set_current_album(album.name)

    def _on_album_deleted(self, name: str) -> None:
        if self.search_scope.forget_album(name):
            self.search_bar.restore(self.search_scope.query)
            self.grid.set_current_album(None)

    def _remove_from_shown_album(self, photo_ids: Sequence[int]) -> None:
        self.album_actions.remove(self.search_scope.query.album, photo_ids)

    def _after_album_change(self) -> None:
        self.refresh_albums()
        if self.search_scope.query.album is not None:
            self.refresh_grid(keep_position=True)
        self.detail.load_notes()

    # -- models ------------------------------------------------------------------------------

    def show_about(self) -> AboutDialog:
        return self.dialogs.show_about(self.overview)

    def _on_model_switched(self) -> None:
        self.refresh_tags()  # tags are scored under the active model
        if not self.search_scope.browsing:
            self.refresh_grid()

    # -- view toggles -----------------------------------------------------------------------

    def _toggle_detail(self) -> None:
        self.detail.setVisible(self.show_detail_action.isChecked())

    def _toggle_sidebar(self) -> None:
        self.sidebar.setVisible(self.show_sidebar_action.isChecked())

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
