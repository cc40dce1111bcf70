"""The real stack end to end: a tiny random open_clip model through the CLI, two processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def photosense(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "photosense", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_tiny_open_clip_model_indexes_and_answers_across_processes(
    tmp_path: Path, photo_dir: Path
) -> None:
    lib = tmp_path / "lib"
    first = photosense("--library", lib, "--model", "photosense-tiny", "index", photo_dir, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["indexed"] == 4 and len(report["skipped"]) == 1

    # A second process reloads the same random weights (seeded) and the saved index.
    found = photosense("--library", lib, "search", "a sunset by the sea", "--json")
    assert found.returncode == 0, found.stderr
    doc = json.loads(found.stdout)
    assert doc["model"] == "open_clip/photosense-tiny/random-seed0"
    assert len(doc["results"]) == 4
    scores = [r["score"] for r in doc["results"]]
    assert scores == sorted(scores, reverse=True)
    assert doc["good"] == 0  # random weights know nothing: no good match, only the closest

    # Indexing named the photos' colours: a query of a colour alone lists the photos of it.
    red = photosense("--library", lib, "search", "a red photo", "--json")
    assert red.returncode == 0, red.stderr
    doc = json.loads(red.stdout)
    assert doc["reading"]["colours"] == ["red"]
    assert [r["path"] for r in doc["results"]] == [str(photo_dir / "red.jpg")]

    similar = photosense("--library", lib, "similar", photo_dir / "red.jpg", "--json")
    assert similar.returncode == 0, similar.stderr
    assert len(json.loads(similar.stdout)["results"]) == 3
    # The photo is its own nearest neighbour in the index, so it must not come back.
    assert str(photo_dir / "red.jpg") not in [
        r["path"] for r in json.loads(similar.stdout)["results"]
    ]
