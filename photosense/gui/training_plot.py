"""A fine-tuning run's curves: loss and held-out recall@5 per epoch, redrawn as epochs end."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QWidget


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


class TrainingPlot(QWidget):
    """Loss (left axis, dashed) and held-out recall@5 (right axis, 0–100 %) per epoch.

    Drawn with the palette's colours, so it follows light and dark mode.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[tuple[int, float, float]] = []  # (epoch, loss, recall@5)
        self.epochs = 1
        self.setMinimumSize(320, 170)
        self.setAccessibleName("Training plot")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 220)

    def set_epochs(self, epochs: int) -> None:
        """The x axis runs to ``epochs`` (the planned number), so the lines grow across it."""
        self.epochs = max(1, epochs)
        self.update()

    def add_point(self, epoch: int, loss: float, recall: float) -> None:
        """Add an epoch; a resumed or repeated run replaces the epochs from ``epoch`` on."""
        self.points = [p for p in self.points if p[0] < epoch] + [(epoch, loss, recall)]
        last = self.points[-1]
        self.setToolTip(
            f"Epoch {last[0]}: loss {last[1]:.3f}, held-out recall@5 {percent(last[2])}"
        )
        self.update()

    def clear(self) -> None:
        self.points = []
        self.setToolTip("")
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        faint = palette.color(QPalette.ColorRole.PlaceholderText)
        recall_colour = palette.color(QPalette.ColorRole.Highlight)
        metrics = self.fontMetrics()
        line = metrics.height()
        top_loss = max((p[1] for p in self.points), default=1.0) * 1.1 or 1.0
        epochs = max(self.epochs, max((p[0] for p in self.points), default=1))
        loss_labels = [(fraction, f"{top_loss * fraction:.3g}") for fraction in (0.0, 0.5, 1.0)]
        left = max(metrics.horizontalAdvance(label) for _, label in loss_labels) + 10
        right = metrics.horizontalAdvance("100%") + 10
        area = QRectF(left, line * 1.8, self.width() - left - right, self.height() - line * 4.2)
        painter.fillRect(area, palette.color(QPalette.ColorRole.Base))
        painter.setPen(QPen(faint, 1))
        painter.drawRect(area)

        # Legend: what each line is.
        x = area.left()
        for label, colour, style in (
            ("loss", text, Qt.PenStyle.DashLine),
            ("held-out recall@5", recall_colour, Qt.PenStyle.SolidLine),
        ):
            painter.setPen(QPen(colour, 2, style))
            y = line * 0.7
            painter.drawLine(QPointF(x, y), QPointF(x + 22, y))
            painter.setPen(text)
            painter.drawText(QPointF(x + 28, y + metrics.ascent() / 2 - 1), label)
            x += 28 + metrics.horizontalAdvance(label) + 18

        def at_x(epoch: float) -> float:
            span = max(1, epochs - 1)
            return (
                area.left() + (epoch - 1) / span * area.width() if epochs > 1 else area.center().x()
            )

        def at_y(fraction: float) -> float:
            return area.bottom() - fraction * area.height()

        # Axes: loss on the left, recall on the right, epochs below.
        painter.setPen(text)
        for fraction, loss_label in loss_labels:
            y = at_y(fraction)
            painter.setPen(QPen(faint, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y - line / 2, left - 6, line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                loss_label,
            )
            painter.drawText(
                QRectF(area.right() + 6, y - line / 2, right, line),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                percent(fraction),
            )
        ticks = sorted({1, (epochs + 1) // 2, epochs})
        for epoch in ticks:
            painter.drawText(
                QRectF(at_x(epoch) - 30, area.bottom() + 2, 60, line),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                str(epoch),
            )
        painter.drawText(
            QRectF(area.left(), area.bottom() + 2 + line, area.width(), line * 1.2),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
            "epoch",
        )

        if not self.points:
            painter.setPen(faint)
            painter.drawText(
                area,
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                "Loss and held-out recall appear here after each epoch",
            )
            return
        for index, colour, style, scale in (
            (1, text, Qt.PenStyle.DashLine, top_loss),
            (2, recall_colour, Qt.PenStyle.SolidLine, 1.0),
        ):
            points = [QPointF(at_x(p[0]), at_y(p[index] / scale)) for p in self.points]
            painter.setPen(QPen(colour, 2, style))
            painter.drawPolyline(QPolygonF(points))
            painter.setBrush(colour)
            for point in points:
                painter.drawEllipse(point, 2.5, 2.5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
