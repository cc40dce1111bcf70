"""Auto-tagging through the Library: index-time tags, feedback, vocabulary and search."""

from __future__ import annotations

from pathlib import Path

import pytest

from photosense.errors import (
    NothingIndexedError,
    PhotoNotFoundError,
    PhotosenseError,
)
from photosense.library import Library
from photosense.models.fake import FakeEncoder
from photosense.progress import run_to_end
from photosense.tagging import service
from photosense.tagging.service import (
    ACCEPT_STEP,
    OFFSET_RANGE,
    REJECT_STEP,
    TagNotFoundError,
    TagReport,
)
from photosense.tagging.vocabulary import default_vocabulary
from tests.conftest import save_photo
from tests.tagging.conftest import PHOTOS, names, open_library


def tag(library: Library, *, retag: bool = False) -> TagReport:
    report: TagReport = run_to_end(library.tags.suggest(retag=retag))
    return report


def threshold(library: Library, name: str) -> float:
    return next(t.threshold for t in library.tags.list() if t.name == name)


def searched(library: Library, text: str, tag_name: str) -> set[str]:
    hits = library.search.text(text, tag=tag_name, limit=50).hits
    return {Path(h.photo.path).name for h in hits}


def test_photos_are_tagged_as_they_are_indexed(
    tagged_library: Library, colour_photos: Path
) -> None:
    assert names(tagged_library, colour_photos / "red.jpg") == ["red"]
    assert names(tagged_library, colour_photos / "green.jpg") == ["green"]
    assert names(tagged_library, colour_photos / "blue.jpg") == ["blue"]
    assert names(tagged_library, colour_photos / "grey.jpg") == ["grey"]
    rows = tagged_library.tags.of_photo(colour_photos / "red.jpg")
    assert rows[0].source == "auto" and rows[0].state == "suggested"
    assert rows[0].model_id == FakeEncoder().model_id and rows[0].score is not None
    # Nothing was left out of date: an incremental run has nothing to do.
    assert tag(tagged_library).photos == 0


def test_a_photo_added_later_is_tagged_by_the_next_index_run(
    tagged_library: Library, colour_photos: Path
) -> None:
    save_photo(colour_photos / "later" / "teal.jpg", (30, 50, 210))
    run_to_end(tagged_library.folders.index([colour_photos]))

    assert names(tagged_library, colour_photos / "later" / "teal.jpg") == ["blue"]


def test_search_by_tag(tagged_library: Library) -> None:
    reds = searched(tagged_library, "a photo", "red")

    assert {"red.jpg", "crimson.jpg", "scarlet.jpg"} <= reds
    assert not reds & {"green.jpg", "blue.jpg", "yellow.jpg", "grey.jpg"}
    assert searched(tagged_library, "a photo", "blue") == {"blue.jpg"}
    with pytest.raises(TagNotFoundError, match="no tag named 'unicorn'"):
        tagged_library.search.text("a photo", tag="unicorn")


def test_rejected_tag_never_comes_back(tagged_library: Library, colour_photos: Path) -> None:
    red = colour_photos / "red.jpg"
    tagged_library.tags.reject(red, "red")

    assert "red" not in names(tagged_library, red)
    assert "red.jpg" not in searched(tagged_library, "red", "red")
    for retag in (False, True):
        report = tag(tagged_library, retag=retag)
        rows = [r for r in tagged_library.tags.of_photo(red) if r.tag == "red"]
        assert [(r.state, r.shown) for r in rows] == [("rejected", False)]
        assert "red.jpg" not in searched(tagged_library, "red", "red")
    assert report.photos == len(PHOTOS)


def test_rejecting_a_suggestion_raises_the_tags_threshold_everywhere(
    tagged_library: Library, colour_photos: Path
) -> None:
    before = threshold(tagged_library, "red")
    tagged_library.tags.reject(colour_photos / "red.jpg", "red")
    assert threshold(tagged_library, "red") == pytest.approx(before + REJECT_STEP)
    # Rejecting a tag that was never suggested there says nothing about its threshold.
    tagged_library.tags.reject(colour_photos / "blue.jpg", "red")
    assert threshold(tagged_library, "red") == pytest.approx(before + REJECT_STEP)
    assert threshold(tagged_library, "blue") == pytest.approx(before)


def test_a_raised_threshold_hides_weak_suggestions_on_other_photos(
    tagged_library: Library, colour_photos: Path
) -> None:
    store = tagged_library.store
    red = store.tags.named("red")
    grey_photo = store.photos.by_path(str(colour_photos / "grey.jpg"))
    assert red is not None and grey_photo is not None
    # A weak "red" suggestion on the grey photo, just over the current cutoff (as a photo
    # that is only a little red would get).
    key = tagged_library.runtime.tagger._scoring().key
    weak = threshold(tagged_library, "red") + 0.1
    store.tags.replace_suggestions(
        FakeEncoder().model_id, key, [grey_photo.id], [(grey_photo.id, red.id, weak)]
    )
    assert "red" in names(tagged_library, colour_photos / "grey.jpg")
    assert "grey.jpg" in searched(tagged_library, "a photo", "red")

    tagged_library.tags.reject(colour_photos / "red.jpg", "red")

    assert threshold(tagged_library, "red") > weak
    assert "red" not in names(tagged_library, colour_photos / "grey.jpg")
    assert "grey.jpg" not in searched(tagged_library, "a photo", "red")
    assert "crimson.jpg" in searched(tagged_library, "a photo", "red")  # strong ones stay


def test_accepting_adds_a_user_tag_and_eases_the_threshold(
    tagged_library: Library, colour_photos: Path
) -> None:
    grey = colour_photos / "grey.jpg"
    before = threshold(tagged_library, "yellow")
    tagged_library.tags.accept(grey, "Yellow")  # names match ignoring case

    row = next(r for r in tagged_library.tags.of_photo(grey) if r.tag == "yellow")
    assert (row.source, row.state, row.shown) == ("user", "accepted", True)
    assert row.score is not None  # scored by the current model, for later feedback
    assert threshold(tagged_library, "yellow") == pytest.approx(before - ACCEPT_STEP)
    tagged_library.tags.accept(grey, "yellow")  # accepting again changes nothing
    assert threshold(tagged_library, "yellow") == pytest.approx(before - ACCEPT_STEP)
    assert "grey.jpg" in searched(tagged_library, "a photo", "yellow")
    tag(tagged_library, retag=True)
    assert "yellow" in names(tagged_library, grey)


def test_feedback_moves_thresholds_within_bounds(tagged_library: Library) -> None:
    store = tagged_library.store
    red = store.tags.named("red")
    assert red is not None
    for _ in range(100):
        store.tags.shift_offset(red.id, REJECT_STEP, *OFFSET_RANGE)
    assert store.tags.named("red").threshold_offset == pytest.approx(OFFSET_RANGE[1])  # type: ignore[union-attr]
    for _ in range(100):
        store.tags.shift_offset(red.id, -ACCEPT_STEP, *OFFSET_RANGE)
    assert store.tags.named("red").threshold_offset == pytest.approx(OFFSET_RANGE[0])  # type: ignore[union-attr]


def test_cap_on_tags_per_photo(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many near-identical "reddish" tags all fit a red photo; the cap keeps the best few.
    tags = [f"red thing {i}" for i in range(8)]
    vocabulary = [service.VocabularyEntry(n, "reds") for n in tags] + [
        service.VocabularyEntry(n, "colours") for n in ("green", "blue")
    ]
    monkeypatch.setattr(service, "default_vocabulary", lambda: vocabulary)
    folder = tmp_path / "p"
    for i in range(4):
        save_photo(folder / f"red{i}.jpg", (210 + 10 * i, 30, 30))
        save_photo(folder / f"green{i}.jpg", (30, 200, 40 + 10 * i))
        save_photo(folder / f"blue{i}.jpg", (30, 40, 200 + 10 * i))
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([folder]))
    cap = service.TaggingParams().max_per_photo

    for i in range(4):
        rows = library.tags.of_photo(folder / f"red{i}.jpg")
        assert len(rows) == cap < len(tags)
        assert all(r.tag.startswith("red thing") for r in rows)
    library.close()


def test_user_tag_with_its_own_prompts(tagged_library: Library, colour_photos: Path) -> None:
    added = tagged_library.tags.add(
        "Rex", ["a photo of Rex, a yellow dog", "Rex in the yellow sun"]
    )
    assert added.prompts == ("a photo of Rex, a yellow dog", "Rex in the yellow sun")
    assert added.origin == "user" and added.enabled

    report = tag(tagged_library)

    assert report.photos == len(PHOTOS)  # a new tag puts every photo out of date
    assert "Rex" in names(tagged_library, colour_photos / "yellow.jpg")
    assert "Rex" not in names(tagged_library, colour_photos / "blue.jpg")
    assert "yellow.jpg" in searched(tagged_library, "a photo", "rex")


def test_vocabulary_add_rename_remove(tagged_library: Library, colour_photos: Path) -> None:
    tagged_library.tags.add("  sea   blue ")
    assert "sea blue" in [t.name for t in tagged_library.tags.list()]

    renamed = tagged_library.tags.rename("blue", "Azure")
    assert renamed.name == "Azure"
    assert names(tagged_library, colour_photos / "blue.jpg") == ["Azure"]  # rows follow
    with pytest.raises(PhotosenseError, match="already exists"):
        tagged_library.tags.rename("Azure", "RED")
    with pytest.raises(TagNotFoundError):
        tagged_library.tags.rename("blue", "navy")

    removed = tagged_library.tags.remove("grey")
    assert removed.name == "grey"
    assert "grey" not in [t.name for t in tagged_library.tags.list()]
    assert names(tagged_library, colour_photos / "grey.jpg", shown_only=False) == []
    with pytest.raises(PhotosenseError, match="empty"):
        tagged_library.tags.add("   ")


def test_a_removed_default_tag_stays_removed(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> None:
    library = open_library(tmp_path / "library")
    run_to_end(library.folders.index([colour_photos]))
    library.tags.remove("grey")
    library.close()

    again = open_library(tmp_path / "library")
    assert "grey" not in [t.name for t in again.tags.list()]
    assert {"red", "green", "blue", "yellow"} <= {t.name for t in again.tags.list()}
    again.close()


def test_renaming_a_tag_changes_its_prompts_and_vectors(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> None:
    encoder = FakeEncoder()
    library = open_library(tmp_path / "library", encoder)
    run_to_end(library.folders.index([colour_photos]))
    assert names(library, colour_photos / "green.jpg") == ["green"]

    library.tags.rename("green", "blue-ish")
    tag(library)

    # Prompted by its new name ("a photo of a blue-ish."), the tag now finds the blue photo.
    assert "blue-ish" in names(library, colour_photos / "blue.jpg")
    assert "blue-ish" not in names(library, colour_photos / "green.jpg")
    library.close()


def test_tag_before_indexing_says_what_to_do(
    tmp_path: Path, colour_vocabulary: tuple[str, ...]
) -> None:
    library = open_library(tmp_path / "library")
    with pytest.raises(NothingIndexedError):
        run_to_end(library.tags.suggest())
    with pytest.raises(PhotoNotFoundError) as raised:
        library.tags.accept(tmp_path / "nowhere.jpg", "red")
    assert raised.value.photo == str(tmp_path / "nowhere.jpg") and raised.value.exists is False
    library.close()


def test_index_time_tagging_can_be_switched_off(
    tmp_path: Path, colour_vocabulary: tuple[str, ...], colour_photos: Path
) -> None:
    library = open_library(tmp_path / "library")
    library.store.settings.set("tagging.auto", False)
    run_to_end(library.folders.index([colour_photos]))
    assert names(library, colour_photos / "red.jpg") == []

    assert tag(library).photos == len(PHOTOS)
    assert names(library, colour_photos / "red.jpg") == ["red"]
    library.close()


def test_default_vocabulary_is_seeded_once(fake_library: Library, photo_dir: Path) -> None:
    run_to_end(fake_library.folders.index([photo_dir]))
    listed = {t.name for t in fake_library.tags.list()}
    assert listed == {e.name for e in default_vocabulary()}
    assert all(t.origin == "vocabulary" for t in fake_library.tags.list())


def test_new_suggestions_use_the_latest_thresholds(
    tagged_library: Library, colour_photos: Path
) -> None:
    store = tagged_library.store
    red = store.tags.named("red")
    assert red is not None
    # Feedback from elsewhere (another window, another process) raised the threshold a lot.
    store.tags.shift_offset(red.id, OFFSET_RANGE[1], *OFFSET_RANGE)
    cutoff = threshold(tagged_library, "red")

    tag(tagged_library, retag=True)

    rows = [r for p in PHOTOS for r in tagged_library.tags.of_photo(colour_photos / p)]
    reds = [r for r in rows if r.tag == "red" and r.state == "suggested"]
    assert all(r.score is not None and r.score >= cutoff for r in reds)


def test_listing_counts_the_photos_each_tag_counts_on(tagged_library: Library) -> None:
    everything = tagged_library.tags.list()
    for info in everything:
        assert info.photos == len(tagged_library.tags.photos_with(info.name)), info.name
    browsable = {t.name for t in tagged_library.tags.list(min_photos=1)}
    assert browsable == {t.name for t in everything if t.photos >= 1}
    assert {"red", "blue"} <= browsable


def test_confident_listing_drops_rejected_and_keeps_confirmed(
    tagged_library: Library, colour_photos: Path
) -> None:
    assert searched(tagged_library, "a photo", "blue") == {"blue.jpg"}
    tagged_library.tags.reject(colour_photos / "blue.jpg", "blue")
    tagged_library.tags.add("sunset")
    tagged_library.tags.accept(colour_photos / "red.jpg", "sunset")

    listed = {t.name: t.photos for t in tagged_library.tags.list(min_photos=1)}

    assert "blue" not in listed
    assert listed["sunset"] == 1
    assert "blue" in {t.name for t in tagged_library.tags.list()}
