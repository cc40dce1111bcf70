"""Text in photos (``photosense text``): what was read in each photo, reading the library's
photos, finding photos by their words, and writing the text into XMP sidecars."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass

from photosense.analysis.runner import AnalysisReport
from photosense.analysis.text import KIND
from photosense.library.analysis import Analysis
from photosense.library.photos import PhotoRef, Photos
from photosense.library.text_query import TextHit, parse_text_query, rank_text_matches
from photosense.media.xmp import write_user_comment
from photosense.progress import CancelToken, Progress
from photosense.store.records import TextLine
from photosense.store.repository import Store
from photosense.tagging.service import ExportReport, SidecarWriter, write_sidecars


@dataclass(frozen=True)
class PhotoText:
    """What was read in one photo. ``read`` says whether its present file was read at all
    (``failure`` says why that failed); ``limited`` why reading stopped before the end
    ("lines": more text boxes than are read on one photo, "time": the time limit)."""

    photo_id: int
    lines: list[TextLine]
    read: bool
    failure: str | None = None
    limited: str | None = None

    @property
    def text(self) -> str:
        """All the lines, top to bottom, one per line: what "copy text" copies."""
        return "\n".join(line.text for line in self.lines)


@dataclass(frozen=True)
class TextStatus:
    """How far reading text got over the library (``enabled``: read at indexing)."""

    enabled: bool
    read: int
    pending: int
    failed: int
    photos_with_text: int
    lines: int


class Text:
    """The library's text in photos: one reading per photo, redone when its file changes."""

    def __init__(self, store: Store, photos: Photos, analysis: Analysis) -> None:
        self._store = store
        self._photos = photos
        self._analysis = analysis

    def of_photo(self, photo: PhotoRef) -> PhotoText:
        """The lines read in ``photo`` (an id or a path in the library), with their boxes."""
        record = self._photos.resolve(photo)
        read, failure = self._store.texts.read_state(KIND, record.id)
        return PhotoText(
            record.id,
            self._store.texts.lines(record.id),
            read,
            failure,
            self._store.texts.limited(record.id),
        )

    def status(self) -> TextStatus:
        """Counts only: no model loads."""
        counts = self._analysis.counts(KIND)
        photos, lines = self._store.texts.count()
        return TextStatus(
            self._analysis.enabled(KIND),
            counts.analysed,
            counts.pending,
            counts.failed,
            photos,
            lines,
        )

    def set_enabled(self, on: bool) -> None:
        """Read text while indexing (on by default); what was read is kept either way."""
        self._analysis.set_enabled(KIND, on)

    def read(
        self, cancel: CancelToken | None = None, *, workers: int | None = None
    ) -> Generator[Progress, None, AnalysisReport]:
        """Read the text of every photo not read in its present content (resumable: a stopped
        run keeps what it read, and the next one does the rest)."""
        return (yield from self._analysis.run([KIND], cancel, workers=workers))

    def reread(self) -> int:
        """Forget which photos were read, so the next reading reads every photo again (the
        text found stays until then). Returns how many photos will be read again."""
        return self._store.analyses.forget(KIND)

    def photo_ids(self) -> set[int]:
        """The photos in which some text was read (the search bar's "has text" filter)."""
        return self._store.texts.photo_ids()

    def find(self, query: str, *, limit: int = 20, only: set[int] | None = None) -> list[TextHit]:
        """Photos whose text matches ``query`` (words in quotes: exact words), best first."""
        return rank_text_matches(self._store, parse_text_query(query), limit, only)

    def export_xmp(
        self, cancel: CancelToken | None = None
    ) -> Generator[Progress, None, ExportReport]:
        """Write each photo's text into its XMP sidecar as ``exif:UserComment`` (never into
        the photo); a photo whose text is gone has it taken out of an existing sidecar."""
        cancel = cancel or CancelToken()

        def for_chunk(chunk: Sequence[int]) -> SidecarWriter:
            texts = self._store.texts.texts(chunk)
            return lambda photo_id, path: write_user_comment(path, texts.get(photo_id))

        ids = sorted(self._store.photos.ids())
        job = write_sidecars(self._store, ids, for_chunk, cancel, "writing text into sidecars")
        return (yield from job)
