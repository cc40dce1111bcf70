"""The library sidebar: all photos, folders, albums, tags and places, each a *scope* for the
grid.

Selecting an item restricts the grid (and searches) to it: a folder, an album or a tag. Photos
dragged from the grid onto an album are added to it. The sidebar only reports what the user
asked for; the window does the work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QIcon,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QStyle,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosense.gui.photo_grid_model import photo_ids_from_mime
from photosense.library import FolderStatus

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # the folder path, album or tag name; "" on "All photos"
KIND_ROLE = Qt.ItemDataRole.UserRole + 2  # ALL, FOLDER, ALBUM, TAG…; None on headings and hints
ALL, FOLDER, ALBUM, TAG, FAVOURITES = "all", "folder", "album", "tag", "favourites"
PLACE = "place"


@dataclass(frozen=True)
class Scope:
    """What the sidebar has selected: all photos, or one folder, album or tag."""

    kind: str = ALL
    value: str | None = None


def folder_labels(paths: Sequence[str]) -> dict[str, str]:
    """Short names for folders: the last part of each path, with as many parents as it takes
    to tell apart folders of the same name ("camera/images", "stamps/images")."""
    parts = {path: [p for p in path.replace("\\", "/").split("/") if p] or [path] for path in paths}
    depth = dict.fromkeys(paths, 1)
    while True:
        labels = {path: "/".join(parts[path][-depth[path] :]) for path in paths}
        seen: dict[str, list[str]] = {}
        for path, label in labels.items():
            seen.setdefault(label, []).append(path)
        clashes = [
            path
            for same in seen.values()
            if len(same) > 1
            for path in same
            if depth[path] < len(parts[path])
        ]
        if not clashes:
            return labels
        for path in clashes:
            depth[path] += 1


def album_icon(palette: QPalette, size: int = 16) -> QIcon:
    """A small framed picture (a sun over a hill) drawn in the palette's text colour."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = palette.color(QPalette.ColorRole.Text)
    painter.setPen(QPen(colour, 1.2))
    frame = QRectF(1.5, 2.5, size - 3, size - 5)
    painter.drawRoundedRect(frame, 2, 2)
    painter.setBrush(colour)
    painter.drawEllipse(QPointF(size * 0.66, size * 0.4), size * 0.09, size * 0.09)
    painter.drawPolygon(
        QPolygonF(
            [
                QPointF(frame.left() + 1, frame.bottom() - 1),
                QPointF(size * 0.4, size * 0.5),
                QPointF(frame.right() - 1, frame.bottom() - 1),
            ]
        )
    )
    painter.end()
    return QIcon(pixmap)


@dataclass(frozen=True)
class SidebarEntry:
    """A named item with a photo count (an album, or a tag)."""

    name: str
    count: int
    tip: str = ""
    value: str | None = None  # the scope's value when it is not the name (a place filter)
    children: tuple[SidebarEntry, ...] = ()  # the towns of a country


class SidebarTree(QTreeWidget):
    """The tree; it takes photos dropped from the grid onto an album item."""

    photos_dropped = Signal(str, list)  # album name, photo ids

    def _album_at(self, event: QDragMoveEvent | QDropEvent) -> str | None:
        if not photo_ids_from_mime(event.mimeData()):
            return None
        item = self.itemAt(event.position().toPoint())
        if item is None or item.data(0, KIND_ROLE) != ALBUM:
            return None
        return str(item.data(0, PATH_ROLE))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if photo_ids_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()  # folders dropped here go on to the window

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if self._album_at(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        album = self._album_at(event)
        if album is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.photos_dropped.emit(album, photo_ids_from_mime(event.mimeData()))


class LibrarySidebar(QWidget):
    """Folders (counts, offline state), albums and tags; buttons to add, remove and rescan."""

    scope_selected = Signal(object)  # Scope
    add_requested = Signal()
    remove_requested = Signal(str)  # a folder path
    rescan_requested = Signal(object)  # str path, or None for every folder
    new_album_requested = Signal()
    rename_album_requested = Signal(str)
    delete_album_requested = Signal(str)
    photos_dropped = Signal(str, list)  # album name, photo ids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.tree = SidebarTree(self)
        self.tree.setAccessibleName("Library")
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        self.tree.setAcceptDrops(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.tree.setDropIndicatorShown(True)
        self.tree.photos_dropped.connect(self.photos_dropped)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)

        self.sections: dict[str, QTreeWidgetItem] = {}
        library = self.add_section("library", "Library")
        self.all_photos = QTreeWidgetItem(library, ["All photos", ""])
        self.all_photos.setData(0, PATH_ROLE, "")
        self.all_photos.setData(0, KIND_ROLE, ALL)
        self.all_photos.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon))
        self.favourites = QTreeWidgetItem(library, ["★ Favourites", ""])
        self.favourites.setData(0, PATH_ROLE, "")
        self.favourites.setData(0, KIND_ROLE, FAVOURITES)
        self.favourites.setToolTip(0, "Photos rated 5 stars (press 5 on a photo; 0 unrates it)")
        self.folders_section = self.add_section("folders", "Folders")
        self.albums_section = self.add_section("albums", "Albums")
        self.tags_section = self.add_section("tags", "Tags")
        self.places_section = self.add_section("places", "Places")

        self.add_button = self._button("+ Folder…", "Add a folder of photos and index it")
        self.add_button.clicked.connect(self.add_requested)
        self.new_album_button = self._button(
            "+ Album…", "Create an album (then drag photos onto it, or use their menu)"
        )
        self.new_album_button.clicked.connect(self.new_album_requested)
        self.remove_button = self._button("Remove", "Forget the selected folder (files stay)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.rescan_button = self._button("Rescan", "Look for new, changed and deleted photos")
        self.rescan_button.clicked.connect(self._rescan_selected)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.new_album_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rescan_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.set_albums([])
        self.set_tags([])
        self.set_places([])
        self.tree.setCurrentItem(self.all_photos)
        self._update_buttons()

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def add_section(self, key: str, title: str) -> QTreeWidgetItem:
        """A top-level heading with the items of one kind under it."""
        item = QTreeWidgetItem(self.tree, [title.upper(), ""])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        font = item.font(0)
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 0.85)
        item.setFont(0, font)
        item.setExpanded(True)
        item.setFirstColumnSpanned(True)
        self.sections[key] = item
        return item

    # -- what is selected -------------------------------------------------------------------

    @property
    def scope(self) -> Scope:
        """The selected scope (all photos when a heading or nothing is selected)."""
        item = self.tree.currentItem()
        kind = item.data(0, KIND_ROLE) if item is not None else None
        if item is None or kind is None or kind == ALL:
            return Scope()
        return Scope(str(kind), str(item.data(0, PATH_ROLE)))

    @property
    def selected_folder(self) -> str | None:
        scope = self.scope
        return scope.value if scope.kind == FOLDER else None

    @property
    def selected_album(self) -> str | None:
        scope = self.scope
        return scope.value if scope.kind == ALBUM else None

    def _children(self, section: QTreeWidgetItem, kind: str) -> list[QTreeWidgetItem]:
        items = (section.child(i) for i in range(section.childCount()))
        return [item for item in items if item is not None and item.data(0, KIND_ROLE) == kind]

    def folder_items(self) -> list[QTreeWidgetItem]:
        return self._children(self.folders_section, FOLDER)

    def folder_paths(self) -> list[str]:
        return [str(item.data(0, PATH_ROLE)) for item in self.folder_items()]

    def album_items(self) -> list[QTreeWidgetItem]:
        return self._children(self.albums_section, ALBUM)

    def album_names(self) -> list[str]:
        return [str(item.data(0, PATH_ROLE)) for item in self.album_items()]

    def tag_items(self) -> list[QTreeWidgetItem]:
        return self._children(self.tags_section, TAG)

    def place_items(self) -> list[QTreeWidgetItem]:
        """Countries, each followed by its towns."""
        countries = self._children(self.places_section, PLACE)
        return [
            item for country in countries for item in [country, *self._children(country, PLACE)]
        ]

    def item_for(self, scope: Scope) -> QTreeWidgetItem | None:
        """The item that stands for ``scope`` (None when it is not listed)."""
        if scope.kind == ALL:
            return self.all_photos
        if scope.kind == FAVOURITES:
            return self.favourites
        items = {
            FOLDER: self.folder_items,
            ALBUM: self.album_items,
            TAG: self.tag_items,
            PLACE: self.place_items,
        }.get(scope.kind, list)()
        return next((i for i in items if i.data(0, PATH_ROLE) == scope.value), None)

    def select(self, scope: Scope) -> None:
        """Select ``scope``'s item as if clicked (all photos when it is not listed)."""
        self.tree.setCurrentItem(self.item_for(scope) or self.all_photos)

    def show_scope(self, scope: Scope) -> None:
        """Highlight ``scope``'s item without reporting a selection (the query changed)."""
        self.tree.blockSignals(True)
        try:
            self.tree.setCurrentItem(self.item_for(scope) or self.all_photos)
        finally:
            self.tree.blockSignals(False)
        self._update_buttons()

    def rename(self, scope: Scope, name: str) -> None:
        """Give ``scope``'s item (an album renamed) its new name, keeping it selected."""
        item = self.item_for(scope)
        if item is not None:
            item.setData(0, PATH_ROLE, name)
            item.setText(0, name)

    def select_folder(self, path: str | None) -> None:
        """Select ``path``'s item (or "All photos")."""
        self.select(Scope(FOLDER, path) if path else Scope())

    # -- contents ---------------------------------------------------------------------------

    def _refill(self, section: QTreeWidgetItem, fill: Callable[[], None]) -> None:
        """Rebuild a section with ``fill()``, keeping the selection; report a vanished one."""
        selected = self.scope
        self.tree.blockSignals(True)
        try:
            section.takeChildren()
            fill()
            item = self.item_for(selected)
            self.tree.setCurrentItem(item or self.all_photos)
        finally:
            self.tree.blockSignals(False)
        self._update_buttons()
        if self.scope != selected:
            self.scope_selected.emit(self.scope)

    def _hint(self, section: QTreeWidgetItem, text: str) -> None:
        item = QTreeWidgetItem(section, [text, ""])
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        item.setForeground(
            0, self.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        )

    def set_folders(self, folders: Sequence[FolderStatus], total: int) -> None:
        """Show ``folders`` with their counts, keeping the selection where it can."""
        self.all_photos.setText(1, f"{total:,}")
        self.all_photos.setTextAlignment(1, RIGHT)
        dir_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        offline_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)

        labels = folder_labels([folder.path for folder in folders])

        def fill() -> None:
            for folder in folders:
                name = labels[folder.path]
                item = self._item(self.folders_section, FOLDER, folder.path, name, folder.photos)
                tip = folder.path
                if folder.last_scan_at is not None:
                    tip += f"\nlast scanned {folder.last_scan_at:%Y-%m-%d %H:%M}"
                if folder.online:
                    item.setIcon(0, dir_icon)
                else:
                    item.setIcon(0, offline_icon)
                    item.setText(0, f"{name} (offline)")
                    item.setForeground(
                        0,
                        self.palette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text),
                    )
                    tip += "\nnot available now (an unplugged drive?); its photos are kept"
                item.setToolTip(0, tip)

        self._refill(self.folders_section, fill)

    def set_albums(self, albums: Sequence[SidebarEntry]) -> None:
        """Show the albums with their photo counts."""
        icon = album_icon(self.palette())

        def fill() -> None:
            for album in albums:
                item = self._item(self.albums_section, ALBUM, album.name, album.name, album.count)
                item.setIcon(0, icon)
                item.setToolTip(0, album.tip or album.name)
            if not albums:
                self._hint(self.albums_section, "No albums yet: + Album…")

        self._refill(self.albums_section, fill)

    def set_tags(self, tags: Sequence[SidebarEntry]) -> None:
        """Show the tags that some photo carries, with how many photos carry each."""

        def fill() -> None:
            for tag in tags:
                item = self._item(self.tags_section, TAG, tag.name, tag.name, tag.count)
                item.setToolTip(0, tag.tip or tag.name)
            if not tags:
                self._hint(self.tags_section, "No tags yet")

        self._refill(self.tags_section, fill)

    def set_places(self, countries: Sequence[SidebarEntry]) -> None:
        """Show the countries with photos, each with its towns (collapsed), with counts."""

        def fill() -> None:
            for country in countries:
                item = self._item(
                    self.places_section, PLACE, country.value or country.name, country.name,
                    country.count,
                )  # fmt: skip
                item.setToolTip(0, country.tip or country.name)
                for town in country.children:
                    child = self._item(item, PLACE, town.value or town.name, town.name, town.count)
                    child.setToolTip(0, town.tip or town.name)
            if not countries:
                self._hint(self.places_section, "No places yet (photos with GPS get one)")

        self._refill(self.places_section, fill)

    def _item(
        self, section: QTreeWidgetItem, kind: str, value: str, text: str, count: int
    ) -> QTreeWidgetItem:
        item = QTreeWidgetItem(section, [text, f"{count:,}"])
        item.setData(0, PATH_ROLE, value)
        item.setData(0, KIND_ROLE, kind)
        item.setTextAlignment(1, RIGHT)
        return item

    # -- user actions -----------------------------------------------------------------------

    def _on_selection_changed(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, KIND_ROLE) is None:
            return  # a section heading or a hint
        self._update_buttons()
        self.scope_selected.emit(self.scope)

    def _update_buttons(self) -> None:
        scope = self.scope
        self.remove_button.setEnabled(scope.kind in (FOLDER, ALBUM))
        self.remove_button.setToolTip(
            "Delete the selected album (its photos stay)"
            if scope.kind == ALBUM
            else "Forget the selected folder (files stay)"
        )
        self.rescan_button.setEnabled(self.folders_section.childCount() > 0)
        self.rescan_button.setToolTip(
            "Rescan the selected folder"
            if scope.kind == FOLDER
            else "Rescan every folder for new, changed and deleted photos"
        )

    def _remove_selected(self) -> None:
        scope = self.scope
        if scope.kind == FOLDER and scope.value:
            self.remove_requested.emit(scope.value)
        elif scope.kind == ALBUM and scope.value:
            self.delete_album_requested.emit(scope.value)

    def _rescan_selected(self) -> None:
        self.rescan_requested.emit(self.selected_folder)

    def context_menu(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The menu for ``item`` (None where there is nothing to do)."""
        kind = item.data(0, KIND_ROLE) if item is not None else None
        value = str(item.data(0, PATH_ROLE)) if item is not None else ""
        menu = QMenu(self)
        if kind == FOLDER:
            menu.addAction("Rescan", lambda: self.rescan_requested.emit(value))
            menu.addAction("Remove from library…", lambda: self.remove_requested.emit(value))
        elif kind == ALBUM:
            menu.addAction("Rename album…", lambda: self.rename_album_requested.emit(value))
            menu.addAction("Delete album…", lambda: self.delete_album_requested.emit(value))
            menu.addSeparator()
            menu.addAction("New album…", self.new_album_requested.emit)
        elif item is not None and self.albums_section in (item, item.parent()):
            menu.addAction("New album…", self.new_album_requested.emit)
        elif item is self.folders_section:
            menu.addAction("Add folder…", self.add_requested.emit)
        else:
            return None
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        menu = self.context_menu(self.tree.itemAt(pos))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))
