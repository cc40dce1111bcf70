"""Where a library lives on disk, and everything that belongs to it.

One library is one folder that holds the SQLite database, the vector index files and the models
made or imported for it (``models/``). Which folder: the one given explicitly (``--library``,
the app's choice), else ``$PHOTOSENSE_HOME``, else the user data folder from platformdirs. Every
path below is derived from that one answer, so ``--library DIR`` and ``PHOTOSENSE_HOME=DIR``
mean the same library with the same models.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "PHOTOSENSE_HOME"
DATABASE_NAME = "library.sqlite3"
INDEX_DIR_NAME = "index"
MODELS_DIR_NAME = "models"

_chosen_library: Path | None = None
"""The library folder this process works on, once one was opened or named explicitly."""


def default_library_dir() -> Path:
    """The library folder used when none is given: ``$PHOTOSENSE_HOME`` or the user data dir."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("photosense", appauthor=False))


def use_library_dir(directory: Path) -> None:
    """Make ``directory`` the library this process works on (``Library.open`` calls this), so
    that its models folder is found under it whichever way it was named."""
    global _chosen_library
    _chosen_library = directory.expanduser()


def library_dir() -> Path:
    """The library folder this process works on: the one opened or named, else the default."""
    return _chosen_library or default_library_dir()


def cache_dir() -> Path:
    """Per-user cache for assembled models and similar rebuildable files."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir("photosense", appauthor=False))


def models_dir() -> Path:
    """The model files photosense owns for the library (imported and fine-tuned checkpoints):
    ``models`` in the library folder. Downloaded open_clip weights stay in the Hugging Face
    cache, shared by every library."""
    return library_dir() / MODELS_DIR_NAME
