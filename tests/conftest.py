"""Shared fixtures: a sandboxed home, generated photos, and a library over a fake encoder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import pytest_socket
from PIL import Image, ImageDraw

from photosense import paths
from tests.hub_cache import empty_hub  # noqa: F401  (a shared fixture)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

DATASETS = Path(os.environ.get("PHOTOSENSE_DATASETS", "~/.cache/photosense-datasets")).expanduser()


def dataset(name: str) -> Path:
    """The evaluation set ``name``, or skip the test with how to build it."""
    path = DATASETS / name
    if not (path / ".complete").is_file():
        pytest.skip(
            f"{name} not found in {DATASETS}; build it with "
            f"`shared/datasets/fetch --only {name}` (or set PHOTOSENSE_DATASETS)"
        )
    return path


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest) -> None:
    """No test reaches the network: a socket of any family but AF_UNIX fails to open.

    A test that must talk to a server (a real model download) says so with
    ``@pytest.mark.enable_socket``; pytest-socket restores sockets after each test.
    """
    if request.node.get_closest_marker("enable_socket") is None:
        pytest_socket.disable_socket(allow_unix_socket=True)


@pytest.fixture(autouse=True)
def _sandbox_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test touches a real user's library or cache, nor the library an earlier test opened."""
    monkeypatch.setenv("PHOTOSENSE_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setattr(paths, "_chosen_library", None)


@pytest.fixture(autouse=True)
def _no_photo_analyses(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexing in tests runs no face or text reader (real models, seconds per test) unless the
    test is marked ``analyses``; tests of an analysis register their own (often a fake)."""
    if request.node.get_closest_marker("analyses") is None:
        from photosense.library import analysis

        monkeypatch.setattr(analysis, "FACTORIES", {})


COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (30, 40, 220),
    "yellow": (240, 220, 30),
}


def save_photo(
    path: Path,
    colour: str | tuple[int, int, int],
    *,
    taken: datetime | None = None,
    size: tuple[int, int] = (96, 64),
) -> Path:
    """Write a JPEG filled with one colour (and a darker shape), optionally with an EXIF date."""
    rgb = COLOURS[colour] if isinstance(colour, str) else colour
    image = Image.new("RGB", size, rgb)
    ImageDraw.Draw(image).ellipse((10, 10, 40, 40), fill=tuple(int(c * 0.8) for c in rgb))
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if taken is not None:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A small folder of photos: four colours, a nested one, a hidden one, a broken one."""
    root = tmp_path / "Pictures"
    save_photo(root / "red.jpg", "red", taken=datetime(2021, 6, 1, 12, 0))
    save_photo(root / "green.jpg", "green", taken=datetime(2022, 7, 2, 12, 0))
    save_photo(root / "trips" / "blue.jpg", "blue", taken=datetime(2023, 8, 3, 12, 0))
    save_photo(root / "trips" / "Crème brûlée – 東京.jpg", "yellow", taken=datetime(2024, 9, 4))
    save_photo(root / ".hidden" / "secret.jpg", "red")
    (root / "broken.jpg").write_bytes(b"this is not a JPEG at all")
    (root / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture
def fake_library(tmp_path: Path) -> Iterator[object]:
    """A file-backed library whose model is the deterministic colour encoder."""
    from photosense.library import Library
    from photosense.models.fake import FakeEncoder
    from photosense.store.repository import Store

    directory = tmp_path / "library"
    store = Store.open(directory)
    library = Library(store, directory, lambda _spec: FakeEncoder())
    yield library
    library.close()
