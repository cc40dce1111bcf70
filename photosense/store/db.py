"""Opening a library database: SQLite in WAL mode, foreign keys on, migrated to head."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import StaticPool

from photosense.errors import LibraryError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_library_engine(database: Path | str) -> Engine:
    """An engine for ``database`` (a file path, or ``":memory:"`` for tests)."""
    if str(database) == ":memory:":
        # One shared connection, usable from worker threads, so an in-memory library works
        # like a file one.
        engine = create_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _on_connect)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest recorded migration (a no-op when already there)."""
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    try:
        with engine.begin() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head:
                return
            log.info("migrating library database from %s to %s", current, head)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except DatabaseError as exc:
        raise LibraryError(
            f"the library database cannot be read ({exc.orig}); it may be damaged or not a "
            "photosense library"
        ) from exc
