"""The viewer's canvas: one photo fitted to the window or zoomed, panned by dragging.

The photo comes twice: whole (for zooming in) and shrunk to the screen (drawn when fitted), both
made off the GUI thread, so that painting never scales 24 megapixels: when zoomed in, only the
part on screen is scaled. Until the photo is decoded its grid thumbnail stands in, stretched.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

MIN_SCALE = 0.02
MAX_SCALE = 16.0
ZOOM_STEP = 1.25
SMOOTH_UP_TO = 3.0
"""Above this zoom pixels are drawn as squares: whoever zooms that far wants to see them."""
BACKGROUND = QColor(18, 18, 18)


class ImageCanvas(QWidget):
    """Draws one image, fitted (the default) or at a zoom; ``zoom_changed`` after each change."""

    zoom_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewerCanvas")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(False)
        self.setMinimumSize(QSize(120, 90))
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, BACKGROUND)
        palette.setColor(QPalette.ColorRole.WindowText, QColor(220, 220, 220))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self.full: QImage | None = None
        self.small: QImage | None = None
        self.stand_in: QPixmap | None = None  # the thumbnail, until the photo is decoded
        self.message = ""
        self.fitted = True
        self.scale = 1.0
        self.centre = QPointF()  # the image point shown at the canvas's centre
        self._drag_from: QPoint | None = None
        self._drag_centre = QPointF()

    # -- what is shown ----------------------------------------------------------------------

    def set_image(self, full: QImage, small: QImage | None = None) -> None:
        """Show ``full`` (``small``: the same photo shrunk to the screen), fitted."""
        self.full, self.small, self.stand_in, self.message = full, small, None, ""
        self.fit()

    def set_stand_in(self, pixmap: QPixmap | None, message: str = "") -> None:
        """Show ``pixmap`` stretched to fit (or ``message``) until the photo is decoded."""
        self.full, self.small, self.stand_in, self.message = None, None, pixmap, message
        self.fitted = True
        self.update()
        self.zoom_changed.emit()

    @property
    def has_image(self) -> bool:
        return self.full is not None

    def image_size(self) -> QSize:
        return self.full.size() if self.full is not None else QSize()

    # -- zoom -------------------------------------------------------------------------------

    def fit_scale(self) -> float:
        """The zoom that shows the whole photo (never above 100%: small photos stay sharp)."""
        size = self.image_size()
        if size.isEmpty():
            return 1.0
        return min(1.0, self.width() / size.width(), self.height() / size.height())

    def fit(self) -> None:
        """Show the whole photo."""
        self.fitted = True
        self.scale = self.fit_scale()
        size = self.image_size()
        self.centre = QPointF(size.width() / 2, size.height() / 2)
        self.update()
        self.zoom_changed.emit()

    def actual_size(self, anchor: QPointF | None = None) -> None:
        """One photo pixel per screen pixel, keeping the point under ``anchor`` in place."""
        self.zoom_to(1.0, anchor)

    def zoom_in(self) -> None:
        self.zoom_to(self.scale * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_to(self.scale / ZOOM_STEP)

    def zoom_to(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``scale`` keeping the image point under ``anchor`` (default: the centre) put."""
        if self.full is None:
            return
        scale = max(min(MIN_SCALE, self.fit_scale()), min(MAX_SCALE, scale))
        here = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        point = self._to_image(here)
        self.scale = scale
        self.fitted = False
        offset = (here - QPointF(self.width() / 2, self.height() / 2)) / scale
        self.centre = point - offset
        self._clamp()
        self.update()
        self.zoom_changed.emit()

    def zoom_text(self) -> str:
        if self.full is None:
            return ""
        percent = f"{self.scale * 100:.0f}%"
        return f"Fit ({percent})" if self.fitted else percent

    def _to_image(self, point: QPointF) -> QPointF:
        return self.centre + (point - QPointF(self.width() / 2, self.height() / 2)) / self.scale

    def _clamp(self) -> None:
        """Keep the photo on screen: centred along a side it does not fill, else no gap."""
        size = self.image_size()
        x, y = self.centre.x(), self.centre.y()
        half_w, half_h = self.width() / 2 / self.scale, self.height() / 2 / self.scale
        x = (
            size.width() / 2
            if half_w * 2 >= size.width()
            else min(max(x, half_w), size.width() - half_w)
        )
        y = (
            size.height() / 2
            if half_h * 2 >= size.height()
            else min(max(y, half_h), size.height() - half_h)
        )
        self.centre = QPointF(x, y)

    def image_rect(self) -> QRectF:
        """Where the whole photo lies on the canvas at this zoom (it may overflow)."""
        size = self.image_size()
        top_left = QPointF(self.width() / 2, self.height() / 2) - self.centre * self.scale
        return QRectF(top_left, QSize(size.width(), size.height()) * self.scale)

    # -- painting ---------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        if self.full is not None:
            smooth = self.scale <= SMOOTH_UP_TO
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            target = self.image_rect()
            screen = self.small
            if screen is not None and screen.width() >= target.width() - 0.5:
                painter.drawImage(target, screen)  # fitted or zoomed out: the small copy
            else:
                visible = target.intersected(QRectF(self.rect()))
                source = QRectF(
                    (visible.topLeft() - target.topLeft()) / self.scale,
                    visible.size() / self.scale,
                )
                painter.drawImage(visible, self.full, source)
        elif self.stand_in is not None and not self.stand_in.isNull():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            size = self.stand_in.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            left, top = (self.width() - size.width()) / 2, (self.height() - size.height()) / 2
            painter.drawPixmap(QRectF(QPointF(left, top), size), self.stand_in, QRectF())
        if self.message:
            painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            painter.drawText(
                self.rect().adjusted(24, 24, -24, -24),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.message,
            )
        painter.end()

    # -- mouse ------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.fitted:
            self.fit()
        else:
            self._clamp()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps and self.full is not None:
            self.zoom_to(self.scale * ZOOM_STEP**steps, event.position())
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.fitted and self.fit_scale() < 1.0:
            self.actual_size(event.position())
        else:
            self.fit()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.full is not None:
            self._drag_from = event.position().toPoint()
            self._drag_centre = QPointF(self.centre)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag_from is not None:
            moved = QPointF(event.position().toPoint() - self._drag_from) / self.scale
            self.centre = self._drag_centre - moved
            self._clamp()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._drag_from = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)
