"""Shared bits of the benchmarks: the machine description and dataset lookup."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

DATASETS = Path(os.environ.get("PHOTOSENSE_DATASETS", "~/.cache/photosense-datasets")).expanduser()
CACHE = Path(os.environ.get("PHOTOSENSE_BENCH_CACHE", "~/.cache/photosense-bench")).expanduser()


def dataset(name: str) -> Path:
    path = DATASETS / name
    if not (path / ".complete").is_file():
        sys.exit(
            f"{name} not found in {DATASETS}: build it with "
            f"`shared/datasets/fetch --only {name}` (or set PHOTOSENSE_DATASETS)"
        )
    return path


def machine() -> str:
    """One line naming the CPU, cores and memory the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
