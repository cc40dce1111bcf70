"""Robustness on real data: the messy-library corpus (broken, exotic, hostile files) and real
camera files. Built by shared/datasets/fetch; skipped when missing.

Each decode runs under a faulthandler watchdog, so a file that hangs a decoder fails the test
with a traceback instead of blocking the run.
"""

from __future__ import annotations

import collections
import csv
import faulthandler
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import pytest

from photosense.errors import ImageSkipped
from photosense.media.decode import decode_photo, read_metadata
from photosense.media.scan import ScannedFile, ScanProblem, is_supported, scan_folder

# Hostile files make Pillow warn (corrupt EXIF, deprecated formats); the outcome is what counts.
pytestmark = [pytest.mark.datasets, pytest.mark.filterwarnings("ignore")]
log = logging.getLogger(__name__)

KINDS = {"missing", "permission", "empty", "unsupported", "truncated", "too_large", "unreadable"}
HANG_LIMIT_S = 60  # the slowest file here (a 33-megapixel 10-bit HEIF) takes a few seconds


@contextmanager
def watchdog(what: str) -> Iterator[None]:
    """Kill the run with every thread's traceback if the block takes longer than HANG_LIMIT_S."""
    log.info("decoding %s", what)
    faulthandler.dump_traceback_later(HANG_LIMIT_S, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def decode_all(root: Path) -> dict[str, str]:
    """Decode every manifest entry; the outcome is "ok" or the ImageSkipped kind."""
    outcomes = {}
    for row in manifest(root):
        with watchdog(row["path"]):
            try:
                photo = decode_photo(root / row["path"])
            except ImageSkipped as exc:
                assert exc.reason, row["path"]
                outcomes[row["path"]] = exc.kind
                continue
        assert photo.image.mode == "RGB", row["path"]
        assert min(photo.image.size) <= 224, row["path"]
        outcomes[row["path"]] = "ok"
    return outcomes


@pytest.fixture(scope="module")
def messy_outcomes(request: pytest.FixtureRequest) -> tuple[Path, dict[str, str]]:
    root = request.getfixturevalue("messy_library")
    return root, decode_all(root)  # any exception other than ImageSkipped fails here


def test_every_file_decodes_or_is_skipped_with_a_kind(
    messy_outcomes: tuple[Path, dict[str, str]],
) -> None:
    _, outcomes = messy_outcomes
    kinds = collections.Counter(outcomes.values())
    log.info("messy-library outcomes: %s", dict(kinds))
    assert set(kinds) <= {"ok"} | KINDS
    assert kinds["ok"] > 800  # about 920 of 1,144 with pillow-heif


def test_outcomes_match_what_pillow_itself_can_load(
    messy_outcomes: tuple[Path, dict[str, str]],
) -> None:
    """`expect` says whether `Image.open(path).load()` worked when the set was built: a file
    Pillow loads must decode, and a file it cannot load must be skipped, never half-decoded."""
    root, outcomes = messy_outcomes
    env = json.loads((root / "expect_env.json").read_text())
    here = {"pillow": metadata.version("pillow"), "pillow_heif": _version("pillow-heif")}
    if any(env.get(key) != value for key, value in here.items()):
        pytest.skip(
            f"expect was computed with {env}, this is {here}; rebuild the set with "
            "`shared/datasets/fetch --force --only messy-library`"
        )
    mismatches = {
        row["path"]: (row["expect"], outcomes[row["path"]])
        for row in manifest(root)
        if (row["expect"] == "ok") != (outcomes[row["path"]] == "ok")
    }
    assert mismatches == {}


def test_trouble_makers_get_the_right_kind(messy_outcomes: tuple[Path, dict[str, str]]) -> None:
    _, outcomes = messy_outcomes
    gen = "images/generated/"
    expected = {
        gen + "zero-byte.jpg": "empty",
        gen + "text-renamed.jpg": "unsupported",
        gen + "png-named-as.jpg": "ok",
        gen + "read-only.jpg": "ok",
        gen + "Crème brûlée – 東京 été.jpg": "ok",
        "images/pillow-heif/heif_special/200MP.heic": "too_large",
    }
    links = {
        gen + "symlink-loop/dangling.jpg": "missing",
        gen + "symlink-loop/ping.jpg": "unreadable",
    }
    expected.update({path: kind for path, kind in links.items() if path in outcomes})
    assert {path: outcomes[path] for path in expected} == expected


def test_scan_terminates_and_yields_each_supported_file_once(messy_library: Path) -> None:
    with watchdog("scan of messy-library"):
        results = list(scan_folder(messy_library))
    found = [r.path for r in results if isinstance(r, ScannedFile)]
    problems = {r.path: r.kind for r in results if isinstance(r, ScanProblem)}

    assert len(found) == len(set(found))
    expected = {
        messy_library / row["path"]
        for row in manifest(messy_library)
        if is_supported(Path(row["path"]))
        and not any(part.startswith(".") for part in Path(row["path"]).parts)
    }
    assert set(found) | set(problems) == expected
    assert all(path.is_relative_to(messy_library) for path in found)
    unresolvable = {
        messy_library / row["path"] for row in manifest(messy_library) if not row["bytes"]
    }
    assert set(problems) == unresolvable & expected  # only the broken links are problems


def test_camera_photos_all_decode_with_their_metadata(camera_photos: Path) -> None:
    formats = collections.Counter()
    for row in manifest(camera_photos):
        path = camera_photos / row["path"]
        with watchdog(row["path"]):
            photo = decode_photo(path)
            assert read_metadata(path) == photo.metadata
        meta = photo.metadata
        formats[meta.format] += 1
        if row["width"]:
            stored = {int(row["width"]), int(row["height"])}
            assert {meta.width, meta.height} == stored, row["path"]
            assert min(photo.image.size) == min(224, *stored), row["path"]
    assert formats["HEIF"] >= 7
    assert sum(formats.values()) == len(manifest(camera_photos))


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
