"""The text part of the store: lines kept with their boxes, and word search over them."""

from __future__ import annotations

from sqlalchemy import text

from photosense.store.records import TextLine
from photosense.store.repository import Store
from photosense.store.text import fold, words
from tests.store.conftest import add_photos


def line(value: str, y: float = 0.1) -> TextLine:
    return TextLine(value, 0.9, 0.1, y, 0.5, 0.05)


def test_lines_are_kept_with_their_boxes_in_order(store: Store) -> None:
    (photo,) = add_photos(store, "/p", ["a.jpg"])
    store.texts.record({photo: [line("MAIN STREET", 0.2), line("Bakery", 0.5)]})
    assert store.texts.lines(photo) == [line("MAIN STREET", 0.2), line("Bakery", 0.5)]
    assert store.texts.texts([photo]) == {photo: "MAIN STREET\nBakery"}
    assert store.texts.count() == (1, 2)


def test_reading_again_replaces_and_no_lines_removes(store: Store) -> None:
    a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
    store.texts.record({a: [line("old words")], b: [line("kept")]})
    store.texts.record({a: [line("new words")]})
    assert [m.photo_id for m in store.texts.search(["old"], [], 10)] == []
    assert [m.photo_id for m in store.texts.search(["new"], [], 10)] == [a]
    store.texts.record({a: []})
    assert store.texts.lines(a) == []
    assert store.texts.photo_ids() == {b}
    assert store.texts.search(["words"], [], 10) == []


def test_search_stems_and_ignores_case_and_accents(store: Store) -> None:
    a, b, c = add_photos(store, "/p", ["a.jpg", "b.jpg", "c.jpg"])
    store.texts.record(
        {a: [line("NO PARKING")], b: [line("Café de Flore")], c: [line("Menus du jour")]}
    )
    assert [m.photo_id for m in store.texts.search(["parked"], [], 10)] == [a]
    assert [m.photo_id for m in store.texts.search(["cafe"], [], 10)] == [b]
    assert [m.photo_id for m in store.texts.search(["CAFÉ"], [], 10)] == [b]
    assert [m.photo_id for m in store.texts.search(["menu"], [], 10)] == [c]


def test_any_term_matches_and_more_terms_rank_higher(store: Store) -> None:
    a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
    store.texts.record({a: [line("hardware")], b: [line("ACME HARDWARE STORE")]})
    found = store.texts.search(["hardware", "store"], [], 10)
    assert [m.photo_id for m in found] == [b, a]
    assert found[0].score > found[1].score


def test_phrases_need_their_words_in_order(store: Store) -> None:
    a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
    store.texts.record({a: [line("Main Street")], b: [line("Street Main")]})
    assert [m.photo_id for m in store.texts.search([], ["main street"], 10)] == [a]


def test_operators_and_quotes_in_words_are_plain_words(store: Store) -> None:
    (a,) = add_photos(store, "/p", ["a.jpg"])
    store.texts.record({a: [line('OR NOT "AND" near*')]})
    assert [m.photo_id for m in store.texts.search(['"AND"', "NOT", "near*"], [], 10)] == [a]
    assert store.texts.search(["((", "*"], [], 10) == []


def test_a_removed_photo_takes_its_text_and_index_entry_along(store: Store) -> None:
    a, b = add_photos(store, "/p", ["a.jpg", "b.jpg"])
    store.texts.record({a: [line("receipt")], b: [line("receipt")]})
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM photos WHERE id = :id"), {"id": a})
        indexed = connection.execute(text("SELECT rowid FROM photo_text_fts")).scalars().all()
    assert indexed == [b]
    assert [m.photo_id for m in store.texts.search(["receipt"], [], 10)] == [b]


def test_fold_and_words_match_the_index() -> None:
    assert fold("Crème BRÛLÉE") == "creme brulee"
    assert words("Hello, wörld! 42") == ["hello", "world", "42"]
