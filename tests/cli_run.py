"""Running the command line in-process from tests: exit code, stdout and stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from photosense import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> Any:
    """Run a command that must succeed and return its JSON document."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)
