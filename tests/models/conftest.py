"""The models layer's own marker; the offline hub and sandboxed home come from tests/conftest.py."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "starter: loads the real starter weights from their pip packages (tens of seconds on "
        "two cores the first time; the class vectors are then cached in .pytest_cache)",
    )
