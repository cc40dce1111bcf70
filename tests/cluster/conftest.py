"""A real Ray cluster on this machine for the cluster tests (they skip where Ray is missing)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_CPUS = 3
"""Worker processes' CPU slots: room for two or three model workers at once."""


@pytest.fixture(scope="package")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A local Ray cluster (a head and its worker processes) for the cluster tests alone: it
    stops after them, so no other test runs beside Ray's threads and processes.

    Its workers import photosense and these tests from this checkout, with a home of their
    own. Runs connect to it (``Cluster.connect`` uses this session) and leave it running.
    """
    import ray

    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    home = str(tmp_path_factory.mktemp("worker-home"))
    ray.init(
        num_cpus=CLUSTER_CPUS,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "PHOTOSENSE_HOME": home}},
    )
    try:
        yield
    finally:
        ray.shutdown()
