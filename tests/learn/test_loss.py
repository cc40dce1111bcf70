"""InfoNCE: checked against a hand-computed case and against open_clip's own ClipLoss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from photosense.learn.loss import MAX_LOGIT_SCALE, FeatureQueue, LogitScale, QueuedVectors, info_nce


def unit(rows: int, dim: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(rows, dim, generator=generator), dim=1)


def test_hand_computed_two_pairs() -> None:
    # logits = [[1, 0], [0, 1]] both ways: each row's loss is -log(e / (e + 1)).
    eye = torch.eye(2)
    expected = math.log(1 + math.exp(-1))
    assert info_nce(eye, eye, 1.0).item() == pytest.approx(expected, abs=1e-6)


def test_equals_open_clip_clip_loss() -> None:
    from open_clip.loss import ClipLoss

    image, text = unit(16, 32, 0), unit(16, 32, 1)
    scale = torch.tensor(14.3)
    ours = info_nce(image, text, scale)
    theirs = ClipLoss()(image, text, scale)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-6)


def test_gradients_match_open_clip() -> None:
    from open_clip.loss import ClipLoss

    image = unit(8, 16, 2).requires_grad_()
    text = unit(8, 16, 3).requires_grad_()
    info_nce(image, text, 10.0).backward()
    ours = image.grad.clone(), text.grad.clone()
    image.grad = text.grad = None
    ClipLoss()(image, text, torch.tensor(10.0)).backward()
    assert torch.allclose(ours[0], image.grad, atol=1e-6)
    assert torch.allclose(ours[1], text.grad, atol=1e-6)


def test_two_views_of_one_photo_are_positives_of_each_other() -> None:
    image, text = unit(3, 8, 4), unit(3, 8, 5)
    image[1] = F.normalize(image[0] + 0.1 * unit(1, 8, 6)[0], dim=0)  # a second view of photo 0
    keys = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 2])
    logits = 5.0 * image @ text.T
    target = torch.tensor([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1.0]])
    expected = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    got = info_nce(image, text, 5.0, image_keys=keys[0], text_keys=keys[1])
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    # Without the keys the photo's second caption would count as a wrong answer for it.
    assert info_nce(image, text, 5.0).item() != pytest.approx(got.item(), rel=1e-3)


def test_queued_candidates_join_and_own_copies_are_left_out() -> None:
    image, text = unit(4, 8, 6), unit(4, 8, 7)
    extra_image, extra_text = unit(3, 8, 8), unit(3, 8, 9)
    keys = torch.arange(4)
    queue = QueuedVectors(
        extra_image, extra_text, torch.tensor([10, 11, 12]), torch.tensor([10, 11, 12])
    )
    got = info_nce(image, text, 3.0, image_keys=keys, text_keys=keys, queue=queue)
    per_image = 3.0 * image @ torch.cat([text, extra_text]).T
    per_text = 3.0 * text @ torch.cat([image, extra_image]).T
    expected = (F.cross_entropy(per_image, keys) + F.cross_entropy(per_text, keys)) / 2
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    # An older copy of the query's own pair is no candidate: a lone pair still scores 0.
    one = torch.tensor([0])
    stale = unit(1, 8, 14)
    own = QueuedVectors(stale, stale, one, one)
    assert info_nce(image[:1], text[:1], 3.0, image_keys=one, text_keys=one, queue=own) == 0
    other = QueuedVectors(stale, stale, one + 1, one + 1)
    assert info_nce(image[:1], text[:1], 3.0, image_keys=one, text_keys=one, queue=other) > 0


def test_more_negatives_raise_the_loss_of_an_untrained_model() -> None:
    image, text = unit(4, 8, 10), unit(4, 8, 11)
    queue = QueuedVectors(
        unit(64, 8, 12), unit(64, 8, 13), -1 - torch.arange(64), -1 - torch.arange(64)
    )
    assert info_nce(image, text, 1.0, queue=queue) > info_nce(image, text, 1.0)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        info_nce(unit(3, 8, 0), unit(4, 8, 1), 1.0)
    with pytest.raises(ValueError):
        info_nce(unit(3, 8, 0), unit(3, 8, 1), 1.0, image_keys=torch.arange(3))


def test_logit_scale_starts_at_clip_value_and_is_clamped() -> None:
    scale = LogitScale()
    assert scale().item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert scale().item() == pytest.approx(MAX_LOGIT_SCALE, rel=1e-5)


def test_feature_queue_keeps_the_newest() -> None:
    queue = FeatureQueue(5, 4)
    assert queue.snapshot() is None
    for start in range(0, 8, 2):
        keys = torch.tensor([start, start + 1])
        queue.push(unit(2, 4, start), unit(2, 4, start + 100), keys, keys)
    snapshot = queue.snapshot()
    assert snapshot is not None and len(snapshot) == 5
    assert snapshot.image_keys.tolist() == [3, 4, 5, 6, 7]
    restored = FeatureQueue(5, 4)
    restored.load_state(queue.state())
    assert restored.snapshot().text_keys.tolist() == [3, 4, 5, 6, 7]  # type: ignore[union-attr]
