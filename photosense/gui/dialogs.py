"""Dialogs: the list of skipped files and why each was skipped; About photosense; asking
before something is deleted; and the heading style they share with other panels."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from importlib import metadata

from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photosense import __version__
from photosense.library import SkippedRecord

DISTRIBUTION = "photosense"


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask Yes / Cancel before something is removed; Cancel is the default."""
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Yes


def heading(text: str, scale: float = 1.0) -> QLabel:
    """A bold label, ``scale`` times the normal font size (titles, section headings)."""
    label = QLabel(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    return label


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


def licence() -> str:
    """The licence the installed package declares (its metadata is the one source)."""
    try:
        info = metadata.metadata(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "see the LICENSE file of the source"

    def field(name: str) -> str:
        values = info.get_all(name)
        return str(values[0]) if values else ""

    return field("License-Expression") or field("License") or "see the LICENSE file"


class AboutDialog(QDialog):
    """Version, licence, the model answering searches, and where the library lives."""

    def __init__(
        self,
        *,
        model: str,
        library: str,
        device: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About photosense")
        title = heading(f"photosense {__version__}", 1.6)
        summary = QLabel(
            "A photo organiser that finds your photos by what is in them. Everything runs on "
            "this computer; no photo leaves it."
        )
        summary.setWordWrap(True)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label, value in (
            ("version", "Version", __version__),
            ("licence", "Licence", licence()),
            ("model", "Model", model),
            ("device", "Device", device),
            ("library", "Library", library),
            ("toolkit", "Built with", f"Python {platform.python_version()}, Qt {qVersion()}"),
        ):
            field = QLabel(value)
            field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            field.setWordWrap(True)
            form.addRow(label, field)
            self.fields[key] = field
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
