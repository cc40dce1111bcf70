"""The numbers behind "good match": per-query z-scores over a reference sample of the library."""

from __future__ import annotations

import numpy as np

from photosense.models.encoder import l2_normalise
from photosense.vectors.relevance import (
    RelevanceCalibration,
    RelevanceParams,
    calibrate,
    chance_level,
    good_count,
    needs_refresh,
    reference_ids,
)


def _library(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    """Unit vectors around a shared direction, like real image embeddings."""
    common = np.zeros(dim, np.float32)
    common[0] = 1.0
    return l2_normalise(common + 0.4 * rng.standard_normal((n, dim)).astype(np.float32))


def _good(library: np.ndarray, query: np.ndarray, background: np.ndarray) -> int:
    params = RelevanceParams()
    reference = calibrate("m", library, len(library), background)
    scores = np.sort(library @ query)[::-1][:20].astype(np.float32)
    return good_count(scores, query, reference, params)


def test_a_photo_that_stands_out_is_a_good_match_and_noise_is_not() -> None:
    rng = np.random.default_rng(0)
    library = _library(rng, 500)
    background = _library(rng, 50)
    query = l2_normalise(rng.standard_normal((1, 32)).astype(np.float32))[0]
    assert _good(library, query, background) == 0  # a random direction: only chance highs

    # Five photos made to match the query stand out from the rest of the library's scores.
    library[:5] = l2_normalise(library[:5] + 3 * query)
    assert _good(library, query, background) == 5


def test_a_bigger_library_does_not_raise_false_claims() -> None:
    """The cutoff counts from the chance level, so noise over 20 or 5,000 photos stays out."""
    rng = np.random.default_rng(1)
    background = _library(rng, 50)
    for n in (20, 200, 5000):
        library = _library(rng, n)
        claims = 0
        for _ in range(20):
            query = l2_normalise(rng.standard_normal((1, 32)).astype(np.float32))[0]
            claims += _good(library, query, background) > 0
        assert claims <= 2, n
    assert chance_level(5000) > chance_level(20)


def test_the_reference_sample_keeps_its_photos_as_the_library_grows() -> None:
    ids = np.arange(1, 10_001, dtype=np.int64)
    sample = reference_ids(ids, 2000)
    grown = reference_ids(np.arange(1, 10_501, dtype=np.int64), 2000)
    assert len(sample) == len(grown) == 2000
    assert len(np.intersect1d(sample, grown)) >= 1800
    assert np.array_equal(reference_ids(ids[:50], 2000), ids[:50])


def test_a_calibration_is_redone_only_when_the_library_moves() -> None:
    calibration = RelevanceCalibration("m", 1000, 0.05)
    assert not needs_refresh(calibration, "m", 1040)
    assert needs_refresh(calibration, "m", 1100)
    assert needs_refresh(calibration, "other", 1000)
    assert needs_refresh(None, "m", 1000)


def test_identical_scores_have_no_good_match() -> None:
    library = np.tile(l2_normalise(np.ones((1, 8), np.float32)), (10, 1))
    query = library[0]
    reference = calibrate("m", library, 10, np.zeros((0, 8), np.float32))
    assert good_count((library @ query)[:5], query, reference, RelevanceParams()) == 0
