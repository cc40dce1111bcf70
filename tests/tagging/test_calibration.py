"""Per-tag calibration and selection on hand-made vectors, where the right answer is known."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from photosense.models.encoder import l2_normalise
from photosense.tagging.calibration import (
    Family,
    TaggingParams,
    calibrate,
    chance_level,
    resolve_families,
    select_tags,
    standardise,
    zscores,
)

Floats = npt.NDArray[np.float32]


def unit(*values: float) -> Floats:
    return l2_normalise(np.array([values], dtype=np.float32))[0]


def hub_and_weak_tag_library() -> tuple[Floats, Floats, Floats, list[set[int]]]:
    """Photos, tag vectors, background vectors and the true tags of each photo.

    Tag 0 ("hub") points close to the direction every photo shares, so it scores high on all
    of them and higher still on its own photos. Tag 1 ("weak") is a concept the model sees only
    faintly: its own photos score well below the hub's *wrong* photos.
    """
    rng = np.random.default_rng(7)
    hub = unit(1.0, 0.25, 0.0, 0.0, 0.0)
    weak = unit(0.0, 0.0, 1.0, 0.0, 0.0)
    photos: list[Floats] = []
    truth: list[set[int]] = []
    for i in range(60):
        shared = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
        noise = rng.normal(0, 0.02, 5)
        if i % 6 == 0:  # a hub photo
            vector, tags = shared + np.array([0.0, 0.25, 0.0, 0.0, 0.0]), {0}
        elif i % 6 == 1:  # a weak-concept photo
            vector, tags = shared + np.array([0.0, 0.0, 0.55, 0.0, 0.0]), {1}
        else:  # neither
            spread = 0.6 + 0.4 * rng.random()
            vector, tags = shared + np.array([0.0, 0.0, 0.0, 0.5, 0.5]) * spread, set()
        photos.append(unit(*(vector + noise)))
        truth.append(tags)
    background = l2_normalise(
        np.array([[1.0, 0.1 * k, 0.05 * (k % 3), 0.3, 0.2] for k in range(12)], np.float32)
    )
    return np.stack(photos), np.stack([hub, weak]), background, truth


def test_calibration_finds_what_no_global_threshold_can() -> None:
    photos, tags, background, truth = hub_and_weak_tag_library()
    raw = photos @ tags.T
    positives = [raw[i, t] for i, want in enumerate(truth) for t in want]
    negatives = [raw[i, t] for i, want in enumerate(truth) for t in (0, 1) if t not in want]
    # The premise: the weakest right answer scores below the strongest wrong one, so every
    # single cutoff either misses right tags or lets wrong ones through.
    assert min(positives) < max(negatives)
    for cutoff in np.unique(raw):
        chosen = {(i, t) for i, t in zip(*np.nonzero(raw >= cutoff), strict=True)}
        expected = {(i, t) for i, want in enumerate(truth) for t in want}
        assert chosen != expected

    params = TaggingParams()
    z = standardise(raw, calibrate(tags, photos, background, params.prior_photos))
    selection = select_tags(z, np.full(2, params.cutoff(2), np.float32), params)
    chosen = set(zip(selection.rows.tolist(), selection.cols.tolist(), strict=True))
    assert chosen == {(i, t) for i, want in enumerate(truth) for t in want}


def test_cap_keeps_only_the_best_tags_of_a_photo() -> None:
    z = np.array([[5.0, 4.9, 4.8, 4.7, 4.6, 4.5, 4.4]], dtype=np.float32)
    params = TaggingParams(threshold=0.0, margin=10.0, max_per_photo=3)

    selection = select_tags(z, np.zeros(7, np.float32), params)

    assert sorted(selection.cols.tolist()) == [0, 1, 2]
    assert sorted(selection.scores.tolist(), reverse=True) == pytest.approx([5.0, 4.9, 4.8])


def test_margin_drops_a_tag_far_below_the_photos_best() -> None:
    z = np.array([[9.0, 8.5, 4.0]], dtype=np.float32)

    selection = select_tags(z, np.zeros(3, np.float32), TaggingParams(threshold=0.0, margin=1.0))

    assert sorted(selection.cols.tolist()) == [0, 1]


def test_each_tag_has_its_own_threshold() -> None:
    z = np.array([[3.0, 3.0], [3.0, 4.0]], dtype=np.float32)
    thresholds = np.array([2.0, 3.5], dtype=np.float32)  # tag 1's threshold was raised

    selection = select_tags(z, thresholds, TaggingParams(margin=5.0))

    pairs = list(zip(selection.rows.tolist(), selection.cols.tolist(), strict=True))
    assert pairs == [(0, 0), (1, 1), (1, 0)]  # best first within each photo


def test_zscores_equal_standardised_products() -> None:
    photos, tags, background, _ = hub_and_weak_tag_library()
    calibration = calibrate(tags, photos, background)

    np.testing.assert_allclose(
        zscores(photos, tags, calibration), standardise(photos @ tags.T, calibration), atol=1e-4
    )


def test_a_photo_with_no_tag_over_threshold_gets_none() -> None:
    z = np.array([[0.1, -0.3, 0.2]], dtype=np.float32)

    selection = select_tags(z, np.full(3, 1.0, np.float32), TaggingParams())

    assert selection.rows.size == 0


def test_small_library_falls_back_on_the_background() -> None:
    photos, tags, background, truth = hub_and_weak_tag_library()
    alone = calibrate(tags, photos[:0], background)
    few = calibrate(tags, photos[:3], background, prior_photos=50)
    many = calibrate(tags, photos, background, prior_photos=0)

    assert alone.photos == 0 and few.photos == 3 and many.photos == 60
    # With no photos the centre is the background's; with three it barely moves off it; with
    # the prior switched off it is the library's own median.
    raw_library = np.median(photos @ tags.T, axis=0)
    assert np.all(np.abs(many.centre - raw_library) < 1e-5)
    assert np.all(np.abs(few.centre - raw_library) > np.abs(many.centre - raw_library))
    # A one-photo library is still tagged sensibly: the hub photo ranks the hub tag first.
    z = standardise(photos[:1] @ tags.T, calibrate(tags, photos[:1], background))
    assert truth[0] == {0} and int(np.argmax(z[0])) == 0


def test_an_empty_background_is_refused() -> None:
    photos, tags, background, _ = hub_and_weak_tag_library()
    with pytest.raises(ValueError, match="background"):
        calibrate(tags, photos, background[:0])


def test_chance_level_grows_with_the_vocabulary() -> None:
    levels = [chance_level(n) for n in (2, 10, 100, 1000, 10000)]
    assert levels == sorted(levels)
    assert levels[-1] - levels[0] > 2.5
    assert TaggingParams().cutoff(1000) - TaggingParams().cutoff(100) == pytest.approx(
        chance_level(1000) - chance_level(100)
    )
    # With a handful of tags the cutoff stays at its floor instead of tagging half the photos.
    assert TaggingParams().cutoff(2) == TaggingParams().min_cutoff


# A small hierarchy: column 0 is "cat", columns 1-4 are four breeds of it, column 5 is "window".
CAT, TABBY, PERSIAN, SIAMESE, BLACK, WINDOW = range(6)
CATS: list[Family] = [(CAT, np.array([TABBY, PERSIAN, SIAMESE, BLACK], np.int64))]
LOOSE = TaggingParams(threshold=0.0, margin=10.0, lead=1.0)


def chosen_names(cols: npt.NDArray[np.int64]) -> set[int]:
    return {int(c) for c in cols}


def test_breeds_with_no_clear_winner_give_way_to_the_parent() -> None:
    # One cat scored as five things at once (the photo): no breed leads by 1 z.
    z = np.array([[4.2, 4.3, 4.4, 4.2, 4.0, 1.0]], dtype=np.float32)

    selection = select_tags(z, np.zeros(6, np.float32), LOOSE, CATS)

    assert chosen_names(selection.cols) == {CAT, WINDOW}
    assert selection.scores[selection.cols == CAT][0] == pytest.approx(4.4)  # the best breed's


def test_a_breed_clearly_ahead_survives_alone_and_counts_for_its_parent() -> None:
    # The parent scores low of its own; a dalmatian is still a dog.
    z = np.array([[0.5, 2.0, 5.5, 4.0, 1.0, 1.0]], dtype=np.float32)

    resolved = resolve_families(z, CATS, lead=1.0)

    assert resolved[0, CAT] == pytest.approx(5.5)
    assert resolved[0, PERSIAN] == pytest.approx(5.5)
    assert np.isneginf(resolved[0, [TABBY, SIAMESE, BLACK]]).all()
    selection = select_tags(z, np.zeros(6, np.float32), LOOSE, CATS)
    assert chosen_names(selection.cols) == {CAT, PERSIAN, WINDOW}


def test_families_act_per_photo_and_leave_other_tags_alone() -> None:
    z = np.array(
        [
            [4.0, 4.1, 4.0, 4.1, 4.0, 0.0],  # no clear breed: the parent
            [1.0, 1.0, 1.0, 7.0, 1.0, 6.5],  # siamese clear; the window is no sibling
        ],
        dtype=np.float32,
    )

    selection = select_tags(z, np.full(6, 2.0, np.float32), LOOSE, CATS)

    pairs = set(zip(selection.rows.tolist(), selection.cols.tolist(), strict=True))
    assert pairs == {(0, CAT), (1, CAT), (1, SIAMESE), (1, WINDOW)}
    # Without the hierarchy the first photo is four breeds and a cat.
    flat = select_tags(z, np.full(6, 2.0, np.float32), LOOSE)
    assert {c for r, c in zip(flat.rows, flat.cols, strict=True) if r == 0} == set(range(5))


def test_a_photo_the_model_cannot_read_gets_no_tags() -> None:
    # 30 tags: photo 0 scores a crowd of them alike (a texture, a dark crop); photo 1 shows
    # one thing. Both have tags over the cutoff; only the second has one that stands out.
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 0.3, (2, 30)).astype(np.float32)
    z[0, :6] += 3.0
    z[1, 7] = 5.0
    params = TaggingParams(threshold=0.0, margin=10.0, standout=1.5, crowd=3)

    selection = select_tags(z, np.full(30, 2.0, np.float32), params)

    assert selection.rows.tolist() == [1] and selection.cols.tolist() == [7]
    # The test is off in small vocabularies, where the best tags are no crowd.
    small = select_tags(z[:, :20], np.full(20, 2.0, np.float32), params)
    assert 0 in small.rows.tolist()


def test_selection_params_are_checked() -> None:
    with pytest.raises(ValueError, match="lead"):
        TaggingParams(lead=-1.0)
    with pytest.raises(ValueError, match="crowd"):
        TaggingParams(crowd=0)
