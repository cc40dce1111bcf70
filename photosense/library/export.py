"""Export: copies of photos in a folder of the user's choosing (``photosense export``)."""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from pathlib import Path

from photosense.library.photos import PhotoRef, Photos
from photosense.media.export import CopyReport, copy_photos
from photosense.progress import CancelToken, Progress


class Export:
    """Copy photos out; the library and the originals are left as they are."""

    def __init__(self, photos: Photos) -> None:
        self._photos = photos

    def copy(
        self,
        photos: Sequence[PhotoRef],
        destination: str | os.PathLike[str],
        cancel: CancelToken | None = None,
    ) -> Generator[Progress, None, CopyReport]:
        """Copy photos (ids or paths, each once, in order) with their XMP sidecars into
        ``destination`` (made if missing); a name taken there becomes ``name (2).jpg``, nothing
        is overwritten. When any photo is not in the library nothing is copied; a file that
        cannot be read is reported and the rest go on."""
        ids = list(dict.fromkeys(self._photos.resolve_ids(photos)))
        records = self._photos.get(ids)
        sources = [Path(records[i].path) for i in ids if i in records]
        return (yield from copy_photos(sources, Path(destination), cancel))
