"""Naming a photo's colours: generated images whose colours a person would name at once."""

from __future__ import annotations

import pytest
from PIL import Image, ImageColor, ImageDraw

from photosense.colours.naming import BLACK_AND_WHITE, COLOURS, lch, name_pixels, photo_colours


def named(css: str) -> str:
    image = Image.new("RGB", (1, 1), ImageColor.getrgb(css))
    return COLOURS[int(name_pixels(lch(image))[0])]


@pytest.mark.parametrize(
    ("css", "name"),
    [
        ("red", "red"),
        ("crimson", "red"),
        ("darkred", "red"),
        ("orange", "orange"),
        ("darkorange", "orange"),
        ("yellow", "yellow"),
        ("gold", "yellow"),
        ("green", "green"),
        ("lime", "green"),
        ("forestgreen", "green"),
        ("blue", "blue"),
        ("navy", "blue"),
        ("skyblue", "blue"),
        ("turquoise", "blue"),
        ("purple", "purple"),
        ("darkviolet", "purple"),
        ("pink", "pink"),
        ("hotpink", "pink"),
        ("saddlebrown", "brown"),
        ("sienna", "brown"),
        ("black", "black"),
        ("white", "white"),
        ("gray", "grey"),
        ("slategray", "grey"),
        ("silver", "grey"),
    ],
)
def test_the_css_colours_get_the_name_people_give_them(css: str, name: str) -> None:
    assert named(css) == name


def test_a_red_square_is_red() -> None:
    image = Image.new("RGB", (200, 200), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 149, 149), fill=(210, 20, 30))
    colours = photo_colours(image)
    assert list(colours.shares)[:2] == ["white", "red"]
    assert colours.share("red") == pytest.approx(0.25, abs=0.03)
    assert colours.share("blue") == 0.0
    assert not colours.black_and_white


def test_a_grey_sky_is_not_blue() -> None:
    # An overcast sky: a faintly bluish grey, above a dull green field.
    image = Image.new("RGB", (300, 200), (168, 172, 180))
    ImageDraw.Draw(image).rectangle((0, 120, 299, 199), fill=(70, 110, 50))
    colours = photo_colours(image)
    assert colours.share("blue") == 0.0
    assert colours.share("grey") == pytest.approx(0.6, abs=0.03)
    assert colours.share("green") == pytest.approx(0.4, abs=0.03)


def test_a_blue_sky_is_blue() -> None:
    colours = photo_colours(Image.new("RGB", (300, 200), (110, 160, 225)))
    assert colours.shares == {"blue": 1.0}


def test_a_grey_photo_with_tones_is_black_and_white() -> None:
    image = Image.linear_gradient("L").resize((160, 120)).convert("RGB")
    colours = photo_colours(image)
    assert colours.black_and_white
    assert colours.share(BLACK_AND_WHITE) == 1.0
    assert set(colours.shares) <= {"black", "grey", "white"}


def test_a_flat_grey_frame_or_a_coloured_photo_is_not_black_and_white() -> None:
    assert not photo_colours(Image.new("RGB", (64, 64), (120, 120, 120))).black_and_white
    image = Image.linear_gradient("L").resize((160, 120)).convert("RGB")
    ImageDraw.Draw(image).ellipse((40, 30, 100, 90), fill=(200, 30, 30))
    assert not photo_colours(image).black_and_white


def test_small_patches_are_left_out() -> None:
    image = Image.new("RGB", (100, 100), (30, 160, 40))
    ImageDraw.Draw(image).rectangle((0, 0, 9, 9), fill=(220, 20, 20))  # 1% of the photo
    assert list(photo_colours(image).shares) == ["green"]
