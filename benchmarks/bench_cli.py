"""The command line end to end: how long `photosense search`, `similar`, `status` take.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_cli.py [--photos 40] [--runs 7]
        [--model SPEC] [--baseline /path/to/other/worktree] [--torch-too] [--export-cost]

Each command runs as a fresh subprocess (`python -m photosense ...`), as a user's shell runs it,
``--runs`` times after one untimed warm-up; the table gives the median and the minimum wall time
and the median CPU time (user + system), which a busy machine stretches far less.
The library holds ``--photos`` generated photos indexed with ``--model`` (default: the real
starter; e.g. ``open_clip/ViT-B-32/random-seed0`` for a ViT-B-32-sized CLIP with random weights,
made active with `models use`), built once and cached in ~/.cache/photosense-bench (about a
minute for 40 photos on two cores); an empty library answers the "nothing indexed" case.
``--baseline`` runs the same commands with another checkout first on the path (e.g. a worktree
of the previous commit), ``--torch-too`` with ``PHOTOSENSE_ONNX=0`` (queries through torch, as
the app's escape hatch does; for an open_clip model, the whole model as before its light query
encoder). Variants run interleaved, so a change in the machine's load touches them alike.
``--export-cost`` then deletes the model's query export from the cache and times the search
that makes it again (the one-time cost `photosense index` normally pays), with the export's own
seconds from its log line.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import CACHE, machine
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
QUERY = "a red circle on a blue background"
SHAPES = ("ellipse", "rectangle", "stripes", "triangle")
COLOURS = (
    (220, 30, 30),
    (30, 90, 220),
    (40, 170, 60),
    (240, 200, 40),
    (250, 250, 250),
    (20, 20, 20),
)


def make_photos(folder: Path, count: int) -> list[Path]:
    """``count`` small JPEGs: a few shapes in a few colours on varied backgrounds."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        path = folder / f"photo-{i:03d}.jpg"
        made.append(path)
        if path.is_file():
            continue
        back = COLOURS[i % len(COLOURS)]
        fore = COLOURS[(i * 5 + 1) % len(COLOURS)]
        image = Image.new("RGB", (480, 360), back)
        draw = ImageDraw.Draw(image)
        shape = SHAPES[(i // len(COLOURS)) % len(SHAPES)]
        box = (60 + i % 7 * 10, 40 + i % 5 * 12, 380 - i % 3 * 20, 300 - i % 4 * 15)
        if shape == "ellipse":
            draw.ellipse(box, fill=fore)
        elif shape == "rectangle":
            draw.rectangle(box, fill=fore)
        elif shape == "triangle":
            draw.polygon(
                [(box[0], box[3]), (box[2], box[3]), ((box[0] + box[2]) // 2, box[1])], fore
            )
        else:
            for x in range(0, 480, 40):
                draw.rectangle((x, 0, x + 18, 360), fill=fore)
        image.save(path, quality=90)
    return made


def photosense(
    tree: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Run ``python -m photosense ARGS`` with ``tree`` first on the path; its wall seconds and
    CPU seconds (user + system: on a shared machine the wall time mostly measures the load)."""
    wall, cpu, _ = run(tree, home, *args, env=env)
    return wall, cpu


def run(
    tree: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """:func:`photosense`, with the command's stderr."""
    environment = {**os.environ, "PYTHONPATH": str(tree), "PHOTOSENSE_HOME": str(home)}
    environment.update(env or {})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "photosense", *args],
        cwd=tree,  # `-m` puts the working directory first on the path, before PYTHONPATH
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if done.returncode not in (0, 1):
        sys.exit(f"photosense {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, cpu, done.stderr


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare against")
    parser.add_argument("--torch-too", action="store_true", help="also with PHOTOSENSE_ONNX=0")
    parser.add_argument("--model", default="starter", help="the library's model (a spec)")
    parser.add_argument(
        "--export-cost", action="store_true", help="time a search that re-makes the export"
    )
    args = parser.parse_args()

    starter = args.model == "starter"
    slug = "" if starter else "-" + re.sub(r"[^A-Za-z0-9.-]+", "-", args.model)
    root = CACHE / f"cli-{args.photos}{slug}"
    home = root / "home"
    library, empty = root / "library", root / "empty"
    photos = make_photos(root / "photos", args.photos)
    if not (library / "library.sqlite3").is_file():
        print(f"indexing {len(photos)} photos with {args.model}...", file=sys.stderr)
        if not starter:
            photosense(REPO, home, "--library", str(library), "models", "use", args.model)
        argv = ["--library", str(library), "index", str(root / "photos")]
        seconds, _ = photosense(REPO, home, *argv)
        print(f"indexed in {seconds:.0f} s", file=sys.stderr)
        if not starter:
            photosense(REPO, home, "--library", str(empty), "models", "use", args.model)

    variants: list[tuple[str, Path, dict[str, str]]] = []
    if args.baseline is not None:
        variants.append((f"baseline ({args.baseline.name})", args.baseline.resolve(), {}))
    if args.torch_too:
        variants.append(("this tree, PHOTOSENSE_ONNX=0", REPO, {"PHOTOSENSE_ONNX": "0"}))
    variants.append(("this tree", REPO, {}))

    cases = {
        "--help": ["--help"],
        "status": ["--library", str(library), "status"],
        "search": ["--library", str(library), "search", QUERY],
        "similar": ["--library", str(library), "similar", str(photos[0])],
        "search, empty library": ["--library", str(empty), "search", QUERY],
    }
    print(f"machine: {machine()}")
    print(f"load before: {load()}")
    print(f"library: {args.photos} generated photos, model {args.model}; {args.runs} runs each\n")
    print("| command | variant | wall median s | wall min s | CPU median s |")
    print("|---|---|---|---|---|")
    for case, argv in cases.items():
        times: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in variants}
        for _, tree, env in variants:
            photosense(tree, home, *argv, env=env)  # warm-up: file cache, the ONNX export
        for _ in range(args.runs):
            for name, tree, env in variants:
                times[name].append(photosense(tree, home, *argv, env=env))
        for name, _, _ in variants:
            wall, cpu = [w for w, _ in times[name]], [c for _, c in times[name]]
            print(
                f"| `{case}` | {name} | {statistics.median(wall):.2f} | {min(wall):.2f} "
                f"| {statistics.median(cpu):.2f} |"
            )
    print(f"\nload after: {load()}")
    if args.export_cost:
        export_cost(home, library)


def export_cost(home: Path, library: Path) -> None:
    """Delete the query exports in ``home``'s cache, then time the search that re-makes one."""
    cache = home / "cache" / "models"
    for file in cache.glob("*text-*.onnx*"):
        file.unlink()
    argv = ["--verbose", "--library", str(library), "search", QUERY]
    wall, cpu, log = run(REPO, home, *argv)
    export = re.search(r"Exported a text tower to \S+ in ([0-9.]+) s", log)
    made = sorted(cache.glob("*text-*.onnx*"))
    size = sum(file.stat().st_size for file in made) / 1e6
    print(f"\nload before the export: {load()}")
    print(
        f"search with the export missing: wall {wall:.2f} s, CPU {cpu:.2f} s; the export itself "
        f"{export.group(1) if export else '?'} s wall; {len(made)} files, {size:.0f} MB"
    )
    wall, cpu = photosense(REPO, home, "--library", str(library), "search", QUERY)
    print(f"the next search: wall {wall:.2f} s, CPU {cpu:.2f} s")


if __name__ == "__main__":
    main()
