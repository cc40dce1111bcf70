"""Fine-tuning: data split, training that teaches a made-up word, resume, blending, records."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from photosense.enums import FineTuneVerdict
from photosense.errors import Cancelled, NotEnoughDataError
from photosense.learn.finetune import (
    MIN_PAIRS,
    FineTuneResult,
    FineTuneSettings,
    GeneralSet,
    TrainingPair,
    TrainingProgress,
    fine_tune,
    split_pairs,
)
from photosense.learn.metrics import class_text_vectors, zero_shot_accuracy
from photosense.learn.records import LIBRARY_MIN_PHOTOS
from photosense.models.adapted import AdaptedEncoder, AdapterHeads
from photosense.models.encoder import Vectors, l2_normalise
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, run_to_end
from tests.conftest import save_photo

COLOURS = {
    "red": (230, 20, 20),
    "green": (20, 200, 30),
    "blue": (20, 30, 220),
    "yellow": (230, 220, 30),
    "cyan": (20, 210, 220),
    "magenta": (220, 30, 210),
}
NAMES = {
    "red": "pip",
    "green": "wug",
    "blue": "zorb",
    "yellow": "blick",
    "cyan": "tove",
    "magenta": "glim",
}
"""Made-up words no model knows: after fine-tuning, each must find its colour."""


class WordEncoder(FakeEncoder):
    """The colour encoder for images; texts are fixed random vectors per word (no meaning)."""

    model_id = "fake/words-v1"  # type: ignore[assignment]

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        rows = []
        for text in texts:
            seed = int(hashlib.sha256(text.lower().encode()).hexdigest()[:8], 16)
            rows.append(np.random.default_rng(seed).standard_normal(self.dim))
        return l2_normalise(np.array(rows, dtype=np.float32).reshape(len(texts), self.dim))


@pytest.fixture
def colour_pairs(tmp_path: Path) -> list[TrainingPair]:
    pairs = []
    rng = np.random.default_rng(0)
    for colour, rgb in COLOURS.items():
        for i in range(6):
            shade = tuple(int(np.clip(c + rng.integers(-25, 25), 0, 255)) for c in rgb)
            path = save_photo(tmp_path / "photos" / f"{colour}-{i}.jpg", shade, size=(48, 40))
            pairs.append(TrainingPair(path.stem, path, NAMES[colour]))
    return pairs


FAST = FineTuneSettings(epochs=30, views=1, rank=8, learning_rate=0.02, batch_size=8, patience=30)


def test_split_is_by_photo_deterministic_and_refuses_too_little() -> None:
    pairs = [TrainingPair(f"p{i // 2}", Path(f"p{i // 2}.jpg"), f"caption {i}") for i in range(60)]
    train, heldout = split_pairs(pairs, 0.2)
    assert split_pairs(list(reversed(pairs)), 0.2)[1] == [
        p for p in reversed(pairs) if p in heldout
    ]
    assert not {p.key for p in train} & {p.key for p in heldout}  # a photo is on one side only
    assert len({p.key for p in heldout}) == 6
    with pytest.raises(NotEnoughDataError, match=str(MIN_PAIRS)):
        split_pairs(pairs[: MIN_PAIRS - 2], 0.2)


def test_untrained_heads_are_the_base_model() -> None:
    heads = AdapterHeads(9, 9, 4)
    base = WordEncoder()
    adapted = AdaptedEncoder(base, heads, "fine-tuned/x")
    texts = ["pip", "a red car"]
    assert np.allclose(adapted.encode_texts(texts), base.encode_texts(texts), atol=1e-6)


def test_fine_tuning_teaches_made_up_words(
    colour_pairs: list[TrainingPair], tmp_path: Path
) -> None:
    base = WordEncoder()
    steps: list[TrainingProgress] = []
    result = run_to_end(
        fine_tune(base, colour_pairs, FAST, work_dir=tmp_path / "work"),
        lambda p: steps.append(p) if isinstance(p, TrainingProgress) else None,
    )
    assert result.heldout_after["t2i_r1"] > result.heldout_before["t2i_r1"]
    assert result.heldout_after["t2i_r1"] >= 0.75
    assert {s.phase for s in steps} >= {"features", "training"}
    assert all(s.loss is not None and s.heldout for s in steps if s.phase == "training")
    # Each new word now prefers its own colour's photos, which it did not before.
    tuned = AdaptedEncoder(base, result.heads, "fine-tuned/colours")
    photos = [p.path for p in colour_pairs]
    from PIL import Image

    images = [Image.open(p) for p in photos]
    for encoder in (base, tuned):
        vectors = encoder.encode_images(images)
        margins = []
        for colour, word in NAMES.items():
            scores = vectors @ encoder.encode_texts([word])[0]
            own = np.array([p.name.startswith(colour) for p in photos])
            margins.append(scores[own].mean() - scores[~own].mean())
        if encoder is base:
            assert np.mean(margins) < 0.2
        else:
            assert min(margins) > 0 and np.mean(margins) > 0.3, margins
    # The work folder is cleaned up once the run completes.
    assert not list((tmp_path / "work" / "runs").iterdir())


def test_cancelled_run_resumes_from_its_checkpoint(
    colour_pairs: list[TrainingPair], tmp_path: Path
) -> None:
    cancel = CancelToken()
    epochs_seen = []

    def stop_after_two(progress: object) -> None:
        if isinstance(progress, TrainingProgress) and progress.phase == "training":
            epochs_seen.append(progress.epoch)
            if progress.epoch == 2:
                cancel.cancel()

    settings = FineTuneSettings(epochs=6, views=2, rank=4, batch_size=8, patience=10)
    with pytest.raises(Cancelled):
        run_to_end(
            fine_tune(WordEncoder(), colour_pairs, settings, cancel, work_dir=tmp_path),
            stop_after_two,
        )
    assert epochs_seen == [1, 2]
    resumed: list[int] = []
    result = run_to_end(
        fine_tune(WordEncoder(), colour_pairs, settings, work_dir=tmp_path),
        lambda p: (
            resumed.append(p.epoch)
            if isinstance(p, TrainingProgress) and p.phase == "training"
            else None
        ),
    )
    assert resumed == [3, 4, 5, 6]  # epochs 1-2 came from the checkpoint
    assert result.epochs_run == 6 and len(result.history) == 6


@pytest.mark.slow
def test_blend_zero_is_the_base_and_general_check_is_scored(
    colour_pairs: list[TrainingPair], tmp_path: Path
) -> None:
    photos = [p.path for p in colour_pairs[::3]]
    labels = tuple(list(COLOURS).index(p.name.split("-")[0]) for p in photos)
    general = GeneralSet("colours", tuple(photos), labels, tuple(COLOURS))
    result = run_to_end(fine_tune(WordEncoder(), colour_pairs, FAST, general=[general]))
    # "Before" is the base model's own zero-shot score on the set.
    base = WordEncoder()
    from PIL import Image

    images = base.encode_images([Image.open(p) for p in photos])
    expected = zero_shot_accuracy(images, class_text_vectors(base, list(COLOURS)), labels)
    assert result.general_before["colours"] == pytest.approx(expected["zs_top1"], abs=1e-6)
    assert 0.0 <= result.general_after["colours"] <= 1.0
    assert 0.0 <= result.alpha <= 1.0
    record = result.record()
    assert record["heldout"]["after"] == result.heldout_after
    assert record["settings"]["rank"] == 8
    state = {k: v.clone() for k, v in result.heads.state_dict().items()}
    result.heads.set_alpha(0.0)
    with torch.no_grad():
        vectors = torch.from_numpy(WordEncoder().encode_texts(["pip"]))
        assert torch.allclose(result.heads.embed_texts(vectors), vectors, atol=1e-6)
    assert torch.equal(state["text.up.weight"], result.heads.state_dict()["text.up.weight"])


def test_fine_tune_checks_the_library_photos_it_is_given(
    colour_pairs: list[TrainingPair], tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    library = [
        save_photo(tmp_path / "library" / f"{i}.jpg", tuple(rng.integers(0, 255, 3).tolist()))
        for i in range(LIBRARY_MIN_PHOTOS + 4)
    ]
    trained = [p.path for p in colour_pairs[:3]]  # photos it trains on never count
    settings = FineTuneSettings(epochs=2, views=1, rank=4, batch_size=8)
    result = run_to_end(
        fine_tune(
            WordEncoder(), colour_pairs, settings, library=[*library, *trained], queries=["pip"]
        )
    )
    assert result.library is not None
    assert (result.library.photos, result.library.queries) == (len(library), 1)
    assert 0 <= result.library.unlike <= len(library)
    assert result.record()["library"]["photos"] == len(library)
    # Too few photos to say anything: the check is left out, and the verdict ignores it.
    few = run_to_end(fine_tune(WordEncoder(), colour_pairs, settings, library=library[:5]))
    assert few.library is None and few.record()["library"] is None


def test_unreadable_photos_are_left_out(colour_pairs: list[TrainingPair], tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    pairs = [*colour_pairs, TrainingPair(str(broken), broken, "pip")]
    settings = FineTuneSettings(epochs=1, views=1, rank=2)
    result = run_to_end(fine_tune(WordEncoder(), pairs, settings))
    assert result.skipped == 1
    assert result.pairs == len(colour_pairs)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="rank"):
        FineTuneSettings(rank=0)
    with pytest.raises(ValueError, match="side"):
        FineTuneSettings(train_image=False, train_text=False)


@pytest.mark.slow
def test_refit_trains_again_on_every_pair(colour_pairs: list[TrainingPair]) -> None:
    plain = run_to_end(fine_tune(WordEncoder(), colour_pairs, FAST))
    refit = run_to_end(fine_tune(WordEncoder(), colour_pairs, replace(FAST, refit=True)))
    # Same choices (made on the held-out split), different weights (more data seen).
    assert refit.best_epoch == plain.best_epoch and refit.alpha == plain.alpha
    assert refit.heldout_after == plain.heldout_after
    assert not torch.equal(refit.heads.text.up.weight, plain.heads.text.up.weight)


def _result(
    before: tuple[float, float, float],
    after: tuple[float, float, float],
    general: tuple[float, float] | None = None,
) -> FineTuneResult:
    keys = ("t2i_r1", "t2i_r5", "t2i_r10")
    return FineTuneResult(
        base="fake/colours-v1",
        heads=AdapterHeads(8, 8, 2),
        fingerprint="0" * 16,
        pairs=40,
        train_pairs=32,
        heldout_pairs=8,
        skipped=0,
        settings=FineTuneSettings(),
        alpha=0.5,
        epochs_run=3,
        best_epoch=2,
        seconds=1.0,
        heldout_before=dict(zip(keys, before, strict=True)),
        heldout_after=dict(zip(keys, after, strict=True)),
        general_before={"set": general[0]} if general else {},
        general_after={"set": general[1]} if general else {},
    )


@pytest.mark.parametrize(
    ("before", "after", "general", "verdict"),
    [
        ((0.2, 0.5, 0.7), (0.3, 0.6, 0.8), None, FineTuneVerdict.BETTER),
        ((0.2, 0.5, 0.7), (0.2, 0.5, 0.7), None, FineTuneVerdict.NOT_BETTER),
        ((0.2, 0.5, 0.7), (0.5, 0.4, 0.9), None, FineTuneVerdict.NOT_BETTER),  # @5 fell
        ((0.2, 0.5, 0.7), (0.3, 0.6, 0.8), (0.80, 0.785), FineTuneVerdict.BETTER),
        ((0.2, 0.5, 0.7), (0.3, 0.6, 0.8), (0.80, 0.75), FineTuneVerdict.LOST_GENERAL),
    ],
)
def test_the_activation_rule(
    before: tuple[float, float, float],
    after: tuple[float, float, float],
    general: tuple[float, float] | None,
    verdict: FineTuneVerdict,
) -> None:
    result = _result(before, after, general)
    assert result.verdict is verdict
    assert result.improved == (verdict is FineTuneVerdict.BETTER)
