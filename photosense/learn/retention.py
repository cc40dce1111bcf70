"""The library check: how much of the base model's search a fine-tuned candidate keeps.

A run can score better on its own held-out photos and still move the rest of the library
(adapters taught on clip art move real photos somewhere nobody checked). The held-out gain
vouches for photos like the ones the run learned from, and only for them. So, with no labels
from the user, the check takes a sample of the user's own photos that the run did not train on,
finds those *unlike* the training photos (a small classifier on the base model's features tells
them apart: :func:`unlike_training`), and compares the base and the candidate on those: each
photo's nearest photos, and the top answers to a shipped list of everyday queries
(``photosense/resources/everyday_queries.txt``). A candidate equal to the base keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import torch

from photosense.learn.records import LIBRARY_K, LIBRARY_MIN_PHOTOS, LibraryCheck
from photosense.models.adapted import AdapterHeads

__all__ = [
    "LibraryPhotos",
    "everyday_queries",
    "kept_share",
    "library_check",
    "top_k",
    "unlike_training",
]

UNLIKE_QUANTILE = 0.95
"""A library photo is unlike the training photos when the classifier rates it further from them
than it rates all but 5 % of the training photos themselves (out of fold)."""
_FOLDS = 5
_WEIGHT_DECAY = 1e-3


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


def unlike_training(training: torch.Tensor, library: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Which ``library`` photos are unlike the ``training`` photos (features, one row each).

    A class-balanced logistic regression on centred unit features learns to tell the two apart;
    every photo is scored by a model that did not see it (5 folds). Library photos scored above
    :data:`UNLIKE_QUANTILE` of the training photos' own scores are unlike them: when the library
    resembles the training photos, the two cannot be told apart and few are.
    """
    if len(training) < _FOLDS or len(library) < _FOLDS:
        return torch.ones(len(library), dtype=torch.bool)
    x = torch.cat([training, library]).float()
    x = torch.nn.functional.normalize(x - x.mean(0, keepdim=True), dim=1)
    y = torch.cat([torch.zeros(len(training)), torch.ones(len(library))])
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    scores = torch.zeros(len(x))
    for fold in range(_FOLDS):
        held = order[fold::_FOLDS]
        fit = torch.ones(len(x), dtype=torch.bool)
        fit[held] = False
        scores[held] = _fit_and_score(x[fit], y[fit], x[held])
    threshold = torch.quantile(scores[: len(training)], UNLIKE_QUANTILE)
    return scores[len(training) :] > threshold


def _fit_and_score(x: torch.Tensor, y: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """A logistic regression fitted on (x, y) with both classes weighted equally; its logits."""
    weight = torch.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    optimiser = torch.optim.LBFGS([w, b], max_iter=300)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = x @ w + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, weight=weight)
        loss = loss + _WEIGHT_DECAY * (w @ w)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimiser.step(closure)  # type: ignore[no-untyped-call]
    with torch.no_grad():
        return score @ w + b


def library_check(
    heads: AdapterHeads, photos: LibraryPhotos, training: torch.Tensor, k: int = LIBRARY_K
) -> LibraryCheck:
    """Compare the base (the photos' own vectors) with ``heads`` at their current blend on the
    photos unlike ``training`` (the training photos' features); with fewer than
    :data:`LIBRARY_MIN_PHOTOS` of those there is nothing the held-out gain does not vouch for."""
    unlike = unlike_training(training, photos.features)
    count = int(unlike.sum())
    if count < LIBRARY_MIN_PHOTOS:
        return LibraryCheck(len(unlike), count, len(photos.queries), k, None, None)
    with torch.no_grad():
        images = heads.embed_images(photos.vectors[unlike], photos.features[unlike]).numpy()
        texts = heads.embed_texts(photos.queries).numpy()
        base_images = torch.nn.functional.normalize(photos.vectors[unlike].float(), dim=-1)
        base_texts = torch.nn.functional.normalize(photos.queries.float(), dim=-1).numpy()
    base = base_images.numpy()
    neighbours = kept_share(
        top_k(base @ base.T, k, skip_self=True), top_k(images @ images.T, k, skip_self=True)
    )
    answers = kept_share(top_k(base_texts @ base.T, k), top_k(texts @ images.T, k))
    return LibraryCheck(
        photos=len(unlike),
        unlike=count,
        queries=len(base_texts),
        k=min(k, count - 1),
        neighbours=round(neighbours, 4),
        answers=round(answers, 4),
    )
