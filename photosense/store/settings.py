"""Library-wide settings (the active model, tagging parameters…) as JSON values."""

from __future__ import annotations

from photosense.store.base import Part, upsert
from photosense.store.schema import Setting


class Settings(Part):
    """Settings stored in the library itself, so they travel with it."""

    def get(self, key: str, default: object = None) -> object:
        """The value stored under ``key``, or ``default`` when there is none."""
        with self._session() as session:
            row = session.get(Setting, key)
            return default if row is None else row.value

    def set(self, key: str, value: object) -> None:
        """Store ``value`` (anything JSON can hold) under ``key``."""
        with self._session() as session:
            # An upsert, not read-then-write: another process may create the key at once.
            upsert(session, Setting, Setting.key, [{"key": key, "value": value}], ["value"])
