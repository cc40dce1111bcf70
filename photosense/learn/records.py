"""What fine-tuning takes and reports, without torch.

The training pairs, the settings, the progress records, the limits on data and a run's errors:
the library, the CLI and the GUI build and show these before any model loads. The training
itself is :mod:`photosense.learn.finetune` (which re-exports them) and needs torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from photosense.errors import StorageError
from photosense.progress import Progress

MIN_PAIRS = 20
"""Fewer pairs than this teach nothing that can be measured; the run is refused."""
MIN_HELDOUT = 5
GENERAL_DROP_LIMIT = 0.02
"""The most zero-shot top-1 a general set may lose for a run to count as better."""
LIBRARY_SAMPLE = 200
"""Library photos (uncaptioned, not trained on) the library check compares the models on."""
LIBRARY_MIN_PHOTOS = 20
"""Fewer library photos than this (sampled, or unlike the training photos) and the library
check has nothing to compare (it would be noise)."""
LIBRARY_K = 10
"""How many neighbours of a photo, and answers to a query, the library check compares."""
LIBRARY_KEEP_LIMIT = 0.7
"""The least of the base's neighbours and answers a run may keep to be activated by itself."""


def storage_error(what: str, where: Path, exc: OSError) -> StorageError:
    return StorageError(what, where, str(exc.strerror or exc))


@dataclass(frozen=True)
class TrainingPair:
    """One photo and one caption. ``key`` names the photo (several captions may share it).

    ``source`` says where the text came from (user, file, sidecar, csv, dataset, or ``album``
    for an album's title standing in for a caption). A pair from the library also carries its
    ``photo_id`` and the album (``group``) it came through; neither changes which pair it is.
    """

    key: str
    path: Path
    text: str
    source: str = "caption"
    photo_id: int | None = field(default=None, compare=False)
    group: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class GeneralSet:
    """Labelled photos the run does not train on: the check that nothing general was lost."""

    name: str
    paths: tuple[Path, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class LibraryCheck:
    """How much of the base model's search a fine-tuned candidate keeps on the user's photos.

    Of ``photos`` sampled from the library (not trained on), ``unlike`` are unlike the training
    photos (the held-out gain does not speak for them); on those, ``neighbours`` is the mean
    share of each photo's ``k`` nearest photos under the base that stay among its ``k`` nearest
    under the candidate, and ``answers`` the mean share of the base's top ``k`` photos for each
    everyday query that the candidate also puts in its top ``k``. Both are None when fewer than
    :data:`LIBRARY_MIN_PHOTOS` photos are unlike the training ones: nothing to check.
    """

    photos: int
    unlike: int
    queries: int
    k: int
    neighbours: float | None
    answers: float | None

    @property
    def kept(self) -> float | None:
        """The weaker of the two, what the verdict compares with :data:`LIBRARY_KEEP_LIMIT`."""
        if self.neighbours is None or self.answers is None:
            return None
        return min(self.neighbours, self.answers)


@dataclass(frozen=True)
class FineTuneSettings:
    """How a run trains; the defaults are the measured ones (``docs/finetuning.md``).

    Two ways to give the loss more negatives than a batch holds, both off by default because
    neither helped in the measurements (``docs/finetuning.md``): ``extra_negatives`` more
    training pairs join every batch as full members (embedded by the current weights, with
    gradients: what gradient caching gives a full-model run), and ``queue_size`` adds a
    MoCo-style queue of detached vectors from earlier batches (it stalls training: every vector
    passes through the same adapters, so a detached one hides how an update moves it).
    ``train_image``/``train_text`` pick the sides that adapt; ``wise``
    False keeps the fine-tuned weights unblended; ``refit`` trains once more on every pair
    (held-out ones included) for the chosen number of epochs and keeps the chosen blend.
    """

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    weight_decay: float = 0.05
    rank: int = 32
    extra_negatives: int = 0
    queue_size: int = 0
    views: int = 4
    heldout_fraction: float = 0.2
    patience: int = 8
    train_image: bool = True
    train_text: bool = True
    wise: bool = True
    refit: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 2,
            "learning_rate": self.learning_rate > 0,
            "weight_decay": self.weight_decay >= 0,
            "rank": self.rank >= 1,
            "extra_negatives": self.extra_negatives >= 0,
            "queue_size": self.queue_size >= 0,
            "views": self.views >= 1,
            "heldout_fraction": 0 < self.heldout_fraction < 1,
            "patience": self.patience >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid fine-tuning settings: {', '.join(bad)}")
        if not (self.train_image or self.train_text):
            raise ValueError("train at least one side (image or text)")


@dataclass(frozen=True)
class TrainingProgress(Progress):
    """Progress with what a fine-tuning dialog plots: the epoch's loss and held-out recall."""

    phase: str = ""
    epoch: int = 0
    loss: float | None = None
    heldout: dict[str, float] | None = None
    eta_seconds: float | None = None
