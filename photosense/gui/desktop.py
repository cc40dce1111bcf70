"""Handing photos to the desktop: open in the system viewer, show in the file manager."""

from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)

MAX_OPEN_AT_ONCE = 20


def open_files(paths: list[str]) -> int:
    """Open up to :data:`MAX_OPEN_AT_ONCE` files in their default application; returns how many."""
    opened = 0
    for path in paths[:MAX_OPEN_AT_ONCE]:
        if QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            opened += 1
        else:
            log.warning("the desktop could not open %s", path)
    return opened


def show_in_folder(path: str) -> bool:
    """Show the file in the file manager, selected where the platform allows it."""
    if sys.platform == "darwin":
        return QProcess.startDetached("open", ["-R", path])[0]
    if sys.platform == "win32":
        return QProcess.startDetached("explorer", [f"/select,{os.path.normpath(path)}"])[0]
    # freedesktop: most file managers implement org.freedesktop.FileManager1.ShowItems.
    uri = QUrl.fromLocalFile(path).toString()
    started = QProcess.startDetached(
        "dbus-send",
        [
            "--session",
            "--dest=org.freedesktop.FileManager1",
            "--type=method_call",
            "/org/freedesktop/FileManager1",
            "org.freedesktop.FileManager1.ShowItems",
            f"array:string:{uri}",
            "string:",
        ],
    )[0]
    if started:
        return True
    return QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path)))


def no_viewer_message(parent: QWidget, path: str) -> QMessageBox:
    """Say (without blocking) that the desktop has no application for ``path``'s kind of file;
    the user can still see it in photosense's own viewer or find it in its folder."""
    kind = os.path.splitext(path)[1].lstrip(".").upper() or "these"
    box = QMessageBox(parent)
    box.setObjectName("noViewerMessage")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("No image viewer")
    box.setText(f"No application on this computer is set to open {kind} files.")
    box.setInformativeText(
        f"The photo is {path}\n\nPress Enter on a photo to see it in photosense's own viewer, "
        "or set a default image viewer in your system's settings."
    )
    show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
    show.clicked.connect(lambda: show_in_folder(path))
    box.addButton(QMessageBox.StandardButton.Close)
    box.open()
    return box
