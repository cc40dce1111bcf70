"""What the viewer and the timeline read through the library: a photo decoded whole and upright,
and the dates the photos were taken (photos with no date in their metadata left out)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from photosense.errors import ImageSkipped
from photosense.library import Library
from photosense.library.photos import view_image
from photosense.progress import run_to_end
from photosense.store import photos as store_photos
from tests.conftest import save_photo


def test_view_image_is_full_size_upright_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "wide.jpg"
    image = Image.new("RGB", (300, 100), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the camera on its side: shown rotated 90°
    image.save(path, "JPEG", exif=exif.tobytes())
    assert view_image(path).size == (100, 300)
    assert view_image(path, max_side=150).size == (50, 150)


def test_view_image_says_why_a_file_cannot_be_shown(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with pytest.raises(ImageSkipped):
        view_image(broken)
    with pytest.raises(ImageSkipped) as missing:
        view_image(tmp_path / "gone.jpg")
    assert missing.value.kind == "missing"


@pytest.mark.parametrize("whole_table_above", [5000, 0])
def test_taken_dates_leave_out_photos_dated_by_their_file(
    fake_library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_table_above: int
) -> None:
    monkeypatch.setattr(store_photos, "WHOLE_TABLE_ABOVE", whole_table_above)
    root = tmp_path / "photos"
    save_photo(root / "dated.jpg", "red", taken=datetime(2021, 6, 1, 12, 30))
    save_photo(root / "undated.jpg", "blue")
    run_to_end(fake_library.folders.index([root]))
    ids = fake_library.photos.ids()
    by_name = {Path(r.path).name: i for i, r in fake_library.photos.get(ids).items()}
    dates = fake_library.photos.taken_dates([*ids, 9999])
    assert dates == {by_name["dated.jpg"]: datetime(2021, 6, 1, 12, 30)}
    assert fake_library.photos.taken_dates([by_name["undated.jpg"]]) == {}
