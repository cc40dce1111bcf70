"""The People page: every person as a round face crop with their photo count, named in place
(double-click the name), with Show photos, Merge into…, Hide and, for all face data, Switch
off and Forget. Also draws face boxes on the detail pane's preview."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from photosense.errors import PhotosenseError
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.search_bar import FilterPanel
from photosense.gui.thumbnail_loader import load_thumbnail_image, pil_to_qimage
from photosense.gui.words import user_message
from photosense.library import (
    FaceRecord,
    FaceStatus,
    Library,
    PersonRecord,
    PhotoRecord,
    ThumbnailCache,
)

log = logging.getLogger(__name__)

CROP = 112
PersonRole = Qt.ItemDataRole.UserRole + 1
NameRole = Qt.ItemDataRole.UserRole + 2


class NameEditor(QStyledItemDelegate):
    """Edits a person's name in place (F2 or double-click): the editor holds the name alone, and
    a new name goes to ``renamed`` instead of into the item's text."""

    renamed = Signal(int, str)  # person id, new name

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:  # noqa: N802
        if isinstance(editor, QLineEdit):
            editor.setText(str(index.data(NameRole) or ""))
            editor.selectAll()

    def setModelData(  # noqa: N802
        self,
        editor: QWidget,
        _model: QAbstractItemModel,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if isinstance(editor, QLineEdit):
            name = editor.text().strip()
            if name and name != index.data(NameRole):
                self.renamed.emit(int(index.data(PersonRole)), name)


def round_face(image: QImage, size: int = CROP) -> QPixmap:
    """A face crop as a circle (transparent corners), ``size`` pixels a side."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addEllipse(QRectF(0, 0, size, size))
    painter.setClipPath(path)
    painter.drawImage(QRectF(0, 0, size, size), image)
    painter.end()
    return pixmap


def with_face_boxes(image: QImage, faces: list[FaceRecord]) -> QImage:
    """Any thread: ``image`` (the upright preview) with each face's box and name drawn on it."""
    if not faces:
        return image
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    painter = QPainter(image)
    pen = QPen(QColor(255, 220, 0), max(2, image.width() // 150))
    painter.setPen(pen)
    for face in faces:
        x, y = face.x * image.width(), face.y * image.height()
        w, h = face.w * image.width(), face.h * image.height()
        painter.drawRect(QRectF(x, y, w, h))
        if face.person_name:
            painter.drawText(
                QPoint(int(x), int(y + h + painter.fontMetrics().ascent())), face.person_name
            )
    painter.end()
    return image


def preview_with_faces(
    library: Library | None, cache: ThumbnailCache, record: PhotoRecord, size: int
) -> QImage | str:
    """Any thread: the detail pane's preview of ``record`` with its faces boxed and named (not
    on a photo the user turned: the boxes are of the photo as it was taken)."""
    image = load_thumbnail_image(cache, record.path, size, None, record.rotation)
    if library is None or not isinstance(image, QImage) or record.rotation:
        return image
    try:
        faces = library.people.of_photo(record.id)
    except PhotosenseError as exc:
        log.info("no faces for %s: %s", record.path, exc)
        return image
    return with_face_boxes(image, faces)


def _label(person: PersonRecord) -> str:
    name = person.name or "Unnamed"
    return f"{name}\n{person.photos:,} photo{'s' if person.photos != 1 else ''}"


class PeoplePage(QDialog):
    """People of the library; ``show_person`` asks the window to show a person's photos."""

    show_person = Signal(str)  # a person's name, or their number as text
    people_changed = Signal()

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("People")
        self.resize(760, 560)
        self.library, self.runner = library, runner
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("People")
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(CROP, CROP))
        self.list.setGridSize(QSize(CROP + 40, CROP + 50))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.names = NameEditor(self.list)
        self.names.renamed.connect(self._renamed)
        self.list.setItemDelegate(self.names)
        self.list.setEditTriggers(
            QListWidget.EditTrigger.DoubleClicked | QListWidget.EditTrigger.EditKeyPressed
        )
        self.switch = QPushButton()
        self.switch.clicked.connect(self._toggle)
        self.forget = QPushButton("Forget all face data…")
        self.forget.clicked.connect(self._forget)
        buttons = QHBoxLayout()
        buttons.addWidget(self.switch)
        buttons.addWidget(self.forget)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.people: list[PersonRecord] = []
        self.refresh()

    # -- loading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the people and their crops in the background."""
        library = self.library

        def load() -> tuple[list[PersonRecord], dict[int, QImage], FaceStatus]:
            people = library.people.list()
            crops: dict[int, QImage] = {}
            for person in people:
                if person.cover is None:
                    continue
                try:
                    crops[person.id] = pil_to_qimage(library.people.crop(person.cover.id, CROP))
                except Exception as exc:  # a photo gone or unreadable: the person stays listed
                    log.info("no face crop for person %s: %s", person.id, exc)
            return people, crops, library.people.status()

        self._run(Job.call(load, name="people"), self._show)

    def _show(self, result: object) -> None:
        loaded = cast(tuple[list[PersonRecord], dict[int, QImage], FaceStatus], result)
        people, crops, status = loaded
        self.people = people
        self.list.clear()
        for person in people:
            item = QListWidgetItem(_label(person))
            item.setData(PersonRole, person.id)
            item.setData(NameRole, person.name or "")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            image = crops.get(person.id)
            if image is not None:
                item.setIcon(QIcon(round_face(image)))
            item.setToolTip(
                f"{person.name or 'Unnamed'}: {person.faces} faces in {person.photos} photos"
            )
            self.list.addItem(item)
        self.switch.setText(
            "Switch face analysis off" if status.enabled else "Switch face analysis on"
        )
        if not status.enabled:
            text = "Face analysis is off: no photo is looked at for faces."
        elif not people:
            text = (
                f"No people yet: {status.analysed:,} photos looked at, {status.pending:,} waiting. "
                "Faces are found when the library is indexed."
            )
        else:
            text = (
                f"{len(people)} people in {status.photos_with_faces:,} photos; "
                f"{status.unknown:,} faces of no one yet. Double-click a name (or F2) to change it."
            )
        self.summary.setText(text)

    # -- actions ---------------------------------------------------------------------------

    def _person(self, item: QListWidgetItem | None) -> PersonRecord | None:
        if item is None:
            return None
        person_id = item.data(PersonRole)
        return next((p for p in self.people if p.id == person_id), None)

    def _renamed(self, person_id: int, name: str) -> None:
        self._change(lambda: self.library.people.name(person_id, name))

    def _rename(self, item: QListWidgetItem | None) -> None:
        person = self._person(item)
        if person is None:
            return
        name, ok = QInputDialog.getText(self, "Name", "Who is this?", text=person.name or "")
        if ok and name.strip():
            self._change(lambda: self.library.people.name(person.id, name))

    def _menu(self, point: QPoint) -> None:
        person = self._person(self.list.itemAt(point))
        if person is None:
            return
        menu = QMenu(self)
        menu.addAction("Show photos", lambda: self.show_person.emit(person.name or str(person.id)))
        menu.addAction("Name…", lambda: self._rename(self.list.itemAt(point)))
        merge = menu.addMenu("Merge into")
        for other in self.people:
            if other.id != person.id:
                merge.addAction(
                    other.name or f"Unnamed ({other.photos} photos)", self._merger(person, other)
                )
        menu.addAction("Hide", lambda: self._change(lambda: self.library.people.hide(person.id)))
        menu.exec(self.list.viewport().mapToGlobal(point))

    def _merger(self, source: PersonRecord, into: PersonRecord) -> Callable[[], None]:
        def merge() -> None:
            self._change(lambda: self.library.people.merge(source.id, into.id))

        return merge

    def _toggle(self) -> None:
        on = not self.library.people.enabled()
        self._change(lambda: self.library.people.set_enabled(on))

    def _forget(self) -> None:
        answer = QMessageBox.question(
            self,
            "Forget all face data",
            "Delete every face, person and name of this library and switch face analysis off? "
            "The photos are not touched.",
        )
        if answer == QMessageBox.StandardButton.Yes:

            def forget() -> int:
                self.library.people.set_enabled(False)
                return self.library.people.forget()

            self._change(forget)

    def _change(self, change: Callable[[], object]) -> None:
        job = Job.call(change, name="people change", lane=Lane.WRITE)
        self._run(job, self._changed)

    def _changed(self, _result: object) -> None:
        self.people_changed.emit()
        self.refresh()

    def _run(self, job: Job, done: Callable[[object], object]) -> None:
        job.signals.finished.connect(done)
        job.signals.failed.connect(self._failed)
        self.runner.start(job)

    def _failed(self, exc: object) -> None:
        QMessageBox.warning(self, "People", user_message(exc))


class PeopleController(QObject):
    """Wires people into the window: the "People…" action that opens the page, the Person
    filter's choices, and "Show photos" (the filter set to that person)."""

    def __init__(
        self, library: Library, runner: JobRunner, filters: FilterPanel, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.library, self.runner, self.filters = library, runner, filters
        self.window = parent
        self.page: PeoplePage | None = None
        self.action = QAction("&People…", parent)
        self.action.setShortcut("Ctrl+Shift+P")
        self.action.triggered.connect(self.open)
        self.refresh_choices()

    def open(self) -> PeoplePage:
        if self.page is None:
            self.page = PeoplePage(self.library, self.runner, self.window)
            self.page.show_person.connect(self.show_person)
            self.page.people_changed.connect(self.refresh_choices)
        else:
            self.page.refresh()
        self.page.show()
        self.page.raise_()
        return self.page

    def refresh_choices(self) -> None:
        """Offer the named people in the search bar's Person filter."""
        library = self.library
        job = Job.call(
            lambda: sorted((p.name for p in library.people.list() if p.name), key=str.casefold),
            name="people names",
        )
        job.signals.finished.connect(self._offer)  # a slot: dropped if the window is gone
        self.runner.start(job)

    def _offer(self, names: object) -> None:
        self.filters.set_choices(None, None, cast(list[str], names))

    def show_person(self, name: str) -> None:
        """Show the photos of ``name``: the Person filter set, the grid refreshed."""
        self.filters.set_choices(None, None, None)
        combo = self.filters.person
        if combo.findData(name) < 0:
            combo.addItem(name, name)
        combo.setCurrentIndex(combo.findData(name))  # emits the filter panel's changed
