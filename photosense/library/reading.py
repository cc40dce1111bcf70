"""Whether the answering model reads a query: an English-only model given another script,
emoji, or another language's words answers with junk, so the fronts say so in one line.

The check is cheap and errs towards silence: a script it sees (letters outside Latin), a
query of symbols only (emoji), or function words of a few European languages and none of
English. Full-width letters ("ｃａｔ") are not refused: search reads them as NFKC makes them.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_query", "query_notice"]

# Function words that are not also English words (so "am", "a", "in", "on" are left out).
_FOREIGN_WORDS = {
    "German": frozenset(
        [
            "der",
            "das",
            "und",
            "ein",
            "eine",
            "einer",
            "einem",
            "einen",
            "mit",
            "auf",
            "im",
            "zum",
            "zur",
            "vom",
            "von",
            "ist",
            "nicht",
            "bei",
            "für",
            "über",
            "unter",
            "dem",
            "den",
            "des",
            "auch",
            "oder",
            "mein",
            "meine",
        ]
    ),
    "French": frozenset(
        [
            "le",
            "les",
            "une",
            "des",
            "du",
            "au",
            "aux",
            "et",
            "avec",
            "sur",
            "dans",
            "pour",
            "sous",
            "chez",
            "mon",
            "ma",
            "mes",
            "est",
        ]
    ),
    "Spanish": frozenset(
        [
            "el",
            "los",
            "las",
            "una",
            "unos",
            "unas",
            "del",
            "al",
            "y",
            "con",
            "sobre",
            "por",
            "para",
            "mi",
            "mis",
            "es",
            "la",
        ]
    ),
    "Italian": frozenset(
        ["il", "lo", "gli", "della", "delle", "sul", "sulla", "nella", "nel", "per"]
    ),
    "Dutch": frozenset(["het", "een", "van", "met", "op", "bij", "naar", "mijn"]),
    "Portuguese": frozenset(
        ["os", "um", "uma", "com", "na", "no", "do", "da", "em", "meu", "minha"]
    ),
}
_ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "of",
        "on",
        "in",
        "at",
        "with",
        "by",
        "for",
        "to",
        "from",
        "is",
        "are",
        "my",
        "our",
        "under",
        "over",
        "near",
        "his",
        "her",
        "their",
        "some",
    ]
)
_WORD = re.compile(r"[^\W\d_]+")


def normalise_query(text: str) -> str:
    """The query as the model is given it: NFKC folds full-width letters ("ｃａｔ" → "cat")."""
    return unicodedata.normalize("NFKC", text)


def _script(char: str) -> str:
    """The first word of a letter's Unicode name: LATIN, CJK, HIRAGANA, CYRILLIC, …"""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def _what_it_is(text: str) -> str | None:
    """Why an English-only model would not read ``text`` (words), or None when it would."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        if any(unicodedata.category(c) == "So" for c in text):
            return "emoji or symbols, not words"
        return None
    scripts = {_script(c) for c in letters} - {"LATIN"}
    if scripts:
        return "not in the Latin alphabet"
    words = [w.casefold() for w in _WORD.findall(text)]
    english = sum(w in _ENGLISH_WORDS for w in words)
    for language, vocabulary in _FOREIGN_WORDS.items():
        foreign = sum(w in vocabulary for w in words)
        if (foreign >= 1 and english == 0) or (foreign >= 2 and foreign > english):
            return f"{language}, it seems"
    return None


def query_notice(
    query: str, model: str, languages: tuple[str, ...], multilingual: str | None
) -> str | None:
    """One line for a ``query`` that ``model`` (reading ``languages``) will not understand,
    with the way out (the catalogue's ``multilingual`` model), or None when it reads it."""
    if tuple(languages) != ("en",):
        return None  # reads more than English, or not known: say nothing
    what = _what_it_is(normalise_query(query))
    if what is None:
        return None
    way_out = f"; a multilingual model such as {multilingual} reads it" if multilingual else ""
    return (
        f"{model} reads English only and “{query.strip()}” is {what}: expect weak results{way_out}."
    )
