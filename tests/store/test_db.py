"""Opening a library database."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from photosense.store.db import HEAD_REVISION, alembic_config


def test_the_head_revision_is_alembics() -> None:
    """A library at ``HEAD_REVISION`` opens without alembic, so it must be the newest."""
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
