"""Fault-injection tests: a tally of what was injected, printed at the end of the run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

TALLY: Counter[str] = Counter()
"""Faults injected and outcomes seen, by kind; tests add to it, the summary prints it."""


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY:
        terminalreporter.section("faults injected")
        for kind, count in sorted(TALLY.items()):
            terminalreporter.write_line(f"{count:8}  {kind}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long variants (``@pytest.mark.slow(long_variant=True)``) run only when asked for
    (``pytest -m slow tests/faults``): the suite runs the short ones. A plain ``slow`` mark, as
    everywhere else, runs with the suite and only keeps a test out of the fast lane."""
    if "slow" in (config.option.markexpr or ""):
        return
    here = Path(__file__).parent
    later = pytest.mark.skip(reason="a long variant: run it with `pytest -m slow tests/faults`")
    for item in items:
        slow = item.get_closest_marker("slow")
        if slow and slow.kwargs.get("long_variant") and item.path.is_relative_to(here):
            item.add_marker(later)
