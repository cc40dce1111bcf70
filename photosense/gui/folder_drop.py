"""Folders dropped on the window are added to the library: an event filter on the window."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QWidget


def dropped_folders(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """The local folders a drag carries (files and remote URLs are left out)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if os.path.isdir(p)]


class FolderDrop(QObject):
    """Accepts drags of folders onto ``window`` and hands the dropped ones to ``add``."""

    def __init__(self, window: QWidget, add: Callable[[list[str]], object]) -> None:
        super().__init__(window)
        self.add = add
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop:
            folders = dropped_folders(event)
            if folders:
                event.acceptProposedAction()
                self.add(folders)
                return True
        elif isinstance(event, QDragEnterEvent):
            if dropped_folders(event):
                event.acceptProposedAction()
            else:
                event.ignore()
            return True
        return super().eventFilter(watched, event)
