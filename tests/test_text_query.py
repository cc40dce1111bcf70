"""Word search over the text in photos: query reading, exact phrases, coverage and fusion."""

from __future__ import annotations

from photosense.library.text_query import (
    TextHit,
    fuse,
    holds_phrase,
    parse_text_query,
    rank_text_matches,
)
from photosense.store.records import TextLine
from photosense.store.repository import Store
from tests.store.conftest import add_photos


def lines(*values: str) -> list[TextLine]:
    return [TextLine(v, 0.9, 0.0, 0.1 * i, 0.5, 0.05) for i, v in enumerate(values)]


def test_a_description_keeps_the_words_that_could_be_in_the_photo() -> None:
    parsed = parse_text_query("the sign that says Main Street")
    assert parsed.terms == ("sign", "main", "street")
    assert parsed.phrases == ()
    assert not parsed.exact


def test_quotes_make_exact_phrases() -> None:
    parsed = parse_text_query('receipt "Hardware Store" “Café”')
    assert parsed.phrases == ("hardware store", "cafe")
    assert parsed.terms == ("receipt",)
    assert parsed.exact
    assert parse_text_query("to be or is").terms == ("to", "be", "or", "is")
    assert parse_text_query('  ""  ').empty


def test_a_phrase_is_held_word_for_word_across_lines() -> None:
    assert holds_phrase("MAIN\nSTREET", "main street")
    assert not holds_phrase("Main Streets", "main street")
    assert not holds_phrase("Mainstreet", "main street")


def test_one_word_in_a_page_is_no_good_match_by_itself() -> None:
    page = " ".join(["text"] * 30 + ["about", "a", "computer", "vision", "problem"] * 3)
    with Store.in_memory() as store:
        a, b = add_photos(store, "/p", ["page.jpg", "sign.jpg"])
        store.texts.record({a: lines(page), b: lines("COMPUTER SHOP")})
        one = {h.photo_id: h for h in rank_text_matches(store, "a computer", 10)}
        assert one[a].buried and not one[a].complete
        assert one[b].complete and not one[b].buried
        two = rank_text_matches(store, "computer vision", 10)[0]
        assert two.photo_id == a and two.complete
        assert rank_text_matches(store, '"computer"', 10)[0].complete  # quoted: exact words


def test_coverage_ranks_and_exact_phrases_filter() -> None:
    with Store.in_memory() as store:
        a, b, c = add_photos(store, "/p", ["a.jpg", "b.jpg", "c.jpg"])
        store.texts.record(
            {
                a: lines("ACE HARDWARE", "STORE #12", "RECEIPT"),
                b: lines("hardware"),
                c: lines("Main Streets"),
            }
        )
        hits = rank_text_matches(store, "receipt from the hardware store", 10)
        assert [h.photo_id for h in hits] == [a, b]
        assert hits[0].coverage == 1.0 and hits[0].complete
        assert round(hits[1].coverage, 2) == 0.33 and not hits[1].partial
        assert [h.photo_id for h in rank_text_matches(store, "main street", 10)] == [c]
        assert rank_text_matches(store, '"main street"', 10) == []
        assert [h.photo_id for h in rank_text_matches(store, "hardware", 10, {b})] == [b]


def test_fusion_puts_photos_with_the_words_and_the_look_first() -> None:
    text = [TextHit(3, "x", 1.0, 5.0), TextHit(1, "x", 1.0, 4.0)]
    order = [photo_id for photo_id, _ in fuse([1, 2, 4], text)]
    assert order[0] == 1  # both lists
    assert order[1] == 3  # every word, no look
    assert order[2:] == [2, 4]
