"""The fuzz targets on their seeds and on every input that once broke them (``regressions/``),
and a short atheris run of each harness (skipped when atheris is not installed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import targets

HERE = Path(__file__).parent
REPO = HERE.parents[1]
REGRESSIONS = sorted((HERE / "regressions").glob("*/*"))


@pytest.mark.parametrize("target", list(targets.TARGETS))
def test_the_seeds_pass(target: str) -> None:
    for seed in targets.seeds(target):
        targets.TARGETS[target](seed)


@pytest.mark.parametrize(
    "found", REGRESSIONS, ids=[f"{p.parent.name}/{p.name}" for p in REGRESSIONS]
)
def test_inputs_that_once_failed_pass(found: Path) -> None:
    """Each file is an input a fuzzer found failing; the fix keeps it passing."""
    target = targets.TARGETS[found.parent.name]
    targets.seeds(found.parent.name)
    target(found.read_bytes())


def test_every_regression_has_a_known_target() -> None:
    assert {p.parent.name for p in REGRESSIONS} <= set(targets.TARGETS)


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")
def test_the_harness_fuzzes(tmp_path: Path) -> None:
    """A few hundred coverage-guided runs of one target: the harness works. The campaigns,
    minutes per target, are run by hand (see docs/reliability.md)."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.fuzz", "sidecar", str(tmp_path / "corpus")]
        + ["-runs=300", "-seed=1", f"-artifact_prefix={tmp_path}/", "-rss_limit_mb=3072"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 300 runs" in done.stderr
    assert list(tmp_path.glob("crash-*")) == []
