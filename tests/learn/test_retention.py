"""The library check: a candidate equal to the base keeps everything, a scrambled one fails."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from photosense.enums import FineTuneVerdict
from photosense.learn.records import LIBRARY_KEEP_LIMIT, LIBRARY_MIN_PHOTOS, LibraryCheck
from photosense.learn.retention import (
    LibraryPhotos,
    everyday_queries,
    kept_share,
    library_check,
    top_k,
    unlike_training,
)
from photosense.models.adapted import AdapterHeads
from tests.learn.test_finetune import _result

DIM, FEATURES = 16, 24


def _features(count: int, shift: float, seed: int) -> torch.Tensor:
    """Random features; ``shift`` moves them away from the unshifted ones (another kind of
    photo)."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((count, FEATURES)) + shift * np.linspace(1, -1, FEATURES)
    return torch.tensor(rows, dtype=torch.float32)


TRAINING = _features(150, 0.0, seed=7)
"""The training photos' features: library photos with shifted features are unlike them."""


def _photos(count: int = 120, seed: int = 0, shift: float = 3.0) -> LibraryPhotos:
    """Unit vectors in clusters (so that neighbourhoods mean something), random features."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, DIM))
    vectors = centres[rng.integers(0, 12, count)] + 0.3 * rng.standard_normal((count, DIM))
    queries = centres[:8] + 0.2 * rng.standard_normal((8, DIM))
    unit = torch.nn.functional.normalize
    return LibraryPhotos(
        unit(torch.tensor(vectors, dtype=torch.float32), dim=1),
        _features(count, shift, seed),
        unit(torch.tensor(queries, dtype=torch.float32), dim=1),
    )


def test_everyday_queries_ship() -> None:
    queries = everyday_queries()
    assert {"a dog", "a beach", "a car", "food", "a person"} <= set(queries)
    assert len(set(queries)) == len(queries) >= 40
    assert not any(q.startswith("#") for q in queries)


def test_top_k_and_kept_share() -> None:
    scores = np.array([[0.0, 0.9, 0.1, 0.5], [0.9, 0.0, 0.2, 0.3]])
    assert sorted(top_k(scores, 2)[0].tolist()) == [1, 3]
    square = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    assert top_k(square, 1, skip_self=True)[:, 0].tolist() == [1, 0, 1]  # never itself
    assert kept_share(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]])) == 0.75


def test_photos_unlike_the_training_ones_are_told_apart() -> None:
    unlike = unlike_training(TRAINING, _features(100, 3.0, seed=1))
    alike = unlike_training(TRAINING, _features(100, 0.0, seed=1))
    assert unlike.float().mean() > 0.8
    assert alike.float().mean() < 0.15
    assert int(alike.sum()) < LIBRARY_MIN_PHOTOS


def test_a_candidate_equal_to_the_base_keeps_everything() -> None:
    photos = _photos()
    check = library_check(AdapterHeads(FEATURES, DIM, 4), photos, TRAINING)  # untrained: the base
    assert check.neighbours == check.answers == check.kept == 1.0
    assert (check.photos, check.queries, check.k) == (120, 8, 10)
    assert check.unlike > 0.8 * check.photos
    trained = AdapterHeads(FEATURES, DIM, 4)
    with torch.no_grad():
        trained.image.up.weight.normal_(0, 5.0)
        trained.text.up.weight.normal_(0, 5.0)
    trained.set_alpha(0.0)  # the blend at zero is the base too
    assert library_check(trained, photos, TRAINING).kept == 1.0
    result = replace(_result((0.2, 0.5, 0.7), (0.3, 0.6, 0.8)), library=check)
    assert result.verdict is FineTuneVerdict.BETTER


def _scrambler() -> AdapterHeads:
    """Adapters whose image correction swamps the base vector: photos land anywhere."""
    heads = AdapterHeads(FEATURES, DIM, 8)
    torch.manual_seed(0)
    with torch.no_grad():
        heads.image.up.weight.normal_(0, 50.0)
    return heads


def test_a_candidate_that_scrambles_image_vectors_fails() -> None:
    check = library_check(_scrambler(), _photos(), TRAINING)
    assert check.neighbours is not None and check.answers is not None
    assert check.neighbours < 0.3 and check.answers < 0.4, check
    assert check.kept is not None and check.kept < LIBRARY_KEEP_LIMIT
    result = replace(_result((0.2, 0.5, 0.7), (0.3, 0.6, 0.8)), library=check)
    assert result.verdict is FineTuneVerdict.CHANGES_LIBRARY
    assert not result.improved
    assert result.record()["library"]["neighbours"] == check.neighbours


def test_photos_like_the_training_ones_are_left_to_the_heldout_gain() -> None:
    # The same scrambling candidate, on a library that looks like what it learned from: the
    # held-out gain speaks for those photos, so the check has nothing of its own to say.
    check = library_check(_scrambler(), _photos(shift=0.0), TRAINING)
    assert check.unlike < LIBRARY_MIN_PHOTOS
    assert check.neighbours is None and check.answers is None and check.kept is None
    result = replace(_result((0.2, 0.5, 0.7), (0.3, 0.6, 0.8)), library=check)
    assert result.verdict is FineTuneVerdict.BETTER
    assert result.record()["library"]["neighbours"] is None


def test_a_small_change_keeps_most() -> None:
    photos = _photos()
    heads = AdapterHeads(FEATURES, DIM, 8)
    torch.manual_seed(0)
    with torch.no_grad():
        heads.image.up.weight.normal_(0, 0.02)
    check = library_check(heads, photos, TRAINING)
    assert check.kept is not None and check.kept >= LIBRARY_KEEP_LIMIT


@pytest.mark.parametrize(
    ("kept", "verdict"),
    [
        (LIBRARY_KEEP_LIMIT + 0.05, FineTuneVerdict.BETTER),
        (LIBRARY_KEEP_LIMIT - 0.05, FineTuneVerdict.CHANGES_LIBRARY),
    ],
)
def test_the_weaker_of_neighbours_and_answers_decides(
    kept: float, verdict: FineTuneVerdict
) -> None:
    for neighbours, answers in ((kept, 0.99), (0.99, kept)):
        check = LibraryCheck(50, 40, 50, 10, neighbours=neighbours, answers=answers)
        result = replace(_result((0.2, 0.5, 0.7), (0.3, 0.6, 0.8)), library=check)
        assert result.verdict is verdict


def test_a_lost_general_set_still_says_so_first() -> None:
    check = LibraryCheck(50, 40, 50, 10, neighbours=0.1, answers=0.1)
    result = replace(_result((0.2, 0.5, 0.7), (0.3, 0.6, 0.8), (0.8, 0.7)), library=check)
    assert result.verdict is FineTuneVerdict.LOST_GENERAL
