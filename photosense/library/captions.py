"""Captions: a photo's words, the user's own or read from its files (``photosense captions``)."""

from __future__ import annotations

import builtins
import logging
import os
from collections.abc import Generator, Sequence
from pathlib import Path

from photosense.enums import CaptionSource
from photosense.errors import PhotosenseError, XmpError
from photosense.learn.records import TrainingPair
from photosense.library.albums import find_album
from photosense.library.photos import PhotoRef, Photos
from photosense.library.records import CaptionImport
from photosense.media.captions import caption_files, clean_caption, read_caption, read_caption_csv
from photosense.media.marks import read_marks
from photosense.media.xmp import write_description
from photosense.progress import CancelToken, Progress
from photosense.store.records import CaptionInfo
from photosense.store.repository import Store

log = logging.getLogger(__name__)

CAPTION_BATCH = 256
"""Photos whose files' captions are read per transaction."""


class Captions:
    """Write, import and read captions; they are also what fine-tuning learns from."""

    def __init__(self, store: Store, photos: Photos) -> None:
        self._store = store
        self._photos = photos

    def get(self, photo: PhotoRef) -> CaptionInfo | None:
        """A photo's caption, or None."""
        photo_id = self._photos.resolve(photo).id
        return self._store.captions.get([photo_id]).get(photo_id)

    def list(self, *, album: str | None = None) -> dict[int, CaptionInfo]:
        """Every caption (or those of an album's photos), by photo id."""
        album_id = find_album(self._store, album).id if album is not None else None
        return self._store.captions.get(album_id=album_id)

    def set(self, photo: PhotoRef, text: str, *, sidecar: bool = False) -> CaptionInfo | None:
        """Write a photo's caption as the user's own (blank text removes it); imports and
        files never replace it. ``sidecar`` also writes it as ``dc:description`` into the
        photo's XMP sidecar, keeping the sidecar's other fields; the photo is never touched.
        """
        record = self._photos.resolve(photo)
        cleaned = clean_caption(text)
        if cleaned:
            info: CaptionInfo | None = self._store.captions.set(
                record.id, cleaned, CaptionSource.USER
            )
        else:
            self._store.captions.remove(record.id)
            info = None
        if sidecar:
            try:
                write_description(Path(record.path), cleaned or None)
            except (OSError, XmpError) as exc:
                raise PhotosenseError(
                    f"the caption is saved in the library, but the XMP sidecar of "
                    f"{record.path} could not be written: {exc}"
                ) from exc
        return info

    def remove(self, photo: PhotoRef) -> bool:
        """Delete a photo's caption; returns whether it had one. A caption read from the
        file does not come back until the file (or its sidecar) changes."""
        return self._store.captions.remove(self._photos.resolve(photo).id)

    def import_csv(
        self, csv_path: str | os.PathLike[str], *, overwrite: bool = False
    ) -> CaptionImport:
        """Import a ``path,caption`` CSV (UTF-8 with a header; paths absolute or relative to
        the CSV's folder) in one transaction.

        A file that cannot be read as a whole raises ``PhotosenseError`` and imports nothing;
        bad rows and paths not in the library are reported. A caption the user wrote is kept
        unless ``overwrite``.
        """
        parsed = read_caption_csv(Path(csv_path))
        ids = self._store.photos.ids_for_paths(row.path for row in parsed.rows)
        unmatched = [row.path for row in parsed.rows if row.path not in ids]
        found = {ids[row.path]: row.text for row in parsed.rows if row.path in ids}
        added, changed, kept = self._store.captions.import_many(
            found, source=CaptionSource.CSV, overwrite=overwrite
        )
        log.info("imported %d captions from %s (%d updated)", added, csv_path, changed)
        return CaptionImport(added, changed, unmatched, parsed.problems, kept)

    def read_files(self, cancel: CancelToken | None = None) -> Generator[Progress, None, int]:
        """Read the captions already in the photos' files and sidecars (XMP ``dc:description``,
        IPTC caption, EXIF ImageDescription, ``.txt`` sidecars; see
        :mod:`photosense.media.captions`), and the stars and rotation in their XMP
        (:mod:`photosense.media.marks`). Returns how many captions were added, changed or
        removed.

        Only photos whose file or sidecars changed since they were last read are read again;
        photos on offline drives wait. A caption the user wrote or imported from a CSV is never
        replaced.
        """
        cancel = cancel or CancelToken()
        yield Progress(0, None, "looking for captions")
        states = self._store.captions.read_states()
        files = caption_files((i, path, size, mtime) for i, path, size, mtime, _ in states)
        todo = sorted(
            (
                (i, path)
                for i, path, _, _, read in states
                if i in files and files[i].fingerprint != read
            ),
            key=lambda item: item[1],
        )
        changed = 0
        for start in range(0, len(todo), CAPTION_BATCH):
            if cancel.cancelled:
                break
            chunk = todo[start : start + CAPTION_BATCH]
            found: dict[int, tuple[str, CaptionSource] | None] = {}
            marks: dict[int, tuple[int | None, int | None]] = {}
            for photo_id, path in chunk:
                sidecars = files[photo_id].sidecars
                caption = read_caption(Path(path), sidecars)
                found[photo_id] = None if caption is None else (caption.text, caption.source)
                said = read_marks(Path(path), sidecars)
                marks[photo_id] = (said.rating, said.rotation)
            self._store.marks.record_from_files(marks)
            prints = {photo_id: files[photo_id].fingerprint for photo_id, _ in chunk}
            changed += self._store.captions.record_from_files(found, prints)
            yield Progress(start + len(chunk), len(todo), "reading captions")
        if todo:
            log.info("read the captions of %d photos: %d changed", len(todo), changed)
        return changed

    def training_pairs(
        self, albums: Sequence[str] | None = None, *, album_titles: bool = True
    ) -> builtins.list[TrainingPair]:
        """Image–text pairs for fine-tuning, one per photo.

        With ``albums=None``: every captioned photo, by id. With albums: their photos in album
        order (a photo in several counts once, for the first album given); a photo without a
        caption gets its album's title as a weak caption (source ``album``) when
        ``album_titles``. Photos on offline drives or whose files are gone are left out.
        """
        store = self._store
        chosen: dict[int, str | None] = {}
        if albums is None:
            captions = store.captions.get()
            chosen = dict.fromkeys(sorted(captions))
        else:
            for album in [find_album(store, name) for name in albums]:
                for photo_id in store.albums.photo_ids(album.id):
                    chosen.setdefault(photo_id, album.name)
            captions = store.captions.get(list(chosen))
        online = {folder.id for folder in store.folders.all() if folder.online}
        records = store.photos.get(list(chosen))
        pairs: builtins.list[TrainingPair] = []
        for photo_id, group in chosen.items():
            record = records.get(photo_id)
            if record is None or record.folder_id not in online or not os.path.isfile(record.path):
                continue
            caption = captions.get(photo_id)
            text, source = (
                (caption.text, caption.source) if caption else (group, CaptionSource.ALBUM)
            )
            if text is not None and (caption is not None or album_titles):
                pairs.append(
                    TrainingPair(record.path, Path(record.path), text, source, photo_id, group)
                )
        return pairs
