"""Tags: the vocabulary, tags on photos, suggestions that never override the user."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from photosense.enums import TagOrigin, TagSource, TagState
from photosense.errors import PhotosenseError
from photosense.store.repository import Store
from tests.store.conftest import MODEL, add_photos


def test_add_creates_only_new_names_ignoring_case(store: Store) -> None:
    first = store.tags.add([("Dog", ["a photo of a dog"]), ("cat", None)], origin=TagOrigin.USER)
    again = store.tags.add([("dog", None), ("bird", None)], origin=TagOrigin.VOCABULARY)
    assert again["dog"] == first["Dog"]
    assert [t.name for t in store.tags.all()] == ["Dog", "bird", "cat"]
    dog = store.tags.named("DOG")
    assert dog is not None and dog.prompts == ("a photo of a dog",)
    assert dog.origin is TagOrigin.USER and dog.enabled
    assert store.tags.named("fish") is None


def test_update_renames_clears_prompts_and_switches_off(store: Store) -> None:
    ids = store.tags.add([("dog", ["a dog"])], origin=TagOrigin.USER)
    tag = store.tags.update(ids["dog"], name="puppy", clear_prompts=True, enabled=False)
    assert (tag.name, tag.prompts, tag.enabled) == ("puppy", None, False)
    assert [t.name for t in store.tags.all(enabled_only=True)] == []
    with pytest.raises(PhotosenseError, match="does not exist"):
        store.tags.update(999, name="x")


def test_remove_takes_the_tag_off_every_photo(store: Store) -> None:
    [photo] = add_photos(store, "/photos", ["a.jpg"])
    ids = store.tags.add([("dog", None), ("cat", None)], origin=TagOrigin.USER)
    for tag_id in ids.values():
        store.tags.put_photo_tag(photo, tag_id, state=TagState.ACCEPTED, source=TagSource.USER)
    store.tags.remove(ids["dog"])
    assert [r.tag for r in store.tags.photo_tags([photo])] == ["cat"]


def test_shift_offset_stays_in_range(store: Store) -> None:
    tag_id = store.tags.add([("dog", None)], origin=TagOrigin.USER)["dog"]
    assert store.tags.shift_offset(tag_id, 0.5, -1.0, 1.0) == 0.5
    assert store.tags.shift_offset(tag_id, 5.0, -1.0, 1.0) == 1.0
    assert store.tags.shift_offset(tag_id, -9.0, -1.0, 1.0) == -1.0


def test_put_photo_tag_returns_the_row_before_and_keeps_its_source(store: Store) -> None:
    [photo] = add_photos(store, "/photos", ["a.jpg"])
    tag_id = store.tags.add([("dog", None)], origin=TagOrigin.USER)["dog"]
    before = store.tags.put_photo_tag(
        photo, tag_id, state=TagState.SUGGESTED, source=TagSource.AUTO, score=2.0, model_id=MODEL
    )
    assert before is None
    before = store.tags.put_photo_tag(photo, tag_id, state=TagState.REJECTED, source=TagSource.USER)
    assert before is not None and before.state is TagState.SUGGESTED and before.score == 2.0
    [row] = store.tags.photo_tags([photo])
    assert (row.source, row.state, row.score, row.model_id) == (
        TagSource.AUTO,
        TagState.REJECTED,
        2.0,  # no new score: the old one stays
        MODEL,
    )
    assert store.tags.counts() == {tag_id: {TagState.REJECTED: 1}}


def test_states_are_stored_as_their_plain_words(store: Store) -> None:
    [photo] = add_photos(store, "/photos", ["a.jpg"])
    tag_id = store.tags.add([("dog", None)], origin=TagOrigin.USER)["dog"]
    store.tags.put_photo_tag(photo, tag_id, state=TagState.ACCEPTED, source=TagSource.USER)
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT source, state FROM photo_tags")).one()
        origin = connection.execute(text("SELECT origin FROM tags")).scalar_one()
    assert (tuple(row), origin) == (("user", "accepted"), "user")
    [record] = store.tags.photo_tags([photo])
    assert json.dumps({"state": record.state}) == '{"state": "accepted"}'


def test_replace_suggestions_keeps_what_the_user_decided(store: Store) -> None:
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    ids = store.tags.add([(n, None) for n in ("dog", "cat", "sea")], origin=TagOrigin.USER)
    dog, cat, sea = ids["dog"], ids["cat"], ids["sea"]
    store.tags.put_photo_tag(a, dog, state=TagState.REJECTED, source=TagSource.USER)
    store.tags.put_photo_tag(a, cat, state=TagState.ACCEPTED, source=TagSource.USER)
    assert store.tags.replace_suggestions(MODEL, "k1", [a, b], [(a, sea, 1.0), (b, sea, 1.5)]) == 2
    assert sorted(store.tags.photos_to_tag(MODEL, "k2")) == [a, b]
    assert store.tags.photos_to_tag(MODEL, "k1") == []
    # A new run: the old suggestions go, the decided rows stay and are not duplicated.
    suggestions = [(a, dog, 3.0), (a, cat, 3.0), (b, dog, 2.0)]
    assert store.tags.replace_suggestions(MODEL, "k2", [a, b], suggestions) == 1
    rows = {(r.photo_id, r.tag): r for r in store.tags.photo_tags([a, b])}
    assert set(rows) == {(a, "dog"), (a, "cat"), (b, "dog")}
    assert rows[(a, "dog")].state is TagState.REJECTED  # a rejected tag does not come back
    assert rows[(a, "cat")].state is TagState.ACCEPTED
    assert (rows[(b, "dog")].source, rows[(b, "dog")].state) == (
        TagSource.AUTO,
        TagState.SUGGESTED,
    )


def test_photos_with_tag_counts_accepted_and_strong_suggestions(store: Store) -> None:
    a, b, c, d = add_photos(store, "/photos", ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
    dog = store.tags.add([("dog", None)], origin=TagOrigin.USER)["dog"]
    store.tags.replace_suggestions(MODEL, "k", [b, c], [(b, dog, 2.0), (c, dog, 0.5)])
    store.tags.put_photo_tag(a, dog, state=TagState.ACCEPTED, source=TagSource.USER)
    store.tags.put_photo_tag(
        d, dog, state=TagState.REJECTED, source=TagSource.USER, score=9.0, model_id=MODEL
    )
    assert store.tags.photos_with_tag(dog, model_id=MODEL, min_score=1.0) == {a, b}
    assert store.tags.photos_with_tag(dog, model_id="other", min_score=0.0) == {a}


def test_imported_keywords_become_accepted_tags_but_never_undo_a_rejection(store: Store) -> None:
    a, b = add_photos(store, "/photos", ["a.jpg", "b.jpg"])
    dog = store.tags.add([("dog", None)], origin=TagOrigin.USER)["dog"]
    store.tags.replace_suggestions(MODEL, "k", [a], [(a, dog, 2.0)])
    store.tags.put_photo_tag(b, dog, state=TagState.REJECTED, source=TagSource.USER)
    assert sorted(store.tags.photos_keywords_unread()) == [
        (a, "/photos/a.jpg"),
        (b, "/photos/b.jpg"),
    ]
    assert store.tags.import_keywords({a: ["dog", "Beach"], b: ["dog"]}) == 2
    rows = {(r.photo_id, r.tag): r for r in store.tags.photo_tags([a, b])}
    assert (rows[(a, "dog")].source, rows[(a, "dog")].state) == (
        TagSource.IMPORTED,
        TagState.ACCEPTED,
    )
    assert rows[(a, "Beach")].state is TagState.ACCEPTED
    assert rows[(b, "dog")].state is TagState.REJECTED
    beach = store.tags.named("beach")
    assert beach is not None and beach.origin is TagOrigin.IMPORTED and not beach.enabled
    assert store.tags.photos_keywords_unread() == []
