"""Qt item models: :class:`PhotoGridModel`, the list of photos the grid shows.

The model holds photo ids (and scores, for search results) and pages the records in on demand
from the library, off the GUI thread, so a 100k-photo library costs 100k ints until scrolled
through. Thumbnails come from a :class:`~photosense.gui.thumbnail_loader.ThumbnailLoader`.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.thumbnail_loader import ThumbnailLoader
from photosense.library import PhotoRecord

log = logging.getLogger(__name__)

PAGE_SIZE = 256
MAX_CACHED_RECORDS = 20_000

PHOTO_MIME = "application/x-photosense-photo-ids"
"""Drag-and-drop type of photos dragged from the grid: a JSON list of photo ids."""

RecordFetcher = Callable[[Sequence[int]], dict[int, PhotoRecord]]
ModelIndex = QModelIndex | QPersistentModelIndex


class GridRole(enum.IntEnum):
    """Custom data roles of :class:`PhotoGridModel`."""

    PhotoRole = Qt.ItemDataRole.UserRole + 1  # the PhotoRecord, or None while it loads
    ScoreRole = Qt.ItemDataRole.UserRole + 2  # the search score, or None when browsing
    PhotoIdRole = Qt.ItemDataRole.UserRole + 3  # always available
    ThumbnailStateRole = Qt.ItemDataRole.UserRole + 4  # "ready", "loading" or "failed"
    MatchRole = Qt.ItemDataRole.UserRole + 5  # "good", "more" (below the good ones) or None


PhotoRole = GridRole.PhotoRole


def row_lookup(ids: Sequence[int]) -> dict[int, int]:
    """Any thread: photo id -> row. Made by the job that lists the photos: for a million of
    them it takes the GUI thread a tenth of a second or more."""
    return {photo_id: row for row, photo_id in enumerate(ids)}


def format_size(size: int) -> str:
    """A byte count as people read it: 834 KB, 4.2 MB."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("bytes", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"  # pragma: no cover


def photo_ids_from_mime(mime: QMimeData | None) -> list[int]:
    """The photo ids a drag from the grid carries (empty for anything else)."""
    if mime is None or not mime.hasFormat(PHOTO_MIME):
        return []
    try:
        ids = json.loads(bytes(mime.data(PHOTO_MIME).data()).decode())
    except (ValueError, UnicodeDecodeError):
        return []
    return [int(i) for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


class PhotoGridModel(QAbstractListModel):
    """The photos in the grid: all of them newest first, or a search's hits best first."""

    records_loaded = Signal()  # a page of records arrived

    def __init__(
        self,
        runner: JobRunner,
        fetch_records: RecordFetcher,
        thumbnails: ThumbnailLoader | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.fetch_records = fetch_records
        self.thumbnails = thumbnails
        self._ids: list[int] = []
        self._scores: list[float] | None = None
        self._good: int | None = None
        self._rows: Mapping[int, int] = {}
        self._records: OrderedDict[int, PhotoRecord] = OrderedDict()
        self._pending_pages: set[int] = set()
        self._missing: set[int] = set()
        self._page_jobs: dict[QObject, tuple[int, int]] = {}  # signals -> (generation, page)
        self._generation = 0
        self._placeholder: QPixmap | None = None
        if thumbnails is not None:
            thumbnails.loaded.connect(self._on_thumbnail_loaded)

    # -- contents ---------------------------------------------------------------------------

    def set_photos(
        self,
        ids: Sequence[int],
        scores: Sequence[float] | None = None,
        records: Sequence[PhotoRecord] = (),
        good: int | None = None,
        rows: Mapping[int, int] | None = None,
    ) -> None:
        """Show these photos, in this order; ``records`` already known are used as they are.
        ``good``: a search's first ``good`` photos are good matches, the rest "more results"
        (None: not judged). ``rows``: their :func:`row_lookup`, when made already."""
        if scores is not None and len(scores) != len(ids):
            raise ValueError("one score per photo, please")
        self.beginResetModel()
        self._generation += 1
        self._ids = list(ids)
        self._scores = list(scores) if scores is not None else None
        self._good = good
        self._rows = row_lookup(self._ids) if rows is None else rows
        self._pending_pages.clear()
        self._missing.clear()
        for record in records:
            self._remember(record)
        self.endResetModel()
        if self.thumbnails is not None:
            self.thumbnails.clear_queue()

    def clear(self) -> None:
        self.set_photos([])

    def palette_changed(self) -> None:
        """Redraw placeholders in the new palette's colours (light/dark switched)."""
        self._placeholder = None
        if self._ids:
            self.dataChanged.emit(
                self.index(0), self.index(len(self._ids) - 1), [Qt.ItemDataRole.DecorationRole]
            )

    def forget_records(self) -> None:
        """Drop cached records (the library changed); they are fetched again when shown."""
        self._records.clear()
        self._missing.clear()

    @property
    def photo_ids(self) -> list[int]:
        return list(self._ids)

    @property
    def good_count(self) -> int | None:
        """How many of the first photos are good matches (None: the photos are not judged)."""
        return self._good

    def match_at(self, row: int) -> str | None:
        """ "good" for a good match, "more" for a photo below them, None when not judged."""
        if self._good is None:
            return None
        return "good" if row < self._good else "more"

    @property
    def has_scores(self) -> bool:
        return self._scores is not None

    @property
    def loading(self) -> bool:
        """Whether pages of records are still being fetched."""
        return bool(self._pending_pages)

    def record_at(self, row: int) -> PhotoRecord | None:
        """The record in ``row`` if it is loaded (asks for its page otherwise)."""
        if not 0 <= row < len(self._ids):
            return None
        photo_id = self._ids[row]
        record = self._records.get(photo_id)
        if record is None and photo_id not in self._missing:
            self._request_page(row // PAGE_SIZE)
        return record

    def row_of(self, photo_id: int) -> int | None:
        return self._rows.get(photo_id)

    # -- Qt model API -----------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsDragEnabled
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [PHOTO_MIME, "text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        """The dragged photos: their ids (for albums) and file URLs (for other programs)."""
        rows = sorted({index.row() for index in indexes if index.isValid()})
        ids = [self._ids[row] for row in rows if 0 <= row < len(self._ids)]
        mime = QMimeData()
        mime.setData(PHOTO_MIME, QByteArray(json.dumps(ids).encode()))
        records = (self._records.get(photo_id) for photo_id in ids)
        mime.setUrls([QUrl.fromLocalFile(r.path) for r in records if r is not None])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.CopyAction

    def roleNames(self) -> dict[int, QByteArray]:  # noqa: N802
        names = super().roleNames()
        for role, name in (
            (GridRole.PhotoRole, b"photo"),
            (GridRole.ScoreRole, b"score"),
            (GridRole.PhotoIdRole, b"photoId"),
            (GridRole.ThumbnailStateRole, b"thumbnailState"),
            (GridRole.MatchRole, b"match"),
        ):
            names[int(role)] = QByteArray(name)
        return names

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.parent().isValid():
            return None
        row = index.row()
        if not 0 <= row < len(self._ids):
            return None
        if role == GridRole.PhotoIdRole:
            return self._ids[row]
        if role == GridRole.ScoreRole:
            return None if self._scores is None else self._scores[row]
        if role == GridRole.MatchRole:
            return self.match_at(row)
        record = self.record_at(row)
        if role == GridRole.PhotoRole:
            return record
        if role == Qt.ItemDataRole.DisplayRole:
            return os.path.basename(record.path) if record is not None else ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, record)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            name = os.path.basename(record.path) if record is not None else "loading"
            return f"{name}, more results" if self.match_at(row) == "more" else name
        if role in (Qt.ItemDataRole.DecorationRole, GridRole.ThumbnailStateRole):
            pixmap = None
            if record is not None and self.thumbnails is not None:
                pixmap = self.thumbnails.pixmap(record)
            if role == GridRole.ThumbnailStateRole:
                if pixmap is not None:
                    return "ready"
                failed = record is not None and self._thumbnail_failure(record) is not None
                return "failed" if failed else "loading"
            return pixmap if pixmap is not None else self._placeholder_pixmap()
        return None

    # -- helpers ----------------------------------------------------------------------------

    def _thumbnail_failure(self, record: PhotoRecord) -> str | None:
        return None if self.thumbnails is None else self.thumbnails.failure(record)

    def _tooltip(self, row: int, record: PhotoRecord | None) -> str:
        if record is None:
            return "loading…"
        lines = [record.path, f"{record.taken_at:%Y-%m-%d %H:%M}"]
        if record.width and record.height:
            lines.append(f"{record.width} × {record.height}, {format_size(record.size)}")
        if self._scores is not None:
            lines.append(f"score {self._scores[row]:.3f}")
        match = self.match_at(row)
        if match is not None:
            lines.append("a good match" if match == "good" else "more results: not a good match")
        failure = self._thumbnail_failure(record)
        if failure:
            lines.append(f"no preview: {failure}")
        return "\n".join(lines)

    def _placeholder_pixmap(self) -> QPixmap:
        """A flat tile in the palette's colours, drawn once, shown while a thumbnail loads."""
        if self._placeholder is None:
            pixmap = QPixmap(QSize(8, 8))
            app = QApplication.instance()
            palette = app.palette() if isinstance(app, QApplication) else QPalette()
            pixmap.fill(palette.color(QPalette.ColorRole.Mid))
            painter = QPainter(pixmap)
            painter.fillRect(2, 2, 4, 4, QColor(palette.color(QPalette.ColorRole.Midlight)))
            painter.end()
            self._placeholder = pixmap
        return self._placeholder

    def _remember(self, record: PhotoRecord) -> None:
        self._records[record.id] = record
        self._records.move_to_end(record.id)
        while len(self._records) > MAX_CACHED_RECORDS:
            self._records.popitem(last=False)

    def _request_page(self, page: int) -> None:
        if page in self._pending_pages:
            return
        self._pending_pages.add(page)
        ids = self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        job = Job.call(self.fetch_records, ids, name=f"records page {page}", lane=Lane.READ)
        self._page_jobs[job.signals] = (self._generation, page)
        job.signals.finished.connect(self._on_page_loaded)
        job.signals.failed.connect(self._on_page_failed)
        job.signals.done.connect(self._on_page_done)
        self.runner.start(job)

    def _on_page_loaded(self, records: dict[int, PhotoRecord]) -> None:
        generation, page = self._page_jobs.get(self.sender(), (-1, -1))
        if generation != self._generation:
            return  # the grid shows other photos now
        for record in records.values():
            self._remember(record)
        first = page * PAGE_SIZE
        # Photos removed since the list was made are not asked for again on every paint.
        self._missing.update(i for i in self._ids[first : first + PAGE_SIZE] if i not in records)
        last = min(len(self._ids), first + PAGE_SIZE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first), self.index(last))
        self.records_loaded.emit()

    def _on_page_failed(self, exc: object) -> None:
        log.warning("could not load photos for the grid: %s", exc)

    def _on_page_done(self) -> None:
        generation, page = self._page_jobs.pop(self.sender(), (-1, -1))
        if generation == self._generation:
            self._pending_pages.discard(page)

    def _on_thumbnail_loaded(self, photo_id: int) -> None:
        row = self._rows.get(photo_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(
                index, index, [Qt.ItemDataRole.DecorationRole, GridRole.ThumbnailStateRole]
            )
