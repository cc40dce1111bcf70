"""Opening a library database: SQLite in WAL mode, foreign keys on, migrated to head.

The database file is private to the user (mode 0600; SQLite gives its WAL and shared-memory
files the same mode). Errors SQLite reports about the file itself (busy past the timeout, disk
full, I/O errors, read-only, damaged) become ``LibraryError`` with what to do about them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DatabaseError
from sqlalchemy.pool import StaticPool

from photosense.errors import LibraryError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30
"""How long a write waits for another process's write to finish before giving up."""
FILE_MODE = 0o600
HEAD_REVISION = "0010_colours"
"""The newest migration: a library already there opens without importing alembic (a tenth of
a second or more on every command); a test holds it equal to alembic's head."""

# SQLite's primary result codes (the low byte of an extended code) that concern the file.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR = 5, 6, 8, 10
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 11, 13, 14, 26


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def use_wal(cursor: Any, timeout_s: float = BUSY_TIMEOUT_S) -> None:
    """Put the database in WAL mode, waiting out another process that is doing the same.

    Two processes opening a new library at once race to switch it to WAL (the mode is stored
    in the file, so this happens once per library). SQLite can then answer SQLITE_BUSY at
    once, without its busy timeout, to the one that lost; it is tried again until
    ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            busy = code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            log.debug("database busy while switching it to WAL; trying again")
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def create_library_engine(database: Path | str) -> Engine:
    """An engine for ``database`` (a file path, or ``":memory:"`` for tests)."""
    if str(database) == ":memory:":
        # One shared connection, usable from worker threads, so an in-memory library works
        # like a file one.
        engine = create_engine(
            "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        _create_private(Path(database))
        engine = create_engine(f"sqlite:///{database}", connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "handle_error", _explain_error)
    return engine


def _create_private(database: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it 0644;
    an older library's database that others can read is made private too."""
    try:
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    except FileExistsError:
        _make_private(database)
    except OSError as exc:
        raise LibraryError(
            f"the library database {database} cannot be created ({exc.strerror}); check that "
            "the library folder exists and is writable"
        ) from exc


def _make_private(database: Path) -> None:
    if os.name != "posix":
        return
    try:
        st = os.stat(database)
        if st.st_mode & 0o077 and st.st_uid == os.getuid():
            os.chmod(database, stat.S_IMODE(st.st_mode) & ~0o077)
    except OSError as exc:  # a read-only medium: the library still opens
        log.debug("cannot make %s private: %s", database, exc)


def _explain_error(context: ExceptionContext) -> None:
    """Replace SQLite's terse errors about the file with a ``LibraryError`` saying what to do.

    Other errors (constraint violations, programming errors) are left as they are: they are
    bugs, not conditions of the user's disk.
    """
    error = context.original_exception
    if not isinstance(error, sqlite3.Error):
        return
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return
    detail = getattr(error, "sqlite_errorname", None) or str(error)
    primary = code & 0xFF
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        message = (
            f"the library database is busy: another program (another photosense window or "
            f"command) has been writing to it for over {BUSY_TIMEOUT_S} s. Try again when it "
            "has finished; nothing was lost"
        )
    elif primary == _SQLITE_FULL:
        message = (
            "the disk holding the library is full; free some space and run the command again "
            "(everything saved before is kept)"
        )
    elif primary == _SQLITE_IOERR:
        message = (
            f"the library database could not be written ({detail}): the disk may be full, "
            "failing or disconnected. Free some space or check the disk, then run the command "
            "again (everything saved before is kept)"
        )
    elif primary == _SQLITE_READONLY:
        message = (
            f"the library database is read-only ({detail}); check the permissions of the "
            "library folder and its files"
        )
    elif primary == _SQLITE_CANTOPEN:
        message = (
            "the library database cannot be opened; check that the library folder exists and "
            "is writable"
        )
    elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        message = (
            f"the library database is damaged or not a photosense library ({error}); restore "
            "it from a backup, or choose another library folder"
        )
    else:
        return
    raise LibraryError(message) from error


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _revision(engine: Engine) -> str | None:
    """The library's recorded migration, read with plain SQL; None when it cannot be read."""
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DatabaseError:
        return None  # a new library (no table yet), or a damaged one: migrate() says which
    return str(rows[0][0]) if len(rows) == 1 else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest recorded migration (a no-op when already there)."""
    if _revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    try:
        with engine.begin() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            if current == head:
                return
            # Take the write lock, then look again: another process opening the same new
            # library may have migrated it meanwhile (both would create the tables).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
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
