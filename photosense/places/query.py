"""Reading the dates and places in a search query: "snow last winter", "dog 2023", "Paris in
June", "beach in Portugal" become filters plus the words left to search by meaning.

A small grammar of its own, not a general date parser: general parsers read "may", "march",
"fall" or a lone number as dates (docs/places.md measures one). The rules lean towards leaving
words alone: a month or a season is read only with a year, a "this/last", or a preposition
("in June"); a place only when the library has photos there, and a place name that is also a
common word or a first name ("Nice", "China", "Jordan") only after "in", "near" or "around".
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from photosense.enums import ReadingKind

__all__ = ["AMBIGUOUS_PLACES", "QueryReading", "ReadPart", "fold", "read_query"]

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_SHORT_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
SEASONS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11), "fall": (9, 10, 11)}
SEASONS["winter"] = (12, 1, 2)
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30}
_UNITS |= {"year": 365, "years": 365}
DATE_WORDS = frozenset({"in", "during", "from", "of", "on", "taken"})
"""Words before a date that belong to it ("photos from last week", "Paris in June")."""
PLACE_WORDS = frozenset({"in", "at", "near", "around", "from"})
SAFE_PLACE_WORDS = frozenset({"in", "near", "around"})
"""The only words before an ambiguous place name that make it a place ("gift from Jordan")."""


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


GENERIC = _wordset(
    "photo photos picture pictures pic pics image images shot shots snap snaps taken "
    "from of in at on during the my our"
)
"""Words that mean nothing by themselves once the dates and places are read."""
AMBIGUOUS_PLACES = _wordset(
    """
    nice reading bath split mobile orange china turkey jordan chad georgia victoria florence
    austin eugene york sale deal bury march may june august hope unity beach paradise lima
    santa rose sandy grace marion jackson lincoln washington chester salem mesa avon
    cologne champagne cuba panama java jersey guinea canary lebanon madeira chili
    sydney charlotte elizabeth adelaide alexandria victoria regina ruth columbia
    phoenix aurora valencia holland england wales america
    """
)
"""Place names that are also everyday words, names or things: read only after "in"/"near"."""

_TOKEN = re.compile(r"\S+")
_EDGE = re.compile(r"^[^\w']+|[^\w']+$")
_YEAR = re.compile(r"^(19|20)\d\d$")
_ISO = re.compile(r"^((?:19|20)\d\d)-(\d\d)(?:-(\d\d))?$")
_RANGE = re.compile(r"^((?:19|20)\d\d)[-–]((?:19|20)\d\d)$")
_DECADE = re.compile(r"^(?:((?:19|20)\d)0s|'?(\d)0s)$")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


@dataclass(frozen=True)
class ReadPart:
    """One part of a query read as a filter: the words as typed, and what they mean."""

    kind: ReadingKind
    words: str
    meaning: str


@dataclass(frozen=True)
class QueryReading:
    """How a query was read: ``query`` is what is left to search by meaning ("" when nothing
    is); ``after``/``before`` bound the date taken ([after, before)), ``months`` are months of
    any year, ``place`` a place name of the library, ``colours`` the colours asked for."""

    text: str
    query: str
    after: datetime | None = None
    before: datetime | None = None
    months: tuple[int, ...] = ()
    place: str | None = None
    parts: tuple[ReadPart, ...] = field(default=())
    colours: tuple[str, ...] = ()
    """Colours asked for (photosense.colours.query reads them): photos of those colours rank
    first among the hits, or, when ``query`` is empty, are the photos listed."""

    @property
    def read(self) -> bool:
        """True when some words were read as a filter."""
        return bool(self.parts)

    @classmethod
    def literal(cls, text: str) -> QueryReading:
        """The query taken word for word: no filter."""
        return cls(text, text.strip())


def fold(text: str) -> str:
    """Lower case without accents or punctuation ("São Paulo" and "sao paulo" are one)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", bare).split())


@dataclass
class _Span:
    start: int
    end: int  # exclusive, in tokens
    kind: ReadingKind
    after: date | None = None
    before: date | None = None
    months: tuple[int, ...] = ()
    place: str | None = None
    meaning: str = ""


def _month_end(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1)


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _say(after: date, before: date) -> str:
    last = before - timedelta(days=1)
    if after == last:
        return _day(after)
    if after.day == 1 and before.day == 1:
        if (after.month, after.year) == (last.month, last.year):
            return f"{after:%B %Y}"
        if after.month == 1 and last.month == 12:
            return f"{after.year}" if after.year == last.year else f"{after.year}–{last.year}"
        return f"{after:%b %Y} – {last:%b %Y}"
    return f"{_day(after)} – {_day(last)}"


def _month_span(start: int, end: int, year: int, month: int) -> _Span:
    return _Span(start, end, ReadingKind.DATES, date(year, month, 1), _month_end(year, month))


def _season_range(name: str, year: int) -> tuple[date, date]:
    """The season ``name`` of ``year``; winter ``year`` is the one whose January is in it."""
    months = SEASONS[name]
    if name == "winter":
        return date(year - 1, 12, 1), date(year, 3, 1)
    return date(year, months[0], 1), _month_end(year, months[-1])


class _Reader:
    def __init__(
        self, text: str, today: date, places: Mapping[str, str], common: Collection[str]
    ) -> None:
        self.text = text
        self.common = frozenset(fold(w) for w in common)
        self.today = today
        self.places = places
        self.tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
        self.words = [_EDGE.sub("", t).casefold() for _, _, t in self.tokens]
        self.raw = [t for _, _, t in self.tokens]

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def year(self, i: int) -> int | None:
        w = self.word(i)
        if _YEAR.match(w) and 1900 <= int(w) <= self.today.year + 1:
            return int(w)
        return None

    # -- dates ------------------------------------------------------------------------------

    def relative(self, i: int) -> _Span | None:
        today, w = self.today, self.word(i)
        if w in ("today", "yesterday"):
            day = today - timedelta(days=w == "yesterday")
            return _Span(i, i + 1, ReadingKind.DATES, day, day + timedelta(days=1))
        if w not in ("this", "last", "past", "previous"):
            return None
        unit = self.word(i + 1)
        count = _NUMBERS.get(unit) or (int(unit) if unit.isdigit() and 0 < int(unit) < 100 else 0)
        if count and w != "this" and self.word(i + 2) in _UNITS:
            days = _UNITS[self.word(i + 2)] * count
            return _Span(i, i + 3, ReadingKind.DATES, today - timedelta(days=days), None)
        if w == "past" and unit in _UNITS:
            return _Span(i, i + 2, ReadingKind.DATES, today - timedelta(days=_UNITS[unit]), None)
        last = w != "this"
        if unit == "week":
            monday = today - timedelta(days=today.weekday()) - timedelta(days=7 * last)
            return _Span(i, i + 2, ReadingKind.DATES, monday, monday + timedelta(days=7))
        if unit == "month":
            year, month = today.year, today.month - last
            if month == 0:
                year, month = year - 1, 12
            return _Span(i, i + 2, ReadingKind.DATES, date(year, month, 1), _month_end(year, month))
        if unit == "year":
            year = today.year - last
            return _Span(i, i + 2, ReadingKind.DATES, date(year, 1, 1), date(year + 1, 1, 1))
        if unit in SEASONS:
            return self.season_of(i, i + 2, unit, last)
        return None

    def season_of(self, i: int, end: int, name: str, last: bool) -> _Span:
        today = self.today
        year = today.year + (name == "winter" and today.month == 12)
        after, before = _season_range(name, year)
        if last:
            while before > today:
                year -= 1
                after, before = _season_range(name, year)
        return _Span(i, end, ReadingKind.DATES, after, before)

    def season(self, i: int, introduced: bool) -> _Span | None:
        w = self.word(i)
        if w not in SEASONS:
            return None
        j = i + 1 + (self.word(i + 1) == "of")
        year = self.year(j)
        if year is not None:
            return _Span(i, j + 1, ReadingKind.DATES, *_season_range(w, year))
        if introduced:
            months = SEASONS[w]
            return _Span(i, i + 1, ReadingKind.MONTHS, months=months, meaning=f"{w}, any year")
        return None

    def month(self, i: int, introduced: bool) -> _Span | None:
        w = self.word(i)
        number = MONTHS.get(w) or _SHORT_MONTHS.get(w)
        start = i
        day = None
        if number is None:  # "5 June 2023"
            match = _DAY.match(w)
            number = MONTHS.get(self.word(i + 1)) or _SHORT_MONTHS.get(self.word(i + 1))
            if match is None or number is None:
                return None
            day, i = int(match.group(1)), i + 1
        j = i + 1
        if day is None and (match := _DAY.match(self.word(j))) and self.year(j + 1):
            day, j = int(match.group(1)), j + 1  # "June 5 2023"
        year = self.year(j)
        if year is None:
            if day is not None or not introduced or w in _SHORT_MONTHS:
                return None
            name = calendar.month_name[number]
            return _Span(start, i + 1, ReadingKind.MONTHS, months=(number,), meaning=name)
        if day is not None:
            try:
                when = date(year, number, day)
            except ValueError:
                return None
            return _Span(start, j + 1, ReadingKind.DATES, when, when + timedelta(days=1))
        return _month_span(start, j + 1, year, number)

    def years(self, i: int) -> _Span | None:
        w = self.word(i)
        if w in ("before", "after", "since") and (year := self.year(i + 1)):
            if w == "before":
                return _Span(i, i + 2, ReadingKind.DATES, None, date(year, 1, 1))
            start = date(year + (w == "after"), 1, 1)
            return _Span(i, i + 2, ReadingKind.DATES, start, None)
        first, last = self.year(i + 1), self.year(i + 3)
        if w == "between" and first and last and self.word(i + 2) == "and" and last >= first:
            return _Span(i, i + 4, ReadingKind.DATES, date(first, 1, 1), date(last + 1, 1, 1))
        if (match := _RANGE.match(w)) and int(match.group(1)) <= int(match.group(2)):
            first, last = int(match.group(1)), int(match.group(2))
            return _Span(i, i + 1, ReadingKind.DATES, date(first, 1, 1), date(last + 1, 1, 1))
        if match := _ISO.match(w):
            year, month = int(match.group(1)), int(match.group(2))
            try:
                if match.group(3):
                    day = date(year, month, int(match.group(3)))
                    return _Span(i, i + 1, ReadingKind.DATES, day, day + timedelta(days=1))
                return _month_span(i, i + 1, year, month)
            except ValueError:
                return None
        decade = _DECADE.match(w)
        if decade and (decade.group(1) or self.word(i - 1) == "the" or self.raw[i][0] == "'"):
            tens = decade.group(1)
            first = int(tens + "0") if tens else 1900 + int(decade.group(2)) * 10
            if first <= self.today.year:
                return _Span(i, i + 1, ReadingKind.DATES, date(first, 1, 1), date(first + 10, 1, 1))
        if (year := self.year(i)) is not None:
            if self.word(i + 1) in ("to", "-", "–") and (last := self.year(i + 2)) and last >= year:
                return _Span(i, i + 3, ReadingKind.DATES, date(year, 1, 1), date(last + 1, 1, 1))
            return _Span(i, i + 1, ReadingKind.DATES, date(year, 1, 1), date(year + 1, 1, 1))
        return None

    def date_at(self, i: int) -> _Span | None:
        """A date starting at token ``i``, with the words before it that belong to it."""
        lead = i
        while self.word(lead) in DATE_WORDS:
            lead += 1
        introduced = self.word(lead - 1) in ("in", "during")
        if self.word(lead) == "the":
            lead += 1
        readers: list[Callable[[int], _Span | None]] = [
            self.relative,
            self.years,
            lambda k: self.season(k, introduced),
            lambda k: self.month(k, introduced),
        ]
        for reader in readers:
            span = reader(lead)
            if span is not None:
                span.start = i
                return span
        return None

    # -- places -----------------------------------------------------------------------------

    def place_at(self, i: int) -> _Span | None:
        lead = i + (self.word(i) in PLACE_WORDS)
        for size in range(min(5, len(self.words) - lead), 0, -1):
            name = fold(" ".join(self.raw[lead : lead + size]))
            canonical = self.places.get(name)
            if canonical is None:
                continue
            ambiguous = name in AMBIGUOUS_PLACES or name in self.common
            if ambiguous and not (lead > i and self.word(i) in SAFE_PLACE_WORDS):
                return None
            return _Span(i, lead + size, ReadingKind.PLACE, place=canonical, meaning=canonical)
        return None


def read_query(
    text: str,
    *,
    today: date | None = None,
    places: Mapping[str, str] | None = None,
    common_words: Collection[str] = (),
) -> QueryReading:
    """Read the dates and places in ``text``.

    ``places`` maps folded place names (see :func:`fold`) of the library to the name shown;
    ``common_words`` are everyday words (the tag vocabulary) that a place is read as only after
    "in", "near" or "around". Dates are relative to ``today`` (default: the local date).
    """
    reader = _Reader(text, today or date.today(), places or {}, common_words)
    spans: list[_Span] = []
    i = 0
    place_read = False
    while i < len(reader.words):
        span = reader.date_at(i)
        if span is None and not place_read:
            span = reader.place_at(i)
            place_read = span is not None
        if span is None:
            i += 1
            continue
        spans.append(span)
        i = span.end
    return _reading(reader, spans)


def _reading(reader: _Reader, spans: list[_Span]) -> QueryReading:
    after: date | None = None
    before: date | None = None
    months: list[int] = []
    place: str | None = None
    parts: list[ReadPart] = []
    used: set[int] = set()
    for span in spans:
        used.update(range(span.start, span.end))
        words = " ".join(reader.raw[span.start : span.end]).strip(",.;")
        meaning = span.meaning
        if span.kind == ReadingKind.DATES:
            if span.after is not None:
                after = span.after if after is None else max(after, span.after)
            if span.before is not None:
                before = span.before if before is None else min(before, span.before)
            meaning = _span_words(span, reader.today)
        elif span.kind == ReadingKind.MONTHS:
            months.extend(m for m in span.months if m not in months)
        else:
            place = span.place
        parts.append(ReadPart(span.kind, words, meaning))
    left = [reader.raw[i] for i in range(len(reader.raw)) if i not in used]
    return QueryReading(
        reader.text,
        _leftover(left) if parts else reader.text.strip(),
        datetime.combine(after, datetime.min.time()) if after else None,
        datetime.combine(before, datetime.min.time()) if before else None,
        tuple(months),
        place,
        tuple(parts),
    )


def _span_words(span: _Span, today: date) -> str:
    if span.after is not None and span.before is not None:
        return _say(span.after, span.before)
    if span.after is not None:
        return f"since {_day(span.after)}"
    assert span.before is not None
    return f"before {_day(span.before)}"


def _leftover(words: list[str]) -> str:
    """The words not read, less the generic ones left dangling ("photos from", "in")."""
    cleaned = [w.strip(",.;") for w in words]
    cleaned = [w for w in cleaned if w]
    if all(w.casefold() in GENERIC for w in cleaned):
        return ""
    while cleaned and cleaned[-1].casefold() in GENERIC - {"photos", "pictures"}:
        cleaned.pop()
    lead = ("photos", "photo", "pictures", "picture", "pics", "images")
    if len(cleaned) > 1 and cleaned[0].casefold() in lead and cleaned[1].casefold() == "of":
        cleaned = cleaned[2:]
    return " ".join(cleaned)
