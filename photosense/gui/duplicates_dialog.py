"""The duplicates review: each group side by side (thumbnail, dimensions, file size, sharpness,
date), the suggested photo to keep ticked; the user decides, and the photos not kept go to the
system trash (never deleted outright). Finding and trashing run as jobs that can be stopped."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from photosense.enums import DuplicateKind
from photosense.gui.dialogs import confirm
from photosense.gui.jobs import Job, JobRunner, Lane
from photosense.gui.thumbnail_loader import load_thumbnail_image
from photosense.gui.words import photos, user_message
from photosense.library import (
    GRID_SIZE,
    Choice,
    DuplicateGroup,
    DuplicatePhoto,
    Library,
    TrashReport,
)
from photosense.progress import CancelToken

MAX_GROUPS_SHOWN = 200
CARD_SIDE = 160


def size_words(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.0f} kB"


def card_text(item: DuplicatePhoto) -> str:
    """What a card says of its photo: dimensions, size, sharpness, date and name."""
    photo = item.photo
    lines = [
        f"{photo.width}×{photo.height}" if photo.width and photo.height else "size unknown",
        size_words(photo.size),
    ]
    if item.sharpness is not None:
        lines.append(f"sharpness {item.sharpness:,.0f}")
    lines += [f"{photo.taken_at:%Y-%m-%d %H:%M:%S}", os.path.basename(photo.path)]
    return "\n".join(lines)


def trash_words(report: TrashReport) -> str:
    """The outcome of a trash run, every case said."""
    parts = [f"Moved {photos(len(report.trashed))} to the trash."]
    if report.vanished:
        parts.append(f"{photos(len(report.vanished))} had gone already; the library forgot them.")
    if report.failed:
        path, reason = report.failed[0]
        parts.append(
            f"{photos(len(report.failed))} left where they are ({os.path.basename(path)}: "
            f"{reason})."
        )
    if report.refused:
        parts.append(
            f"{len(report.refused):,} groups left whole: the photo to keep is gone or changed."
        )
    return " ".join(parts)


class GroupBox(QGroupBox):
    """One group: a card per photo with a Keep box, the suggested one ticked."""

    def __init__(self, number: int, group: DuplicateGroup, parent: QWidget | None = None) -> None:
        how = (
            "identical files"
            if group.kind == DuplicateKind.EXACT
            else f"look alike (similarity {group.score:.2f})"
        )
        super().__init__(f"Group {number} · {photos(len(group.photos))}, {how}", parent)
        self.group = group
        self.keep_boxes: list[QCheckBox] = []
        self.thumbnails: dict[int, QLabel] = {}
        row = QHBoxLayout(self)
        for index, item in enumerate(group.photos):
            card = QVBoxLayout()
            image = QLabel("…")
            image.setFixedSize(CARD_SIDE, CARD_SIDE)
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            image.setToolTip(item.photo.path)
            text = QLabel(card_text(item))
            text.setTextFormat(Qt.TextFormat.PlainText)
            keep = QCheckBox("Keep (best)" if index == 0 else "Keep")
            keep.setChecked(index == 0)
            card.addWidget(image)
            card.addWidget(text)
            card.addWidget(keep)
            row.addLayout(card)
            self.keep_boxes.append(keep)
            self.thumbnails[item.photo.id] = image
        row.addStretch(1)

    def choice(self) -> Choice | None:
        """Keep the ticked photos, trash the rest; None when nothing is ticked (never trash
        every copy of a photo) or everything is."""
        keep = [
            i.photo.id
            for i, b in zip(self.group.photos, self.keep_boxes, strict=True)
            if b.isChecked()
        ]
        trash = [
            i.photo.id
            for i, b in zip(self.group.photos, self.keep_boxes, strict=True)
            if not b.isChecked()
        ]
        return Choice(keep, trash) if keep and trash else None


class DuplicatesDialog(QDialog):
    """Finds duplicate groups as it opens; the user ticks what to keep and trashes the rest."""

    library_changed = Signal()  # photos went to the trash and left the library

    def __init__(self, library: Library, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Duplicates")
        self.resize(1000, 700)
        self.library = library
        self.runner = runner
        self.cache = library.photos.thumbnails()
        self.job: Job | None = None
        self.groups: list[GroupBox] = []
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.bar)
        top.addWidget(self.stop_button)
        self.list = QWidget()
        self.list_layout = QVBoxLayout(self.list)
        self.list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.list)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        self.trash_button = self.buttons.addButton(
            "Move the others to the trash…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.trash_button.clicked.connect(self.ask_trash)
        self.trash_button.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.buttons)
        self.look()

    # -- finding -----------------------------------------------------------------------------

    def look(self) -> Job:
        """Look for duplicates in the background."""
        library = self.library

        def work(cancel: CancelToken) -> Any:
            return library.duplicates.find(cancel=cancel)

        self.status.setText("Looking for duplicates…")
        return self._run(Job(work, name="duplicates", lane=Lane.READ), self._on_found)

    def _run(self, job: Job, on_finished: Any) -> Job:
        self.job = job
        self.bar.setRange(0, 0)
        self.bar.setVisible(True)
        self.stop_button.setVisible(True)
        self.trash_button.setEnabled(False)
        job.signals.progressed.connect(self._on_progress)
        job.signals.finished.connect(on_finished)
        job.signals.cancelled.connect(lambda: self.status.setText("Stopped."))
        job.signals.failed.connect(lambda exc: self.status.setText(user_message(exc)))
        job.signals.done.connect(self._on_done)
        return self.runner.start(job)

    def _on_progress(self, progress: Any) -> None:
        self.status.setText(f"{progress.message[:1].upper()}{progress.message[1:]}…")
        if progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(progress.done)
        else:
            self.bar.setRange(0, 0)

    def _on_done(self) -> None:
        self.job = None
        self.bar.setVisible(False)
        self.stop_button.setVisible(False)
        self.trash_button.setEnabled(bool(self.groups))

    def stop(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_found(self, groups: list[DuplicateGroup]) -> None:
        for box in self.groups:
            box.deleteLater()
        self.groups = []
        for number, group in enumerate(groups[:MAX_GROUPS_SHOWN], 1):
            box = GroupBox(number, group, self.list)
            self.list_layout.insertWidget(self.list_layout.count() - 1, box)
            self.groups.append(box)
            for item in group.photos:
                self._load_thumbnail(box, item)
        extra = sum(len(g.others) for g in groups)
        if not groups:
            self.status.setText("No duplicates: every photo is there once.")
        else:
            shown = (
                f" (the first {MAX_GROUPS_SHOWN:,} shown)" if len(groups) > MAX_GROUPS_SHOWN else ""
            )
            self.status.setText(
                f"{len(groups):,} groups{shown}; {photos(extra)} could go. The best of each "
                "(largest, then sharpest) is ticked to keep: tick the ones you want to keep."
            )

    def _load_thumbnail(self, box: GroupBox, item: DuplicatePhoto) -> None:
        photo = item.photo
        job = Job.call(
            load_thumbnail_image,
            self.cache,
            photo.path,
            GRID_SIZE,
            CARD_SIDE,
            photo.rotation,
            name=f"duplicate {photo.id}",
            lane=Lane.THUMBNAILS,
        )
        label = box.thumbnails[photo.id]

        def show(result: object) -> None:
            if isinstance(result, str):
                label.setText("no preview")
                label.setToolTip(result)
            else:
                label.setPixmap(QPixmap.fromImage(result))  # type: ignore[arg-type]

        job.signals.finished.connect(show)
        self.runner.start(job)

    # -- trashing ----------------------------------------------------------------------------

    def choices(self) -> list[Choice]:
        return [c for c in (box.choice() for box in self.groups) if c is not None]

    def ask_trash(self) -> Job | None:
        choices = self.choices()
        count = sum(len(c.trash) for c in choices)
        if not count:
            self.status.setText("Nothing to move: every photo is ticked to keep.")
            return None
        if not confirm(
            self,
            "Move to the trash",
            f"Move {photos(count)} to the system trash?\n\nThe photos ticked to keep stay; "
            "you can restore the others from the trash.",
        ):
            return None
        return self.trash(choices)

    def trash(self, choices: list[Choice]) -> Job:
        """Move the photos not kept to the trash, then look again."""
        library = self.library

        def work(cancel: CancelToken) -> Any:
            return library.duplicates.trash(choices, cancel)

        return self._run(Job(work, name="trash duplicates", lane=Lane.WRITE), self._on_trashed)

    def _on_trashed(self, report: TrashReport) -> None:
        self.library_changed.emit()
        words = trash_words(report)
        job = self.look()
        job.signals.finished.connect(lambda _groups: self.status.setText(words))
