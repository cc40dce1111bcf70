"""Contrastive fine-tuning on a user's own image-text pairs.

The recipe, chosen for a few hundred pairs on a laptop CPU (``docs/finetuning.md`` measures
each part):

1. **Split** the pairs by photo into train and held-out, deterministically (a photo's hash).
2. **Features once**: the frozen base model encodes every training photo in ``views``
   augmented versions (random crop, flip, colour jitter) and every held-out photo once; each
   caption once. This is the expensive step, and the only one that runs the big model, in
   chunks that are saved, so a killed run resumes where it stopped.
3. **Train only small adapters** (:class:`photosense.models.adapted.AdapterHeads`: low-rank
   corrections on each side that start at zero) with symmetric InfoNCE
   (:func:`photosense.learn.loss.info_nce`) over batches of 32 (more negatives than a batch
   holds are available, measured and off: see :class:`FineTuneSettings`),
   AdamW at a small learning rate, a learnable temperature, one random view per photo per
   epoch. Each epoch is checkpointed; the best epoch on the held-out split is kept and training
   stops early when it stops improving.
4. **WiSE-FT**: blend the learned weights with the base's (``alpha`` from 0 to 1) and keep the
   blend that scores best on the held-out split (ties go to the smaller blend: less change
   for the same gain). A general-knowledge check (zero-shot on labelled photos the run did not
   train on) is scored for the base and the result.
5. Optionally (``refit``, off: it did not help in the measurements) train once more on every
   pair for the chosen number of epochs.

The core never saves a model or activates one; :class:`photosense.library.Library` does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photosense.fileio import atomic_write
from photosense.learn.encoding import decode_for, encode_paths
from photosense.learn.loss import FeatureQueue, LogitScale, info_nce
from photosense.learn.metrics import DEFAULT_TEMPLATES, retrieval_recall, zero_shot_accuracy
from photosense.learn.records import (
    MIN_HELDOUT,
    MIN_PAIRS,
    FineTuneSettings,
    GeneralSet,
    NotEnoughDataError,
    TrainingPair,
    TrainingProgress,
    storage_error,
)
from photosense.models.adapted import AdapterHeads, image_vectors_and_features
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, Progress

__all__ = [
    "MIN_PAIRS",
    "FineTuneResult",
    "FineTuneSettings",
    "GeneralSet",
    "NotEnoughDataError",
    "TrainingPair",
    "TrainingProgress",
    "data_fingerprint",
    "fine_tune",
    "split_pairs",
]

log = logging.getLogger(__name__)

FEATURE_CHUNK = 64
"""Photos per saved chunk of features: what a killed run loses at most."""
ALPHAS = tuple(round(0.1 * i, 1) for i in range(11))
_FORMAT = 1


@dataclass(frozen=True)
class FineTuneResult:
    """What a run produced: the adapter and the numbers that say whether it is better."""

    base: str
    heads: AdapterHeads
    fingerprint: str
    pairs: int
    train_pairs: int
    heldout_pairs: int
    skipped: int
    settings: FineTuneSettings
    alpha: float
    epochs_run: int
    best_epoch: int
    seconds: float
    heldout_before: dict[str, float]
    heldout_after: dict[str, float]
    general_before: dict[str, float] = field(default_factory=dict)
    general_after: dict[str, float] = field(default_factory=dict)
    history: tuple[dict[str, float], ...] = ()

    @property
    def general_drop(self) -> float:
        """The largest fall in zero-shot top-1 over the general sets (0 when none were given)."""
        drops = [
            self.general_before[k] - self.general_after.get(k, 0.0) for k in self.general_before
        ]
        return max(drops, default=0.0)

    @property
    def improved(self) -> bool:
        """Held-out text-to-image recall got better (the mean of @1/5/10, what training and the
        blend maximise, with @5 not lower) and no general set fell by more than 2 points."""
        before, after = self.heldout_before, self.heldout_after
        gained = _score(after) > _score(before) + 1e-9 and after["t2i_r5"] >= before["t2i_r5"]
        return gained and self.general_drop <= 0.02 + 1e-9

    def record(self) -> dict[str, Any]:
        """The JSON record kept with the model: base, data, settings, metrics, time."""
        return {
            "base": self.base,
            "data_fingerprint": self.fingerprint,
            "pairs": self.pairs,
            "train_pairs": self.train_pairs,
            "heldout_pairs": self.heldout_pairs,
            "skipped": self.skipped,
            "settings": asdict(self.settings),
            "alpha": self.alpha,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "seconds": round(self.seconds, 1),
            "heldout": {"before": self.heldout_before, "after": self.heldout_after},
            "general": {"before": self.general_before, "after": self.general_after},
            "history": list(self.history),
        }


def data_fingerprint(pairs: Sequence[TrainingPair]) -> str:
    """A hash of the pairs (photo, caption), independent of their order."""
    digest = hashlib.sha256()
    for line in sorted(f"{p.key}\t{p.text}" for p in pairs):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def split_pairs(
    pairs: Sequence[TrainingPair], fraction: float, seed: int = 0
) -> tuple[list[TrainingPair], list[TrainingPair]]:
    """(train, held-out) by photo, deterministic: a photo's hash decides, never the order.

    Raises ``NotEnoughDataError`` when there are too few pairs for a useful run.
    """
    keys = sorted({p.key for p in pairs})
    if len(pairs) < MIN_PAIRS or len(keys) < MIN_PAIRS:
        raise NotEnoughDataError(
            f"fine-tuning needs at least {MIN_PAIRS} captioned photos; found {len(keys)}. "
            "Caption more photos (`photosense captions set`, `captions import`) or add photos "
            "to the albums you train on."
        )

    def rank(key: str) -> str:
        return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()

    count = max(MIN_HELDOUT, round(fraction * len(keys)))
    heldout_keys = set(sorted(keys, key=rank)[:count])
    train = [p for p in pairs if p.key not in heldout_keys]
    heldout = [p for p in pairs if p.key in heldout_keys]
    return train, heldout


def augment_views(views: int, seed: int) -> Callable[[Any], list[Any]]:
    """A function from a decoded image to ``views`` images: the original, then augmented ones.

    Random resized crop (60-100% of the area), horizontal flip and mild colour jitter: photos
    stay recognisable, and the adapters cannot memorise one exact crop. Seeded per image, so
    a resumed run sees the same views.
    """
    from torchvision import transforms

    def make(image: Any) -> list[Any]:
        out = [image]
        if views > 1:
            size = image.size[::-1]
            augment = transforms.Compose(
                [
                    transforms.RandomResizedCrop(size, scale=(0.6, 1.0), antialias=True),
                    transforms.RandomHorizontalFlip(),
                    transforms.ColorJitter(0.3, 0.3, 0.3, 0.03),
                ]
            )
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                out.extend(augment(image) for _ in range(views - 1))
        return out

    return make


# -- the run folder: features and checkpoints that let a killed run resume -------------------


class RunFolder:
    """Files of one run, named by everything that decides its result."""

    def __init__(self, root: Path, key: str) -> None:
        self.path = root / key
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error("fine-tuning's work files", self.path, exc) from exc

    def chunk_path(self, index: int) -> Path:
        return self.path / f"features-{index:05d}.safetensors"

    def save_chunk(self, index: int, tensors: dict[str, torch.Tensor]) -> None:
        from safetensors.torch import save

        try:
            with atomic_write(self.chunk_path(index)) as handle:
                handle.write(save({k: v.contiguous() for k, v in tensors.items()}))
        except OSError as exc:
            raise storage_error("the encoded photos", self.path, exc) from exc

    def load_chunk(self, index: int) -> dict[str, torch.Tensor] | None:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.chunk_path(index)
        if not path.is_file():
            return None
        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
            return None

    def save_checkpoint(self, state: dict[str, Any], progress: dict[str, Any]) -> None:
        import io

        buffer = io.BytesIO()
        torch.save(state, buffer)
        try:
            with atomic_write(self.path / "checkpoint.pt") as handle:
                handle.write(buffer.getvalue())
            with atomic_write(self.path / "progress.json") as handle:
                handle.write(json.dumps(progress).encode("utf-8"))
        except OSError as exc:
            raise storage_error("a training checkpoint", self.path, exc) from exc

    def load_checkpoint(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The last checkpoint (tensors only: ``weights_only`` loading), or None."""
        try:
            progress = json.loads((self.path / "progress.json").read_text(encoding="utf-8"))
            state = torch.load(self.path / "checkpoint.pt", map_location="cpu", weights_only=True)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RuntimeError, EOFError) as exc:
            log.warning("ignoring a damaged checkpoint in %s: %s", self.path, exc)
            return None
        if not isinstance(state, dict) or state.get("epoch") != progress.get("epoch"):
            return None
        return state, progress

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# -- features -----------------------------------------------------------------------------


@dataclass
class _Features:
    """Cached base-model outputs: per photo ``views`` image vectors and features; per text."""

    vectors: torch.Tensor  # photos x views x dim
    features: torch.Tensor  # photos x views x feature dim
    readable: torch.Tensor  # photos (bool)


def _extract(
    encoder: Encoder,
    paths: Sequence[Path],
    views: int,
    seed: int,
    run: RunFolder | None,
    cancel: CancelToken,
    *,
    batch_size: int,
    workers: int | None,
    label: str,
    done_before: int,
    total: int,
    started: float,
) -> Generator[Progress, None, _Features]:
    """Encode ``paths`` in ``views`` views each, chunk by chunk (chunks already saved are read)."""
    chunks: list[dict[str, torch.Tensor]] = []
    for index, start in enumerate(range(0, len(paths), FEATURE_CHUNK)):
        chunk_paths = paths[start : start + FEATURE_CHUNK]
        saved = run.load_chunk(index) if run else None
        if saved is not None and saved["vectors"].shape[:2] == (len(chunk_paths), views):
            chunks.append(saved)
            continue
        steps = _encode_chunk(
            encoder, chunk_paths, views, seed, cancel, batch_size=batch_size, workers=workers
        )
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                chunks.append(stop.value)
                break
            done = done_before + start + step.done
            elapsed = time.monotonic() - started
            rate = (done - done_before) / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            yield TrainingProgress(done, total, label, phase="features", eta_seconds=eta)
        if run is not None:
            run.save_chunk(index, chunks[-1])
    width = max((c["features"].shape[2] for c in chunks if c["readable"].any()), default=1)
    for chunk in chunks:
        if chunk["features"].shape[2] != width:  # a chunk with no readable photo at all
            chunk["features"] = torch.zeros((len(chunk["readable"]), views, width))
    return _Features(
        torch.cat([c["vectors"] for c in chunks]) if chunks else torch.zeros((0, views, 1)),
        torch.cat([c["features"] for c in chunks]) if chunks else torch.zeros((0, views, 1)),
        torch.cat([c["readable"].bool() for c in chunks]) if chunks else torch.zeros(0).bool(),
    )


def _encode_chunk(
    encoder: Encoder,
    paths: Sequence[Path],
    views: int,
    seed: int,
    cancel: CancelToken,
    *,
    batch_size: int,
    workers: int | None,
) -> Generator[Progress, None, dict[str, torch.Tensor]]:
    """One chunk of photos as tensors; unreadable photos are zero rows marked in ``readable``."""
    vectors = torch.zeros((len(paths), views, encoder.dim))
    features: torch.Tensor | None = None
    readable = torch.zeros(len(paths), dtype=torch.uint8)

    def prepare(path: Path) -> list[Any]:
        image = decode_for(encoder, path)
        key = int(hashlib.sha256(f"{seed}:{path}".encode()).hexdigest()[:8], 16)
        return [encoder.prepare_image(v) for v in augment_views(views, key)(image)]

    def encode(items: list[Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        return image_vectors_and_features(encoder, items)

    def keep(
        positions: list[int],
        counts: list[int],
        encoded: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]],
    ) -> None:
        nonlocal features
        if features is None:
            features = torch.zeros((len(paths), views, encoded[1].shape[1]))
        offset = 0
        for position, count in zip(positions, counts, strict=True):
            vectors[position] = torch.from_numpy(encoded[0][offset : offset + count])
            features[position] = torch.from_numpy(encoded[1][offset : offset + count])
            readable[position] = 1
            offset += count

    yield from encode_paths(
        paths, prepare, encode, keep, cancel, batch_size=batch_size, workers=workers
    )
    if features is None:
        features = torch.zeros((len(paths), views, 1))
    return {"vectors": vectors, "features": features, "readable": readable}


# -- scoring ------------------------------------------------------------------------------


def _heldout_metrics(
    heads: AdapterHeads,
    vectors: torch.Tensor,
    features: torch.Tensor,
    text_vectors: torch.Tensor,
    text_groups: np.ndarray[Any, Any],
) -> dict[str, float]:
    with torch.no_grad():
        images = heads.embed_images(vectors, features).numpy()
        texts = heads.embed_texts(text_vectors).numpy()
    metrics = retrieval_recall(images, texts, groups=text_groups)
    return {key: round(value, 6) for key, value in metrics.items()}


def _score(metrics: dict[str, float]) -> float:
    """What early stopping and the blend maximise: mean text-to-image recall@1/5/10."""
    return (metrics["t2i_r1"] + metrics["t2i_r5"] + metrics["t2i_r10"]) / 3


@dataclass
class _GeneralFeatures:
    name: str
    vectors: torch.Tensor
    features: torch.Tensor
    labels: np.ndarray[Any, Any]
    prompts: torch.Tensor  # classes x templates x dim (base text vectors)


def _general_top1(heads: AdapterHeads, general: _GeneralFeatures) -> float:
    with torch.no_grad():
        images = heads.embed_images(general.vectors, general.features).numpy()
        classes, templates, dim = general.prompts.shape
        texts = heads.embed_texts(general.prompts.reshape(-1, dim))
        mean = torch.nn.functional.normalize(texts.reshape(classes, templates, dim).mean(1), dim=1)
    return round(zero_shot_accuracy(images, mean.numpy(), general.labels)["zs_top1"], 6)


# -- training ---------------------------------------------------------------------------


class _Trainer:
    """Adapters, temperature, optimiser and sampling state over cached features."""

    def __init__(
        self,
        settings: FineTuneSettings,
        dim: int,
        device: torch.device,
        photos: _Features,
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


# -- the run ------------------------------------------------------------------------------


def fine_tune(
    encoder: Encoder,
    pairs: Sequence[TrainingPair],
    settings: FineTuneSettings | None = None,
    cancel: CancelToken | None = None,
    *,
    general: Sequence[GeneralSet] = (),
    work_dir: Path | None = None,
    batch_size: int = 16,
    workers: int | None = None,
    device: str | torch.device | None = None,
    keep_features: bool = False,
) -> Generator[Progress, None, FineTuneResult]:
    """Fine-tune adapters for ``encoder`` on ``pairs``; yields progress, returns the result.

    ``work_dir`` keeps features and checkpoints: a run cancelled or killed resumes from them
    when called again with the same model, pairs and settings; they are deleted when it
    completes, except the features with ``keep_features`` (runs that differ only in training
    settings then share them). ``general`` sets are scored before and after. Raises
    ``NotEnoughDataError`` for too few pairs, ``Cancelled`` when ``cancel`` is set (checkpoints
    stay).
    """
    settings = settings or FineTuneSettings()
    cancel = cancel or CancelToken()
    started = time.monotonic()
    train, heldout = split_pairs(pairs, settings.heldout_fraction, settings.seed)
    fingerprint = data_fingerprint(pairs)
    run_key = _key({"model": encoder.model_id, "data": fingerprint, **asdict(settings)})
    run = RunFolder(work_dir / "runs", run_key) if work_dir is not None else None
    feature_folders: list[RunFolder] = []

    def features_folder(paths: Sequence[Path], views: int) -> RunFolder | None:
        """Features depend on the model, the photos and the views, not on training settings."""
        if work_dir is None:
            return None
        key = {"model": encoder.model_id, "views": views, "seed": settings.seed}
        folder = RunFolder(work_dir / "features", _key({**key, "paths": list(map(str, paths))}))
        feature_folders.append(folder)
        return folder

    target = torch.device(device) if device is not None else _device_of(encoder)

    # 1. features (the slow part; resumable chunk by chunk)
    train_paths = list(dict.fromkeys(p.path for p in train))
    heldout_paths = list(dict.fromkeys(p.path for p in heldout))
    general_images = sum(len(g.paths) for g in general)
    total = len(train_paths) + len(heldout_paths) + general_images

    def extract(
        paths: Sequence[Path], views: int, label: str, done_before: int
    ) -> Generator[Progress, None, _Features]:
        return _extract(
            encoder,
            paths,
            views,
            settings.seed,
            features_folder(paths, views),
            cancel,
            batch_size=batch_size,
            workers=workers,
            label=label,
            done_before=done_before,
            total=total,
            started=started,
        )

    train_features = yield from extract(train_paths, settings.views, "encoding training photos", 0)
    heldout_features = yield from extract(
        heldout_paths, settings.views, "encoding held-out photos", len(train_paths)
    )
    general_features: list[_GeneralFeatures] = []
    done_before = len(train_paths) + len(heldout_paths)
    for gset in general:
        extracted = yield from extract(gset.paths, 1, f"encoding {gset.name}", done_before)
        done_before += len(gset.paths)
        keep = extracted.readable
        prompts = [t.replace("{}", name) for name in gset.class_names for t in DEFAULT_TEMPLATES]
        base_prompts = torch.from_numpy(encoder.encode_texts(prompts)).reshape(
            len(gset.class_names), len(DEFAULT_TEMPLATES), -1
        )
        general_features.append(
            _GeneralFeatures(
                gset.name,
                extracted.vectors[keep, 0],
                extracted.features[keep, 0],
                np.asarray(gset.labels)[keep.numpy()],
                base_prompts,
            )
        )
    cancel.raise_if_cancelled()

    # Drop pairs whose photo could not be read; index photos and texts.
    train_index = {path: i for i, path in enumerate(train_paths)}
    heldout_index = {path: i for i, path in enumerate(heldout_paths)}
    train = [p for p in train if train_features.readable[train_index[p.path]]]
    heldout = [p for p in heldout if heldout_features.readable[heldout_index[p.path]]]
    skipped = len(pairs) - len(train) - len(heldout)
    if len(train) < MIN_PAIRS - MIN_HELDOUT or len(heldout) < MIN_HELDOUT:
        raise NotEnoughDataError(
            f"only {len(train) + len(heldout)} of {len(pairs)} captioned photos could be read; "
            f"fine-tuning needs at least {MIN_PAIRS}"
        )
    texts = list(dict.fromkeys(p.text for p in train + heldout))
    text_index = {text: i for i, text in enumerate(texts)}
    yield TrainingProgress(total, total, "encoding captions", phase="features")
    text_vectors = torch.from_numpy(encoder.encode_texts(texts))

    image_ids = torch.tensor([train_index[p.path] for p in train])
    text_ids = torch.tensor([text_index[p.text] for p in train])
    held_rows = [heldout_index[p.path] for p in heldout]
    held_vectors = heldout_features.vectors[held_rows, 0]
    held_features = heldout_features.features[held_rows, 0]
    held_texts = text_vectors[[text_index[p.text] for p in heldout]]
    held_groups = np.unique([p.text for p in heldout], return_inverse=True)[1]

    # 2. training
    trainer = _Trainer(
        settings,
        encoder.dim,
        target,
        train_features,
        text_vectors,
        image_ids,
        text_ids,
    )
    heads = trainer.heads
    before = _heldout_metrics(heads, held_vectors, held_features, held_texts, held_groups)
    best_state = copy.deepcopy(heads.state_dict())
    best_score, best_epoch, epoch = _score(before), 0, 0
    history: list[dict[str, float]] = []

    resumed = run.load_checkpoint() if run else None
    if resumed is not None:
        state, progress = resumed
        trainer.load_state(state)
        best_state = state["best"]
        epoch, best_epoch = int(progress["epoch"]), int(progress["best_epoch"])
        best_score, history = float(progress["best_score"]), list(progress["history"])
        log.info("resuming fine-tuning after epoch %d", epoch)

    epoch_started = time.monotonic()
    epochs_this_call = 0
    while epoch < settings.epochs and epoch - best_epoch < settings.patience:
        cancel.raise_if_cancelled()
        epoch += 1
        mean_loss = trainer.epoch()
        heads.to("cpu")
        metrics = _heldout_metrics(heads, held_vectors, held_features, held_texts, held_groups)
        heads.to(target)
        score = _score(metrics)
        if score > best_score + 1e-9:
            best_score, best_epoch = score, epoch
            best_state = {k: v.detach().cpu().clone() for k, v in heads.state_dict().items()}
        history.append({"epoch": epoch, "loss": round(mean_loss, 5), **metrics})
        epochs_this_call += 1
        per_epoch = (time.monotonic() - epoch_started) / epochs_this_call
        if run is not None:
            run.save_checkpoint(
                {"epoch": epoch, "best": best_state, **trainer.state()},
                {
                    "epoch": epoch,
                    "best_epoch": best_epoch,
                    "best_score": best_score,
                    "history": history,
                },
            )
        yield TrainingProgress(
            epoch,
            settings.epochs,
            f"epoch {epoch}: loss {mean_loss:.3f}, held-out R@5 {metrics['t2i_r5']:.2f}",
            phase="training",
            epoch=epoch,
            loss=mean_loss,
            heldout=metrics,
            eta_seconds=per_epoch * (settings.epochs - epoch),
        )

    # 3. the blend
    heads.to("cpu")
    heads.load_state_dict(best_state)
    heads.eval()
    alpha = 1.0
    if settings.wise:
        yield TrainingProgress(epoch, settings.epochs, "choosing the blend", phase="blending")
        scores = []
        for candidate in ALPHAS:
            heads.set_alpha(candidate)
            scores.append(
                _score(
                    _heldout_metrics(heads, held_vectors, held_features, held_texts, held_groups)
                )
            )
        alpha = ALPHAS[int(np.argmax(scores))]  # first maximum: the smallest blend
    heads.set_alpha(alpha)
    after = _heldout_metrics(heads, held_vectors, held_features, held_texts, held_groups)
    if settings.refit and best_epoch > 0:
        # 4. the epochs and the blend are chosen; train once more on every pair, held-out
        # photos included (a fifth more data), for as many epochs as the best one needed.
        cancel.raise_if_cancelled()
        yield TrainingProgress(epoch, settings.epochs, "training on every pair", phase="refit")
        offset = len(train_paths)
        everything = _Trainer(
            settings,
            encoder.dim,
            target,
            _Features(
                torch.cat([train_features.vectors, heldout_features.vectors]),
                torch.cat([train_features.features, heldout_features.features]),
                torch.cat([train_features.readable, heldout_features.readable]),
            ),
            text_vectors,
            torch.cat([image_ids, torch.tensor([offset + r for r in held_rows])]),
            torch.cat([text_ids, torch.tensor([text_index[p.text] for p in heldout])]),
        )
        for _ in range(best_epoch):
            cancel.raise_if_cancelled()
            everything.epoch()
        heads = everything.heads.to("cpu").eval()
        heads.set_alpha(alpha)
    general_before, general_after = {}, {}
    for check in general_features:
        heads.set_alpha(0.0)
        general_before[check.name] = _general_top1(heads, check)
        heads.set_alpha(alpha)
        general_after[check.name] = _general_top1(heads, check)
    if run is not None:
        run.remove()
    if not keep_features:
        for folder in feature_folders:
            folder.remove()
    return FineTuneResult(
        base=encoder.model_id,
        heads=heads,
        fingerprint=fingerprint,
        pairs=len(train) + len(heldout),
        train_pairs=len(train),
        heldout_pairs=len(heldout),
        skipped=skipped,
        settings=settings,
        alpha=alpha,
        epochs_run=epoch,
        best_epoch=best_epoch,
        seconds=time.monotonic() - started,
        heldout_before=before,
        heldout_after=after,
        general_before=general_before,
        general_after=general_after,
        history=tuple(history),
    )


def _key(payload: dict[str, Any]) -> str:
    text = json.dumps({"format": _FORMAT, **payload}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _device_of(encoder: Encoder) -> torch.device:
    device = getattr(encoder, "device", None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


def _autocast(device: torch.device) -> Any:
    """bfloat16 autocast on CUDA (the adapters are tiny; the win is on big feature dims)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


def with_settings(settings: FineTuneSettings, **changes: Any) -> FineTuneSettings:
    """A copy of ``settings`` with ``changes`` (what the ablation benchmark varies)."""
    return replace(settings, **changes)
