"""Reading the colour words of a search query: "a red flower" is the flower, looked for among
red photos first; "black and white photos" is only a colour.

The rules lean towards leaving words alone, like the reading of dates and places: words in
double quotes are never read; a capitalised colour before a capitalised word is a name ("Red
Square", "White House"); "orange" is a colour only before another word ("an orange car"), not at
the end of a phrase ("a mandarin orange"); "red and white" gives both colours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from photosense.colours.naming import BLACK_AND_WHITE, COLOURS
from photosense.enums import ReadingKind
from photosense.places.query import GENERIC, QueryReading, ReadPart, fold

WORDS = {name: name for name in COLOURS} | {
    "gray": "grey",
    "violet": "purple",
    "monochrome": BLACK_AND_WHITE,
    "b&w": BLACK_AND_WHITE,
    "b/w": BLACK_AND_WHITE,
    "greyscale": BLACK_AND_WHITE,
    "grayscale": BLACK_AND_WHITE,
}
"""Words typed -> the colour they name."""
PHRASES = {
    ("black", "and", "white"): BLACK_AND_WHITE,
    ("black", "&", "white"): BLACK_AND_WHITE,
    ("black-and-white",): BLACK_AND_WHITE,
}
"""Runs of words that name one colour (before the words in them are read one by one)."""
NOUN_COLOURS = frozenset({"orange"})
"""Colour words that are also things: read as a colour only before another word."""
COLOUR_SUFFIX = frozenset({"colour", "color", "coloured", "colored"})
"""Words after a colour that belong to it ("red coloured", "blue colour")."""
FILLER = GENERIC | {"a", "an", "all", "any", "some", "everything", "things"}
"""Words that leave a query only colours when nothing else is left ("all red photos")."""

_TOKEN = re.compile(r'"[^"]*"|“[^”]*”|\S+')
_EDGE = re.compile(r"^[^\w&/'-]+|[^\w&/'-]+$")


@dataclass(frozen=True)
class ColourWords:
    """The colours read in a query: (words as typed, colour) in the order typed, and the query
    without them."""

    found: tuple[tuple[str, str], ...]
    rest: str

    @property
    def colours(self) -> tuple[str, ...]:
        """Each colour read, once, in the order typed."""
        return tuple(dict.fromkeys(colour for _, colour in self.found))


def read_colours(text: str) -> ColourWords:
    """Find the colour words of ``text`` (see the module's rules)."""
    raw = [m.group() for m in _TOKEN.finditer(text)]
    folded = [_EDGE.sub("", t).casefold() for t in raw]
    used: set[int] = set()
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(raw):
        span = _colour_at(raw, folded, i)
        if span is None:
            i += 1
            continue
        end, colour = span
        while end < len(raw) and folded[end] in COLOUR_SUFFIX:
            end += 1
        found.append((" ".join(raw[i:end]).strip(",.;!?"), colour))
        used.update(range(i, end))
        # "red and white": the "and" between two colours goes with them.
        if (
            end + 1 < len(raw)
            and folded[end] in ("and", "&", "or")
            and (_colour_at(raw, folded, end + 1) is not None)
        ):
            used.add(end)
            end += 1
        i = end
    if not found:
        return ColourWords((), text.strip())
    rest = " ".join(raw[k] for k in range(len(raw)) if k not in used)
    return ColourWords(tuple(found), rest)


def with_colours(reading: QueryReading) -> QueryReading:
    """``reading`` with the colour words of what it left to search by meaning read too. The
    words stay in the query (the model reads them as typed: docs/search.md measured taking them
    out, which did no better), unless the query is only colours ("black and white photos"):
    then nothing is left to search by meaning and the photos of those colours are listed."""
    found = read_colours(reading.query)
    if not found.found:
        return reading
    parts = reading.parts + tuple(
        ReadPart(ReadingKind.COLOUR, words, colour) for words, colour in found.found
    )
    only_colours = all(fold(word) in FILLER for word in found.rest.split())
    query = "" if only_colours else reading.query
    return replace(reading, query=query, colours=found.colours, parts=parts)


def _colour_at(raw: list[str], folded: list[str], i: int) -> tuple[int, str] | None:
    """(end, colour) of a colour's words starting at token ``i``, or None."""
    if raw[i][:1] in ('"', "“"):
        return None
    for phrase, named in PHRASES.items():
        if tuple(folded[i : i + len(phrase)]) == phrase:
            return i + len(phrase), named
    colour = WORDS.get(folded[i])
    if colour is None:
        return None
    after = folded[i + 1] if i + 1 < len(folded) else ""
    if raw[i][:1].isupper() and i + 1 < len(raw) and raw[i + 1][:1].isupper():
        return None  # a name: "Red Square", "White House"
    if folded[i] in NOUN_COLOURS and (not after or not after.isalpha() or raw[i][-1:] in ",.;"):
        return None  # "an orange", "a mandarin orange."
    return i + 1, colour
