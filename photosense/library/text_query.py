"""Word search over the text read in photos, and how its hits join the model's in one list.

A query's words in double quotes are *exact words*: a photo matches only if its text holds
them, in that order, word for word (case and accents aside). The other words are looked up
stemmed ("parking" finds "PARK"), any of them; a photo's *coverage* is the share of those
words its text holds, and the words a description carries that are not the text in the photo
("the sign that says…") do not count. ``docs/text.md`` says how the two lists are fused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from photosense.store.repository import Store
from photosense.store.text import STOPWORDS, words

_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”')
RRF_K = 60
"""Reciprocal rank fusion's constant (Cormack et al. 2009): the rank at which a hit's weight
halves; the usual 60 keeps a list's top few from drowning the other list."""
GOOD_COVERAGE = 0.5
"""A photo whose text holds every word of the query is a good text match; one whose text holds
at least this share of them is one when the model also finds it like the rest of the query
(``PARTIAL_TEXT_Z`` in :mod:`photosense.library.search`)."""
LONG_TEXT_WORDS = 40
"""A text longer than this (a page, a poster) holding just one of the query's words says
little about the photo: "a computer" is not every page that mentions one (docs/text.md)."""


@dataclass(frozen=True)
class TextQuery:
    """A query as word search reads it: ``phrases`` to hold exactly, ``terms`` to look up."""

    phrases: tuple[str, ...]
    terms: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return bool(self.phrases)

    @property
    def empty(self) -> bool:
        return not self.phrases and not self.terms


@dataclass(frozen=True)
class TextHit:
    """A photo whose text matched: its text, the share of the query's words it holds and its
    full-text score (higher is better)."""

    photo_id: int
    text: str
    coverage: float
    score: float
    buried: bool = False
    """One word of the query in a long text: listed, never a good match by its words."""

    @property
    def complete(self) -> bool:
        """Whether the text holds every word of the query (or its exact phrases), and not
        as one word lost in a page."""
        return self.coverage >= 1.0 and not self.buried

    @property
    def partial(self) -> bool:
        """Whether the text holds enough of the query's words to be a good match if the
        photo also looks like the rest ("red" on a drum is not "a red flower")."""
        return GOOD_COVERAGE <= self.coverage < 1.0 and not self.buried


def parse_text_query(query: str) -> TextQuery:
    """Split ``query`` into exact phrases (in quotes) and the words to look up."""
    phrases = tuple(" ".join(words(a or b)) for a, b in _QUOTED.findall(query) if words(a or b))
    rest = _QUOTED.sub(" ", query)
    seen: list[str] = []
    for word in words(rest):
        if word not in STOPWORDS and word not in seen:
            seen.append(word)
    if not seen and not phrases:  # a query of stop words only ("the who") is its own text
        seen = list(dict.fromkeys(words(rest)))
    return TextQuery(phrases, tuple(seen))


def unquote(query: str) -> str:
    """``query`` without its quote marks (what the model reads: the words, not the quotes)."""
    stripped = " ".join(query.replace('"', " ").replace("“", " ").replace("”", " ").split())
    return stripped or query


def matching_lines(text: str, query: TextQuery) -> str:
    """The lines of ``text`` that hold a word of ``query`` (a stem's first letters suffice,
    as the index matches "parking" to "PARK"), joined by newlines; all of it if none do."""
    wanted = [w[:4] if len(w) > 4 else w for w in query.terms]
    phrases = [p.split() for p in query.phrases]
    kept = []
    for line in text.splitlines():
        have = words(line)
        if any(word.startswith(stem) for stem in wanted for word in have) or any(
            all(p in have for p in phrase) for phrase in phrases
        ):
            kept.append(line)
    return "\n".join(kept) if kept else text


def holds_phrase(text: str, phrase: str) -> bool:
    """Whether ``text`` holds the words of ``phrase`` in order, word for word (folded)."""
    have, want = words(text), phrase.split()
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def rank_text_matches(
    store: Store, query: str | TextQuery, limit: int, allowed: set[int] | None = None
) -> list[TextHit]:
    """Photos whose text matches ``query``, best first: exact phrases checked word for word,
    then by coverage, then by full-text score. ``allowed`` keeps only those photos."""
    parsed = parse_text_query(query) if isinstance(query, str) else query
    if parsed.empty:
        return []
    fetch = max(limit * 5, 200)
    matches = store.texts.search(parsed.terms, parsed.phrases, fetch)
    if allowed is not None:
        matches = [m for m in matches if m.photo_id in allowed]
    if parsed.exact:
        matches = [m for m in matches if all(holds_phrase(m.text, p) for p in parsed.phrases)]
    holding = store.texts.holding(parsed.terms, [m.photo_id for m in matches])
    hits = []
    for match in matches:
        held = len(holding.get(match.photo_id, ()))
        coverage = 1.0 if parsed.exact else held / len(parsed.terms)
        buried = not parsed.exact and held < 2 and len(words(match.text)) > LONG_TEXT_WORDS
        hits.append(TextHit(match.photo_id, match.text, coverage, match.score, buried))
    hits.sort(key=lambda h: (-h.coverage, -h.score))
    return hits[:limit]


def fuse(meaning: list[int], text: list[TextHit]) -> list[tuple[int, float]]:
    """One ranking from the model's hits (photo ids, best first) and the text hits:
    reciprocal rank fusion, a text hit weighted by its coverage (twice a model hit's weight
    when it holds every word), so a photo that has the words and the look comes first."""
    scores: dict[int, float] = {}
    for rank, photo_id in enumerate(meaning):
        scores[photo_id] = scores.get(photo_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    for rank, hit in enumerate(text):
        scores[hit.photo_id] = scores.get(hit.photo_id, 0.0) + 2.0 * hit.coverage / (
            RRF_K + rank + 1
        )
    return sorted(scores.items(), key=lambda item: -item[1])
