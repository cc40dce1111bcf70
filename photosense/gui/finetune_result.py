"""A fine-tuning run's result: recall before and after on the photos kept aside, the general
knowledge kept, how much of the old search the rest of the library keeps (the library check), a
verdict in words and a one-paragraph summary of the new model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QWidget

from photosense.enums import FineTuneVerdict
from photosense.gui.training_plot import percent
from photosense.gui.words import photos
from photosense.library import LIBRARY_KEEP_LIMIT, FineTuneReport, LibraryCheck

RECALLS = (
    ("t2i_r1", "Right photo first"),
    ("t2i_r5", "In the top 5"),
    ("t2i_r10", "In the top 10"),
)


class FineTuneResultPanel(QGroupBox):
    """The numbers of one report: a row per recall, general knowledge when measured, and the
    search on the library's other photos when they were checked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Result on the photos kept aside", parent)
        grid = QGridLayout(self)
        for column, title in enumerate(("", "Before", "After", "Change")):
            header = QLabel(f"<b>{title}</b>")
            grid.addWidget(header, 0, column)
        self.cells: dict[str, tuple[QLabel, QLabel, QLabel]] = {}
        self._general_row: list[QWidget] = []
        self._library_row: list[QWidget] = []
        rows = (*RECALLS, ("general", "General knowledge"), ("library", "Your other photos"))
        for row, (key, title) in enumerate(rows, start=1):
            cells = (QLabel(), QLabel(), QLabel())
            label = QLabel(title)
            grid.addWidget(label, row, 0)
            for column, cell in enumerate(cells, start=1):
                cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                grid.addWidget(cell, row, column)
            self.cells[key] = cells
            if key == "general":
                self._general_row = [label, *cells]
            if key == "library":
                self._library_row = [label, *cells]
                label.setToolTip(
                    "How much of what searches found among your photos unlike the ones it "
                    "learned from the new model keeps: each photo's nearest photos and the top "
                    "answers to everyday searches, the weaker of the two."
                )
        self.verdict_label = QLabel()
        self.verdict_label.setWordWrap(True)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        grid.addWidget(self.verdict_label, len(rows) + 1, 0, 1, 4)
        grid.addWidget(self.summary_label, len(rows) + 2, 0, 1, 4)
        grid.setColumnStretch(0, 1)

    def show_report(self, report: FineTuneReport) -> None:
        """Fill in the rows, the verdict and the summary of ``report``."""
        result = report.result
        for key, _title in RECALLS:
            before, after = result.heldout_before[key], result.heldout_after[key]
            self._fill_row(key, before, after)
        general = bool(result.general_before)
        if general:
            names = list(result.general_before)
            before = sum(result.general_before.values()) / len(names)
            after = sum(result.general_after.get(n, 0.0) for n in names) / len(names)
            self._fill_row("general", before, after)
        for widget in self._general_row:
            widget.setVisible(general)
        check = result.library
        kept = check.kept if check is not None else None
        if kept is not None:
            self._fill_row("library", 1.0, kept)
        elif check is not None:
            self.cells["library"][0].setText("")
            self.cells["library"][1].setText("—")
            self.cells["library"][2].setText("like what it learned from")
        for widget in self._library_row:
            widget.setVisible(check is not None)
        r5 = (percent(result.heldout_before["t2i_r5"]), percent(result.heldout_after["t2i_r5"]))
        if report.improved:
            verdict = (
                f"<b>Better.</b> Searching with the captions of the photos kept aside, the right "
                f"photo is now in the top 5 for {r5[1]} of them, up from {r5[0]}."
            )
        else:
            verdict = (
                f"<b>Not better</b> on the photos kept aside ({r5[0]} → {r5[1]} in the top 5). "
                "Keeping the current model is recommended; you can still activate this one."
            )
        if result.verdict is FineTuneVerdict.LOST_GENERAL:
            verdict += f" It also lost {result.general_drop * 100:.0f} points of general knowledge."
        if result.verdict is FineTuneVerdict.CHANGES_LIBRARY and check is not None:
            verdict = (
                f"<b>Changes your other photos' search.</b> {r5[0]} → {r5[1]} in the top 5 on "
                f"the photos kept aside, but {library_words(check)} Keeping the current model "
                "is recommended; you can still activate this one."
            )
        self.verdict_label.setText(verdict)
        if result.alpha >= 1:
            blend = "not blended with the original"
        elif result.alpha <= 0:
            blend = "the blend kept the original model"
        else:
            blend = f"blend: {result.alpha:.0%} trained, {1 - result.alpha:.0%} original"
        best = f"best: epoch {result.best_epoch}" if result.best_epoch else "none beat the start"
        self.summary_label.setText(
            f"New model {report.model_id} (from {result.base}): trained on "
            f"{photos(result.train_pairs)}, measured on {result.heldout_pairs:,} kept aside; "
            f"{result.epochs_run} epochs ({best}), {blend}; "
            f"{result.seconds:.0f} s."
        )

    def _fill_row(self, key: str, before: float, after: float) -> None:
        cells = self.cells[key]
        cells[0].setText(percent(before))
        cells[1].setText(f"<b>{percent(after)}</b>")
        cells[2].setText(f"{(after - before) * 100:+.0f} points")


def library_words(check: LibraryCheck) -> str:
    """What the library check found, as a sentence about the user's photos."""
    return (
        f"on {photos(check.unlike)} of yours unlike the ones it learned from, everyday searches "
        f"kept {percent(check.answers or 0.0)} of their top {check.k} and each photo "
        f"{percent(check.neighbours or 0.0)} of its nearest photos ({percent(LIBRARY_KEEP_LIMIT)} "
        "needed to activate it by itself)."
    )
