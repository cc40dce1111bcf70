"""The library check: how much of the base model's search a fine-tuned candidate keeps.

A run can score better on its own held-out photos and still make the rest of the library worse
(adapters taught on clip art move real photos somewhere arbitrary). With no labels from the
user, the check compares the base and the candidate on a sample of the user's own photos that
the run did not train on: each photo's nearest photos, and the top answers to a shipped list
of everyday queries (``photosense/resources/everyday_queries.txt``). A candidate equal to the
base keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import torch

from photosense.learn.records import LIBRARY_K, LibraryCheck
from photosense.models.adapted import AdapterHeads

__all__ = ["LibraryPhotos", "everyday_queries", "kept_share", "library_check", "top_k"]


@cache
def everyday_queries() -> tuple[str, ...]:
    """The shipped everyday queries, in file order."""
    text = resources.files("photosense").joinpath("resources", "everyday_queries.txt")
    lines = (line.strip() for line in text.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


@dataclass
class LibraryPhotos:
    """The base model's outputs for the sampled photos and the everyday queries."""

    vectors: torch.Tensor  # photos x dim, the base's unit image vectors
    features: torch.Tensor  # photos x feature dim, what the image adapter reads
    queries: torch.Tensor  # queries x dim, the base's unit text vectors


def top_k(scores: np.ndarray[Any, Any], k: int, *, skip_self: bool = False) -> np.ndarray[Any, Any]:
    """Each row's ``k`` highest columns (as a set: order within it does not matter).

    With ``skip_self`` the scores are photo-to-photo and a photo is not its own neighbour.
    """
    scores = scores.astype(np.float64, copy=True)
    if skip_self:
        np.fill_diagonal(scores, -np.inf)
    k = min(k, scores.shape[1] - (1 if skip_self else 0))
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def kept_share(before: np.ndarray[Any, Any], after: np.ndarray[Any, Any]) -> float:
    """The mean share of each row's set in ``before`` that is also in ``after``'s row."""
    if before.size == 0:
        return 1.0
    pairs = zip(before.tolist(), after.tolist(), strict=True)
    shares = [len(set(b) & set(a)) / len(b) for b, a in pairs]
    return float(np.mean(shares))


def library_check(heads: AdapterHeads, photos: LibraryPhotos, k: int = LIBRARY_K) -> LibraryCheck:
    """Compare the base (the photos' own vectors) with ``heads`` at their current blend."""
    with torch.no_grad():
        images = heads.embed_images(photos.vectors, photos.features).numpy()
        texts = heads.embed_texts(photos.queries).numpy()
        base_images = torch.nn.functional.normalize(photos.vectors.float(), dim=-1).numpy()
        base_texts = torch.nn.functional.normalize(photos.queries.float(), dim=-1).numpy()
    neighbours = kept_share(
        top_k(base_images @ base_images.T, k, skip_self=True),
        top_k(images @ images.T, k, skip_self=True),
    )
    answers = kept_share(top_k(base_texts @ base_images.T, k), top_k(texts @ images.T, k))
    return LibraryCheck(
        photos=len(base_images),
        queries=len(base_texts),
        k=min(k, len(base_images) - 1),
        neighbours=round(neighbours, 4),
        answers=round(answers, 4),
    )
