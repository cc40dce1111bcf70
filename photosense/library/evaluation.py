"""Evaluation: score a model on labelled or captioned data sets (``photosense eval``).

It needs no library: the model is loaded by name ("auto" means the starter) on ``device``.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from photosense.evaluation import EvalResult, evaluate, load_dataset
from photosense.models import registry
from photosense.models.device import batch_size_for
from photosense.progress import CancelToken, Progress


@dataclass(frozen=True)
class Evaluation:
    """The scores of one model, per data set (by name; a repeated name by its folder)."""

    model_id: str
    results: dict[str, EvalResult]


def evaluate_folders(
    folders: Sequence[str | os.PathLike[str]],
    *,
    model: str = "auto",
    device: str = "auto",
    split: str | None = None,
    batch_size: int | None = None,
    cancel: CancelToken | None = None,
) -> Generator[Progress, None, Evaluation]:
    """Load ``model`` and score it on each data set folder in turn.

    Progress counts each data set's images, with the data set's name as its message.
    """
    yield Progress(0, None, f"loading {model}")
    encoder = registry.load_encoder(model, device=device)  # looked up late: tests swap it
    size = batch_size or batch_size_for(encoder)
    results: dict[str, EvalResult] = {}
    for folder in folders:
        dataset = load_dataset(Path(folder), split)
        job = evaluate(dataset, encoder, cancel, batch_size=size)
        total = len(dataset.images)
        while True:
            try:
                step = next(job)
            except StopIteration as stop:
                result: EvalResult = stop.value
                break
            yield Progress(step.done, total, dataset.name)
        results[dataset.name if dataset.name not in results else str(folder)] = result
    return Evaluation(encoder.model_id, results)
