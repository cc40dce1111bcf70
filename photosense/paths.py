"""Where a library lives on disk.

One library is one folder that holds the SQLite database and the vector index files. The default
comes from platformdirs; ``PHOTOSENSE_HOME`` or an explicit folder overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "PHOTOSENSE_HOME"
DATABASE_NAME = "library.sqlite3"
INDEX_DIR_NAME = "index"
MODELS_DIR_NAME = "models"


def default_library_dir() -> Path:
    """The library folder used when none is given: ``$PHOTOSENSE_HOME`` or the user data dir."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("photosense", appauthor=False))


def cache_dir() -> Path:
    """Per-user cache for assembled models and similar rebuildable files."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser() / "cache"
    return Path(platformdirs.user_cache_dir("photosense", appauthor=False))


def models_dir() -> Path:
    """Per-user folder of model files photosense owns (imported and fine-tuned checkpoints).

    Shared by every library of the user: ``$PHOTOSENSE_HOME/models`` or ``models`` in the user
    data dir. Downloaded open_clip weights stay in the Hugging Face cache instead.
    """
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser() / MODELS_DIR_NAME
    return Path(platformdirs.user_data_dir("photosense", appauthor=False)) / MODELS_DIR_NAME
