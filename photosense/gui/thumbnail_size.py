"""How big the grid's thumbnails are: a slider in the status bar, Ctrl +/− and Ctrl+0, and the
size remembered in the user's settings between runs."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QWidget

from photosense.gui.grid import CELL, PhotoGridView

SMALLEST = 96
LARGEST = 288  # past this the 256-pixel thumbnails would be blown up
STEP = 32  # Ctrl +/−; the slider moves in eighths of that
SETTING = "view/thumbnail_size"


def clamp_size(size: int) -> int:
    return max(SMALLEST, min(LARGEST, size))


def read_size(settings: QSettings | None) -> int:
    """The size saved in ``settings`` (the default when none, or when it is unreadable)."""
    if settings is None:
        return CELL
    try:
        return clamp_size(int(str(settings.value(SETTING, CELL))))
    except ValueError:
        return CELL


class ThumbnailSize(QObject):
    """Sets the grid's thumbnail size from its slider and actions; ``changed`` with the size."""

    changed = Signal(int)

    def __init__(self, grid: PhotoGridView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("thumbnailSizeSlider")
        self.slider.setRange(SMALLEST, LARGEST)
        self.slider.setSingleStep(STEP // 8)
        self.slider.setPageStep(STEP)
        self.slider.setFixedWidth(110)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Thumbnail size (Ctrl+plus, Ctrl+minus; Ctrl+0 for the default)")
        self.slider.setAccessibleName("Thumbnail size")
        self.slider.setValue(grid.min_cell)
        self.slider.valueChanged.connect(self.set_size)
        self.widget = QWidget()
        layout = QHBoxLayout(self.widget)
        layout.setContentsMargins(4, 0, 4, 0)
        small, large = QLabel("▫"), QLabel("◻")
        for label in (small, large):
            label.setToolTip(self.slider.toolTip())
        layout.addWidget(small)
        layout.addWidget(self.slider)
        layout.addWidget(large)

        self.larger_action = QAction("&Larger thumbnails", self)
        self.larger_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")]
        )
        self.larger_action.triggered.connect(lambda: self.set_size(self.size + STEP))
        self.smaller_action = QAction("&Smaller thumbnails", self)
        self.smaller_action.setShortcut(QKeySequence(QKeySequence.StandardKey.ZoomOut))
        self.smaller_action.triggered.connect(lambda: self.set_size(self.size - STEP))
        self.reset_action = QAction("&Default thumbnail size", self)
        self.reset_action.setShortcut(QKeySequence("Ctrl+0"))
        self.reset_action.triggered.connect(lambda: self.set_size(CELL))
        self.actions = [self.larger_action, self.smaller_action, self.reset_action]

    @property
    def size(self) -> int:
        return self.grid.min_cell

    def set_size(self, size: int) -> None:
        """Cells at least ``size`` pixels wide (stretched to fill whole columns)."""
        size = clamp_size(size)
        self.slider.blockSignals(True)
        self.slider.setValue(size)
        self.slider.blockSignals(False)
        self.larger_action.setEnabled(size < LARGEST)
        self.smaller_action.setEnabled(size > SMALLEST)
        if size != self.grid.min_cell:
            self.grid.set_cell_size(size)
            self.changed.emit(size)

    def restore(self, settings: QSettings | None) -> None:
        self.set_size(read_size(settings))

    def save(self, settings: QSettings) -> None:
        settings.setValue(SETTING, self.size)
