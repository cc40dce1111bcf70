"""Thumbnails for the grid, loaded off the GUI thread and kept in a bounded memory cache.

The grid asks :meth:`ThumbnailLoader.pixmap` while painting; a miss queues a request and returns
None (the grid draws a placeholder). Requests are served newest first, a few at a time, so a fast
scroll through 100k photos only decodes what the user stopped on; requests that fell far behind
are dropped. Images come from the on-disk cache in :mod:`photosense.media.thumbnails`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap, QTransform

from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.library import GRID_SIZE, PhotoRecord, ThumbnailCache

log = logging.getLogger(__name__)

MEMORY_BUDGET_BYTES = 96 * 1024 * 1024
MAX_IN_FLIGHT = 6
MAX_QUEUED = 400
MAX_FAILURES_KEPT = 10_000

Key = tuple[int, int, int, int]  # photo id, mtime_ns, thumbnail size, rotation


def pil_to_qimage(image: Image.Image) -> QImage:
    """Copy an RGB(A) Pillow image into a QImage that owns its pixels."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")
    fmt = QImage.Format.Format_RGB888 if image.mode == "RGB" else QImage.Format.Format_RGBA8888
    data = image.tobytes()
    bytes_per_line = len(data) // image.height if image.height else 0
    return QImage(data, image.width, image.height, bytes_per_line, fmt).copy()


def turned(image: QImage, rotation: int) -> QImage:
    """``image`` turned ``rotation`` degrees clockwise (a photo's rotation kept as metadata)."""
    if rotation % 360 == 0:
        return image
    return image.transformed(QTransform().rotate(rotation))


def load_thumbnail_image(
    cache: ThumbnailCache, path: str, size: int, fit: int | None = None, rotation: int = 0
) -> QImage | str:
    """Any thread: the photo's cached thumbnail as a QImage (shrunk to ``fit`` px and turned
    ``rotation`` degrees clockwise), or why not."""
    result = cache.get(Path(path), size)
    if result.path is None:
        return result.reason
    try:
        with Image.open(result.path) as thumb:
            image = pil_to_qimage(thumb.convert("RGB"))
    except OSError as exc:
        return f"cannot read the cached thumbnail: {exc}"
    if fit is not None and max(image.width(), image.height()) > fit:
        image = image.scaled(
            fit,
            fit,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return turned(image, rotation)


class ThumbnailLoader(QObject):
    """Serves grid thumbnails from memory, queueing background loads for misses."""

    loaded = Signal(int)  # photo id whose thumbnail arrived (or failed for good)
    idle = Signal()  # nothing queued or in flight any more

    def __init__(
        self,
        runner: JobRunner,
        cache: ThumbnailCache,
        *,
        size: int = GRID_SIZE,
        fit: int = 256,
        memory_budget: int = MEMORY_BUDGET_BYTES,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.cache = cache
        self.size = size
        self.fit = fit
        self.memory_budget = memory_budget
        self._pixmaps: OrderedDict[Key, QPixmap] = OrderedDict()
        self._bytes = 0
        self._failed: OrderedDict[Key, str] = OrderedDict()
        self._queue: OrderedDict[Key, PhotoRecord] = OrderedDict()
        self._in_flight: dict[Key, Job] = {}
        self._keys: dict[QObject, Key] = {}  # a job's signals -> what it loads

    def _key(self, record: PhotoRecord) -> Key:
        return (record.id, record.mtime_ns, self.size, record.rotation)

    def pixmap(self, record: PhotoRecord) -> QPixmap | None:
        """The thumbnail if it is in memory; otherwise None, and a load is queued."""
        key = self._key(record)
        pixmap = self._pixmaps.get(key)
        if pixmap is not None:
            self._pixmaps.move_to_end(key)
            return pixmap
        if key not in self._failed:
            self._request(key, record)
        return None

    def failure(self, record: PhotoRecord) -> str | None:
        """Why the photo has no thumbnail, once loading it has failed."""
        return self._failed.get(self._key(record))

    @property
    def pending(self) -> int:
        """Requests queued or in flight."""
        return len(self._queue) + len(self._in_flight)

    @property
    def memory_bytes(self) -> int:
        return self._bytes

    def clear_queue(self) -> None:
        """Drop queued requests (the grid shows other photos now); loads in flight finish."""
        self._queue.clear()
        self._maybe_idle()

    def _request(self, key: Key, record: PhotoRecord) -> None:
        if key in self._in_flight:
            return
        self._queue[key] = record
        self._queue.move_to_end(key)  # newest request first
        while len(self._queue) > MAX_QUEUED:
            self._queue.popitem(last=False)
        self._pump()

    def _pump(self) -> None:
        while self._queue and len(self._in_flight) < MAX_IN_FLIGHT:
            key, record = self._queue.popitem(last=True)
            job = Job.call(
                load_thumbnail_image,
                self.cache,
                record.path,
                self.size,
                self.fit,
                record.rotation,
                name=f"thumbnail {record.id}",
                lane=Lane.THUMBNAILS,
            )
            self._keys[job.signals] = key
            job.signals.finished.connect(self._on_loaded)
            job.signals.failed.connect(self._on_failed)
            job.signals.done.connect(self._on_done)
            self._in_flight[key] = job
            self.runner.start(job)

    def _key_of_sender(self) -> Key | None:
        return self._keys.get(self.sender())

    def _on_loaded(self, result: object) -> None:
        key = self._key_of_sender()
        if key is None:
            return
        if isinstance(result, QImage):
            pixmap = QPixmap.fromImage(result)
            self._pixmaps[key] = pixmap
            self._bytes += _pixmap_bytes(pixmap)
            self._evict()
        else:
            self._remember_failure(key, str(result))
        self.loaded.emit(key[0])

    def _on_failed(self, exc: object) -> None:
        key = self._key_of_sender()
        if key is not None:
            log.warning("thumbnail job failed: %s", exc)
            self._remember_failure(key, f"could not make a thumbnail: {exc}")
            self.loaded.emit(key[0])

    def _on_done(self) -> None:
        key = self._keys.pop(self.sender(), None)
        if key is not None:
            self._in_flight.pop(key, None)
        self._pump()
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self._queue and not self._in_flight:
            self.idle.emit()

    def _remember_failure(self, key: Key, reason: str) -> None:
        self._failed[key] = reason
        while len(self._failed) > MAX_FAILURES_KEPT:
            self._failed.popitem(last=False)

    def _evict(self) -> None:
        while self._bytes > self.memory_budget and len(self._pixmaps) > 1:
            _, old = self._pixmaps.popitem(last=False)
            self._bytes -= _pixmap_bytes(old)


def _pixmap_bytes(pixmap: QPixmap) -> int:
    return pixmap.width() * pixmap.height() * max(1, pixmap.depth() // 8)
