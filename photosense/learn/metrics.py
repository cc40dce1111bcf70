"""Retrieval and zero-shot metrics over L2-normalised vectors (numpy only, no torch).

Shared by ``photosense eval`` and by fine-tuning's before/after report, so they take plain
arrays and know nothing about data sets or files.

Ranking is **pessimistic**: an item's rank is the number of *wrong* candidates that score at
least as high as the best correct one (within ``TIE_TOLERANCE``, so float noise between identical
vectors counts as a tie), and a query succeeds at k when fewer than k wrong candidates are ahead.
A tie with a wrong item therefore costs a place, so a constant model scores chance or worse,
never 1.0. A k at or above the number of candidates always succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from photosense.models.encoder import TextEncoder, Vectors, l2_normalise

__all__ = [
    "DEFAULT_TEMPLATES",
    "TIE_TOLERANCE",
    "class_text_vectors",
    "retrieval_recall",
    "zero_shot_accuracy",
]

DEFAULT_TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a photo of the {}.",
    "a drawing of a {}.",
    "a close-up photo of a {}.",
)
"""Prompt ensemble for class names; ``{}`` is replaced by the name."""

TIE_TOLERANCE = 1e-6
"""Scores this close to the correct one count as ties (float32 matmul noise is ~1e-7)."""

_CHUNK = 1024  # query rows scored at once: bounds memory at _CHUNK x candidates floats

IntArray = npt.NDArray[np.int64]


def _check_vectors(name: str, vectors: npt.ArrayLike) -> Vectors:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (one row per item), got {array.ndim}-d")
    return array


def _ranks(
    queries: Vectors, candidates: Vectors, query_groups: IntArray, candidate_groups: IntArray
) -> IntArray:
    """For each query, how many wrong candidates score >= its best correct candidate.

    A candidate is correct for a query when their group ids are equal; every query must have
    at least one correct candidate.
    """
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), _CHUNK):
        stop = start + _CHUNK
        scores = queries[start:stop] @ candidates.T
        correct = query_groups[start:stop, None] == candidate_groups[None, :]
        best = np.where(correct, scores, -np.inf).max(axis=1)
        ahead = (scores >= best[:, None] - TIE_TOLERANCE) & ~correct
        ranks[start:stop] = ahead.sum(axis=1)
    return ranks


def _recall(ranks: IntArray, ks: Sequence[int], prefix: str) -> dict[str, float]:
    return {f"{prefix}{k}": float(np.mean(ranks < k)) for k in ks}


def _check_ks(ks: Sequence[int]) -> None:
    if not ks or any(int(k) < 1 for k in ks):
        raise ValueError(f"ks must be positive whole numbers, got {list(ks)}")


def retrieval_recall(
    image_vectors: npt.ArrayLike,
    text_vectors: npt.ArrayLike,
    ks: Sequence[int] = (1, 5, 10),
    *,
    groups: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Recall@k both ways for paired rows: image i goes with text i (matched by index).

    Returns ``t2i_r{k}`` (each text finds its image among the top k images) and ``i2t_r{k}``
    (each image finds its text). ``groups`` (one int per row) marks rows that are
    interchangeable, e.g. equal captions on different images: any row of the query's group
    counts as correct, so two identical captions do not tie against each other.
    """
    _check_ks(ks)
    images = _check_vectors("image_vectors", image_vectors)
    texts = _check_vectors("text_vectors", text_vectors)
    if images.shape != texts.shape:
        raise ValueError(
            f"image and text vectors must pair row by row: {images.shape} vs {texts.shape}"
        )
    if len(images) == 0:
        raise ValueError("no pairs to evaluate")
    ids = np.arange(len(images), dtype=np.int64) if groups is None else np.asarray(groups)
    if ids.shape != (len(images),):
        raise ValueError(f"groups must hold one id per row ({len(images)}), got {ids.shape}")
    ids = ids.astype(np.int64, copy=False)
    return {
        **_recall(_ranks(texts, images, ids, ids), ks, "t2i_r"),
        **_recall(_ranks(images, texts, ids, ids), ks, "i2t_r"),
    }


def zero_shot_accuracy(
    image_vectors: npt.ArrayLike,
    class_vectors: npt.ArrayLike,
    labels: npt.ArrayLike,
    ks: Sequence[int] = (1, 5),
) -> dict[str, float]:
    """Top-k zero-shot accuracy: image i is right when class ``labels[i]`` is in its top k.

    ``class_vectors`` has one row per class (see ``class_text_vectors``); returns ``zs_top{k}``.
    """
    _check_ks(ks)
    images = _check_vectors("image_vectors", image_vectors)
    classes = _check_vectors("class_vectors", class_vectors)
    targets = np.asarray(labels).astype(np.int64)
    if len(images) == 0:
        raise ValueError("no images to evaluate")
    if images.shape[1] != classes.shape[1]:
        raise ValueError(f"dimensions differ: images {images.shape}, classes {classes.shape}")
    if targets.shape != (len(images),):
        raise ValueError(f"labels must hold one class index per image, got {targets.shape}")
    if targets.min() < 0 or targets.max() >= len(classes):
        raise ValueError(f"labels must be class indices in 0..{len(classes) - 1}")
    ranks = _ranks(images, classes, targets, np.arange(len(classes), dtype=np.int64))
    return _recall(ranks, ks, "zs_top")


def class_text_vectors(
    encoder: TextEncoder, class_names: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES
) -> Vectors:
    """One vector per class: the renormalised mean of its prompts' embeddings.

    Averaging several phrasings ("a photo of a {}.", "a drawing of a {}.") is the usual prompt
    ensemble; it makes a class less sensitive to any one wording.
    """
    if not templates:
        raise ValueError("at least one template is needed")
    if not class_names:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    prompts = [template.replace("{}", name) for name in class_names for template in templates]
    vectors = l2_normalise(encoder.encode_texts(prompts))
    mean = vectors.reshape(len(class_names), len(templates), -1).mean(axis=1)
    return l2_normalise(mean)
