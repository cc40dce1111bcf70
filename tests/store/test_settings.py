"""Settings: JSON values stored in the library itself."""

from __future__ import annotations

from pathlib import Path

from photosense.store.repository import Store


def test_settings_round_trip_json_values(store: Store) -> None:
    assert store.settings.get("missing") is None
    assert store.settings.get("missing", "fallback") == "fallback"
    store.settings.set("tagging.params", {"k": 3, "names": ["a", "b"], "on": True})
    assert store.settings.get("tagging.params") == {"k": 3, "names": ["a", "b"], "on": True}
    store.settings.set("tagging.params", 0.5)
    assert store.settings.get("tagging.params", "fallback") == 0.5


def test_settings_outlive_the_store(tmp_path: Path) -> None:
    with Store.open(tmp_path / "library") as first:
        first.settings.set("active_model", "starter")
    with Store.open(tmp_path / "library") as again:
        assert again.settings.get("active_model") == "starter"
