"""Status bar arithmetic: speed over a sliding window, and readable time left."""

from __future__ import annotations

from photosense.gui.status import SpeedMeter, format_duration


def test_format_duration() -> None:
    assert format_duration(3) == "about 5 s"
    assert format_duration(42) == "about 40 s"
    assert format_duration(200) == "about 3 min"
    assert format_duration(2 * 3600 + 600) == "about 2 h 10 min"


def test_speed_meter_uses_recent_progress_only() -> None:
    now = [0.0]
    meter = SpeedMeter(lambda: now[0])
    assert meter.rate is None
    for t, done in ((0, 0), (10, 100), (20, 200), (40, 220)):
        now[0] = float(t)
        meter.add(done)
    # The window keeps the last ~15 s (and at least two samples): 200 -> 220 in 20 s.
    assert meter.rate == 1.0
    assert meter.eta(220, 250) == 30.0


def test_speed_meter_restarts_when_the_count_goes_back() -> None:
    now = [0.0]
    meter = SpeedMeter(lambda: now[0])
    meter.add(50)
    now[0] = 1.0
    meter.add(3)  # a second folder started counting from zero
    assert meter.rate is None
