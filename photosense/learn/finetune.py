"""Contrastive fine-tuning on a user's own image-text pairs.

The recipe, chosen for a few hundred pairs on a laptop CPU (``docs/finetuning.md`` measures
each part):

1. **Split** the pairs by photo into train and held-out, deterministically (a photo's hash).
2. **Features once**: the frozen base model encodes every training photo in ``views``
   augmented versions (random crop, flip, colour jitter) and every held-out photo once; each
   caption once. This is the expensive step, and the only one that runs the big model, in
   chunks that are saved, so a killed run resumes where it stopped
   (:mod:`photosense.learn.features`).
3. **Train only small adapters** (:class:`photosense.models.adapted.AdapterHeads`: low-rank
   corrections on each side that start at zero) with symmetric InfoNCE
   (:func:`photosense.learn.loss.info_nce`) over batches of 32 (more negatives than a batch
   holds are available, measured and off: see :class:`FineTuneSettings`),
   AdamW at a small learning rate, a learnable temperature, one random view per photo per
   epoch (:mod:`photosense.learn.trainer`). Each epoch is checkpointed; the best epoch on the
   held-out split is kept and training stops early when it stops improving.
4. **WiSE-FT**: blend the learned weights with the base's (``alpha`` from 0 to 1) and keep the
   blend that scores best on the held-out split (ties go to the smaller blend: less change
   for the same gain). Two general-knowledge checks compare the base and the result: the
   library check, by default (how much of the base's search the result keeps on the user's
   own photos unlike the training ones: :mod:`photosense.learn.retention`), and zero-shot on
   labelled photos the run did not train on, when given.
5. Optionally (``refit``, off: it did not help in the measurements) train once more on every
   pair for the chosen number of epochs.

The core never saves a model or activates one; :class:`photosense.library.Library` does.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from collections.abc import Generator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from photosense.enums import FineTuneVerdict
from photosense.errors import NotEnoughDataError
from photosense.learn.features import Features, RunFolder, extract_features
from photosense.learn.metrics import DEFAULT_TEMPLATES, retrieval_recall, zero_shot_accuracy
from photosense.learn.records import (
    GENERAL_DROP_LIMIT,
    LIBRARY_KEEP_LIMIT,
    LIBRARY_MIN_PHOTOS,
    MIN_HELDOUT,
    MIN_PAIRS,
    FineTuneSettings,
    GeneralSet,
    LibraryCheck,
    TrainingPair,
    TrainingProgress,
)
from photosense.learn.retention import LibraryPhotos, everyday_queries, library_check
from photosense.learn.trainer import Trainer
from photosense.models.adapted import AdapterHeads
from photosense.models.encoder import Encoder
from photosense.progress import CancelToken, Progress

__all__ = [
    "MIN_PAIRS",
    "FineTuneResult",
    "FineTuneSettings",
    "GeneralSet",
    "LibraryCheck",
    "TrainingPair",
    "TrainingProgress",
    "data_fingerprint",
    "fine_tune",
    "split_pairs",
]

log = logging.getLogger(__name__)

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
    library: LibraryCheck | None = None
    history: tuple[dict[str, float], ...] = ()

    @property
    def general_drop(self) -> float:
        """The largest fall in zero-shot top-1 over the general sets (0 when none were given)."""
        drops = [
            self.general_before[k] - self.general_after.get(k, 0.0) for k in self.general_before
        ]
        return max(drops, default=0.0)

    @property
    def verdict(self) -> FineTuneVerdict:
        """The activation rule: better when held-out text-to-image recall got better (the mean
        of @1/5/10, what training and the blend maximise, with @5 not lower), no general set
        fell by more than :data:`GENERAL_DROP_LIMIT` and, on the library's photos unlike the
        training ones, the candidate kept at least :data:`LIBRARY_KEEP_LIMIT` of the base's
        neighbours and answers."""
        if self.general_drop > GENERAL_DROP_LIMIT + 1e-9:
            return FineTuneVerdict.LOST_GENERAL
        kept = self.library.kept if self.library is not None else None
        if kept is not None and kept < LIBRARY_KEEP_LIMIT - 1e-9:
            return FineTuneVerdict.CHANGES_LIBRARY
        before, after = self.heldout_before, self.heldout_after
        gained = _score(after) > _score(before) + 1e-9 and after["t2i_r5"] >= before["t2i_r5"]
        return FineTuneVerdict.BETTER if gained else FineTuneVerdict.NOT_BETTER

    @property
    def improved(self) -> bool:
        """Whether the run is better by :attr:`verdict` (and so activated automatically)."""
        return self.verdict is FineTuneVerdict.BETTER

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
            "library": asdict(self.library) if self.library is not None else None,
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
        raise NotEnoughDataError(len(keys), MIN_PAIRS)

    def rank(key: str) -> str:
        return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()

    count = max(MIN_HELDOUT, round(fraction * len(keys)))
    heldout_keys = set(sorted(keys, key=rank)[:count])
    train = [p for p in pairs if p.key not in heldout_keys]
    heldout = [p for p in pairs if p.key in heldout_keys]
    return train, heldout


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


# -- the run ------------------------------------------------------------------------------


def fine_tune(
    encoder: Encoder,
    pairs: Sequence[TrainingPair],
    settings: FineTuneSettings | None = None,
    cancel: CancelToken | None = None,
    *,
    general: Sequence[GeneralSet] = (),
    library: Sequence[Path] = (),
    queries: Sequence[str] | None = None,
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
    settings then share them). ``general`` sets are scored before and after. ``library`` photos
    (the user's own, not trained on) and ``queries`` (by default the everyday ones) make the
    library check; with fewer than :data:`LIBRARY_MIN_PHOTOS` readable photos it is left out.
    Raises ``NotEnoughDataError`` for too few pairs, ``Cancelled`` when ``cancel`` is set
    (checkpoints stay).
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
    trained = set(train_paths) | set(heldout_paths)
    library_paths = [path for path in dict.fromkeys(library) if path not in trained]
    total = len(train_paths) + len(heldout_paths) + general_images + len(library_paths)

    def extract(
        paths: Sequence[Path], views: int, label: str, done_before: int
    ) -> Generator[Progress, None, Features]:
        return extract_features(
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
    library_photos: LibraryPhotos | None = None
    if library_paths:
        extracted = yield from extract(library_paths, 1, "encoding library photos", done_before)
        keep = extracted.readable
        if int(keep.sum()) >= LIBRARY_MIN_PHOTOS:
            query_texts = list(everyday_queries() if queries is None else queries)
            library_photos = LibraryPhotos(
                extracted.vectors[keep, 0],
                extracted.features[keep, 0],
                torch.from_numpy(encoder.encode_texts(query_texts)),
            )
    cancel.raise_if_cancelled()

    # Drop pairs whose photo could not be read; index photos and texts.
    train_index = {path: i for i, path in enumerate(train_paths)}
    heldout_index = {path: i for i, path in enumerate(heldout_paths)}
    train = [p for p in train if train_features.readable[train_index[p.path]]]
    heldout = [p for p in heldout if heldout_features.readable[heldout_index[p.path]]]
    skipped = len(pairs) - len(train) - len(heldout)
    if len(train) < MIN_PAIRS - MIN_HELDOUT or len(heldout) < MIN_HELDOUT:
        readable = len(train) + len(heldout)
        raise NotEnoughDataError(readable, MIN_PAIRS, unreadable=len(pairs) - readable)
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
    trainer = Trainer(
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
        everything = Trainer(
            settings,
            encoder.dim,
            target,
            Features(
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
    checked = None
    if library_photos is not None:
        trained_photos = torch.cat(
            [
                train_features.features[train_features.readable, 0],
                heldout_features.features[heldout_features.readable, 0],
            ]
        )
        checked = library_check(heads, library_photos, trained_photos)
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
        library=checked,
        history=tuple(history),
    )


def _key(payload: dict[str, Any]) -> str:
    text = json.dumps({"format": _FORMAT, **payload}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _device_of(encoder: Encoder) -> torch.device:
    device = getattr(encoder, "device", None)
    return device if isinstance(device, torch.device) else torch.device("cpu")


def with_settings(settings: FineTuneSettings, **changes: Any) -> FineTuneSettings:
    """A copy of ``settings`` with ``changes`` (what the ablation benchmark varies)."""
    return replace(settings, **changes)
