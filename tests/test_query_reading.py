"""Saying what the model cannot read: another script, emoji, another language for the
English-only starter, in one line with the way out; full-width letters are read as NFKC."""

from __future__ import annotations

import pytest

from photosense.library import Library
from photosense.library.reading import normalise_query, query_notice

MULTI = "xlm-roberta-base-ViT-B-32"


@pytest.mark.parametrize(
    ("query", "what"),
    [
        ("猫", "not in the Latin alphabet"),
        ("🐱", "emoji or symbols"),
        ("Москва зимой", "not in the Latin alphabet"),
        ("ein Hund am Strand", "German"),
        ("un chien sur la plage", "French"),
        ("perro en la playa", "Spanish"),
    ],
)
def test_an_english_only_model_says_what_it_cannot_read_and_the_way_out(
    query: str, what: str
) -> None:
    notice = query_notice(query, "The starter model", ("en",), MULTI)
    assert notice is not None and what in notice
    assert notice.startswith("The starter model reads English only")
    assert MULTI in notice and "\n" not in notice


@pytest.mark.parametrize(
    "query",
    ["a dog on the beach", "ｃａｔ", "café", "Zürich lake at dusk", "I am at the beach", "2019"],
)
def test_english_and_full_width_queries_get_no_notice(query: str) -> None:
    assert query_notice(query, "The starter model", ("en",), MULTI) is None


def test_a_model_that_reads_more_than_english_or_is_unknown_says_nothing() -> None:
    assert query_notice("猫", "m", ("multilingual (about 100 languages)",), MULTI) is None
    assert query_notice("猫", "m", (), MULTI) is None


def test_full_width_letters_fold_to_ascii() -> None:
    assert normalise_query("ｃａｔ　ｏｎ ａ ｓｏｆａ") == "cat on a sofa"


def test_the_library_names_its_model_and_the_catalogue_multilingual_model(
    fake_library: Library,
) -> None:
    notice = fake_library.models.reads("猫")  # a new library answers with the starter
    assert notice is not None and notice.startswith("The starter model reads English only")
    assert MULTI in notice
    assert fake_library.models.reads("a cat") is None
    assert fake_library.models.reads("ｃａｔ") is None
