"""Whether a text query asks for people, and how many: "people", "a family", "two children".

The starter model knows no people (ImageNet has no person class), so such a query is answered
by the faces found in the photos: :func:`people_intent` reads the words, the search keeps the
photos whose face count fits first. A query about one thing with people in it ("a man's hat")
is not meant: only queries whose head words are about people count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PeopleIntent:
    """A query asks for photos with ``least`` to ``most`` faces (``most`` None: no limit)."""

    least: int
    most: int | None = None

    def fits(self, faces: int) -> bool:
        return faces >= self.least and (self.most is None or faces <= self.most)


_ONE = {
    "person",
    "man",
    "woman",
    "boy",
    "girl",
    "baby",
    "child",
    "kid",
    "toddler",
    "face",
    "portrait",
    "selfie",
    "headshot",
    "lady",
    "gentleman",
    "guy",
    "teenager",
}
_TWO = {"couple", "pair", "twins", "duo"}
_SOME = {
    "people",
    "persons",
    "men",
    "women",
    "boys",
    "girls",
    "babies",
    "children",
    "kids",
    "friends",
    "family",
    "families",
    "faces",
    "toddlers",
    "ladies",
    "guys",
    "teenagers",
    "siblings",
    "brothers",
    "sisters",
    "parents",
    "grandparents",
    "relatives",
    "everyone",
    "portraits",
    "selfies",
    "adults",
    "classmates",
    "colleagues",
    "guests",
    "team",
}
_MANY = {"group", "crowd", "party", "gathering", "audience", "reunion", "wedding", "class"}
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a": 1,
    "an": 1,
    "single": 1,
    "lone": 1,
}
_WORD = re.compile(r"[a-z]+|\d+")


def people_intent(text: str) -> PeopleIntent | None:
    """The people ``text`` asks for, or None when it asks for something else."""
    words = _WORD.findall(text.casefold())
    if not words:
        return None
    intent: PeopleIntent | None = None
    for i, word in enumerate(words):
        before = words[i - 1] if i else ""
        count = int(before) if before.isdigit() else _NUMBERS.get(before)
        if word in _MANY:
            intent = PeopleIntent(3)
        elif word in _TWO:
            intent = PeopleIntent(2, 2)
        elif word in _SOME:
            if count is not None and count > 1 and before not in ("a", "an"):
                intent = PeopleIntent(count, count)
            elif word in ("family", "families", "friends", "siblings", "parents"):
                intent = PeopleIntent(2)
            else:
                intent = PeopleIntent(1)
        elif word in _ONE:
            if word in ("portrait", "selfie", "headshot", "face"):
                intent = PeopleIntent(1, 2)
            else:
                intent = PeopleIntent(1, 1) if count == 1 else PeopleIntent(1)
        else:
            continue
        if i + 1 < len(words) and words[i + 1] in ("s", "of") and word in _ONE:
            intent = None  # "a man's hat", "face of a clock": the thing is what is asked
            continue
        break
    return intent
