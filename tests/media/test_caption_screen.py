"""Captions that came with files: licence blurbs, web addresses and long descriptions are
screened out (real-looking samples from stock sites, Wikimedia and camera software)."""

from __future__ import annotations

import pytest

from photosense.media.captions import (
    LEFT_OUT_LONG,
    LEFT_OUT_NOTICE,
    LEFT_OUT_URL,
    MAX_USABLE_CHARS,
    screen_caption,
)

WIKIMEDIA_LONG = (
    "The Rhine Falls at Neuhausen am Rheinfall, seen from the Laufen castle side in late "
    "afternoon light, with the rock in the middle of the falls and tourist boats below it, "
    "and mist rising from the basin where the water of the river, which here is about one "
    "hundred and fifty metres wide, drops twenty-three metres over a series of limestone "
    "ledges that were formed at the end of the last ice age when the river changed course"
    " and cut a new bed through the softer gravel deposits of the region to the north."
)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("© 2019 Jane Doe. All rights reserved.", LEFT_OUT_NOTICE),
        ("Copyright (c) 2021 Acme Stock Photos Ltd", LEFT_OUT_NOTICE),
        ("This file is licensed under the Creative Commons Attribution-Share Alike 4.0", None),
        ("CC BY-SA 4.0", LEFT_OUT_NOTICE),
        ("https://www.flickr.com/photos/janedoe/4815162342/", LEFT_OUT_URL),
        ("www.example.com", LEFT_OUT_URL),
        (WIKIMEDIA_LONG, LEFT_OUT_LONG),
    ],
)
def test_boilerplate_and_descriptions_are_left_out_with_their_reason(
    raw: str, reason: str | None
) -> None:
    text, why = screen_caption(raw)
    assert text is None
    assert why == (reason or LEFT_OUT_NOTICE)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("A cat asleep on a red sofa", "A cat asleep on a red sofa"),
        (
            "Sunset over the harbour. © 2019 Jane Doe, all rights reserved.",
            "Sunset over the harbour.",
        ),
        (
            "Two kids on a beach https://example.com/p/123",
            "Two kids on a beach",
        ),
        (
            "Grandma's 80th birthday!  \n Photo: Licensed under CC BY 2.0",
            "Grandma's 80th birthday!",
        ),
        # A licence in another word than a licence: "licensed" alone is enough, "cc" in a word not
        ("The accordion player in the square", "The accordion player in the square"),
    ],
)
def test_the_caption_part_is_kept(raw: str, kept: str) -> None:
    assert screen_caption(raw) == (kept, None)


def test_a_long_text_keeps_its_leading_sentences_within_the_limit() -> None:
    first = "A red fox crossing a snowy field at dawn."
    text, why = screen_caption(f"{first} {WIKIMEDIA_LONG}")
    assert (text, why) == (first, None)
    assert len(text) <= MAX_USABLE_CHARS


def test_a_700_character_description_read_from_a_file_is_no_caption(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from photosense.media.captions import read_caption

    photo = tmp_path / "falls.jpg"
    photo.write_bytes(b"")
    (tmp_path / "falls.txt").write_text(WIKIMEDIA_LONG + " " + WIKIMEDIA_LONG[:300], "utf-8")
    assert read_caption(photo) is None
    (tmp_path / "falls.txt").write_text("The Rhine Falls. Public domain.", "utf-8")
    found = read_caption(photo)
    assert found is not None and found.text == "The Rhine Falls."
