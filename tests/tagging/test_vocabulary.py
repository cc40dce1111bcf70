"""The shipped vocabulary and background captions, and the vocabulary file format."""

from __future__ import annotations

from importlib import resources

import pytest

from photosense.errors import PhotosenseError
from photosense.tagging.vocabulary import (
    TAG_TEMPLATES,
    VocabularyEntry,
    background_captions,
    clean_name,
    default_families,
    default_vocabulary,
    fill,
    parse_families,
    parse_vocabulary,
    prompt_key,
    tag_templates,
)


def test_default_vocabulary_is_broad_and_unique() -> None:
    entries = default_vocabulary()
    names = [e.name.casefold() for e in entries]

    assert 300 <= len(entries) <= 2500
    assert len(set(names)) == len(names)
    categories = {e.category for e in entries}
    for needed in (
        "people",
        "birds",
        "food",
        "sky and weather",
        "times of day and seasons",
        "documents and screenshots",
        "events and occasions",
        "sports and activities",
        "vehicles and transport",
    ):
        assert needed in categories
    for tag in ("dog", "beach", "sunset", "screenshot", "receipt", "birthday", "snow", "night"):
        assert tag in names
    assert all(e.name == " ".join(e.name.split()) and e.name for e in entries)


def test_vocabulary_ships_with_its_source_and_licence() -> None:
    folder = resources.files("photosense").joinpath("resources")
    readme = folder.joinpath("README.md").read_text(encoding="utf-8")
    assert "tags.txt" in readme and "background_captions.txt" in readme
    assert "licence" in readme.lower()
    assert "GPL-3.0-or-later" in folder.joinpath("tags.txt").read_text(encoding="utf-8")


def test_background_captions() -> None:
    captions = background_captions()
    assert 50 <= len(captions) <= 1000
    assert len(set(captions)) == len(captions)
    assert not any(c.startswith("#") for c in captions)


def test_vocabulary_format() -> None:
    text = """# comment
[animals]
dog
Rex = a photo of Rex, a golden retriever. | Rex playing fetch.

[weather]
  snow   storm
"""
    assert parse_vocabulary(text) == [
        VocabularyEntry("dog", "animals"),
        VocabularyEntry(
            "Rex", "animals", ("a photo of Rex, a golden retriever.", "Rex playing fetch.")
        ),
        VocabularyEntry("snow storm", "weather"),
    ]
    with pytest.raises(PhotosenseError, match="line 3: 'DOG' is listed twice"):
        parse_vocabulary("dog\n\nDOG\n")
    with pytest.raises(PhotosenseError, match="empty"):
        parse_vocabulary("= a photo of nothing\n")


def test_names_prompts_and_keys() -> None:
    assert clean_name("  golden\tretriever ") == "golden retriever"
    with pytest.raises(PhotosenseError, match="at most"):
        clean_name("x" * 101)
    assert tag_templates(None) == TAG_TEMPLATES
    assert tag_templates(["a photo of Rex."]) == ("a photo of Rex.",)
    assert fill("dog", TAG_TEMPLATES)[0] == "a photo of a dog."
    key = prompt_key("model-a", ["a photo of a dog."])
    assert key == prompt_key("model-a", ("a photo of a dog.",))
    assert key != prompt_key("model-b", ["a photo of a dog."])
    assert key != prompt_key("model-a", ["a photo of a cat."])


def test_default_families_are_vocabulary_tags() -> None:
    vocabulary = {e.name.casefold() for e in default_vocabulary()}
    families = default_families()

    assert {f.parent for f in families} >= {"dog", "cat", "bird"}
    for family in families:
        assert family.parent.casefold() in vocabulary
        assert {m.casefold() for m in family.members} <= vocabulary, family.parent
    cats = next(f for f in families if f.parent == "cat")
    assert {"tabby cat", "persian cat", "siamese cat", "black cat"} <= set(cats.members)


def test_families_format() -> None:
    text = "# kinds\n\ndog: pug, beagle\ncat:tabby cat,  black   cat\n"
    families = parse_families(text)

    assert [(f.parent, f.members) for f in families] == [
        ("dog", ("pug", "beagle")),
        ("cat", ("tabby cat", "black cat")),
    ]
    for bad in ("dog pug", "dog:", "dog: pug, pug", "dog: dog, pug", "a: x\nb: x"):
        with pytest.raises(PhotosenseError, match="families line"):
            parse_families(bad)
