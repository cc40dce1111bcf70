"""Removing a model from the Models page: why it cannot be removed now, the question asked
first (files freed, vectors kept or forgotten) and what the removal did, in words."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget

from photosense.gui.photo_grid_model import format_size
from photosense.library import LibraryModel, RemovedModel


def has_files(model: LibraryModel) -> bool:
    """Whether removing ``model`` frees disk space: a download, or a stored (imported,
    fine-tuned) model. The starter ships with photosense; an "other" model is only vectors."""
    return model.info.kind not in ("starter", "other") and model.info.available


def removal_blocked(model: LibraryModel | None) -> str:
    """Why ``model`` cannot be removed now, in words ("" when it can)."""
    if model is None:
        return "Choose a model to remove"
    name = model.info.id
    if model.active:
        return f"{name} answers searches now: switch to another model first, then remove it"
    if model.pending:
        return f"This library is switching to {name}: switch to another model first"
    if has_files(model) or model.vectors:
        return ""
    if model.info.kind == "starter":
        return "The starter model comes with photosense; there is nothing to remove"
    return f"{name} is not on this computer and has no vectors in this library"


def freed_text(model: LibraryModel) -> str:
    """How much disk space removing ``model``'s files frees, as well as it is known."""
    info = model.info
    if info.size_bytes is not None:
        return format_size(info.size_bytes)
    return f"about {info.download_mb:,} MB" if info.download_mb is not None else "its disk space"


FORGET_VECTORS = "Also forget this library's vectors for it (switching back re-embeds every photo)"


def removal_box(model: LibraryModel, parent: QWidget | None = None) -> QMessageBox:
    """The question asked before removing ``model``: what is deleted and freed, and (when this
    library holds vectors of it) a box, off by default, to forget those vectors too."""
    info = model.info
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Remove model")
    vectors = f"This library holds {model.vectors:,} photo vectors made with it."
    if has_files(model):
        box.setText(f"Remove {info.id} from this computer?")
        again = {
            "catalogue": "You can download it again later.",
            "imported": "To use it again, import its file again.",
        }.get(info.kind, "Only fine-tuning again brings it back.")
        details = [f"This deletes its files and frees {freed_text(model)}. {again}"]
        if model.vectors:
            details.append(vectors)
            box.setCheckBox(QCheckBox(FORGET_VECTORS, box))  # the box owns it
    else:
        box.setText(f"Forget this library's vectors of {info.id}?")
        details = [
            f"{vectors} Switching back to it re-embeds every photo. No files are deleted.",
        ]
    box.setInformativeText("\n\n".join(details))
    remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
    remove.setObjectName("remove")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    return box


def ask_removal(parent: QWidget | None, model: LibraryModel) -> bool | None:
    """Ask before removing ``model``: None when the user declines, otherwise whether to forget
    this library's vectors of it as well."""
    box = removal_box(model, parent)
    box.exec()
    box.deleteLater()
    clicked = box.clickedButton()
    if clicked is None or clicked.objectName() != "remove":
        return None
    ticked = box.checkBox()
    return ticked.isChecked() if ticked is not None else not has_files(model)


def removed_text(name: str, removed: RemovedModel) -> str:
    """What a removal did: "Removed ViT-B-32: 605.0 MB freed and 1,234 photo vectors forgotten." """
    done = [f"{format_size(removed.bytes_freed)} freed"] if removed.bytes_freed else []
    if removed.vectors_removed:
        done.append(f"{removed.vectors_removed:,} photo vectors forgotten")
    return f"Removed {name}: {' and '.join(done)}." if done else f"Removed {name}."
