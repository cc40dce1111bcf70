"""The photo grid: a virtualised :class:`PhotoGridView` and the :class:`PhotoDelegate` for it.

Only visible cells are painted, and painting is what asks the model for thumbnails, so a grid
over 100k photos decodes only what the user looks at. Colours come from the palette.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QContextMenuEvent,
    QKeySequence,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionFocusRect,
    QStyleOptionViewItem,
    QWidget,
)

from photosense.gui.photo_grid_model import GridRole, PhotoGridModel
from photosense.library import PhotoRecord

CELL = 176  # logical pixels of a square thumbnail cell
PADDING = 6
LEFT_TOP = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
RIGHT_TOP = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop
ModelIndex = QModelIndex | QPersistentModelIndex


MORE_RESULTS = "More results"
"""The divider's words: the first photo below a search's good matches carries them."""


def _first_of_more(index: ModelIndex) -> bool:
    """Whether ``index`` is the first photo below a search's good matches (there being some)."""
    row = index.row()
    if row < 1 or index.data(GridRole.MatchRole) != "more":
        return False
    previous = index.model().index(row - 1, 0)
    return bool(previous.data(GridRole.MatchRole) == "good")


def _paint_divider(
    painter: QPainter,
    option: QStyleOptionViewItem,
    rect: QRect,
    square: QRect,
    group: QPalette.ColorGroup,
) -> None:
    """A bar down the cell's leading edge and a "More results" label over the thumbnail: where
    the good matches end, whichever row the grid's width puts it on."""
    palette: QPalette = option.palette
    accent = palette.color(group, QPalette.ColorRole.Highlight)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(accent)
    painter.drawRoundedRect(QRect(rect.left(), rect.top(), 3, rect.height()), 1, 1)
    metrics = option.fontMetrics
    label = QRect(
        square.left() + 4,
        square.top() + 4,
        metrics.horizontalAdvance(MORE_RESULTS) + 12,
        metrics.height() + 4,
    )
    painter.drawRoundedRect(label, 4, 4)
    painter.setPen(palette.color(group, QPalette.ColorRole.HighlightedText))
    painter.drawText(label, Qt.AlignmentFlag.AlignCenter, MORE_RESULTS)


class PhotoDelegate(QStyledItemDelegate):
    """Paints a cell: the thumbnail centred in a square, the file name (and score) below it."""

    def __init__(self, cell: int = CELL, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cell = cell

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:  # noqa: N802
        return QSize(self.cell, self.cell + option.fontMetrics.height() + PADDING)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        palette: QPalette = option.palette
        state = option.state
        rect: QRect = option.rect.adjusted(2, 2, -2, -2)
        selected = bool(state & QStyle.StateFlag.State_Selected)
        group = (
            QPalette.ColorGroup.Active
            if state & QStyle.StateFlag.State_Active
            else QPalette.ColorGroup.Inactive
        )
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            painter.setBrush(palette.brush(group, QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(rect, 6, 6)
        elif state & QStyle.StateFlag.State_MouseOver:
            painter.setBrush(palette.brush(group, QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(rect, 6, 6)

        side = rect.width() - 2 * PADDING
        square = QRect(rect.left() + PADDING, rect.top() + PADDING, side, side)
        thumbnail_state = index.data(GridRole.ThumbnailStateRole)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if thumbnail_state != "ready" or not isinstance(pixmap, QPixmap):
            self._paint_placeholder(painter, square, palette, thumbnail_state != "failed")
        else:
            painter.drawPixmap(_fit(pixmap.size(), square), pixmap)
        if _first_of_more(index):
            _paint_divider(painter, option, rect, square, group)

        text_rect = QRect(
            rect.left() + PADDING, square.bottom() + 3, side, rect.bottom() - square.bottom() - 3
        )
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(group, role))
        score = index.data(GridRole.ScoreRole)
        metrics = option.fontMetrics
        if isinstance(score, float):
            score_text = f"{score:.2f}"
            score_width = metrics.horizontalAdvance(score_text) + 6
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, score_text
            )
            text_rect = text_rect.adjusted(0, 0, -score_width, 0)
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        elided = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, LEFT_TOP, elided)

        if state & QStyle.StateFlag.State_HasFocus:
            focus = QStyleOptionFocusRect()
            focus.rect = rect
            focus.palette = palette
            focus.state = state
            widget = option.widget
            style = widget.style() if widget is not None else None
            if style is not None:
                style.drawPrimitive(
                    QStyle.PrimitiveElement.PE_FrameFocusRect, focus, painter, widget
                )
        painter.restore()

    @staticmethod
    def _paint_placeholder(
        painter: QPainter, square: QRect, palette: QPalette, loading: bool
    ) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(
            palette.color(QPalette.ColorRole.Midlight if loading else QPalette.ColorRole.Mid)
        )
        inset = square.adjusted(10, 18, -10, -18)
        painter.drawRoundedRect(inset, 4, 4)
        if not loading:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(inset, Qt.AlignmentFlag.AlignCenter, "no preview")


def _fit(size: QSize, box: QRect) -> QRect:
    """The largest rect of ``size``'s aspect ratio centred in ``box`` (never upscaling much)."""
    width, height = size.width(), size.height()
    if width <= 0 or height <= 0:
        return box
    scale = min(box.width() / width, box.height() / height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    return QRect(box.left() + (box.width() - w) // 2, box.top() + (box.height() - h) // 2, w, h)


class PhotoGridView(QListView):
    """Thumbnails in rows, multi-select, keyboard navigation, and a per-photo context menu.

    Emits the photos the user acted on; the window decides what opening or "similar" means.
    """

    open_requested = Signal(list)  # list[PhotoRecord]: Enter or a double-click, to view them
    open_externally_requested = Signal(list)  # list[PhotoRecord], for the system's viewer
    similar_requested = Signal(object)  # PhotoRecord
    show_in_folder_requested = Signal(object)  # PhotoRecord
    add_to_album_requested = Signal(str, list)  # album name, list[int] photo ids
    new_album_requested = Signal(list)  # list[int] photo ids to put in a new album
    remove_from_album_requested = Signal(list)  # list[int] photo ids, from the album shown

    def __init__(self, parent: QWidget | None = None, cell: int = CELL) -> None:
        super().__init__(parent)
        self.min_cell = cell
        self.albums: list[str] = []  # offered in the context menu
        self.current_album: str | None = None  # the album the grid shows, if any
        self.setObjectName("photoGrid")
        self.setAccessibleName("Photos")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)  # ~4 ms a batch; 100k photos are laid out in ~50 quick passes
        self.setWrapping(True)
        self.setSpacing(4)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        # Always on, so the column count does not flip when the scroll bar comes and goes.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMouseTracking(True)
        # Photos are dragged onto albums in the sidebar (and out to other programs).
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.delegate = PhotoDelegate(cell, self)
        self.setItemDelegate(self.delegate)
        self.activated.connect(self._on_activated)

        self.open_action = QAction("&View", self)
        self.open_action.setShortcut(QKeySequence(Qt.Key.Key_Return))
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_action.setToolTip("See the photo over the whole window (Enter, double-click)")
        self.open_action.triggered.connect(self._open_selected)
        self.open_externally_action = QAction("Open in system &viewer", self)
        self.open_externally_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_externally_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_externally_action.triggered.connect(
            lambda: self.open_externally_requested.emit(self._records_to_open())
        )
        self.similar_action = QAction("&Similar photos", self)
        self.similar_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.similar_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.similar_action.triggered.connect(self._similar_to_current)
        self.show_in_folder_action = QAction("Show in &folder", self)
        self.show_in_folder_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.show_in_folder_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.show_in_folder_action.triggered.connect(self._show_current_in_folder)
        self.remove_from_album_action = QAction("&Remove from album", self)
        self.remove_from_album_action.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        self.remove_from_album_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.remove_from_album_action.setToolTip("Take the selected photos out of this album")
        self.remove_from_album_action.triggered.connect(self._remove_selected_from_album)
        self.remove_from_album_action.setEnabled(False)
        self.new_album_action = QAction("&New album with these photos…", self)
        self.new_album_action.triggered.connect(
            lambda: self.new_album_requested.emit(self.selected_ids())
        )
        for action in (
            self.open_action,
            self.open_externally_action,
            self.similar_action,
            self.show_in_folder_action,
            self.remove_from_album_action,
        ):
            self.addAction(action)

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().viewportEvent(event)

    def set_cell_size(self, size: int) -> None:
        """Cells at least ``size`` pixels wide; the photo at the top left stays in view."""
        top = self.indexAt(QPoint(8, 8))
        self.min_cell = size
        self._fit_columns()
        if top.isValid():
            self.scrollTo(top, QAbstractItemView.ScrollHint.PositionAtTop)

    def _fit_columns(self) -> None:
        """Stretch cells so whole columns fill the width (no ragged gap on the right)."""
        width = self.viewport().width()
        columns = max(1, (width - 2) // self.min_cell)
        cell = max(self.min_cell, (width - 2) // columns)  # an exact fit would wrap early
        if cell != self.delegate.cell or not self.gridSize().isValid():
            self.delegate.cell = cell
            height = cell + self.fontMetrics().height() + PADDING
            self.setGridSize(QSize(cell, height))

    def selected_records(self) -> list[PhotoRecord]:
        """The loaded records of the selected photos, in grid order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        model = self.model()
        records = [model.data(model.index(row, 0), GridRole.PhotoRole) for row in rows]
        return [r for r in records if isinstance(r, PhotoRecord)]

    def selected_ids(self) -> list[int]:
        """Ids of the selected photos (loaded or not), in grid order."""
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        model = self.model()
        ids = (model.data(model.index(row, 0), GridRole.PhotoIdRole) for row in rows)
        return [i for i in ids if isinstance(i, int)]

    def show_photos(
        self,
        model: PhotoGridModel,
        ids: Sequence[int],
        scores: Sequence[float] | None = None,
        records: Sequence[PhotoRecord] = (),
        good: int | None = None,
        *,
        keep_position: bool = False,
        rows: Mapping[int, int] | None = None,
    ) -> None:
        """Replace ``model``'s (the view's) photos, keeping the selected photos selected when
        still there.

        A live refresh (indexing added photos) keeps the scroll position; a new query shows
        the current photo, or the top.
        """
        selection = self.selectionModel()
        selected = [i.data(GridRole.PhotoIdRole) for i in selection.selectedIndexes()]
        current = self.currentIndex().data(GridRole.PhotoIdRole)
        scroll = self.verticalScrollBar().value()
        model.set_photos(ids, scores, records, good, rows)
        for photo_id in selected:
            row = model.row_of(photo_id)
            if row is not None:
                selection.select(model.index(row), QItemSelectionModel.SelectionFlag.Select)
        row = model.row_of(current) if current is not None else None
        if row is not None:
            selection.setCurrentIndex(model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)
        if keep_position:
            self._restore_scroll(scroll)
        elif row is not None:
            index = model.index(row)
            QTimer.singleShot(0, self, lambda: self.scrollTo(index))

    def _restore_scroll(self, value: int, tries: int = 50) -> None:
        """Scroll back to ``value`` once the batched layout has grown the grid that far."""
        bar = self.verticalScrollBar()
        if bar.maximum() >= value or tries <= 0:
            bar.setValue(value)
        else:
            QTimer.singleShot(20, self, lambda: self._restore_scroll(value, tries - 1))

    def set_current_album(self, album: str | None) -> None:
        """The album the grid shows (None: not an album); Delete then takes photos out of it."""
        self.current_album = album
        self.remove_from_album_action.setEnabled(album is not None)
        self.remove_from_album_action.setText(
            f"&Remove from “{album}”" if album else "&Remove from album"
        )

    def current_record(self) -> PhotoRecord | None:
        record = self.currentIndex().data(GridRole.PhotoRole)
        return record if isinstance(record, PhotoRecord) else None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        index = self.indexAt(event.pos())
        if not index.isValid():
            return
        if not self.selectionModel().isSelected(index):
            self.setCurrentIndex(index)
        menu = self.context_menu()
        menu.exec(event.globalPos())
        menu.deleteLater()

    def context_menu(self) -> QMenu:
        """The menu for the current photo (built each time so it follows the selection)."""
        menu = QMenu(self)
        has_photo = self.current_record() is not None
        actions = (
            self.similar_action,
            self.open_action,
            self.open_externally_action,
            self.show_in_folder_action,
        )
        for action in actions:
            action.setEnabled(has_photo)
        menu.addAction(self.similar_action)
        menu.addSeparator()
        menu.addAction(self.open_action)
        menu.addAction(self.open_externally_action)
        menu.addAction(self.show_in_folder_action)
        menu.addSeparator()
        menu.addMenu(self.album_menu(menu))
        if self.current_album is not None:
            menu.addAction(self.remove_from_album_action)
        return menu

    def album_menu(self, parent: QWidget | None = None) -> QMenu:
        """ "Add to album": every album, then a new one, for the selected photos."""
        menu = QMenu("Add to &album", parent or self)
        ids = self.selected_ids()
        menu.setEnabled(bool(ids))
        for name in self.albums:
            action = menu.addAction(name.replace("&", "&&"))
            action.triggered.connect(
                lambda _checked=False, n=name: self.add_to_album_requested.emit(n, ids)
            )
            action.setEnabled(name != self.current_album)
        if self.albums:
            menu.addSeparator()
        menu.addAction(self.new_album_action)
        return menu

    def cell_at(self, row: int) -> QPoint:
        """Centre of the cell in ``row`` in viewport coordinates (for tests and tools)."""
        return self.visualRect(self.model().index(row, 0)).center()

    def _on_activated(self, index: QModelIndex) -> None:
        """Open the selection when the activated photo is part of it, else just that photo."""
        if self.selectionModel().isSelected(index):
            self._open_selected()
            return
        record = index.data(GridRole.PhotoRole)
        if isinstance(record, PhotoRecord):
            self.open_requested.emit([record])

    def _records_to_open(self) -> list[PhotoRecord]:
        return self.selected_records() or [r for r in [self.current_record()] if r]

    def _open_selected(self) -> None:
        records = self._records_to_open()
        if records:
            self.open_requested.emit(records)

    def _similar_to_current(self) -> None:
        record = self.current_record()
        if record is not None:
            self.similar_requested.emit(record)

    def _remove_selected_from_album(self) -> None:
        ids = self.selected_ids()
        if ids and self.current_album is not None:
            self.remove_from_album_requested.emit(ids)

    def _show_current_in_folder(self) -> None:
        record = self.current_record()
        if record is not None:
            self.show_in_folder_requested.emit(record)
