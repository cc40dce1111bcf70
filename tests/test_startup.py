"""Starting photosense loads no model code: torch and its kin wait for the first model.

The library, the command line and the window start in about a second; torch, open_clip,
torchvision and transformers take seconds more and are needed only to run a model (search,
index, tag, eval, fine-tune). Each check runs in a fresh interpreter (this one has long
imported them) and reports which of them it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from photosense.library import Library
from photosense.models.catalogue import load_catalogue
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.store.repository import Store

MODEL_CODE = ("torch", "open_clip", "torchvision", "transformers")
ROOT = Path(__file__).resolve().parents[1]


def run_fresh(code: str, *args: str) -> dict[str, Any]:
    """Run ``code`` in a new interpreter (``sys.argv[1:]`` is ``args``; ``MODEL_CODE`` is
    defined); returns the ``report`` dict it fills, with ``loaded``: the packages of
    ``MODEL_CODE`` it imported."""
    script = "\n".join(
        [
            "import json, sys",
            f"MODEL_CODE = {MODEL_CODE!r}",
            "report = {}",
            textwrap.dedent(code),
            "loaded = [name for name in MODEL_CODE if name in sys.modules]",
            "print(json.dumps({**report, 'loaded': loaded}))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_importing_the_library_the_cli_and_the_app_loads_no_model_code() -> None:
    report = run_fresh("import photosense.library, photosense.cli, photosense.gui.app")
    assert report["loaded"] == []


@pytest.mark.slow
def test_commands_that_run_no_model_load_no_model_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against the empty library in the sandboxed ``PHOTOSENSE_HOME``, and an empty, offline
    Hugging Face cache."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    commands = [["status", "--json"], ["status"], ["albums", "list"], ["captions", "list"]]
    commands += [["tags", "list"], ["--help"], ["models", "list"], ["models", "list", "--json"]]
    report = run_fresh(
        """
        import contextlib, io
        from photosense.cli import main

        report["codes"], report["outputs"] = [], []
        for argv in json.loads(sys.argv[1]):
            with contextlib.redirect_stdout(io.StringIO()) as out:
                try:
                    report["codes"].append(main(argv))
                except SystemExit as exit:  # --help
                    report["codes"].append(exit.code)
            report["outputs"].append(out.getvalue())
        """,
        json.dumps(commands),
    )
    assert report["codes"] == [0] * len(commands)
    assert report["loaded"] == []
    listed = json.loads(report["outputs"][-1])["models"]
    assert [(m["kind"], m["available"]) for m in listed] == [("starter", True)] + [
        ("catalogue", False)
    ] * len(load_catalogue().entries)
    assert "not downloaded" in report["outputs"][-2]


def test_searching_an_empty_library_loads_no_model_code() -> None:
    """Nothing to search is said from the store, before any model (or torch) loads."""
    report = run_fresh(
        """
        import contextlib, io
        from photosense.cli import main

        with contextlib.redirect_stderr(io.StringIO()) as err:
            report["code"] = main(["search", "a red car"])
        report["error"] = err.getvalue()
        """
    )
    assert report["code"] == 1 and "no photos are indexed" in report["error"]
    assert report["loaded"] == []


@pytest.mark.slow
def test_the_window_shows_a_library_and_its_tags_without_loading_a_model(
    photo_dir: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "library"
    with Library(Store.open(directory), directory, lambda _spec: FakeEncoder()) as library:
        run_to_end(library.folders.index([photo_dir]))
    report = run_fresh(
        """
        from pathlib import Path

        from photosense.library import library as library_module
        from photosense.gui.app import application, settle
        from photosense.gui.window import MainWindow
        from photosense.models.fake import FakeEncoder

        report["models"] = []

        def load_encoder(spec, device="auto"):  # what Library.open loads its model with
            report["models"].append(spec)
            return FakeEncoder()

        library_module.load_encoder = load_encoder
        app = application()
        library = library_module.Library.open(Path(sys.argv[1]))
        window = MainWindow(library, settings=None, pictures_folder=sys.argv[1])
        window.show()
        settle(window)
        report["photos"] = window.model.rowCount()
        report["tags_listed"] = window.tags is not None
        report["models_at_start"] = list(report["models"])
        report["loaded_at_start"] = [name for name in MODEL_CODE if name in sys.modules]
        window.search_bar.set_text("red")
        window.search_bar.commit()
        settle(window)
        report["searched"] = window.model.has_scores
        window.close()
        library.close()
        """,
        str(directory),
    )
    assert report["photos"] == 4
    assert report["tags_listed"]
    assert report["models_at_start"] == []
    assert report["loaded_at_start"] == []
    # The model loads when a search needs it.
    assert report["searched"]
    assert report["models"] == [FakeEncoder().model_id]


@pytest.mark.slow
def test_the_cpu_thread_count_is_set_when_the_first_model_picks_its_device() -> None:
    report = run_fresh(
        """
        import os

        from photosense.models.device import configure_cpu_threads, select_device

        os.environ["PHOTOSENSE_THREADS"] = "3"
        configure_cpu_threads()  # as every command does first
        report["loaded_before_a_model"] = [name for name in MODEL_CODE if name in sys.modules]
        select_device("cpu")
        import torch

        report["threads"] = torch.get_num_threads()
        """
    )
    assert report["loaded_before_a_model"] == []
    assert report["threads"] == 3
