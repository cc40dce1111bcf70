"""The analysis runner: each photo analysed once per content and version, resumably."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from PIL import Image

from photosense.analysis.base import AnalysisFailed, Outcome, marks
from photosense.analysis.runner import analyse
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import CancelToken, run_to_end
from photosense.store.repository import Store
from tests.conftest import save_photo
from tests.store.conftest import add_photos


class Brightness:
    """A fake analysis: a photo's mean brightness; "finds" something in bright photos."""

    kind = "brightness"
    max_side = 32

    def __init__(self, store: Store, version: str = "1", fail_on: str | None = None) -> None:
        self.store = store
        self.version = version
        self.fail_on = fail_on
        self.seen: list[tuple[int, int]] = []  # sizes of the images analysed
        self.saved: dict[int, float | None] = {}
        self.on_save: list[object] = []
        self._lock = threading.Lock()

    def analyse(self, image: Image.Image) -> float:
        with self._lock:
            self.seen.append(image.size)
        level = float(image.convert("L").resize((1, 1)).getpixel((0, 0))) / 255  # type: ignore[arg-type]
        if self.fail_on == "dark" and level < 0.2:
            raise AnalysisFailed("too dark to see anything")
        return float(level)

    def found(self, result: float) -> int:
        return int(result > 0.5)

    def save(self, outcomes: Mapping[int, Outcome[float]]) -> None:
        for hook in self.on_save:
            hook()  # type: ignore[operator]
        marked = self.store.analyses.record(self.kind, self.version, marks(self, outcomes))
        self.saved.update({i: o.result for i, o in outcomes.items() if i in marked})


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    save_photo(root / "red.jpg", "red", size=(300, 200))
    save_photo(root / "yellow.jpg", "yellow", size=(120, 400))
    save_photo(root / "dark.jpg", (10, 10, 12))
    save_photo(root / "trips" / "blue.jpg", "blue")
    return root


@pytest.fixture
def analysers() -> dict[str, Brightness]:
    return {}


@pytest.fixture
def library(tmp_path: Path, analysers: dict[str, Brightness]) -> Iterator[Library]:
    directory = tmp_path / "library"
    store = Store.open(directory)

    def factory(store: Store) -> Brightness:
        analysers["brightness"] = Brightness(store)
        return analysers["brightness"]

    with Library(
        store, directory, lambda _spec: FakeEncoder(), analysers={"brightness": factory}
    ) as library:
        yield library


def test_indexing_analyses_each_photo_once(
    library: Library, photos: Path, analysers: dict[str, Brightness]
) -> None:
    run_to_end(library.folders.index([photos]))
    fake = analysers["brightness"]
    assert len(fake.seen) == 4
    assert all(max(size) <= fake.max_side for size in fake.seen)  # decoded small, not full size
    counts = library.analysis.counts("brightness")
    assert (counts.analysed, counts.pending, counts.failed) == (4, 0, 0)
    assert counts.found_photos == 1  # yellow is the one bright photo

    run_to_end(library.folders.index([photos]))
    assert len(fake.seen) == 4  # nothing new to look at


def test_a_changed_file_or_a_new_version_is_analysed_again(
    library: Library, photos: Path, analysers: dict[str, Brightness]
) -> None:
    run_to_end(library.folders.index([photos]))
    fake = analysers["brightness"]
    save_photo(photos / "red.jpg", "yellow", size=(300, 201))
    run_to_end(library.folders.index([photos]))
    assert len(fake.seen) == 5
    red = library.photos.resolve(str(photos / "red.jpg")).id
    assert fake.saved[red] is not None and fake.saved[red] > 0.5

    fake.version = "2"
    assert library.analysis.counts("brightness").pending == 4
    run_to_end(library.analysis.run())
    assert len(fake.seen) == 9


def test_a_failure_is_kept_with_its_reason_and_not_retried(
    library: Library, photos: Path, analysers: dict[str, Brightness]
) -> None:
    run_to_end(library.folders.index([photos]), None)
    fake = analysers["brightness"]
    fake.fail_on, fake.version = "dark", "3"
    report = run_to_end(library.analysis.run())
    assert report.analysed == {"brightness": 4} and report.failed == {"brightness": 1}
    dark = library.photos.resolve(str(photos / "dark.jpg")).id
    assert library.store.analyses.failures("brightness") == {dark: "too dark to see anything"}
    assert library.analysis.counts("brightness").failed == 1
    run_to_end(library.analysis.run())
    assert len(fake.seen) == 8  # the failed photo waits for its file to change


def test_an_unreadable_file_is_a_failure_not_a_crash(
    library: Library, photos: Path, analysers: dict[str, Brightness]
) -> None:
    library.analysis.set_enabled("brightness", False)
    run_to_end(library.folders.index([photos]))
    (photos / "red.jpg").write_bytes(b"damaged since it was indexed")
    library.analysis.set_enabled("brightness", True)
    report = run_to_end(library.analysis.run())
    assert report.failed == {"brightness": 1}
    [reason] = library.store.analyses.failures("brightness").values()
    assert "damaged" in reason or "read" in reason or "identif" in reason


def test_a_stopped_run_resumes_without_analysing_a_photo_twice(
    tmp_path: Path, library: Library, analysers: dict[str, Brightness]
) -> None:
    root = tmp_path / "Many"
    for i in range(40):
        save_photo(root / f"{i:02}.jpg", (i * 6, 100, 100))
    library.analysis.set_enabled("brightness", False)
    run_to_end(library.folders.index([root]))
    cancel = CancelToken()
    fake = library.analysis.analyser("brightness")
    assert isinstance(fake, Brightness)
    job = library.analysis.run(["brightness"], cancel, workers=1)
    fake.on_save.append(cancel.cancel)  # stop once the first batch is being saved
    report = run_to_end(job)
    assert report.cancelled and 0 < report.analysed["brightness"] < 40
    first = report.analysed["brightness"]

    fake.on_save.clear()
    report = run_to_end(library.analysis.run(["brightness"]))
    assert not report.cancelled and report.analysed["brightness"] == 40 - first
    assert len(fake.saved) == 40
    assert library.analysis.counts("brightness").pending == 0


def test_a_photo_removed_during_the_run_is_left_out(tmp_path: Path, library: Library) -> None:
    first, second = tmp_path / "First", tmp_path / "Second"
    save_photo(first / "a.jpg", "red")
    save_photo(first / "b.jpg", "green")
    save_photo(second / "c.jpg", "blue")
    library.analysis.set_enabled("brightness", False)
    run_to_end(library.folders.index([first, second]))
    fake = library.analysis.analyser("brightness")
    assert isinstance(fake, Brightness)
    fake.on_save.append(lambda: library.folders.remove(second))
    report = run_to_end(library.analysis.run(["brightness"]))
    assert report.analysed == {"brightness": 3}
    assert len(fake.saved) == 2  # c.jpg went with its folder before it could be saved
    assert library.analysis.counts("brightness").pending == 0


def test_an_analysis_switched_off_does_not_run(
    library: Library, photos: Path, analysers: dict[str, Brightness]
) -> None:
    assert library.analysis.kinds() == ["brightness"]
    assert library.analysis.enabled("brightness")
    library.analysis.set_enabled("brightness", False)
    run_to_end(library.folders.index([photos]))
    assert "brightness" not in analysers  # not even built: no model loaded
    assert not library.analysis.enabled("brightness")
    with pytest.raises(KeyError, match="known: brightness"):
        library.analysis.enabled("faces")


def test_a_run_cancelled_before_it_starts_yields_nothing() -> None:
    cancel = CancelToken()
    cancel.cancel()
    with Store.in_memory() as store:
        add_photos(store, "/p", ["a.jpg"])
        job = analyse(store, [_NeverCalled()], cancel)
        with pytest.raises(StopIteration) as stopped:
            next(job)
    assert stopped.value.value.cancelled


class _NeverCalled:
    kind, version, max_side = "never", "1", 64

    def analyse(self, image: object) -> None:
        raise AssertionError("a cancelled run analysed a photo")

    def found(self, result: object) -> int:
        return 0

    def save(self, outcomes: object) -> None:
        raise AssertionError("a cancelled run saved")
