"""The models the Models page lists: read in one background job, shown as a table, described in
words (what each is good for, its state in this library, its size on disk)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from photosense.gui.photo_grid_model import format_size
from photosense.library import Library, LibraryModel, ModelSwitch
from photosense.library.models import catalogue

ModelIndex = QModelIndex | QPersistentModelIndex


def starter_note(recommended: str, download_mb: int | None) -> str:
    """What the offline starter model can and cannot do, in plain words."""
    size = f"about {download_mb:,} MB, " if download_mb else ""
    return (
        "The starter model comes with photosense and works with no network. It knows the "
        "everyday things of the 1,000 ImageNet categories: animals and breeds of dog, "
        "vehicles, food, household objects and some places, so searches such as “dog”, "
        "“bicycle” or “pizza” work well. It cannot read text in photos, does not know people, "
        "landmarks, styles or moods (“cosy”, “vintage”), and follows long descriptions poorly. "
        f"A CLIP model such as {recommended} ({size}downloaded once) understands far more."
    )


@dataclass(frozen=True)
class ModelsListing:
    """What the page shows, read in one background job."""

    models: list[LibraryModel]
    state: ModelSwitch
    recommended: str
    recommended_mb: int | None


def read_listing(library: Library) -> ModelsListing:
    """Any thread: the models on this machine and in this library, and the switch state."""
    models = catalogue()
    entry = models.get(models.recommended)
    return ModelsListing(
        library.models.list(),
        library.models.progress(),
        models.recommended,
        entry.download_mb if entry is not None else None,
    )


def state_text(model: LibraryModel, state: ModelSwitch) -> str:
    """ "active", "switching, 120 of 600", "ready", "not downloaded" or "missing"."""
    if model.active:
        return "active"
    if model.pending:
        return f"switching, {state.done:,} of {state.total:,}"
    if model.info.available:
        return "ready"
    return "not downloaded" if model.info.download_mb is not None else "missing"


def size_text(model: LibraryModel) -> str:
    info = model.info
    if info.size_bytes is not None:
        return format_size(info.size_bytes)
    if info.download_mb is not None:
        return f"{info.download_mb:,} MB download"
    return "—"


def describe_model(model: LibraryModel) -> str:
    """A paragraph on one model: what it is good for, its vectors, languages and licence."""
    info = model.info
    parts = [f"{info.good_for[:1].upper()}{info.good_for[1:]}."] if info.good_for else []
    facts = [f"{info.embedding_size}-dimensional vectors"]
    if info.architecture:
        facts.append(f"architecture {info.architecture}")
    if info.languages:
        facts.append("languages: " + ", ".join(info.languages))
    if info.licence:
        facts.append(f"licence {info.licence}")
    if model.vectors:
        facts.append(f"{model.vectors:,} photos of this library embedded with it")
    parts.append("; ".join(facts) + ".")
    return " ".join(parts)


class ModelListModel(QAbstractTableModel):
    """The models as a table: name, kind, state, size and licence."""

    COLUMNS = ("Model", "Kind", "State", "Size", "Licence")
    ModelRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._models: list[LibraryModel] = []
        self._state: ModelSwitch | None = None

    def set_models(self, models: Sequence[LibraryModel], state: ModelSwitch) -> None:
        self.beginResetModel()
        self._models = list(models)
        self._state = state
        self.endResetModel()

    def model_at(self, row: int) -> LibraryModel | None:
        return self._models[row] if 0 <= row < len(self._models) else None

    def row_of(self, model_id: str) -> int | None:
        for row, model in enumerate(self._models):
            if model_id in (model.info.id, model.info.model_id):
                return row
        return None

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._models)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.COLUMNS)
        ):
            return self.COLUMNS[section]
        return None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or index.parent().isValid():
            return None
        model = self.model_at(index.row())
        if model is None or self._state is None or not 0 <= index.column() < len(self.COLUMNS):
            return None
        if role == self.ModelRole:
            return model
        info = model.info
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                info.id,
                info.kind,
                state_text(model, self._state),
                size_text(model),
                info.licence or "—",
            )[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{info.model_id}\n{describe_model(model)}"
        if role == Qt.ItemDataRole.FontRole and model.active:
            font = QFont()
            font.setBold(True)
            return font
        return None
