"""The Help menu: the keyboard shortcuts, the documentation (read inside the app, offline), and
where the library lives on disk, with a button that opens its folder."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMenuBar,
    QPushButton,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

import photosense
from photosense.gui.dialogs import DISTRIBUTION, heading

log = logging.getLogger(__name__)

GRID_KEYS = (
    ("Arrow keys", "Move between photos"),
    ("Shift+arrows, Ctrl+click", "Select several photos"),
    ("Ctrl+A", "Select every photo shown"),
    ("Enter, double-click", "View the photo over the whole window"),
    ("↓ in the search field", "Go to the results"),
)
"""Keys of the photo grid that no menu lists."""

Shortcuts = list[tuple[str, list[tuple[str, str]]]]  # (section, [(keys, what)])


def docs_folder() -> Path | None:
    """The ``docs/`` folder beside the package (a source checkout), if there is one."""
    folder = Path(photosense.__file__).resolve().parent.parent / "docs"
    return folder if folder.is_dir() else None


def readme_text() -> str:
    """The README: from the checkout, else as installed with the package's metadata."""
    folder = docs_folder()
    if folder is not None and (folder.parent / "README.md").is_file():
        return (folder.parent / "README.md").read_text(encoding="utf-8")
    try:
        return metadata.metadata(DISTRIBUTION).get_payload() or ""  # type: ignore[attr-defined, no-any-return]
    except metadata.PackageNotFoundError:
        return ""


def menu_shortcuts(menus: QMenuBar) -> Shortcuts:
    """Every menu entry that has a shortcut, menu by menu, as the menus show them."""
    sections: Shortcuts = []
    for menu_action in menus.actions():
        menu = menu_action.menu()
        if not isinstance(menu, QMenu):
            continue
        menu.aboutToShow.emit()  # menus built as they open list their entries now
        rows = []
        for action in menu.actions():
            keys = ", ".join(
                k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
            )
            if keys and action.text():
                rows.append((keys, action.text().replace("&&", "\0").replace("&", "").strip("…")))
        if rows:
            sections.append((menu_action.text().replace("&", ""), rows))
    return sections


class ShortcutsDialog(QDialog):
    """The keyboard shortcuts, by where they work, with a field that filters them."""

    def __init__(self, sections: Shortcuts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 620)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: type a word or a key")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Keys", "What they do"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for section, rows in sections:
            top = QTreeWidgetItem(self.tree, [section])
            top.setFirstColumnSpanned(True)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for keys, what in rows:
                QTreeWidgetItem(top, [keys, what.replace("\0", "&")])
        self.tree.expandAll()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    def _items(self) -> list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]:
        tops = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        return [
            (top, [c for c in (top.child(j) for j in range(top.childCount())) if c is not None])
            for top in tops
            if top is not None
        ]

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, keys, what) of every row shown (for tests and tools)."""
        return [
            (top.text(0), child.text(0), child.text(1))
            for top, children in self._items()
            for child in children
            if not child.isHidden()
        ]

    def _apply_filter(self, text: str) -> None:
        words = text.casefold().split()
        for top, children in self._items():
            for child in children:
                haystack = f"{top.text(0)} {child.text(0)} {child.text(1)}".casefold()
                child.setHidden(not all(w in haystack for w in words))
            top.setHidden(all(child.isHidden() for child in children))


class DocsDialog(QDialog):
    """The documentation read inside the app (Markdown, offline): the README and docs/*.md."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("docsDialog")
        self.setWindowTitle("photosense documentation")
        self.resize(820, 720)
        self.pages: dict[str, str] = {"Read me": readme_text()}
        folder = docs_folder()
        for path in sorted(folder.glob("*.md")) if folder is not None else ():
            self.pages[path.stem.replace("_", " ").capitalize()] = str(path)
        self.choice = QComboBox()
        self.choice.addItems(list(self.pages))
        self.choice.currentTextChanged.connect(self.show_page)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Page:"))
        top.addWidget(self.choice, 1)
        if folder is not None:
            open_folder = QPushButton("Open the docs folder")
            open_folder.clicked.connect(
                lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
            )
            top.addWidget(open_folder)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)
        self.show_page(self.choice.currentText())

    def show_page(self, name: str) -> None:
        source = self.pages.get(name, "")
        if name != "Read me":
            path = Path(source)
            self.browser.setSearchPaths([str(path.parent)])
            source = path.read_text(encoding="utf-8") if path.is_file() else ""
        self.browser.setMarkdown(source or "This page is not installed with this copy.")


class LibraryLocationDialog(QDialog):
    """Where the library lives: its folder (selectable, copyable) and a button that opens it."""

    def __init__(self, path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("libraryLocationDialog")
        self.setWindowTitle("Where the library lives")
        self.path = path
        explanation = QLabel(
            "photosense keeps its database, search index, thumbnails and models in this folder. "
            "Your photos stay where they are; back this folder up to keep tags, albums and "
            "captions. To use another folder, start photosense with PHOTOSENSE_HOME set to it."
        )
        explanation.setWordWrap(True)
        self.field = QLineEdit(str(path))
        self.field.setReadOnly(True)
        self.field.setObjectName("libraryPath")
        copy = QPushButton("Copy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(path)))
        self.open_button = QPushButton("Open folder")
        self.open_button.clicked.connect(self.open_folder)
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(copy)
        row.addWidget(self.open_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Library folder", 1.2))
        layout.addWidget(explanation)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())

    def open_folder(self) -> bool:
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))
        if not opened:
            self.field.setToolTip("The desktop could not open the folder: copy its path.")
            log.warning("the desktop could not open %s", self.path)
        return opened


class HelpMenu(QObject):
    """The Help menu's entries; the dialogs open without blocking and are kept as attributes."""

    def __init__(
        self,
        window: QWidget,
        menus: QMenuBar,
        library_path: Path,
        extra_keys: Sequence[tuple[str, Sequence[tuple[str, str]]]],
        about: Callable[[], object],
    ) -> None:
        super().__init__(window)
        self.window, self.menus, self.library_path = window, menus, library_path
        self.extra_keys = extra_keys
        self.dialog: QDialog | None = None
        self.shortcuts_action = QAction("&Keyboard shortcuts", self)
        self.shortcuts_action.setShortcuts([QKeySequence("F1"), QKeySequence("Ctrl+/")])
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.docs_action = QAction("&Documentation", self)
        self.docs_action.triggered.connect(self.show_docs)
        self.location_action = QAction("&Where the library lives", self)
        self.location_action.triggered.connect(self.show_location)
        self.about_action = QAction("&About photosense", self)
        self.about_action.triggered.connect(about)
        self.actions = [self.shortcuts_action, self.docs_action, self.location_action]
        for action in self.actions:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)

    def fill(self, menu: QMenu) -> None:
        for action in self.actions:
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.about_action)

    def shortcuts(self) -> Shortcuts:
        sections: Shortcuts = [("Photos", list(GRID_KEYS))]
        sections += [(name, list(rows)) for name, rows in self.extra_keys]
        return sections + menu_shortcuts(self.menus)

    def _show(self, dialog: QDialog) -> QDialog:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        dialog.show()
        return dialog

    def show_shortcuts(self) -> QDialog:
        return self._show(ShortcutsDialog(self.shortcuts(), self.window))

    def show_docs(self) -> QDialog:
        return self._show(DocsDialog(self.window))

    def show_location(self) -> QDialog:
        return self._show(LibraryLocationDialog(self.library_path, self.window))
