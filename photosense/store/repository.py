"""The store: every read and write of the library database goes through :class:`Store`.

``Store`` owns the engine and hands out one part per kind of data (``store.photos``,
``store.tags``…). Parts take and return plain frozen records (``store.records``), never live
ORM objects, so callers on other threads never share a session. Each write method is one
transaction: a crash loses at most the call in flight.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from photosense.errors import LibraryError
from photosense.paths import DATABASE_NAME
from photosense.store.albums import Albums
from photosense.store.analyses import Analyses
from photosense.store.captions import Captions
from photosense.store.colours import Colours
from photosense.store.db import create_library_engine, migrate
from photosense.store.faces import Faces
from photosense.store.folders import Folders
from photosense.store.marks import Marks
from photosense.store.photos import Photos
from photosense.store.places import Places
from photosense.store.settings import Settings
from photosense.store.tags import Tags
from photosense.store.text import Texts
from photosense.store.vectors import Vectors


class Store:
    """The library database. Open with :meth:`open` (a folder) or :meth:`in_memory` (tests)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine)
        sessions = sessionmaker(engine, expire_on_commit=False)
        self.settings = Settings(sessions)
        self.folders = Folders(sessions)
        self.photos = Photos(sessions)
        self.vectors = Vectors(sessions)
        self.tags = Tags(sessions)
        self.albums = Albums(sessions)
        self.captions = Captions(sessions)
        self.faces = Faces(sessions)
        self.analyses = Analyses(sessions)
        self.marks = Marks(sessions)
        self.places = Places(sessions)
        self.texts = Texts(sessions)
        self.colours = Colours(sessions)

    @classmethod
    def open(cls, library_dir: Path) -> Store:
        """The library in ``library_dir``, created (private to the user) when missing."""
        try:
            library_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # private to the user
        except OSError as exc:
            raise LibraryError(
                f"the library folder {library_dir} cannot be created ({exc.strerror}); "
                "give a folder you can write to"
            ) from exc
        return cls(create_library_engine(library_dir / DATABASE_NAME))

    @classmethod
    def in_memory(cls) -> Store:
        """A library that lives in memory only (tests, benchmarks)."""
        return cls(create_library_engine(":memory:"))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
