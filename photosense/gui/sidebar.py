"""The library sidebar: sections of things to browse, today "Library" and "Folders".

Sections are added with :meth:`LibrarySidebar.add_section`, so albums and tags can join as
their features land. Selecting a folder restricts the grid (and searches) to it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QPalette
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

from photosense.library import FolderStatus

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # folder path on folder items; "" on "All photos"


class LibrarySidebar(QWidget):
    """Folders with photo counts and offline state, and buttons to add, remove and rescan."""

    folder_selected = Signal(object)  # str path, or None for all photos
    add_requested = Signal()
    remove_requested = Signal(str)
    rescan_requested = Signal(object)  # str path, or None for every folder

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Library")
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(10)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._show_menu)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)

        self.sections: dict[str, QTreeWidgetItem] = {}
        library = self.add_section("library", "Library")
        self.all_photos = QTreeWidgetItem(library, ["All photos", ""])
        self.all_photos.setData(0, PATH_ROLE, "")
        self.all_photos.setIcon(0, self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon))
        self.folders_section = self.add_section("folders", "Folders")

        self.add_button = self._button("Add folder…", "Add a folder of photos and index it")
        self.add_button.setText("+ Add folder…")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = self._button("Remove", "Forget the selected folder (files stay)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.rescan_button = self._button("Rescan", "Look for new, changed and deleted photos")
        self.rescan_button.clicked.connect(self._rescan_selected)

        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rescan_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self.tree.setCurrentItem(self.all_photos)
        self._update_buttons()

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def add_section(self, key: str, title: str) -> QTreeWidgetItem:
        """A top-level heading; later features (albums, tags) add theirs here."""
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

    @property
    def selected_folder(self) -> str | None:
        item = self.tree.currentItem()
        path = item.data(0, PATH_ROLE) if item is not None else None
        return str(path) if path else None

    def folder_items(self) -> list[QTreeWidgetItem]:
        section = self.folders_section
        items = (section.child(i) for i in range(section.childCount()))
        return [item for item in items if item is not None]

    def folder_paths(self) -> list[str]:
        return [str(item.data(0, PATH_ROLE)) for item in self.folder_items()]

    def set_folders(self, folders: Sequence[FolderStatus], total: int) -> None:
        """Show ``folders`` with their counts, keeping the selection where it can."""
        selected = self.selected_folder
        self.all_photos.setText(1, f"{total:,}")
        self.tree.blockSignals(True)
        try:
            section = self.folders_section
            section.takeChildren()
            dir_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
            offline_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)
            for folder in folders:
                name = os.path.basename(folder.path) or folder.path
                item = QTreeWidgetItem(section, [name, f"{folder.photos:,}"])
                item.setData(0, PATH_ROLE, folder.path)
                item.setTextAlignment(1, RIGHT)
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
                if folder.path == selected:
                    self.tree.setCurrentItem(item)
            if selected is not None and selected not in [f.path for f in folders]:
                self.tree.setCurrentItem(self.all_photos)
        finally:
            self.tree.blockSignals(False)
        self.all_photos.setTextAlignment(1, RIGHT)
        self._update_buttons()
        if selected is not None and self.selected_folder != selected:
            self.folder_selected.emit(self.selected_folder)

    def select_folder(self, path: str | None) -> None:
        """Select ``path``'s item (or "All photos")."""
        for item in self.folder_items():
            if item.data(0, PATH_ROLE) == path:
                self.tree.setCurrentItem(item)
                return
        self.tree.setCurrentItem(self.all_photos)

    def _on_selection_changed(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.data(0, PATH_ROLE) is None:
            return  # a section heading
        self._update_buttons()
        self.folder_selected.emit(self.selected_folder)

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_folder is not None)
        self.rescan_button.setEnabled(self.folders_section.childCount() > 0)
        self.rescan_button.setToolTip(
            "Rescan the selected folder"
            if self.selected_folder
            else "Rescan every folder for new, changed and deleted photos"
        )

    def _remove_selected(self) -> None:
        folder = self.selected_folder
        if folder is not None:
            self.remove_requested.emit(folder)

    def _rescan_selected(self) -> None:
        self.rescan_requested.emit(self.selected_folder)

    def _show_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        path = item.data(0, PATH_ROLE) if item is not None else None
        if not path:
            return
        menu = QMenu(self)
        menu.addAction("Rescan", lambda: self.rescan_requested.emit(path))
        menu.addAction("Remove from library…", lambda: self.remove_requested.emit(path))
        menu.exec(self.tree.viewport().mapToGlobal(pos))
