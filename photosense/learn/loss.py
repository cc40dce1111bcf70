"""Symmetric InfoNCE, the loss CLIP was trained with, made for small personal data sets.

For a batch of n matching (image, text) pairs with unit vectors ``I`` and ``T``, the logits are
``s * I @ T.T`` with a learnable scale ``s = exp(t)``; the loss is the mean of the
image-to-text and text-to-image cross-entropies whose targets are the matching pairs. Two
additions, both off by default so that the plain case equals open_clip's ``ClipLoss``:

- **more negatives than a batch holds** (``queue``): further (image, text) vectors appended to
  the candidates of each direction, so a batch of 16 is scored against hundreds of wrong
  answers, as a large-batch run would be. They may carry gradients or be detached (a
  MoCo-style :class:`FeatureQueue` of earlier batches). Older copies of the query's own photo
  or caption are left out;
- **a photo is not its own negative**: with ``image_keys`` and ``text_keys``, every candidate
  with the same photo or the same caption as the query is a positive (the target spreads
  evenly over them), so two augmented views of one photo, or one photo with two captions, do
  not teach the model that the photo is unlike its other caption.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["FeatureQueue", "LogitScale", "QueuedVectors", "info_nce"]

MAX_LOGIT_SCALE = 100.0
"""CLIP clamps the scale at 100 (temperature 0.01) so training cannot make logits explode."""

_EXCLUDED = -1e4
"""The logit of a candidate left out: far below any real logit (|logit| <= 100), yet finite,
because soft-target cross-entropy multiplies each log-probability by its target (0 * -inf)."""


class LogitScale(torch.nn.Module):
    """``exp(t)``, learnable, clamped to [1, 100] as CLIP does; starts at 1/0.07 by default."""

    def __init__(self, initial: float = 1 / 0.07) -> None:
        super().__init__()
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(initial)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(0.0, math.log(MAX_LOGIT_SCALE)).exp()


def _positives(
    image_keys: torch.Tensor,
    text_keys: torch.Tensor,
    other_image: torch.Tensor,
    other_text: torch.Tensor,
) -> torch.Tensor:
    """Which candidates share the query's photo or its caption (n x m booleans)."""
    return (image_keys[:, None] == other_image[None, :]) | (
        text_keys[:, None] == other_text[None, :]
    )


def info_nce(
    image: torch.Tensor,
    text: torch.Tensor,
    logit_scale: torch.Tensor | float,
    *,
    image_keys: torch.Tensor | None = None,
    text_keys: torch.Tensor | None = None,
    queue: QueuedVectors | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE over unit vectors ``image`` and ``text`` (n x d, row i pairs with i).

    ``image_keys``/``text_keys`` (n ints: which photo, which caption) mark further positives;
    ``queue`` adds detached vectors of earlier batches as extra candidates. Without either,
    this is exactly ``open_clip.loss.ClipLoss`` on one process.
    """
    if image.shape != text.shape or image.ndim != 2:
        raise ValueError(f"image and text must both be n x d, got {image.shape} and {text.shape}")
    if (image_keys is None) != (text_keys is None):
        raise ValueError("give both image_keys and text_keys, or neither")
    n, device = image.shape[0], image.device
    if image_keys is None or text_keys is None:
        image_keys = text_keys = torch.arange(n, device=device)
        if queue is not None and len(queue):
            # Without keys, queued rows are never positives: give them keys no row has.
            queue = QueuedVectors(
                queue.image,
                queue.text,
                -1 - torch.arange(len(queue)),
                -1 - torch.arange(len(queue)),
            )
    positive = _positives(image_keys, text_keys, image_keys, text_keys)
    logits_per_image = logit_scale * image @ text.T
    logits_per_text = logit_scale * text @ image.T
    if queue is not None and len(queue):
        queued_image = logit_scale * image @ queue.text.to(device, text.dtype).T
        queued_text = logit_scale * text @ queue.image.to(device, image.dtype).T
        # An older copy of the query's own photo or caption is neither a fair negative nor a
        # useful positive (it comes from older weights): it is left out of the candidates.
        own = _positives(
            image_keys, text_keys, queue.image_keys.to(device), queue.text_keys.to(device)
        )
        logits_per_image = torch.cat(
            [logits_per_image, queued_image.masked_fill(own, _EXCLUDED)], 1
        )
        logits_per_text = torch.cat([logits_per_text, queued_text.masked_fill(own, _EXCLUDED)], 1)
        positive = torch.cat([positive, torch.zeros_like(own)], dim=1)
    # The positives relation is symmetric in photo and caption, so one target serves both ways.
    target = positive.float() / positive.sum(dim=1, keepdim=True)
    loss_image = F.cross_entropy(logits_per_image, target)
    loss_text = F.cross_entropy(logits_per_text, target)
    return (loss_image + loss_text) / 2


@dataclass(frozen=True)
class QueuedVectors:
    """A snapshot of a queue: detached image and text vectors with their photo/caption keys."""

    image: torch.Tensor
    text: torch.Tensor
    image_keys: torch.Tensor
    text_keys: torch.Tensor

    def __len__(self) -> int:
        return int(self.image.shape[0])


class FeatureQueue:
    """The last ``size`` (image, text) vector pairs, first in first out (MoCo's memory queue).

    The vectors are detached: they come from slightly older weights, which is harmless when the
    weights move slowly (a small learning rate, as fine-tuning uses) and gives each batch many
    more negatives than it holds.
    """

    def __init__(self, size: int, dim: int) -> None:
        if size < 0:
            raise ValueError("queue size must be >= 0")
        self.size = size
        self.dim = dim
        self._image = torch.zeros((0, dim))
        self._text = torch.zeros((0, dim))
        self._image_keys = torch.zeros(0, dtype=torch.long)
        self._text_keys = torch.zeros(0, dtype=torch.long)

    def __len__(self) -> int:
        return int(self._image.shape[0])

    def snapshot(self) -> QueuedVectors | None:
        if not len(self):
            return None
        return QueuedVectors(self._image, self._text, self._image_keys, self._text_keys)

    def push(
        self,
        image: torch.Tensor,
        text: torch.Tensor,
        image_keys: torch.Tensor,
        text_keys: torch.Tensor,
    ) -> None:
        """Add a batch (newest last) and drop the oldest beyond ``size``."""
        if self.size == 0:
            return
        keep = self.size
        self._image = torch.cat([self._image, image.detach().float().cpu()])[-keep:]
        self._text = torch.cat([self._text, text.detach().float().cpu()])[-keep:]
        self._image_keys = torch.cat([self._image_keys, image_keys.cpu()])[-keep:]
        self._text_keys = torch.cat([self._text_keys, text_keys.cpu()])[-keep:]

    def state(self) -> dict[str, torch.Tensor]:
        return {
            "image": self._image,
            "text": self._text,
            "image_keys": self._image_keys,
            "text_keys": self._text_keys,
        }

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self._image = state["image"].float()
        self._text = state["text"].float()
        self._image_keys = state["image_keys"].long()
        self._text_keys = state["text_keys"].long()
