"""Dialogs: the list of skipped files and why each was skipped."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosense.store.repository import SkippedRecord


class SkippedFilesDialog(QDialog):
    """Every file indexing could not use, with the reason and what to do about it."""

    def __init__(self, skipped: Sequence[SkippedRecord], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Skipped files")
        self.resize(900, 480)
        self.skipped = list(skipped)
        summary = QLabel(
            f"{len(self.skipped):,} files could not be used as photos. Fix them (or leave them) "
            "and rescan; photos that became readable are picked up."
            if self.skipped
            else "No files were skipped."
        )
        summary.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by path or reason")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(["File", "Problem", "Reason"])
        self.table.setSortingEnabled(True)
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.resizeSection(0, 360)
        for record in self.skipped:
            item = QTreeWidgetItem([record.path, record.kind, record.reason])
            item.setToolTip(0, record.path)
            item.setToolTip(2, record.reason)
            self.table.addTopLevelItem(item)
        self.table.sortItems(0, Qt.SortOrder.AscendingOrder)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy list", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_to_clipboard)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
        return [item for item in items if item is not None]

    def visible_paths(self) -> list[str]:
        """Paths shown now (after the filter), in table order."""
        return [item.text(0) for item in self._items() if not item.isHidden()]

    def copy_to_clipboard(self) -> None:
        lines = [f"{r.path}\t{r.kind}\t{r.reason}" for r in self.skipped]
        QGuiApplication.clipboard().setText("\n".join(lines))

    def _apply_filter(self, text: str) -> None:
        needle = text.casefold()
        for item in self._items():
            haystack = f"{item.text(0)} {item.text(1)} {item.text(2)}".casefold()
            item.setHidden(bool(needle) and needle not in haystack)
