"""The training loop of fine-tuning: small adapters trained with InfoNCE over cached features."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from photosense.learn.features import Features
from photosense.learn.loss import FeatureQueue, LogitScale, info_nce
from photosense.learn.records import FineTuneSettings
from photosense.models.adapted import AdapterHeads


class Trainer:
    """Adapters, temperature, optimiser and sampling state over cached features."""

    def __init__(
        self,
        settings: FineTuneSettings,
        dim: int,
        device: torch.device,
        photos: Features,
        texts: torch.Tensor,
        image_ids: torch.Tensor,
        text_ids: torch.Tensor,
    ) -> None:
        self.settings = settings
        self.device = device
        torch.manual_seed(settings.seed)
        self.heads = AdapterHeads(photos.features.shape[2], dim, settings.rank)
        self.scale = LogitScale()
        for module, on in (
            (self.heads.image, settings.train_image),
            (self.heads.text, settings.train_text),
        ):
            module.requires_grad_(on)
        parameters = [p for p in self.heads.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            parameters + list(self.scale.parameters()),
            lr=settings.learning_rate,
            weight_decay=settings.weight_decay,
        )
        self.queue = FeatureQueue(settings.queue_size, dim)
        self.generator = torch.Generator().manual_seed(settings.seed)
        self.heads.to(device)
        self.scale.to(device)
        self.vectors = photos.vectors.to(device)
        self.features = photos.features.to(device)
        self.texts = texts.to(device)
        self.image_ids, self.text_ids = image_ids, text_ids

    def epoch(self) -> float:
        """One pass over the pairs in random order, one random view per photo; mean loss."""
        settings, heads, device = self.settings, self.heads, self.device
        heads.train()
        order = torch.randperm(len(self.image_ids), generator=self.generator)
        view = torch.randint(settings.views, (len(order),), generator=self.generator)
        losses = []
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            if len(batch) < 2:
                continue
            if settings.extra_negatives:
                # Other pairs join the batch as full members (queries and candidates): a
                # candidate that is only pushed away, never pulled to its own caption,
                # measured worse (docs/finetuning.md).
                rest = order[torch.randperm(len(order), generator=self.generator)]
                batch = torch.cat(
                    [batch, rest[~torch.isin(rest, batch)][: settings.extra_negatives]]
                )
            photo, caption = self.image_ids[batch], self.text_ids[batch]
            with _autocast(device):
                image = heads.embed_images(
                    self.vectors[photo, view[batch]], self.features[photo, view[batch]]
                )
                text = heads.embed_texts(self.texts[caption])
                loss = info_nce(
                    image.float(),
                    text.float(),
                    self.scale(),
                    image_keys=photo.to(device),
                    text_keys=caption.to(device),
                    queue=self.queue.snapshot(),
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            self.queue.push(image, text, photo, caption)
            losses.append(float(loss.detach()))
        heads.eval()
        return float(np.mean(losses)) if losses else math.nan

    def state(self) -> dict[str, Any]:
        return {
            "heads": {k: v.detach().cpu() for k, v in self.heads.state_dict().items()},
            "scale": self.scale.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "queue": self.queue.state(),
            "generator": self.generator.get_state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.heads.load_state_dict(state["heads"])
        self.scale.load_state_dict(state["scale"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.queue.load_state(state["queue"])
        self.generator.set_state(state["generator"])


def _autocast(device: torch.device) -> Any:
    """bfloat16 autocast on CUDA (the adapters are tiny; the win is on big feature dims)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()
