"""What the grid shows: the query (text and filters), the folder, album, tag or place it is
limited to, or the photos that look like one photo; said in words for the banner, and fetched by
one job."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from photosense.gui.jobs import Job
from photosense.gui.photo_grid_model import row_lookup
from photosense.gui.search_bar import SearchQuery
from photosense.gui.sidebar import ALBUM, FAVOURITES, FOLDER, PLACE, TAG, Scope
from photosense.gui.timeline import Days, day_numbers, undated_last
from photosense.gui.words import reading_notice
from photosense.library import (
    FAVOURITE,
    Library,
    PhotoRecord,
    QueryReading,
    SearchResults,
    filter_label,
)

SEARCH_LIMIT = 500
SIMILAR_LIMIT = 200


@dataclass(frozen=True)
class GridContents:
    """The photos the grid is to show, in order; a search's scores and records come along, and
    how many of its first photos are good matches (None: not judged)."""

    ids: Sequence[int]
    scores: Sequence[float] | None = None
    records: Sequence[PhotoRecord] = ()
    notice: tuple[str, str] | None = None
    """(query, words): the model does not read this query (another script or language)."""
    good: int | None = None
    days: Days | None = None
    """The photos' dates, for the timeline, when they are listed by date (None otherwise)."""
    reading: QueryReading | None = None
    """How the search text was read (its dates and places as filters)."""
    rows: Mapping[int, int] | None = None
    """Photo id -> row (:func:`row_lookup`), made with the contents off the GUI thread."""

    @classmethod
    def of(
        cls, results: SearchResults, notice: str | None = None, by_date: bool = False
    ) -> GridContents:
        """A search's results; ``by_date``: sorted by date, so shown as a timeline (photos with
        no date taken after the others, among the good matches and among the rest)."""
        hits = results.hits
        said = (results.query, notice) if notice else None
        days = None
        if by_date or not results.scored:  # a text of filters only lists photos by date
            order = undated_last([h.photo.taken_at_exif for h in hits], results.good)
            hits = [hits[i] for i in order]
            days = day_numbers([h.photo.taken_at if h.photo.taken_at_exif else None for h in hits])
        ids = [h.photo.id for h in hits]
        scores = [h.score for h in hits] if results.scored else None
        records = [h.photo for h in hits]
        rows = row_lookup(ids)
        return cls(ids, scores, records, said, results.good, days, results.reading, rows)

    @classmethod
    def listed(cls, library: Library, ids: Sequence[int]) -> GridContents:
        """Any thread: photos listed newest first, as a timeline (those with no date taken
        last)."""
        taken = library.photos.taken_dates(ids)
        dates = [taken.get(photo_id) for photo_id in ids]
        order = undated_last([d is not None for d in dates])
        listed = [ids[i] for i in order]
        return cls(listed, days=day_numbers([dates[i] for i in order]), rows=row_lookup(listed))


def list_photo_ids(library: Library, query: SearchQuery) -> list[int]:
    """Any thread: the photos the grid shows when browsing, newest first, filters applied."""
    ids = library.photos.ids(
        folder=query.folder,
        after=query.after_datetime,
        before=query.before_datetime,
        album=query.album,
        tag=query.tag,
        min_rating=query.min_rating,
        place=query.place,
        has_text=query.has_text,
    )
    if query.person:
        wanted = library.people.photo_ids([query.person])
        ids = [i for i in ids if i in wanted]
    if query.colour:
        coloured = library.colours.covered([query.colour])
        ids = [i for i in ids if i in coloured]
    return ids


def scope_of(query: SearchQuery) -> Scope:
    """The sidebar item that stands for ``query``: its folder, else its album, else its tag."""
    if query.folder:
        return Scope(FOLDER, query.folder)
    if query.album:
        return Scope(ALBUM, query.album)
    if query.tag:
        return Scope(TAG, query.tag)
    if query.min_rating:
        return Scope(FAVOURITES)
    if query.place:
        return Scope(PLACE, query.place)
    return Scope()


class SearchScope(QObject):
    """The grid's query and its similar-to photo; ``changed`` when the grid should show anew.

    The search bar owns the text and filters, the sidebar the folder; an album or tag comes from
    either. Renaming or deleting the album shown changes the query without a new search.
    """

    changed = Signal()
    text_cleared = Signal(str)  # the search text a click on a scope or a photo replaced

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.query = SearchQuery()
        self.similar_to: PhotoRecord | None = None
        self.notice: tuple[str, str] | None = None  # of the last search's contents
        self.reading: QueryReading | None = None  # how the last search's text was read

    @property
    def browsing(self) -> bool:
        """True when the grid lists photos (no search text, no similar-to photo)."""
        return self.similar_to is None and not self.query.text

    def search(self, query: SearchQuery) -> None:
        """The search bar's query, within the folder the sidebar chose."""
        self.query = replace(
            query,
            folder=self.query.folder,
            min_rating=self.query.min_rating,
            place=self.query.place,
        )
        self.similar_to = None
        self.changed.emit()

    def select(self, scope: Scope) -> None:
        """A sidebar item: that folder, album, tag or place (or all photos), the filters kept.
        The search text is cleared (``text_cleared``), never silently searched within the
        scope."""
        cleared = self.query.text
        self.query = replace(
            self.query,
            text="",
            folder=scope.value if scope.kind == FOLDER else None,
            album=scope.value if scope.kind == ALBUM else None,
            tag=scope.value if scope.kind == TAG else None,
            min_rating=FAVOURITE if scope.kind == FAVOURITES else None,
            place=scope.value if scope.kind == PLACE else None,
        )
        self.similar_to = None
        if cleared:
            self.text_cleared.emit(cleared)
        self.changed.emit()

    def shown(self, contents: GridContents) -> None:
        """The grid shows ``contents``: keep what the banner says about them."""
        self.notice, self.reading = contents.notice, contents.reading

    def look_like(self, record: PhotoRecord) -> None:
        """Photos that look like ``record``; a search's text is cleared (``text_cleared``)."""
        cleared = self.query.text
        self.similar_to = record
        self.query = replace(self.query, text="")
        if cleared:
            self.text_cleared.emit(cleared)
        self.changed.emit()

    def cleared_words(self, text: str) -> str:
        """What the status bar says when ``text`` was cleared to show this scope."""
        cleared = f"the search “{text}” was cleared"
        if self.similar_to is not None:
            return f"Showing photos like {os.path.basename(self.similar_to.path)}: {cleared}"
        where = self.words()
        if not where:
            return f"Showing all photos: {cleared}"
        return f"Showing {where}: {cleared}; type to search in {where}"

    def leave_similar(self) -> None:
        """Forget the similar-to photo (the search bar's next query shows what follows)."""
        self.similar_to = None

    def follow_rename(self, old: str, new: str) -> bool:
        """The album ``old`` is now ``new``: True when the query shows it (and now ``new``)."""
        if self.query.album != old:
            return False
        self.query = replace(self.query, album=new)
        return True

    def forget_album(self, name: str) -> bool:
        """The album ``name`` was deleted: True when the query showed it (and now none)."""
        if self.query.album != name:
            return False
        self.query = replace(self.query, album=None)
        return True

    def sidebar_scope(self) -> Scope:
        return scope_of(self.query)

    def fetch(self, library: Library) -> Job:
        """A job (not started) whose result is the :class:`GridContents` of this scope."""
        query = self.query
        if self.similar_to is not None:
            path = self.similar_to.path
            return Job.call(
                lambda: GridContents.of(library.search.similar(path, limit=SIMILAR_LIMIT)),
                name="similar",
            )
        if query.text:
            return Job.call(
                lambda: GridContents.of(
                    library.search.text(
                        query.text,
                        limit=SEARCH_LIMIT,
                        min_score=query.min_score,
                        folder=query.folder,
                        after=query.after_datetime,
                        before=query.before_datetime,
                        sort=query.sort,
                        tag=query.tag,
                        album=query.album,
                        min_rating=query.min_rating,
                        people=[query.person] if query.person else (),
                        place=query.place,
                        literal=query.literal,
                        has_text=query.has_text,
                        colour=query.colour,
                    ),
                    library.models.reads(query.text),
                    by_date=query.sort == "date",
                ),
                name="search",
            )
        return Job.call(
            lambda: GridContents.listed(library, list_photo_ids(library, query)), name="all photos"
        )

    def words(self) -> str:
        """The folder, album or tag the grid is limited to, in words ("" for none)."""
        query = self.query
        if query.folder:
            return os.path.basename(query.folder) or query.folder
        if query.album:
            return f"album “{query.album}”"
        if query.tag:
            return f"photos tagged “{query.tag}”"
        if query.person:
            return f"photos of {query.person}"
        if query.min_rating:
            return "favourites"
        if query.place:
            return f"photos taken in {filter_label(query.place)}"
        return ""

    def banner(self, count: int, good: int | None = None) -> str:
        """The line above the grid when it shows ``count`` photos of this scope, the first
        ``good`` of them good matches (None: not judged)."""
        if self.similar_to is not None:
            name = os.path.basename(self.similar_to.path)
            return f"Photos that look like {name}" if count else f"Nothing looks like {name}"
        query = self.query
        reading = self.reading
        listed = reading is not None and reading.read and not reading.query
        if query.text and listed and reading is not None and reading.text == query.text:
            where = self.words()  # filters only: the photos they keep, by date
            within = f" in {where}" if where else ""
            if not count:
                return f"No photos{within} for “{query.text}”"
            return f"{count:,} photos{within} for “{query.text}”, newest first"
        if query.text:
            where = self.words()
            within = f" in {where}" if where else ""
            if not count:
                text = f"Nothing{within} matches “{query.text}”"
            elif good == 0:
                text = f"No good match for “{query.text}”{within} · the {count:,} closest photos"
            elif good is None:
                text = f"Best matches for “{query.text}”{within} · {count:,}"
            else:
                matches = "1 good match" if good == 1 else f"{good:,} good matches"
                text = f"{matches} for “{query.text}”{within}"
                if count > good:
                    text += f", then {count - good:,} more results"
            if query.sort == "date":
                text += ", newest first"
            if self.notice is not None and self.notice[0] == query.text:
                text += "\n" + reading_notice(self.notice[1])
            return text
        where = self.words() or "all photos"
        text = f"{where[:1].upper()}{where[1:]} · {count:,}, newest first"
        named = not query.folder and bool(query.album or query.tag)  # the album or tag
        if query.filter_count > int(named):
            text += " (filtered)"
        return text
