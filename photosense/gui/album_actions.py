"""Album actions: create, rename, delete, add photos to and take them out of albums, with the
questions they ask first; each runs as a job on the write lane and says what it did."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from photosense.gui.dialogs import confirm as ask
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.words import photos, user_message
from photosense.library import AlbumInfo, Library

SHOWN_MS = 8000  # how long what an action did stays in the status bar
FAILURE_SHOWN_MS = 15000


class AlbumActions(QObject):
    """Starts album changes; ``changed`` after each one, whether it worked or not."""

    renamed = Signal(str, object)  # the old name, the AlbumInfo it has now
    deleted = Signal(str)  # the album's name
    changed = Signal()  # an album change is over: reload the albums and what shows them
    reported = Signal(str, int)  # what happened in words, and how long to show it (ms)

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.runner = runner
        self.widget = parent  # dialogs are asked over it

    def new(self, photo_ids: Sequence[int] = ()) -> Job | None:
        """Ask for a name and create an album (holding ``photo_ids``, if any)."""
        what = f" for {len(photo_ids):,} photos" if photo_ids else ""
        name, ok = QInputDialog.getText(
            self.widget, "New album", f"Name of the new album{what}:", QLineEdit.EchoMode.Normal
        )
        if not ok or not name.strip():
            return None
        return self.create(name, photo_ids)

    def create(self, name: str, photo_ids: Sequence[int] = ()) -> Job:
        """Create an album in the background, with ``photo_ids`` in it."""
        library, ids = self.library, list(photo_ids)

        def create() -> tuple[AlbumInfo, int]:
            album = library.albums.create(name)
            return album, library.albums.add(album.name, ids) if ids else 0

        job = Job.call(create, name="create album", lane=Lane.WRITE)
        job.signals.finished.connect(self._on_created)
        return self._start(job)

    def _on_created(self, result: tuple[AlbumInfo, int]) -> None:
        album, added = result
        what = f" with {photos(added)}" if added else ""
        self.reported.emit(f"Album “{album.name}” created{what}", SHOWN_MS)

    def prompt_rename(self, old: str) -> Job | None:
        """Ask for a new name for the album ``old`` and rename it."""
        new, ok = QInputDialog.getText(
            self.widget, "Rename album", f"New name for “{old}”:", QLineEdit.EchoMode.Normal, old
        )
        if not ok or not new.strip() or new.strip() == old:
            return None
        return self.rename(old, new)

    def rename(self, old: str, new: str) -> Job:
        """Rename an album in the background (``renamed`` tells who shows it)."""
        job = Job.call(self.library.albums.rename, old, new, name="rename album", lane=Lane.WRITE)
        job.signals.finished.connect(lambda album: self._on_renamed(old, album))
        return self._start(job)

    def _on_renamed(self, old: str, album: AlbumInfo) -> None:
        self.renamed.emit(old, album)
        self.reported.emit(f"Album “{old}” is now “{album.name}”", SHOWN_MS)

    def delete(self, name: str, *, confirm: bool = True) -> Job | None:
        """Delete an album (its photos stay), after asking."""
        if confirm and not ask(
            self.widget,
            "Delete album",
            f"Delete the album “{name}”?\n\nIts photos stay in the library and on disk.",
        ):
            return None
        job = Job.call(self.library.albums.delete, name, name="delete album", lane=Lane.WRITE)
        job.signals.finished.connect(lambda _count: self._on_deleted(name))
        return self._start(job)

    def _on_deleted(self, name: str) -> None:
        self.deleted.emit(name)
        self.reported.emit(f"Album “{name}” deleted; its photos stay", SHOWN_MS)

    def add(self, name: str, photo_ids: Sequence[int]) -> Job | None:
        """Add photos to an album in the background (those already in it stay once)."""
        ids = list(photo_ids)
        if not ids:
            return None
        job = Job.call(self.library.albums.add, name, ids, name="add to album", lane=Lane.WRITE)
        job.signals.finished.connect(
            lambda added: self.reported.emit(
                f"Added {photos(added)} to “{name}”"
                + (f" ({len(ids) - added:,} already in it)" if added < len(ids) else ""),
                SHOWN_MS,
            )
        )
        return self._start(job)

    def remove(self, name: str | None, photo_ids: Sequence[int]) -> Job | None:
        """Take photos out of the album ``name`` (they stay in the library); None: no album."""
        ids = list(photo_ids)
        if name is None or not ids:
            return None
        job = Job.call(
            self.library.albums.remove, name, ids, name="remove from album", lane=Lane.WRITE
        )
        job.signals.finished.connect(
            lambda removed: self.reported.emit(
                f"Took {photos(removed)} out of “{name}”; the library keeps them", SHOWN_MS
            )
        )
        return self._start(job)

    def _start(self, job: Job) -> Job:
        job.signals.failed.connect(
            lambda exc: self.reported.emit(user_message(exc), FAILURE_SHOWN_MS)
        )
        job.signals.done.connect(self.changed.emit)
        return self.runner.start(job)
