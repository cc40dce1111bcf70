from __future__ import annotations

import pytest

from photosense.people.intent import PeopleIntent, people_intent


@pytest.mark.parametrize(
    ("query", "intent"),
    [
        ("people", PeopleIntent(1)),
        ("people on a beach", PeopleIntent(1)),
        ("a family", PeopleIntent(2)),
        ("two children", PeopleIntent(2, 2)),
        ("3 kids", PeopleIntent(3, 3)),
        ("portrait", PeopleIntent(1, 2)),
        ("group of friends", PeopleIntent(3)),
        ("a couple at sunset", PeopleIntent(2, 2)),
        ("a woman", PeopleIntent(1, 1)),
        ("a dog", None),
        ("snow", None),
        ("a man's hat", None),
        ("face of a clock", None),
        ("", None),
    ],
)
def test_people_intent(query: str, intent: PeopleIntent | None) -> None:
    assert people_intent(query) == intent


def test_fits() -> None:
    assert PeopleIntent(2, 2).fits(2) and not PeopleIntent(2, 2).fits(3)
    assert PeopleIntent(3).fits(40) and not PeopleIntent(3).fits(2)
