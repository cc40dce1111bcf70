"""Photos first: a new folder's photos are in the library before the model is loaded or has
embedded any of them, and the embedding behind them stops promptly and resumes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from photosense.arrays import Vectors
from photosense.cli.index import print_report
from photosense.indexing import ADDED_FIRST_BATCH, IndexReport
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, IndexProgress, Progress, run_to_end
from photosense.store.repository import Store

PHOTOS = 20
BATCH = 4


def make_photos(root: Path, count: int) -> list[Path]:
    """``count`` distinct small JPEGs (each its own colour, so no two share a vector)."""
    root.mkdir(parents=True)
    paths = []
    for i in range(count):
        path = root / f"photo{i:03d}.jpg"
        Image.new("RGB", (48, 32), (10 * i % 256, 255 - 10 * i % 256, 90)).save(path)
        paths.append(path)
    return paths


class WatchedEncoder(FakeEncoder):
    """The colour fake, noting what the library holds each time it is asked to encode a batch,
    and optionally cancelling the run at its first batch (a Ctrl-C while a batch is in flight)."""

    def __init__(self, store: Store, cancel_at_first_batch: CancelToken | None = None) -> None:
        super().__init__()
        self.store = store
        self.cancel = cancel_at_first_batch
        self.batches: list[tuple[int, int]] = []  # (photos, vectors) in the store at each batch

    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        photos = self.store.photos.counts()[0]
        vectors = sum(count for *_, count in self.store.vectors.models())
        self.batches.append((photos, vectors))
        if self.cancel is not None:
            self.cancel.cancel()
        return super().encode_prepared(prepared)


class Opening:
    """A library whose model is loaded only when asked for, recording when that was."""

    def __init__(self, directory: Path, cancel: CancelToken | None = None) -> None:
        self.store = Store.open(directory)
        self.encoder = WatchedEncoder(self.store, cancel)
        self.photos_when_loaded: list[int] = []

        def load(_spec: str) -> FakeEncoder:
            self.photos_when_loaded.append(self.store.photos.counts()[0])
            return self.encoder

        self.library = Library(self.store, directory, load)


def vectors_in(library: Library) -> int:
    return sum(count for model, _, _, count in library.runtime.store.vectors.models())


def test_photos_are_browsable_before_the_model_loads_or_embeds_any(tmp_path: Path) -> None:
    make_photos(tmp_path / "photos", PHOTOS)
    opening = Opening(tmp_path / "library")
    library = opening.library
    job = library.folders.index([tmp_path / "photos"], batch_size=BATCH)
    seen: list[Progress] = []
    try:
        while True:
            progress = next(job)
            seen.append(progress)
            if isinstance(progress, IndexProgress) and progress.browsable:
                # The grid can show these photos now: rows with dates, no model, no vectors.
                shown = library.photos.ids()
                assert len(shown) >= progress.browsable
                assert opening.photos_when_loaded == []
                assert vectors_in(library) == 0
    except StopIteration as stop:
        report: IndexReport = stop.value
    finally:
        library.close()

    assert report.indexed == PHOTOS
    added = [p for p in seen if isinstance(p, IndexProgress) and p.browsable]
    assert added[0].browsable == ADDED_FIRST_BATCH  # a small first batch: the first screen
    assert sum(p.browsable for p in added) == PHOTOS
    assert opening.photos_when_loaded == [PHOTOS]  # the model came after every photo
    # Every batch was encoded with every photo already in the library.
    assert [photos for photos, _ in opening.encoder.batches] == [PHOTOS] * (PHOTOS // BATCH)
    messages = [p.message for p in seen]
    assert messages.index("preparing the model") > seen.index(added[-1])


def test_cancel_while_a_batch_is_encoded_stops_after_that_batch_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photos(tmp_path / "photos", PHOTOS)
    cancel = CancelToken()
    opening = Opening(tmp_path / "library", cancel)
    with opening.library as library:
        report = run_to_end(library.folders.index([tmp_path / "photos"], cancel, batch_size=BATCH))
        assert report.cancelled
        assert len(opening.encoder.batches) == 1  # no batch after the one in flight
        assert report.indexed == vectors_in(library) == BATCH  # and that one is kept
        assert len(library.photos.ids()) == PHOTOS  # every photo stays browsable
        print_report(report, library)
        said = capsys.readouterr().out
        assert f"{BATCH} indexed" in said  # embedded
        assert f"{PHOTOS - BATCH} photos are in the library but not yet searchable" in said

        opening.encoder.cancel = None
        report = run_to_end(library.folders.index(batch_size=BATCH))
        assert not report.cancelled
        assert report.indexed == PHOTOS - BATCH  # the rest, not the first batch again
        assert report.unchanged == BATCH
        assert vectors_in(library) == PHOTOS
        assert library.search.similar(tmp_path / "photos" / "photo007.jpg").hits


def test_cancel_while_photos_are_added_keeps_those_added_and_needs_no_model(
    tmp_path: Path,
) -> None:
    make_photos(tmp_path / "photos", PHOTOS)
    cancel = CancelToken()
    opening = Opening(tmp_path / "library")
    with opening.library as library:

        def stop_once_browsable(progress: Progress) -> None:
            if isinstance(progress, IndexProgress) and progress.browsable:
                cancel.cancel()

        job = library.folders.index([tmp_path / "photos"], cancel, batch_size=BATCH)
        report = run_to_end(job, stop_once_browsable)
        assert report.cancelled
        assert len(library.photos.ids()) == ADDED_FIRST_BATCH
        assert opening.photos_when_loaded == []  # the model was never needed

        report = run_to_end(library.folders.index(batch_size=BATCH))
        assert report.indexed == PHOTOS
        assert len(library.photos.ids()) == vectors_in(library) == PHOTOS


def test_a_photo_whose_pixels_cannot_be_read_is_shown_then_skipped_with_its_reason(
    tmp_path: Path,
) -> None:
    make_photos(tmp_path / "photos", 3)
    damaged = tmp_path / "photos" / "damaged.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (400, 600, 3), np.uint8)
    Image.fromarray(noise).save(damaged, quality=95)
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 3])
    opening = Opening(tmp_path / "library")
    with opening.library as library:
        report = run_to_end(library.folders.index([tmp_path / "photos"], batch_size=BATCH))
        assert report.indexed == 3
        assert [Path(s.path).name for s in report.skipped] == ["damaged.jpg"]
        assert [Path(s.path).name for s in library.folders.skipped()] == ["damaged.jpg"]
        # Added with the others (its header is fine), removed once its pixels failed.
        assert opening.photos_when_loaded == [4]
        assert len(library.photos.ids()) == vectors_in(library) == 3

        report = run_to_end(library.folders.index(batch_size=BATCH))  # not tried again
        assert (report.indexed, report.unchanged, len(report.skipped)) == (0, 3, 1)
        assert len(opening.encoder.batches) == 1


@pytest.mark.parametrize("copies", [1, 3])
def test_a_copy_of_an_embedded_photo_reuses_its_vector(tmp_path: Path, copies: int) -> None:
    photos = make_photos(tmp_path / "photos", 2)
    opening = Opening(tmp_path / "library")
    with opening.library as library:
        run_to_end(library.folders.index([tmp_path / "photos"], batch_size=BATCH))
        for i in range(copies):
            (tmp_path / "photos" / f"copy{i}.jpg").write_bytes(photos[0].read_bytes())
        report = run_to_end(library.folders.index(batch_size=BATCH))
        assert report.indexed == copies
        assert len(opening.encoder.batches) == 1  # the copies were not encoded
        same = [photos[0], *(tmp_path / "photos" / f"copy{i}.jpg" for i in range(copies))]
        vectors = library.runtime.index().vectors_for(library.photos.resolve_ids(same))
        assert len(vectors) == 1 + copies
        np.testing.assert_array_equal(vectors, np.repeat(vectors[:1], 1 + copies, axis=0))
