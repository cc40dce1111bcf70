"""Reading the colour words of a search query."""

from __future__ import annotations

import pytest

from photosense.colours.query import read_colours, with_colours
from photosense.enums import ReadingKind
from photosense.places.query import QueryReading


@pytest.mark.parametrize(
    ("text", "colours", "rest"),
    [
        ("a red flower", ("red",), "a flower"),
        ("blue car", ("blue",), "car"),
        ("Grey sky", ("grey",), "sky"),
        ("a gray cat", ("grey",), "a cat"),
        ("black and white photos", ("black and white",), "photos"),
        ("a red and white anemone", ("red", "white"), "a anemone"),
        ("an orange car", ("orange",), "an car"),
        ("a red-coloured kite", (), "a red-coloured kite"),
        ("a red coloured kite", ("red",), "a kite"),
    ],
)
def test_colour_words_are_read(text: str, colours: tuple[str, ...], rest: str) -> None:
    found = read_colours(text)
    assert found.colours == colours
    assert found.rest == rest


@pytest.mark.parametrize(
    "text",
    [
        '"Red Square" at night',
        "Red Square at night",
        "the White House",
        "an orange",
        "a mandarin orange.",
        "sunset",
    ],
)
def test_names_quotes_and_fruit_are_left_alone(text: str) -> None:
    assert read_colours(text).colours == ()


def test_a_reading_keeps_the_colour_in_the_words_searched_by_meaning() -> None:
    reading = with_colours(QueryReading("a red flower", "a red flower"))
    assert reading.query == "a red flower"
    assert reading.colours == ("red",)
    assert [(p.kind, p.words, p.meaning) for p in reading.parts] == [
        (ReadingKind.COLOUR, "red", "red")
    ]


def test_a_query_of_colours_alone_leaves_nothing_to_search_by_meaning() -> None:
    reading = with_colours(QueryReading("black and white photos", "black and white photos"))
    assert reading.query == ""
    assert reading.colours == ("black and white",)


def test_a_query_with_no_colour_is_unchanged() -> None:
    reading = QueryReading("dog on a beach", "dog on a beach")
    assert with_colours(reading) is reading
