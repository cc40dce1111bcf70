"""`photosense index` in a terminal, as a user sees it: first output, progress, and Ctrl-C.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_index_cli.py [--photos 40] [--interrupt-after 3]

Runs the real command with the real (offline starter) model in a pseudo-terminal on a fresh
library of ``--photos`` generated 1024x768 JPEGs, twice: once to the end, recording when the
first output appears, when the photos are in the library (their rows, before any vector) and
when it ends; once interrupted with one Ctrl-C ``--interrupt-after`` seconds after the embedding
started (a batch is then in flight), recording how long the process takes to exit; and once so
interrupted after "preparing tags" shows (the new library embedding its tag vocabulary, the
longest step of a first run). The model's
class vectors are cached in ``~/.cache/photosense-bench/index-cli/home`` after the first run, as
they are for a user after their first library. The last screen of each run is printed.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import sqlite3
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from _common import CACHE, machine
from bench_gui import make_image_files

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def photos_in(library: Path) -> tuple[int, int]:
    """(photo rows, vector rows) in a library database, 0 while it does not exist yet."""
    database = library / "library.sqlite3"
    if not database.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.05) as db:
            photos = db.execute("select count(*) from photos").fetchone()[0]
            vectors = db.execute("select count(*) from embeddings").fetchone()[0]
            return int(photos), int(vectors)
    except sqlite3.Error:
        return 0, 0


def run(
    photos: Path, home: Path, interrupt_after: float | None, during: str = "embedding"
) -> dict[str, object]:
    """Run ``photosense index`` in a pseudo-terminal; what appeared when, and the last screen.

    With ``interrupt_after``, one Ctrl-C that many seconds into ``during``: "embedding" (the
    first vectors are in) or "preparing tags" (the step shows on screen)."""
    library = Path(tempfile.mkdtemp(prefix="bench-index-cli-")) / "library"
    env = dict(os.environ, PHOTOSENSE_HOME=str(home))
    argv = [sys.executable, "-m", "photosense", "--library", str(library), "index", str(photos)]
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # a terminal of 100 x 30, as a window would have (a new pty has 0 x 0)
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.chdir(library.parent)  # so that `-m photosense` takes the code PYTHONPATH names
        os.execve(sys.executable, argv, env)
    output = b""
    figures: dict[str, object] = {}
    interrupted_at: float | None = None
    embedding_at: float | None = None
    text = ""
    while True:
        now = time.perf_counter() - started
        ready, _, _ = select.select([fd], [], [], 0.02)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            output += chunk
            figures.setdefault("first_output_s", round(now, 2))
            text = ANSI.sub("", output.decode("utf-8", "replace"))
            if re.search(r"\d+(\.\d+)?(photo|it)/s", text):
                figures.setdefault("first_rate_s", round(now, 2))
        rows, vectors = photos_in(library)
        if rows:
            figures.setdefault("first_rows_s", round(now, 2))
        if vectors:
            figures.setdefault("first_vectors_s", round(now, 2))
            if during == "embedding":
                embedding_at = embedding_at or now
        if during == "preparing tags" and "preparing tags" in text:
            embedding_at = embedding_at or now
        if (
            interrupt_after is not None
            and interrupted_at is None
            and embedding_at is not None
            and now - embedding_at >= interrupt_after
        ):
            os.kill(pid, signal.SIGINT)
            interrupted_at = now
    _, status = os.waitpid(pid, 0)
    ended = time.perf_counter() - started
    figures["exit_status"] = os.waitstatus_to_exitcode(status)
    figures["total_s"] = round(ended, 2)
    if interrupted_at is not None:
        figures["ctrl_c_to_exit_s"] = round(ended - interrupted_at, 2)
    figures["photos_vectors_at_end"] = photos_in(library)
    screen = ANSI.sub("", output.decode("utf-8", "replace"))
    figures["last_screen"] = [line for line in re.split(r"[\r\n]", screen) if line.strip()][-6:]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--interrupt-after", type=float, default=3.0)
    args = parser.parse_args()
    root = CACHE / "index-cli"
    photos = root / f"photos-{args.photos}"
    make_image_files(photos, args.photos)
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    runs = (
        ("to the end", None, "embedding"),
        ("Ctrl-C while a batch is encoded", args.interrupt_after, "embedding"),
        ("Ctrl-C while tags are prepared", args.interrupt_after, "preparing tags"),
    )
    for name, interrupt, during in runs:
        figures = run(photos, home, interrupt, during)
        screen = figures.pop("last_screen")
        print(f"\n## {name}: {figures}")
        for line in screen:  # type: ignore[attr-defined]
            print(f"    | {line}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
