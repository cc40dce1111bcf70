"""Search: photos by a description, or by likeness to a photo (``photosense search|similar``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from photosense.colours.query import with_colours
from photosense.colours.ranking import POOL, colour_order
from photosense.enums import MatchReason
from photosense.errors import NoVectorError, PhotosenseError
from photosense.library.colours import Colours, colour_name
from photosense.library.people import People
from photosense.library.photos import Photos
from photosense.library.places import Places
from photosense.library.reading import normalise_query
from photosense.library.records import Hit, SearchResults
from photosense.library.runtime import ModelRuntime
from photosense.library.text_query import (
    TextHit,
    TextQuery,
    fuse,
    matching_lines,
    parse_text_query,
    rank_text_matches,
    unquote,
)
from photosense.people.faces import CONFIDENT_SCORE
from photosense.people.intent import PeopleIntent, people_intent
from photosense.places.query import QueryReading
from photosense.tagging.vocabulary import background_captions
from photosense.vectors import VectorIndex
from photosense.vectors.relevance import (
    Reference,
    RelevanceCalibration,
    RelevanceParams,
    good_count,
    needs_refresh,
    reference_ids,
    typical_scale,
    zscores,
)

SORTS = ("score", "date")
RELEVANCE_KEY = "search.relevance"
"""Setting: per model id, [photos, typical scale] the good-match cutoff was calibrated with."""
PARTIAL_TEXT_Z = 1.5
"""A photo whose text holds only some of the query's words is a good match when the model
scores it for the whole query at least this far (in z) above the library's typical photo:
"a red flower" is not a drum with "RED" on it, "hotel sign" is a sign reading "HOTEL"
(docs/text.md has the figures)."""


class Search:
    """Ask the library's model; filters narrow the candidates before the vector search, and
    each search says how many of its hits are good matches. The dates and places in a query
    are read as filters (see :meth:`Places.read`) unless it is searched literally."""

    def __init__(
        self,
        runtime: ModelRuntime,
        photos: Photos,
        people: People,
        colours: Colours,
        relevance: RelevanceParams | None = None,
    ) -> None:
        self._runtime = runtime
        self._photos = photos
        self._people = people
        self._colours = colours
        self._places: Places = photos.places
        self.relevance = relevance or RelevanceParams()
        self._references: dict[str, Reference] = {}

    def text(
        self,
        text: str,
        *,
        limit: int = 20,
        min_score: float | None = None,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        sort: str = "score",
        tag: str | None = None,
        album: str | None = None,
        min_rating: int | None = None,
        people: Sequence[str | int] = (),
        place: str | None = None,
        literal: bool = False,
        has_text: bool = False,
        colour: str | None = None,
    ) -> SearchResults:
        """Photos that match ``text``, best first (or newest first with ``sort="date"``): by
        the model's sense of them and by the words read in them, in one list (words in double
        quotes are exact words: only photos whose text holds them match).

        ``tag`` keeps only photos that carry that tag (accepted, or suggested above its
        threshold; a rejected tag never matches); ``album`` only the photos of that album;
        ``min_rating`` only photos with at least that many stars; ``place`` only those taken
        there; ``has_text`` only the photos in which some text was read; ``people`` only the
        photos in which all of them appear; ``colour`` only the photos that colour covers a
        tenth of or more ("black and white": photos without colour). A query that asks for
        people ("a family", "two children") puts the photos whose faces fit it first, as its
        good matches: the model alone may know no people (docs/people.md). The dates and places
        named in ``text`` ("dog 2023", "beach in Portugal") narrow the search too, and the
        colours it names ("a red flower") put the photos of those colours first among the hits,
        unless ``literal``; the
        results say how the text was read. A text that is all filters ("photos from last week")
        lists the photos they keep, newest first, with no model; one that is only colours ("red
        photos") lists the photos of those colours, the most of them first.
        """
        if not text.strip():
            raise PhotosenseError("the search text is empty")
        if sort not in SORTS:
            raise PhotosenseError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        if colour is not None:
            colour = colour_name(colour)
        reading = QueryReading.literal(text) if literal else self._places.read(text)
        if not literal and self._colours.named():  # until colours are named, none are read
            reading = with_colours(reading)
        after = _latest(after, reading.after)
        before = _earliest(before, reading.before)
        runtime = self._runtime
        with runtime.lock:
            only: set[int] | None = None
            for name in (place, reading.place):
                if name is not None:
                    there = self._places.photo_ids(name)
                    only = there if only is None else only & there
            if people:
                with_people = self._people.photo_ids(people)
                only = with_people if only is None else only & with_people
            if has_text:
                with_text = runtime.store.texts.photo_ids()
                only = with_text if only is None else only & with_text
            if colour is not None:
                coloured = self._colours.covered([colour])
                only = coloured if only is None else only & coloured
            if not reading.query:
                filters = (folder, after, before, tag, album, min_rating)
                return self._listed(reading, limit, *filters, only, sort)
            runtime.indexed_model()  # nothing to search: said before any model loads
            if tag is not None:
                tagged = runtime.tagger.photos_with(tag)
                only = tagged if only is None else only & tagged
            if album is not None or reading.months or min_rating is not None:
                kept = set(
                    self._photos.ids(album=album, months=reading.months, min_rating=min_rating)
                )
                only = kept if only is None else only & kept
            words = reading.query
            words_query = parse_text_query(words)
            meaning = normalise_query(unquote(words))  # "ｃａｔ": "cat"
            model_id, query = runtime.encode_query(meaning)
            results = self._search(
                words,
                model_id,
                query,
                max(limit, POOL) if reading.colours else limit,
                min_score,
                folder,
                after,
                before,
                "score",
                None,
                only,
                text=True,
            )
            if reading.colours:
                results = self._colours_first(results, reading.colours, limit)
            intent = None if people else people_intent(words)
            if intent is not None:
                results = self._people_first(
                    results, intent, query, limit, min_score, only, folder, after, before
                )
            if not words_query.empty:
                allowed = self._allowed(folder, after, before, None, only)
                found = rank_text_matches(runtime.store, words_query, limit, allowed)
                if found or words_query.exact:
                    results = self._with_text(results, query, found, words_query, limit)
            return replace(_sorted(results, sort), reading=reading)

    def _colours_first(
        self, found: SearchResults, colours: Sequence[str], limit: int
    ) -> SearchResults:
        """The model's best :data:`POOL` hits re-ordered so that the photos of ``colours`` come
        first among those the model scores alike (docs/search.md measures it), the rest after
        them as the model ranks them, cut to ``limit``: the same order whatever the limit (the
        CLI's 20, the window's 500). As many photos are good matches as the model judged so:
        the colour decides which photos fill those places, not how many there are."""
        pool, rest = found.hits[:POOL], found.hits[POOL:]
        fits = self._colours.fits(colours, [h.photo.id for h in pool])
        order = colour_order([h.score for h in pool], [fits[h.photo.id] for h in pool])
        hits = ([pool[i] for i in order] + rest)[:limit]
        good = None if found.good is None else min(found.good, len(hits))
        return SearchResults(found.query, found.model_id, hits, good)

    def _people_first(
        self,
        found: SearchResults,
        intent: PeopleIntent,
        query: npt.NDArray[np.float32],
        limit: int,
        min_score: float | None,
        only: set[int] | None,
        folder: str | os.PathLike[str] | None,
        after: datetime | None,
        before: datetime | None,
    ) -> SearchResults:
        """``found`` with the photos whose faces fit a query that asks for people first, as its
        good matches (unchanged when no photo fits)."""
        counts = self._people.face_counts(CONFIDENT_SCORE)  # a wheel is no one
        fitting = {i for i, n in counts.items() if intent.fits(n)}
        if not fitting:
            return found
        text, model_id = found.query, found.model_id
        allowed = fitting if only is None else only & fitting
        first = self._search(
            text,
            model_id,
            query,
            limit,
            min_score,
            folder,
            after,
            before,
            "score",
            None,
            allowed,
            text=True,
        )
        shown = {h.photo.id for h in first.hits}
        rest = [h for h in found.hits if h.photo.id not in shown]
        return SearchResults(
            text, model_id, (first.hits + rest)[:limit], min(len(first.hits), limit)
        )

    def people(
        self,
        people: Sequence[str | int],
        *,
        limit: int = 20,
        folder: str | os.PathLike[str] | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        tag: str | None = None,
        album: str | None = None,
        min_rating: int | None = None,
    ) -> SearchResults:
        """Photos in which all of ``people`` appear, newest first, with the usual filters; no
        model is needed (every hit is a good match, scored 1)."""
        if not people:
            raise PhotosenseError("give one or more people, or a text to search for")
        wanted = self._people.photo_ids(people)
        ids = self._photos.ids(
            folder=folder, after=after, before=before, album=album, tag=tag, min_rating=min_rating
        )
        chosen = [i for i in ids if i in wanted][:limit]
        records = self._photos.get(chosen)
        hits = [Hit(records[i], 1.0) for i in chosen if i in records]
        label = " and ".join(str(p) for p in people)
        return SearchResults(label, self._runtime.spec, hits, len(hits))

    def _listed(
        self,
        reading: QueryReading,
        limit: int,
        folder: str | os.PathLike[str] | None,
        after: datetime | None,
        before: datetime | None,
        tag: str | None,
        album: str | None,
        min_rating: int | None,
        only: set[int] | None,
        sort: str = "score",
    ) -> SearchResults:
        """The photos a query made only of filters keeps, newest first (not scored); for a
        query of colours, the photos those colours cover most first (newest first with
        ``sort="date"``)."""
        if limit < 1:
            raise PhotosenseError("the limit must be at least 1")
        ids = self._photos.ids(
            folder=folder,
            after=after,
            before=before,
            album=album,
            months=reading.months,
            min_rating=min_rating,
        )
        if only is not None:
            ids = [i for i in ids if i in only]
        if tag is not None:
            tagged = self._runtime.tagger.photos_with(tag)
            ids = [i for i in ids if i in tagged]
        if reading.colours and sort == "date":  # the photos of those colours, newest first
            covered = self._colours.covered(reading.colours)
            ids = [i for i in ids if i in covered]
        elif reading.colours:  # the photos of the colours asked for, the most of them first
            fits = self._colours.photo_ids(reading.colours)
            ids = sorted((i for i in ids if i in fits), key=lambda i: -fits[i])
        records = self._photos.get(ids[:limit])
        hits = [Hit(records[i], 0.0) for i in ids[:limit] if i in records]
        return SearchResults(reading.text, self._runtime.spec, hits, None, reading)

    def calibration(self, model_id: str | None = None) -> RelevanceCalibration | None:
        """What the good-match split of ``model_id`` (default: the library's model) was last
        calibrated with; read from the library's settings alone, so no model or index loads."""
        model_id = model_id or self._runtime.spec
        stored = self._runtime.store.settings.get(RELEVANCE_KEY)
        entry = stored.get(model_id) if isinstance(stored, dict) else None
        if not isinstance(entry, list) or len(entry) != 2:
            return None
        return RelevanceCalibration(model_id, int(entry[0]), float(entry[1]))

    def _reference(self, index: VectorIndex) -> Reference:
        """The answering model's reference: a sample of the loaded index and the stored
        calibration, recalibrated (the generic captions' cached vectors over the new sample)
        once the library's size has moved by a few percent."""
        model_id, photos = index.model_id, len(index)
        cached = self._references.get(model_id)
        if cached is not None and not needs_refresh(cached.calibration, model_id, photos):
            return cached
        sample = index.vectors_for(reference_ids(index.ids()))
        calibration = self.calibration(model_id)
        if calibration is None or needs_refresh(calibration, model_id, photos):
            captions = [(caption, ("{}",)) for caption in background_captions()]
            text_encoder = self._runtime.text_encoder  # the light one where the model has it
            background = self._runtime.text_vectors().vectors(text_encoder, captions)
            calibration = RelevanceCalibration(model_id, photos, typical_scale(sample, background))
            stored = self._runtime.store.settings.get(RELEVANCE_KEY)
            entries = dict(stored) if isinstance(stored, dict) else {}
            entries[model_id] = [calibration.photos, calibration.typical_scale]
            self._runtime.store.settings.set(RELEVANCE_KEY, entries)
        reference = Reference(calibration, sample)
        self._references[model_id] = reference
        return reference

    def similar(self, photo: str | os.PathLike[str], *, limit: int = 20) -> SearchResults:
        """Photos that look like ``photo`` (a path inside the library): its stored vector is
        the query, so no text model loads (nor any model, for the starter)."""
        record = self._photos.resolve(photo)
        path = record.path
        runtime = self._runtime
        with runtime.lock:
            model_id = runtime.indexed_model()
            try:
                query = runtime.index(model_id).vectors_for([record.id])[0]
            except KeyError:
                raise NoVectorError(str(photo), model_id) from None
            return self._search(
                path, model_id, query, limit, None, None, None, None, "score", record.id
            )

    def prepare(self) -> str:
        """Load the model and its vector index now (seconds on a large library), so that the
        first search does not wait for them; returns the model id. The app calls this in the
        background once its window is up."""
        with self._runtime.lock:
            model_id = self._runtime.encoder.model_id
            self._runtime.indexes.get(model_id)
            return model_id

    def _search(
        self,
        label: str,
        model_id: str,
        query: npt.NDArray[np.float32],
        limit: int,
        min_score: float | None,
        folder: str | os.PathLike[str] | None,
        after: datetime | None,
        before: datetime | None,
        sort: str,
        exclude: int | None,
        only: set[int] | None = None,
        *,
        text: bool = False,
    ) -> SearchResults:
        if sort not in SORTS:
            raise PhotosenseError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)}")
        if limit < 1:
            raise PhotosenseError("the limit must be at least 1")
        index = self._runtime.index(model_id)
        allowed = self._allowed(folder, after, before, exclude, only)
        # A text query lies across the modality gap from the photos: the index searches it
        # harder (docs/scale.md).
        found = index.search(query, limit + (exclude is not None), allowed, text=text)
        found = [(i, s) for i, s in found if i != exclude][:limit]
        if min_score is not None:
            found = [(i, s) for i, s in found if s >= min_score]
        records = self._photos.get([i for i, _ in found])
        hits = [Hit(records[i], s) for i, s in found if i in records]
        # A photo query is not judged: with the starter, photos sharing a subject score as
        # high as an edited copy of the query, so "stands out" does not mean "near-duplicate"
        # (docs/search.md); its hits stay one list ranked by likeness.
        good = None if exclude is not None else self._good(index, query, hits)
        return _sorted(SearchResults(label, model_id, hits, good), sort)

    def _allowed(
        self,
        folder: str | os.PathLike[str] | None,
        after: datetime | None,
        before: datetime | None,
        exclude: int | None,
        only: set[int] | None,
    ) -> set[int] | None:
        """The photos the filters leave (None: every photo)."""
        allowed: set[int] | None = None
        if folder is not None or after is not None or before is not None:
            allowed = set(self._photos.ids(folder=folder, after=after, before=before))
            if exclude is not None:
                allowed.discard(exclude)
        if only is not None:
            allowed = set(only) if allowed is None else allowed & only
        return allowed

    def _with_text(
        self,
        results: SearchResults,
        query: npt.NDArray[np.float32],
        found: list[TextHit],
        words_query: TextQuery,
        limit: int,
    ) -> SearchResults:
        """The model's hits and the text hits in one ranked list, good matches first: a photo
        is good when the model judged it so, or its text holds the query's words (exact
        phrases: only photos that hold them are kept), or its text holds at least half of them
        and the model finds it like the whole query. Only those text hits raise a photo's
        rank; the others stay where the model put them, or after its hits."""
        by_meaning = {h.photo.id: h for h in results.hits}
        good_meaning = {h.photo.id for h in results.good_hits}
        by_text = {h.photo_id: h for h in found}
        meaning_ids = [h.photo.id for h in results.hits]
        if words_query.exact:
            meaning_ids = [i for i in meaning_ids if i in by_text]
        records = self._photos.get([h.photo_id for h in found if h.photo_id not in by_meaning])
        scores = self._scores(results.model_id, query, list(records))
        scores.update((i, h.score) for i, h in by_meaning.items())
        partial = [h.photo_id for h in found if h.partial and h.photo_id in scores]
        looks_alike = self._looks_alike(results.model_id, query, partial, scores)
        # Only words that stand for the query lift a photo; the rest keep the model's rank
        # (a drum whose label says "Red" is not lifted for "a red flower"), or come last.
        counted = [h for h in found if h.complete or h.photo_id in looks_alike]
        fused = fuse(meaning_ids, counted)
        placed = {i for i, _ in fused}
        fused += [(h.photo_id, 0.0) for h in found if h.photo_id not in placed]
        hits: list[Hit] = []
        good: list[Hit] = []
        for photo_id, _ in fused:
            text_hit = by_text.get(photo_id)
            meaning_hit = by_meaning.get(photo_id)
            if meaning_hit is None and photo_id not in records:
                continue
            photo = meaning_hit.photo if meaning_hit is not None else records[photo_id]
            score = scores.get(photo_id, 0.0)
            by_model = photo_id in good_meaning
            if text_hit is None:
                hit = Hit(photo, score, MatchReason.MEANING)
            else:
                reason = MatchReason.BOTH if by_model else MatchReason.TEXT
                hit = Hit(photo, score, reason, matching_lines(text_hit.text, words_query))
            is_good = by_model or (
                text_hit is not None and (text_hit.complete or photo_id in looks_alike)
            )
            (good if is_good else hits).append(hit)
        ranked = (good + hits)[:limit]
        judged = None if results.good is None else min(len(good), len(ranked))
        return SearchResults(results.query, results.model_id, ranked, judged)

    def _looks_alike(
        self,
        model_id: str,
        query: npt.NDArray[np.float32],
        ids: list[int],
        scores: dict[int, float],
    ) -> set[int]:
        """Those of ``ids`` (photos whose text holds part of the query's words) that the model
        finds like the whole query: at least :data:`PARTIAL_TEXT_Z` above the library's
        typical photo, by their ``scores``."""
        if not ids:
            return set()
        reference = self._reference(self._runtime.index(model_id))
        z = zscores(
            np.array([scores[i] for i in ids], np.float32), query, reference, self.relevance.shrink
        )
        return {i for i, value in zip(ids, z, strict=True) if value >= PARTIAL_TEXT_Z}

    def _scores(
        self, model_id: str, query: npt.NDArray[np.float32], ids: list[int]
    ) -> dict[int, float]:
        """The model's score of photos found by their words alone (0 without a vector)."""
        index = self._runtime.index(model_id)
        scores: dict[int, float] = {}
        for photo_id in ids:
            try:
                vector = index.vectors_for([photo_id])[0]
            except KeyError:
                continue
            scores[photo_id] = float(np.dot(vector, query))
        return scores

    def _good(self, index: VectorIndex, query: npt.NDArray[np.float32], hits: list[Hit]) -> int:
        """How many of ``hits`` (best first) are good matches for the text ``query``."""
        scores = np.array([h.score for h in hits], np.float32)
        return good_count(scores, query, self._reference(index), self.relevance)


def _latest(first: datetime | None, second: datetime | None) -> datetime | None:
    """The later of two lower bounds (None: unbounded)."""
    return max(first, second) if first is not None and second is not None else first or second


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    """The earlier of two upper bounds (None: unbounded)."""
    return min(first, second) if first is not None and second is not None else first or second


def _sorted(results: SearchResults, sort: str) -> SearchResults:
    """``results`` newest first within the good matches and within the rest (``sort="date"``),
    else as they are."""
    if sort != "date":
        return results
    hits, cut = list(results.hits), results.good or 0
    hits[:cut] = sorted(hits[:cut], key=lambda h: h.photo.taken_at, reverse=True)
    hits[cut:] = sorted(hits[cut:], key=lambda h: h.photo.taken_at, reverse=True)
    return SearchResults(results.query, results.model_id, hits, results.good)
