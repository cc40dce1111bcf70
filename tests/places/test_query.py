"""Reading dates and places in search queries: the list of real queries in queries.tsv, the
everyday queries and captions the project ships (none of them names a date or a place), and
the edges of the grammar."""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from pathlib import Path

import pytest

from photosense.enums import ReadingKind
from photosense.places.query import QueryReading, fold, read_query

TODAY = date(2026, 12, 6)
PLACES = {
    fold(name): name
    for name in [
        "Lisbon",
        "Alfama",
        "Portugal",
        "Paris",
        "Île-de-France",
        "France",
        "Jordan",
        "Amman",
        "China",
        "Nice",
        "Georgia",
        "Tbilisi",
        "Kyoto",
        "Japan",
        "Brazil",
        "Reading",
        "England",
        "Canada",
        "Turkey",
        "Istanbul",
        "Victoria",
    ]
    + ["New York City", "New York", "United States", "São Paulo", "United Kingdom"]
}
KNOWN_MISSES = {"the 1975 concert"}
"""Read otherwise than a person would, and left so: a year next to a word is a year."""
QUERIES = Path(__file__).with_name("queries.tsv")


def load_queries() -> list[tuple[str, str, dict[str, str]]]:
    rows = []
    for line in QUERIES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        query, left, filters = (line.split("\t") + ["", ""])[:3]
        expected = dict(item.split("=", 1) for item in filters.split(";") if item)
        rows.append((query, left, expected))
    return rows


def summary(reading: QueryReading) -> dict[str, str]:
    found = {}
    if reading.after:
        found["after"] = f"{reading.after:%Y-%m-%d}"
    if reading.before:
        found["before"] = f"{reading.before:%Y-%m-%d}"
    if reading.months:
        found["months"] = ",".join(str(m) for m in reading.months)
    if reading.place:
        found["place"] = reading.place
    return found


def read(text: str) -> QueryReading:
    return read_query(text, today=TODAY, places=PLACES)


@pytest.mark.parametrize(("query", "left", "expected"), load_queries())
def test_real_queries(query: str, left: str, expected: dict[str, str]) -> None:
    reading = read(query)
    outcome = (reading.query, summary(reading))
    if query in KNOWN_MISSES:
        assert outcome != (left, expected)
    else:
        assert outcome == (left, expected)
        assert reading.read == bool(expected)


@pytest.mark.parametrize("name", ["everyday_queries.txt", "background_captions.txt"])
def test_shipped_queries_name_no_date_or_place(name: str) -> None:
    text = resources.files("photosense").joinpath("resources", name).read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    misread = [line for line in lines if read(line).read]
    assert misread == []


def test_parts_say_what_was_read() -> None:
    reading = read("beach in Portugal last summer")
    assert [(p.kind, p.words, p.meaning) for p in reading.parts] == [
        (ReadingKind.PLACE, "in Portugal", "Portugal"),
        (ReadingKind.DATES, "last summer", "Jun 2026 – Aug 2026"),
    ]
    assert reading.after == datetime(2026, 6, 1) and reading.before == datetime(2026, 9, 1)


def test_places_unknown_to_the_library_stay_words() -> None:
    reading = read_query("beach in Portugal", today=TODAY, places={})
    assert (reading.query, reading.read) == ("beach in Portugal", False)


def test_common_words_are_places_only_after_in() -> None:
    places = {"lagos": "Lagos"}
    assert not read_query("lagos", today=TODAY, places=places, common_words=["Lagos"]).read
    assert read_query("in Lagos", today=TODAY, places=places, common_words=["Lagos"]).read
    assert read_query("lagos", today=TODAY, places=places).read


def test_only_the_first_place_is_read() -> None:
    reading = read("Lisbon and Paris")
    assert (reading.place, reading.query) == ("Lisbon", "and Paris")


def test_two_dates_narrow_each_other() -> None:
    reading = read("2023 last year")
    assert (reading.after, reading.before) == (datetime(2025, 1, 1), datetime(2024, 1, 1))


def test_impossible_dates_are_not_read() -> None:
    february = read("31 February 2023")  # not a day: the month it names
    assert (february.after, february.before) == (datetime(2023, 2, 1), datetime(2023, 3, 1))
    assert read("2023-13").after is None
    assert read("2023-02-30").after is None


def test_literal_reads_nothing() -> None:
    literal = QueryReading.literal("  dog 2023 ")
    assert (literal.query, literal.read, literal.after) == ("dog 2023", False, None)


def test_seasons_in_the_first_months_of_the_year() -> None:
    january = date(2027, 1, 15)
    assert read_query("last winter", today=january).after == datetime(2025, 12, 1)
    assert read_query("this winter", today=january).after == datetime(2026, 12, 1)
    assert read_query("last month", today=january).after == datetime(2026, 12, 1)


def test_fold_ignores_case_accents_and_punctuation() -> None:
    assert fold("São  Paulo!") == fold("sao paulo") == "sao paulo"
