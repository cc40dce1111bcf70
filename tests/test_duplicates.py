"""Duplicates: exact copies and near ones grouped, the best suggested, the rest moved to the
trash (never deleted), the library updated; files that vanish during review; the CLI."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from photosense.enums import DuplicateKind
from photosense.library import Choice, Library
from photosense.library.duplicates import DuplicatePhoto, _rank, star_groups
from photosense.library.runtime import AUTO_TAG_KEY
from photosense.media.perceptual import detail, dhash, hamming, likeness, look_of, sharpness
from photosense.progress import run_to_end
from photosense.store.records import PhotoRecord
from photosense.vectors.duplicates import near_pairs
from photosense.vectors.index import ExactIndex, HnswIndex
from tests.cli_run import run, run_json
from tests.conftest import save_photo
from tests.test_captions import cli_library


def textured(path: Path, seed: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A red photo with a random texture of its own (so its difference hash is its own)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 60, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC), np.int16)
    pixels = np.clip(base + np.array([180, 20, 20]), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "JPEG", quality=95)
    return path


@pytest.fixture
def trash_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system trash of these tests, inside their own folder."""
    from send2trash import plat_other  # reads XDG_DATA_HOME once, on import

    share = tmp_path / "share"
    share.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(share))
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", os.fsencode(share))
    monkeypatch.setattr(plat_other, "HOMETRASH_B", os.fsencode(share / "Trash"))
    monkeypatch.setattr(plat_other, "HOMETRASH", str(share / "Trash"))
    return share / "Trash" / "files"


@pytest.fixture
def dup_dir(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    original = textured(root / "holiday.jpg", 1, (320, 240))
    shutil.copy(original, root / "holiday copy.jpg")  # the same bytes
    with Image.open(original) as image:
        image.resize((160, 120)).save(root / "holiday-small.jpg", quality=70)
    textured(root / "other red.jpg", 2, (320, 240))  # the same colour, another picture
    save_photo(root / "blue.jpg", "blue")
    return root


@pytest.fixture
def lib(fake_library: Library, dup_dir: Path) -> Library:
    fake_library.store.settings.set(AUTO_TAG_KEY, False)
    run_to_end(fake_library.folders.index([dup_dir]))
    return fake_library


def names(items: list[object]) -> list[str]:
    return [Path(i.photo.path).name for i in items]  # type: ignore[attr-defined]


def test_perceptual_hash_and_sharpness() -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    smooth = image.resize((20, 15)).resize((160, 120), Image.Resampling.BICUBIC)
    assert hamming(dhash(smooth), dhash(smooth.resize((80, 60)))) <= 4
    other = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).resize((20, 15))
    assert hamming(dhash(smooth), dhash(other.resize((160, 120)))) > 12
    assert sharpness(image) > sharpness(image.filter(ImageFilter.GaussianBlur(2)))
    assert look_of(Image.new("RGB", (2, 2))).sharpness == 0.0


def test_likeness_matches_edited_copies_and_not_other_photos() -> None:
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 255, (30, 40), dtype=np.uint8)
    photo = Image.fromarray(noise).resize((400, 300), Image.Resampling.BICUBIC).convert("RGB")
    w, h = photo.size
    edits = {
        "half": photo.resize((w // 2, h // 2)),
        "crop": photo.crop((30, 22, w - 30, h - 22)),
        "burst": photo.rotate(1, resample=Image.Resampling.BICUBIC).crop((12, 0, w, h)),
        "brighter": photo.point(lambda v: min(255, int(v * 1.06))),
    }
    for name, edited in edits.items():
        assert likeness(detail(photo), detail(edited)) >= 0.6, name
    # Another photo, and the two halves of the same one, are not the same photo.
    other = Image.fromarray(rng.integers(0, 255, (30, 40), dtype=np.uint8)).resize((400, 300))
    assert likeness(detail(photo), detail(other)) < 0.6
    left, right = photo.crop((0, 0, 180, h)), photo.crop((220, 0, w, h))
    assert likeness(detail(left), detail(right)) < 0.6
    blank = Image.new("RGB", (400, 300), "grey")
    assert likeness(detail(blank), detail(blank)) == 0.0  # nothing to compare


def test_star_groups_do_not_chain() -> None:
    # 1 ~ 2 ~ 3 but 1 and 3 are not alike: 3 must not join 1's group through 2.
    links = {1: {2}, 2: {1, 3}, 3: {2}}
    assert star_groups([1, 2, 3], links) == [[1, 2]]
    assert star_groups([1, 2, 3], links, lambda centre, other: False) == [[1, 2]]
    # A photo reached through a member joins when it is alike the centre itself.
    assert star_groups([1, 2, 3], links, lambda centre, other: (centre, other) == (1, 3)) == [
        [1, 2, 3]
    ]
    # The best photo is the centre: 2 ranked first takes both.
    assert star_groups([2, 1, 3], links) == [[2, 1, 3]]


@pytest.mark.parametrize("kind", [ExactIndex, HnswIndex])
def test_near_pairs_are_found_once_each(kind: type) -> None:
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 2, 2, 3]]
    vectors[1] = [0.99, 0.141, 0, 0]
    index = kind("m", 4)
    index.add(np.arange(10, 17), vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    pairs = run_to_end(near_pairs(index, 0.98))
    assert sorted((a, b) for a, b, _ in pairs) == [(10, 11), (13, 14), (13, 15), (14, 15)]
    assert run_to_end(near_pairs(index, 0.999)) == [p for p in pairs if p[2] >= 0.999]


def test_groups_and_the_suggested_keeper(lib: Library) -> None:
    # The colour encoder gives every red photo the same vector: only the hashes tell them apart.
    groups = run_to_end(lib.duplicates.find())
    assert [g.kind for g in groups] == [DuplicateKind.NEAR], groups
    near = groups[0]
    # The copies join the resized one (one group, not an exact one beside it); the other red
    # photo is told apart by its pixels.
    assert sorted(names(near.photos)) == ["holiday copy.jpg", "holiday-small.jpg", "holiday.jpg"]
    assert names(near.photos)[-1] == "holiday-small.jpg"  # the smallest is not kept
    assert all(i.sharpness is not None for i in near.photos)
    assert near.likeness >= 0.6 and near.score == pytest.approx(1.0)
    lax = run_to_end(lib.duplicates.find(min_likeness=-1.0))  # pixels ignored: all reds alike
    assert sorted(names(lax[0].photos))[-1] == "other red.jpg"
    exact_only = run_to_end(lib.duplicates.find(near=False))
    assert [g.kind for g in exact_only] == [DuplicateKind.EXACT]


def test_trash_moves_files_and_forgets_them(lib: Library, dup_dir: Path, trash_home: Path) -> None:
    near = next(g for g in run_to_end(lib.duplicates.find()) if g.kind == DuplicateKind.NEAR)
    choice = Choice([near.keep.photo.id], [i.photo.id for i in near.others])
    report = run_to_end(lib.duplicates.trash([choice]))
    assert sorted(Path(p).name for p in report.trashed) == sorted(names(near.others))
    assert report.failed == [] and report.refused == [] and report.vanished == []
    assert sorted(p.name for p in trash_home.iterdir()) == sorted(names(near.others))
    left = {Path(r.path).name for r in lib.photos.get(lib.photos.ids()).values()}
    assert left == {names(near.photos)[0], "other red.jpg", "blue.jpg"}
    assert run_to_end(lib.duplicates.find()) == []
    hits = lib.search.text("red", limit=10).hits
    assert {Path(h.photo.path).name for h in hits} == left  # the index forgot them too


def test_files_that_vanish_during_review(lib: Library, dup_dir: Path, trash_home: Path) -> None:
    (group,) = run_to_end(lib.duplicates.find())
    ids = {Path(i.photo.path).name: i.photo.id for i in group.photos}
    # A photo to trash went away meanwhile: it is taken out of the library.
    (dup_dir / "holiday-small.jpg").unlink()
    report = run_to_end(
        lib.duplicates.trash([Choice([ids["holiday.jpg"]], [ids["holiday-small.jpg"]])])
    )
    assert [Path(p).name for p in report.vanished] == ["holiday-small.jpg"]
    assert report.trashed == [] and lib.photos.get([ids["holiday-small.jpg"]]) == {}
    # The photo the user keeps was deleted meanwhile: its group is left whole.
    (dup_dir / "holiday.jpg").unlink()
    report = run_to_end(
        lib.duplicates.trash([Choice([ids["holiday.jpg"]], [ids["holiday copy.jpg"]])])
    )
    assert report.refused == [[str(dup_dir / "holiday copy.jpg")]]
    assert (dup_dir / "holiday copy.jpg").exists() and not trash_home.exists()


def test_a_file_changed_since_it_was_compared_stays(lib: Library, trash_home: Path) -> None:
    exact = run_to_end(lib.duplicates.find(near=False))[0]
    changed = Path(exact.others[0].photo.path)
    changed.write_bytes(changed.read_bytes() + b"\0")
    report = run_to_end(
        lib.duplicates.trash([Choice([exact.keep.photo.id], [exact.others[0].photo.id])])
    )
    assert report.trashed == [] and "changed" in report.failed[0][1] and changed.exists()


def test_cli_lists_and_trashes_with_confirmation(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    dup_dir: Path,
    trash_home: Path,
) -> None:
    folder = cli_library(capsys, monkeypatch, tmp_path / "lib", dup_dir)
    document = run_json(capsys, "--library", folder, "duplicates", "--json")
    assert [g["kind"] for g in document] == ["near"]  # the other red photo is told apart
    assert [p["keep"] for p in document[0]["photos"]] == [True, False, False]
    code, out, err = run(capsys, "--library", folder, "duplicates", "--exact")
    assert code == 0 and "identical files" in out and "keep " in out and "--trash" in err

    code, _, err = run(capsys, "--library", folder, "duplicates", "--exact", "--trash")
    assert code == 1 and "--yes" in err  # no terminal to ask on
    assert (dup_dir / "holiday copy.jpg").exists()
    code, out, _ = run(capsys, "--library", folder, "duplicates", "--exact", "--trash", "--yes")
    assert code == 0 and "moved 1 photos to the trash" in out
    assert len(list(trash_home.iterdir())) == 1
    code, out, _ = run(capsys, "--library", folder, "duplicates", "--exact")
    assert "no duplicates found" in out


def test_the_keeper_is_the_original_over_a_low_quality_copy_and_the_sharper_frame() -> None:
    def photo(name: str, size: int, sharpness: float, side: int = 512) -> DuplicatePhoto:
        record = PhotoRecord(
            1, name, 1, size, 0, name, side, side, "JPEG", datetime(2024, 1, 1), False,
            None, None, None, None,
        )  # fmt: skip
        return DuplicatePhoto(record, sharpness)

    def keeper(*photos: DuplicatePhoto) -> str:
        return sorted(photos, key=_rank)[0].photo.path

    # JPEG quality 60 measures a hair sharper than its original: the original is kept.
    assert keeper(photo("q60.jpg", 16_000, 666.0), photo("original.jpg", 43_000, 665.0)) == (
        "original.jpg"
    )
    # A burst frame clearly sharper than the other is kept even if its file is smaller.
    assert keeper(photo("blurred.jpg", 50_000, 400.0), photo("sharp.jpg", 45_000, 700.0)) == (
        "sharp.jpg"
    )
    # More pixels first.
    assert keeper(photo("half.jpg", 90_000, 900.0, 256), photo("full.jpg", 40_000, 600.0)) == (
        "full.jpg"
    )
