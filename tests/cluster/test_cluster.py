"""Indexing on a real Ray cluster on this machine: the same library as one machine would make,
a worker killed mid-run, a cancelled run carried on, and what the workers cannot do."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable, Generator
from pathlib import Path

import numpy as np
import pytest

from photosense.cluster import Cluster, ClusterEmbedding
from photosense.errors import ClusterFilesError, ClusterModelError
from photosense.library import IndexReport, Library
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, IndexProgress, Progress, run_to_end
from photosense.store.repository import Store
from tests.cli_run import run_json
from tests.cluster import workers
from tests.conftest import save_photo

pytest.importorskip(
    "ray", reason="Ray is not installed: the cluster tests need `pip install 'photosense[cluster]'`"
)

pytestmark = [pytest.mark.slow, pytest.mark.enable_socket, pytest.mark.usefixtures("ray_cluster")]

TINY = "photosense-tiny"


def many_photos(root: Path, count: int) -> Path:
    for i in range(count):
        save_photo(root / f"{i // 10:02d}" / f"photo{i:03d}.jpg", (i * 7 % 256, 90, 160))
    return root


def vectors_by_name(library: Library) -> dict[str, np.ndarray]:
    model_id = library.models.current().model_id
    index = library.runtime.indexes.get(model_id)
    assert index is not None
    photos = list(library.photos.get(library.photos.ids()).values())
    vectors = index.vectors_for([p.id for p in photos])
    return {Path(p.path).name: v for p, v in zip(photos, vectors, strict=True)}


def vector_rows(library: Library) -> int:
    return sum(count for _, _, _, count in library.store.vectors.models())


def test_a_cluster_indexes_a_folder_as_one_machine_does(tmp_path: Path, photo_dir: Path) -> None:
    with (
        Library.open(tmp_path / "here", model=TINY) as here,
        Library.open(tmp_path / "there", model=TINY) as there,
    ):
        alone = run_to_end(here.folders.index([photo_dir]))
        report = run_to_end(there.folders.index([photo_dir], cluster="local", cluster_workers=2))

        assert (report.indexed, report.unchanged, report.moved) == (4, 0, 0)
        assert [(s.path, s.kind, s.reason) for s in report.skipped] == [
            (s.path, s.kind, s.reason) for s in alone.skipped
        ]
        mine, theirs = vectors_by_name(here), vectors_by_name(there)
        assert sorted(theirs) == sorted(mine)
        for name, vector in mine.items():
            np.testing.assert_allclose(theirs[name], vector, atol=1e-5)
        assert vector_rows(there) == 4
        assert there.search.text("a photo").hits  # its index answers searches


def test_rescans_moves_and_skips_on_a_cluster(tmp_path: Path, photo_dir: Path) -> None:
    with Library.open(tmp_path / "lib", model=TINY) as lib:
        run_to_end(lib.folders.index([photo_dir], cluster="local"))
        before = vectors_by_name(lib)["red.jpg"]
        (photo_dir / "red.jpg").rename(photo_dir / "trips" / "rouge.jpg")
        save_photo(photo_dir / "new.jpg", (10, 200, 90))

        report = run_to_end(lib.folders.index([], cluster="local"))

        assert (report.indexed, report.moved, report.unchanged) == (1, 1, 3)
        assert [Path(s.path).name for s in report.skipped] == ["broken.jpg"]
        np.testing.assert_array_equal(vectors_by_name(lib)["rouge.jpg"], before)
        again = run_to_end(lib.folders.index([], cluster="local"))
        assert (again.indexed, again.unchanged) == (0, 5)


def drive(
    job: Generator[Progress, None, IndexReport], on_batch: Callable[[IndexProgress], object]
) -> IndexReport:
    """Run an index job, calling ``on_batch`` after each committed batch of vectors."""
    try:
        while True:
            step = next(job)
            if isinstance(step, IndexProgress) and step.message == "indexing" and step.done:
                on_batch(step)
    except StopIteration as stop:
        report: IndexReport = stop.value
        return report


def test_a_worker_killed_mid_run_loses_no_photo_and_indexes_none_twice(tmp_path: Path) -> None:
    photos = many_photos(tmp_path / "photos", 60)
    pids = tmp_path / "pids"
    killed: list[int] = []

    def kill_a_worker(step: IndexProgress) -> None:
        alive = sorted(workers.worker_pids(pids))
        if not killed and alive and step.done < (step.total or 0):
            os.kill(alive[0], signal.SIGKILL)
            killed.append(alive[0])

    factory = functools.partial(workers.slow_encoder, pids, 0.3)
    with Library(Store.open(tmp_path / "lib"), tmp_path / "lib", factory) as lib:
        job = lib.folders.index([photos], batch_size=4, cluster="local", cluster_workers=2)
        report = drive(job, kill_a_worker)

        assert killed, "the run ended before a worker could be killed"
        assert not report.cancelled
        assert (report.indexed, len(report.skipped)) == (60, 0)
        assert vector_rows(lib) == 60
        assert len(workers.worker_pids(pids)) >= 3  # Ray started another in its place
        again = run_to_end(lib.folders.index([], cluster="local"))
        assert (again.indexed, again.unchanged) == (0, 60)


def test_a_cancelled_cluster_run_is_carried_on_by_the_next(tmp_path: Path) -> None:
    photos = many_photos(tmp_path / "photos", 40)
    cancel = CancelToken()
    factory = functools.partial(workers.slow_encoder, tmp_path / "pids", 0.2)
    with Library(Store.open(tmp_path / "lib"), tmp_path / "lib", factory) as lib:
        job = lib.folders.index([photos], cancel, batch_size=4, cluster="local")
        first = drive(job, lambda _step: cancel.cancel())

        assert first.cancelled
        assert 0 < first.indexed < 40
        assert vector_rows(lib) == first.indexed
        assert len(lib.photos.ids()) == 40  # every photo was added, and can be browsed
        second = run_to_end(lib.folders.index([], batch_size=4, cluster="local"))
        assert first.indexed + second.indexed == 40
        assert vector_rows(lib) == 40


def test_workers_that_cannot_load_the_model_stop_the_run_keeping_the_photos(
    tmp_path: Path, photo_dir: Path
) -> None:
    factory = functools.partial(workers.only_here, os.getpid())
    with Library(Store.open(tmp_path / "lib"), tmp_path / "lib", factory) as lib:
        with pytest.raises(ClusterModelError) as raised:
            run_to_end(lib.folders.index([photo_dir], cluster="local"))

        assert raised.value.model_id == FakeEncoder().model_id
        assert "not on this node" in raised.value.reason
        assert len(lib.photos.ids()) == 4
        assert vector_rows(lib) == 0
        alone = run_to_end(lib.folders.index([]))  # on this machine, the run carries on
        assert alone.indexed == 4


def test_photos_the_workers_cannot_see_are_an_error_not_skips(photo_dir: Path) -> None:
    step = ClusterEmbedding(Cluster("local"), FakeEncoder, "fake")
    present = str(photo_dir / "red.jpg")
    batch = {
        "photo_id": np.array([1]),
        "path": np.array([present], dtype=object),
        "vector": np.zeros((1, 9), np.float32),
        "kind": np.array(["missing"], dtype=object),
        "reason": np.array(["the file is not there"], dtype=object),
    }
    with pytest.raises(ClusterFilesError) as raised:
        step._answers(batch)
    assert raised.value.path == present
    batch["path"] = np.array([str(photo_dir / "gone.jpg")], dtype=object)
    [answer] = step._answers(batch)  # gone here too: a skip the next run looks at again
    assert answer.skipped is not None and answer.skipped.kind == "missing"


def test_index_on_a_cluster_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    args = ("--library", lib, "--model", TINY, "index", photo_dir, "--json")
    report = run_json(capsys, *args, "--cluster", "local", "--cluster-workers", "2")

    assert (report["indexed"], report["cancelled"]) == (4, False)
    assert [Path(s["path"]).name for s in report["skipped"]] == ["broken.jpg"]
    again = run_json(capsys, *args[:-1], "--json", "--cluster", "local")
    assert (again["indexed"], again["unchanged"]) == (0, 4)
