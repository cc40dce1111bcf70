"""The first-run welcome: what photosense does, and one click to add the Pictures folder."""

from __future__ import annotations

import os

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photosense.gui.dialogs import heading


def pictures_folder() -> str:
    """The user's Pictures folder as the desktop reports it ("" when there is none)."""
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)


class WelcomePanel(QWidget):
    """Shown while the library has no folders; either button adds a folder and indexes it."""

    folder_chosen = Signal(str)
    choose_requested = Signal()

    def __init__(self, pictures: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        self.pictures = pictures if pictures is not None else pictures_folder()
        title = heading("Welcome to photosense", 1.8)
        intro = QLabel(
            "photosense finds your photos by what is in them: type “birthday cake” or "
            "“snowy mountains” and see them. Everything happens on this computer; no photo "
            "leaves it.\n\nStart by adding a folder of photos. Indexing runs in the background, "
            "and you can browse and search while it works."
        )
        intro.setWordWrap(True)

        exists = bool(self.pictures) and os.path.isdir(self.pictures)
        self.pictures_button = QPushButton(
            f"Add your Pictures folder ({self.pictures})" if exists else "Add your Pictures folder"
        )
        self.pictures_button.setEnabled(exists)
        if not exists:
            self.pictures_button.setToolTip("No Pictures folder was found on this computer")
        self.pictures_button.setDefault(True)
        self.pictures_button.clicked.connect(lambda: self.folder_chosen.emit(self.pictures))
        self.choose_button = QPushButton("Choose a folder…")
        self.choose_button.clicked.connect(self.choose_requested)
        hint = QLabel("You can also drop a folder onto this window.")
        hint.setEnabled(False)

        # A fixed-width column, centred: word-wrapped labels need a definite width to lay out.
        column = QWidget(self)
        column.setFixedWidth(560)
        inner = QVBoxLayout(column)
        inner.setSpacing(12)
        inner.addWidget(title, 0, Qt.AlignmentFlag.AlignHCenter)
        inner.addWidget(intro)
        inner.addSpacing(8)
        inner.addWidget(self.pictures_button)
        inner.addWidget(self.choose_button)
        inner.addWidget(hint, 0, Qt.AlignmentFlag.AlignHCenter)
        # Stretches rather than an alignment flag: an aligned widget gets its plain size hint,
        # which is too short for wrapped text.
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addLayout(row)
        layout.addStretch(3)
