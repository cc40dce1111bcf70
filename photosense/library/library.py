"""The library: the one door through which the CLI and the GUI reach photos and models.

A :class:`Library` is one folder holding the database and the index files. It opens and closes
them and reports their status; everything else is one sub-object per capability, named like the
CLI's command groups (``library.search``, ``.albums``, ``.captions``, ``.tags``, ``.models``,
``.finetune``, ``.places``, ``.text``, ``.folders`` for ``photosense index``, ``.photos``
for browsing).
They share one :class:`~photosense.library.runtime.ModelRuntime`: the lock, the lazily loaded
model, its device.

Collaborators (the store, the encoder factory) are passed in, so tests use an in-memory store
and a fake encoder; :meth:`Library.open` wires up the real ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from photosense.errors import LibraryError
from photosense.library.albums import Albums
from photosense.library.analysis import AnalyserFactory, Analysis
from photosense.library.captions import Captions
from photosense.library.colours import Colours
from photosense.library.duplicates import Duplicates
from photosense.library.export import Export
from photosense.library.finetune import FineTune
from photosense.library.folders import Folders
from photosense.library.marks import Ratings, Rotation
from photosense.library.models import Models
from photosense.library.people import People
from photosense.library.photos import Photos
from photosense.library.places import Places
from photosense.library.records import FolderStatus, LibraryStatus, ModelStatus
from photosense.library.runtime import EncoderFactory, ModelRuntime, QueryEncoderFactory
from photosense.library.search import Search
from photosense.library.tags import Tags
from photosense.library.text import Text
from photosense.media.scan import is_supported
from photosense.models.registry import load_encoder, load_query_encoder
from photosense.paths import DATABASE_NAME, default_library_dir, use_library_dir
from photosense.store.repository import Store


def choose_folder(directory: Path | None = None) -> Path:
    """Make ``directory`` (else the default library folder) the library this process works on,
    and return it: the models made and imported for a library live in it, so a command that
    opens no library (``eval``, ``models import``) still finds them by the same folder."""
    chosen = directory or default_library_dir()
    use_library_dir(chosen)
    return chosen


def _refuse_photo_folder(directory: Path) -> None:
    """A new library never starts inside a photo folder: photosense writes nothing there."""
    if (directory / DATABASE_NAME).exists():
        return
    try:
        with os.scandir(directory) as entries:
            photos = any(is_supported(Path(e.name)) and e.is_file() for e in entries)
    except OSError:
        return  # a new folder; anything else is Store.open's to report
    if photos:
        raise LibraryError(
            f"{directory} holds photos and no photosense library; photosense never writes "
            "into photo folders, so keep the library in a folder of its own"
        )


class Library:
    """One library folder. Close it (or use ``with``) to release the database."""

    def __init__(
        self,
        store: Store,
        library_dir: Path,
        encoder_factory: EncoderFactory,
        model: str = "auto",
        *,
        factory_for_device: Callable[[str], EncoderFactory] | None = None,
        query_factory: QueryEncoderFactory | None = None,
        analysers: Mapping[str, AnalyserFactory] | None = None,
        served_indexes: bool = False,
    ) -> None:
        self.store = store
        self.path = library_dir
        self.runtime = ModelRuntime(
            store,
            library_dir,
            encoder_factory,
            model,
            factory_for_device=factory_for_device,
            query_factory=query_factory,
            served_indexes=served_indexes,
        )
        self.places = Places(store)
        self.photos = Photos(self.runtime, self.places)
        self.albums = Albums(store, self.photos)
        self.captions = Captions(store, self.photos)
        self.tags = Tags(self.runtime, self.photos)
        self.models = Models(self.runtime)
        self.analysis = Analysis(store, analysers)
        self.people = People(store, self.photos, self.analysis)
        if "faces" in self.analysis.kinds():
            self.analysis.follow("faces", self.people.settle)
        self.colours = Colours(store, self.photos, self.analysis)
        self.search = Search(self.runtime, self.photos, self.people, self.colours)
        self.text = Text(store, self.photos, self.analysis)
        self.folders = Folders(
            self.runtime, self.models, self.tags, self.captions, self.analysis, self.places
        )
        self.finetune = FineTune(self.runtime, self.captions)
        self.ratings = Ratings(store, self.photos)
        self.rotation = Rotation(store, self.photos)
        self.export = Export(self.photos)
        self.duplicates = Duplicates(self.runtime)

    @classmethod
    def open(
        cls,
        library_dir: Path | None = None,
        *,
        model: str = "auto",
        device: str = "auto",
        served_indexes: bool = False,
    ) -> Library:
        """Open (creating if needed) the library in ``library_dir`` or the default folder.

        ``served_indexes``: search graphs load into helper processes, so loading one never
        holds this process's GIL (the window asks for it; see :mod:`photosense.vectors.served`).
        On Windows and in a frozen app the helper is started by ``multiprocessing`` (spawn), so
        a program opening a library this way there must guard its main module.
        """
        directory = choose_folder(library_dir)
        _refuse_photo_folder(directory)
        store = Store.open(directory)

        def factory_for(chosen: str) -> EncoderFactory:
            return lambda spec: load_encoder(spec, device=chosen)

        return cls(
            store,
            directory,
            factory_for(device),
            model,
            factory_for_device=factory_for,
            query_factory=load_query_encoder,
            served_indexes=served_indexes,
        )

    def close(self) -> None:
        self.runtime.indexes.close()  # a background index rebuild stops; its file is not written
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def status(self) -> LibraryStatus:
        """Counts, folders, models and index state, without loading any model."""
        store = self.store
        photos, skipped = store.photos.counts()
        per_folder = store.photos.counts_by_folder()
        folders = [
            FolderStatus(f.path, f.online, per_folder.get(f.id, 0), f.last_scan_at)
            for f in store.folders.all()
        ]
        active = self.runtime.spec
        models = [
            ModelStatus(m_id, dim, vectors, self.runtime.indexes.state(m_id), m_id == active)
            for m_id, dim, _, vectors in store.vectors.models()
        ]
        return LibraryStatus(str(self.path), photos, skipped, folders, models, active)
