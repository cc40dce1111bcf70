"""Fine-tuning: teach the model the user's captioned photos (``photosense finetune``)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from photosense.enums import CaptionSource
from photosense.errors import ModelExistsError, PhotosenseError
from photosense.evaluation import ALL as ALL_SPLITS
from photosense.evaluation import general_set, load_dataset
from photosense.learn.records import (
    LIBRARY_SAMPLE,
    FineTuneSettings,
    TrainingPair,
    storage_error,
)
from photosense.library.captions import Captions
from photosense.library.records import FineTuneReport
from photosense.library.runtime import ModelRuntime
from photosense.media.captions import read_caption_csv, screen_caption
from photosense.models.device import batch_size_for
from photosense.models.local import ADAPTER_ARCH, LocalModel, list_local, model_folder, write_model
from photosense.paths import cache_dir
from photosense.progress import CancelToken, Progress

log = logging.getLogger(__name__)

GENERAL_LIMIT = 1000
"""Photos per general-knowledge set: enough to see a 2-point change, quick to encode."""
SCREENED_SOURCES = frozenset({CaptionSource.FILE, CaptionSource.SIDECAR, CaptionSource.CSV})
"""Texts that came with files, not typed by the user: screened for boilerplate and length."""
PREVIEW_PAIRS = 5


@dataclass(frozen=True)
class PairsPreview:
    """What a run would learn from: how many pairs, the first few, and how many texts were
    left out for each reason (a licence notice, only a web address, too long)."""

    count: int
    samples: tuple[TrainingPair, ...]
    left_out: dict[str, int]


class FineTune:
    """Train a fine-tuned model from the library's captions (or a file), store it, list them."""

    def __init__(self, runtime: ModelRuntime, captions: Captions) -> None:
        self._runtime = runtime
        self._captions = captions

    def run(
        self,
        *,
        albums: Sequence[str] | None = None,
        captions: str | os.PathLike[str] | None = None,
        split: str | None = None,
        settings: FineTuneSettings | None = None,
        general: Sequence[str | os.PathLike[str]] = (),
        general_limit: int = GENERAL_LIMIT,
        name: str | None = None,
        cancel: CancelToken | None = None,
        workers: int | None = None,
    ) -> Generator[Progress, None, FineTuneReport]:
        """Fine-tune the active model on captioned photos; store the result as a new model.

        The pairs come from ``albums`` and/or a ``captions`` file (a ``path,caption`` CSV, or
        a data set folder with ``split``); with neither, from every captioned photo of the
        library. ``general`` names labelled data set folders scored before and after (up to
        ``general_limit`` photos each). The new model (``fine-tuned/NAME``) is stored but not
        activated: ``models.use`` does that (the report says whether it ``improved``). The
        library check runs on up to :data:`LIBRARY_SAMPLE` of the library's uncaptioned photos
        that it does not train on (see :meth:`check_photos`). A killed
        or cancelled run resumes when started again with the same data and settings. Each step
        runs under the model's lock, so searches get in between steps but not into one.
        """
        job = self._run(
            albums, captions, split, settings, general, general_limit, name, cancel, workers
        )
        return (yield from self._runtime.stepwise(job))

    def _run(
        self,
        albums: Sequence[str] | None,
        captions: str | os.PathLike[str] | None,
        split: str | None,
        settings: FineTuneSettings | None,
        general: Sequence[str | os.PathLike[str]],
        general_limit: int,
        name: str | None,
        cancel: CancelToken | None,
        workers: int | None = None,
    ) -> Generator[Progress, None, FineTuneReport]:
        from photosense.learn.finetune import fine_tune
        from photosense.models.adapted import AdaptedEncoder

        pairs = self.pairs(albums=albums, captions=captions, split=split)
        checks = [general_set(Path(folder), general_limit) for folder in general]
        seed = (settings or FineTuneSettings()).seed
        library = self.check_photos(pairs, seed=seed)
        encoder = self._runtime.encoder
        base = encoder.base if isinstance(encoder, AdaptedEncoder) else encoder
        yield Progress(0, None, f"fine-tuning {base.model_id} on {len(pairs)} pairs")
        result = yield from fine_tune(
            base,
            pairs,
            settings,
            cancel,
            general=checks,
            library=library,
            work_dir=cache_dir() / "finetune",
            batch_size=batch_size_for(base),
            workers=workers,
        )
        model_id = _fine_tuned_id(name, base.model_id, result.fingerprint)
        try:
            write_model(
                model_id,
                result.heads.state_dict(),
                architecture=ADAPTER_ARCH,
                embedding_size=base.dim,
                image_size=base.image_size,
                base=base.model_id,
                source="fine-tuning",
                extra={"adapter": result.heads.shape, **result.record()},
            )
        except OSError as exc:
            raise storage_error("the fine-tuned model", model_folder(model_id), exc) from exc
        log.info("fine-tuned %s as %s in %.0f s", base.model_id, model_id, result.seconds)
        return FineTuneReport(model_id, result)

    def pairs(
        self,
        *,
        albums: Sequence[str] | None = None,
        captions: str | os.PathLike[str] | None = None,
        split: str | None = None,
    ) -> list[TrainingPair]:
        """The image-text pairs ``run`` would train on (see there), each pair once."""
        return self._collect(albums, captions, split)[0]

    def preview(
        self,
        *,
        albums: Sequence[str] | None = None,
        captions: str | os.PathLike[str] | None = None,
        split: str | None = None,
    ) -> PairsPreview:
        """How many pairs ``run`` would train on, a few of them, and what was left out why."""
        pairs, left_out = self._collect(albums, captions, split)
        return PairsPreview(len(pairs), tuple(pairs[:PREVIEW_PAIRS]), dict(left_out))

    def _collect(
        self,
        albums: Sequence[str] | None,
        captions: str | os.PathLike[str] | None,
        split: str | None,
    ) -> tuple[list[TrainingPair], Counter[str]]:
        found: list[TrainingPair] = []
        if albums or captions is None:
            found += self._captions.training_pairs(albums or None)
        if captions is not None:
            found += _file_pairs(Path(captions), split)
        kept: list[TrainingPair] = []
        left_out: Counter[str] = Counter()
        for pair in dict.fromkeys(found):
            if pair.source not in SCREENED_SOURCES:
                kept.append(pair)
                continue
            text, reason = screen_caption(pair.text)
            if text is None:
                left_out[reason or "not a caption"] += 1
            else:
                kept.append(replace(pair, text=text) if text != pair.text else pair)
        return list(dict.fromkeys(kept)), left_out

    def check_photos(
        self, pairs: Sequence[TrainingPair], *, limit: int = LIBRARY_SAMPLE, seed: int = 0
    ) -> list[Path]:
        """The library check's photos: up to ``limit`` uncaptioned photos not in ``pairs``,
        on online folders, chosen by a hash of their id (the same photos run after run)."""
        store = self._runtime.store
        captioned = set(store.captions.get())
        trained = {str(p.path) for p in pairs}
        online = {folder.id for folder in store.folders.all() if folder.online}

        def rank(photo_id: int) -> str:
            return hashlib.sha256(f"{seed}:{photo_id}".encode()).hexdigest()

        ranked = sorted((i for i in store.photos.ids() if i not in captioned), key=rank)
        chosen: list[Path] = []
        for start in range(0, len(ranked), 2 * limit):
            chunk = ranked[start : start + 2 * limit]
            records = store.photos.get(chunk)
            for photo_id in chunk:
                record = records.get(photo_id)
                if (
                    record is None
                    or record.folder_id not in online
                    or record.path in trained
                    or not os.path.isfile(record.path)
                ):
                    continue
                chosen.append(Path(record.path))
                if len(chosen) >= limit:
                    return chosen
        return chosen

    def models(self) -> list[LocalModel]:
        """Fine-tuned models on this machine, newest first, with their records."""
        models = [m for m in list_local() if m.architecture == ADAPTER_ARCH]
        return sorted(models, key=lambda m: m.created_at, reverse=True)


def _file_pairs(path: Path, split: str | None) -> list[TrainingPair]:
    """Pairs from a ``path,caption`` CSV, or from a data set folder's captions (``split``)."""
    if path.is_dir():
        dataset = load_dataset(path, split or ALL_SPLITS)
        return [
            TrainingPair(str(dataset.folder / p), dataset.folder / p, text, CaptionSource.DATASET)
            for p, text in dataset.captions
        ]
    if split is not None:
        raise PhotosenseError("a split applies to a data set folder, not to a CSV file")
    parsed = read_caption_csv(path)
    for problem in parsed.problems:
        log.warning("%s: %s", path, problem)
    return [
        TrainingPair(row.path, Path(row.path), row.text, CaptionSource.CSV) for row in parsed.rows
    ]


def _fine_tuned_id(name: str | None, base: str, fingerprint: str) -> str:
    """``fine-tuned/NAME``; by default the base's name and the data's fingerprint, made unique."""
    stem = name or re.sub(r"[^A-Za-z0-9._-]+", "-", base.split("/")[-1]).strip("-.")
    stem = stem if name else f"{stem}-{fingerprint[:8]}"
    candidate = f"fine-tuned/{stem}"
    number = 2
    while model_folder(candidate).exists():
        if name:
            raise ModelExistsError(candidate)
        candidate, number = f"fine-tuned/{stem}-{number}", number + 1
    model_folder(candidate)  # raises ModelError for a name the models folder cannot hold
    return candidate
