"""What the starter model says about each ImageNet class: names, definitions and hypernyms.

The bridge turns an image into a mix of class texts, so how a class is *worded* decides which
queries find it. Three sources, all shipped with packages photosense already depends on or
written here:

- the cleaned-up class names from open_clip (``"tiger cat"``, ``"one-piece bathing suit"``);
- WordNet's gloss of each class's synset, shipped by timm (``timm/data/_info``, from
  WordNet 3.0, whose licence allows redistribution): ``"tiger cat: a cat having a striped
  coat"`` carries the generic noun that a name alone often lacks;
- a compact, hand-written map from class-index ranges to generic nouns (``"dog"`` for the 118
  breeds, ``"bird"``, ``"vegetable"``, ``"landscape"``), so that "a dog" finds every breed.
  ImageNet's class order follows WordNet's tree, so contiguous ranges are enough.
"""

from __future__ import annotations

import functools
from pathlib import Path

from photosense.errors import ModelError

__all__ = [
    "HYPERNYM_RANGES",
    "OBJECT_HYPERNYMS",
    "class_definitions",
    "class_hypernyms",
    "imagenet_class_names",
]

HYPERNYM_RANGES: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (0, 1, ("fish", "animal")),
    (2, 4, ("shark", "fish", "animal")),
    (5, 6, ("ray", "fish", "animal")),
    (7, 8, ("chicken", "bird", "animal")),
    (9, 24, ("bird", "animal")),
    (25, 29, ("salamander", "amphibian", "animal")),
    (30, 32, ("frog", "amphibian", "animal")),
    (33, 37, ("turtle", "reptile", "animal")),
    (38, 48, ("lizard", "reptile", "animal")),
    (49, 50, ("crocodile", "reptile", "animal")),
    (51, 51, ("dinosaur", "reptile", "animal")),
    (52, 68, ("snake", "reptile", "animal")),
    (69, 69, ("fossil", "animal")),
    (70, 77, ("spider", "animal")),
    (78, 79, ("bug", "animal")),
    (80, 86, ("bird", "animal")),
    (87, 90, ("parrot", "bird", "animal")),
    (91, 96, ("bird", "animal")),
    (97, 100, ("water bird", "bird", "animal")),
    (101, 101, ("elephant", "mammal", "animal")),
    (102, 103, ("mammal", "animal")),
    (104, 106, ("marsupial", "mammal", "animal")),
    (107, 109, ("sea creature", "animal")),
    (110, 111, ("worm", "animal")),
    (112, 117, ("shellfish", "sea creature", "animal")),
    (118, 121, ("crab", "shellfish", "animal")),
    (122, 124, ("lobster", "shellfish", "animal")),
    (125, 125, ("crab", "shellfish", "animal")),
    (126, 126, ("bug", "animal")),
    (127, 146, ("bird", "animal")),
    (147, 148, ("whale", "sea mammal", "animal")),
    (149, 150, ("sea mammal", "animal")),
    (151, 268, ("dog", "pet", "animal")),
    (269, 271, ("wolf", "wild animal", "animal")),
    (272, 275, ("wild dog", "wild animal", "animal")),
    (276, 276, ("hyena", "wild animal", "animal")),
    (277, 280, ("fox", "wild animal", "animal")),
    (281, 285, ("cat", "pet", "animal")),
    (286, 293, ("big cat", "wild animal", "animal")),
    (294, 297, ("bear", "wild animal", "animal")),
    (298, 299, ("mammal", "animal")),
    (300, 307, ("beetle", "insect", "animal")),
    (308, 320, ("insect", "animal")),
    (321, 326, ("butterfly", "insect", "animal")),
    (327, 329, ("sea creature", "animal")),
    (330, 332, ("rabbit", "mammal", "animal")),
    (333, 333, ("rodent", "pet", "animal")),
    (334, 334, ("rodent", "mammal", "animal")),
    (335, 335, ("squirrel", "rodent", "animal")),
    (336, 337, ("rodent", "mammal", "animal")),
    (338, 338, ("rodent", "pet", "animal")),
    (339, 340, ("horse", "mammal", "animal")),
    (341, 343, ("pig", "mammal", "animal")),
    (344, 344, ("wild animal", "mammal", "animal")),
    (345, 347, ("cattle", "farm animal", "animal")),
    (348, 350, ("sheep", "goat", "animal")),
    (351, 353, ("antelope", "wild animal", "animal")),
    (354, 355, ("camel", "mammal", "animal")),
    (356, 364, ("mammal", "animal")),
    (365, 369, ("ape", "primate", "animal")),
    (370, 382, ("monkey", "primate", "animal")),
    (383, 384, ("lemur", "primate", "animal")),
    (385, 386, ("elephant", "mammal", "animal")),
    (387, 388, ("panda", "mammal", "animal")),
    (389, 397, ("fish", "animal")),
    (924, 927, ("dish", "food")),
    (928, 929, ("dessert", "food")),
    (930, 932, ("bread", "food")),
    (933, 935, ("dish", "food")),
    (936, 947, ("vegetable", "food")),
    (948, 957, ("fruit", "food")),
    (958, 958, ("plant",)),
    (959, 965, ("dish", "food")),
    (966, 967, ("drink",)),
    (969, 969, ("drink",)),
    (970, 980, ("landscape", "nature")),
    (981, 983, ("person",)),
    (984, 986, ("flower", "plant")),
    (987, 987, ("vegetable", "plant")),
    (988, 990, ("nut", "seed", "plant")),
    (991, 997, ("mushroom", "fungus")),
    (998, 998, ("vegetable", "food")),
)
"""Inclusive ImageNet class-index ranges and their generic nouns, most specific first.

Classes 398-923 (man-made things) are in alphabetical order, so they get listed groups instead
(``OBJECT_HYPERNYMS``); the rest of them rely on their WordNet gloss for the generic noun
("convertible: a car that has a top that can be folded or removed").
"""

OBJECT_HYPERNYMS: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...] = (
    (("car", "vehicle"), (436, 468, 511, 609, 627, 656, 661, 717, 751, 817)),
    (("truck", "vehicle"), (407, 555, 569, 675, 734, 757, 864, 867)),
    (("bus", "vehicle"), (654, 779, 874)),
    (("vehicle",), (408, 561, 573, 575, 586, 595, 603, 612, 690, 802, 803, 847, 866)),
    (("motorbike", "vehicle"), (665, 670)),
    (("bicycle", "vehicle"), (444, 671, 870, 880)),
    (("train", "vehicle"), (466, 547, 565, 705, 820, 829)),
    (("boat", "ship"), (403, 472, 484, 510, 554, 576, 625, 628, 724, 780, 814, 833, 871, 913, 914)),
    (("aircraft", "airplane"), (404, 405, 812, 895, 908)),
    (
        ("musical instrument",),
        (401, 402, 420, 432, 486, 513, 541, 546, 558, 566, 577, 579, 593, 594, 641, 642)
        + (683, 684, 687, 699, 776, 822, 875, 881, 889),
    ),
    (("coat", "clothing"), (501, 568, 617, 735, 869)),
    (("dress", "clothing"), (399, 400, 578, 614, 887)),
    (("skirt", "clothing"), (601, 655, 689, 775)),
    (("shirt", "clothing"), (474, 610, 841)),
    (("trousers", "clothing"), (608, 697)),
    (("swimwear", "clothing"), (445, 639, 842)),
    (("clothing",), (411, 459, 465, 638, 652, 658, 806, 824, 834)),
    (("boot", "shoe", "footwear"), (514,)),
    (("shoe", "footwear"), (502, 630, 770, 774)),
    (("bag",), (414, 636, 728, 748, 893)),
    (("hat", "headwear"), (433, 439, 452, 515, 667, 793, 808)),
    (("helmet", "headwear"), (518, 560, 715)),
    (
        ("furniture",),
        (423, 453, 492, 493, 495, 516, 520, 526, 532, 553, 559, 564, 703, 765, 831, 857, 894),
    ),
    (("ball", "sports equipment"), (429, 430, 522, 574, 722, 768, 805, 852, 890)),
    (("shop", "building"), (415, 424, 454, 467, 509, 582, 788, 860, 865)),
    (
        ("building",),
        (425, 437, 442, 449, 483, 497, 498, 500, 580, 624, 663, 668, 698, 727, 743, 762)
        + (832, 915),
    ),
    (("bridge",), (821, 839, 888)),
    (("computer", "electronics"), (527, 590, 620, 664, 681, 782)),
    (("phone", "electronics"), (487, 528, 707)),
    (("kitchen appliance",), (505, 534, 550, 651, 760, 827, 859, 891)),
    (("kitchenware",), (504, 544, 567, 618, 659, 809, 813, 849, 909, 910, 923, 968)),
    (("weapon",), (413, 456, 471, 657, 744, 763, 764)),
    (("bottle",), (440, 720, 737, 898, 907)),
    (("clock",), (409, 530, 531, 892)),
    (("toy",), (611, 850)),
)
"""Groups of man-made ImageNet classes (by index) and their generic nouns."""


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names, in class-index order (open_clip's cleaned-up list)."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    names = tuple(str(name) for name in IMAGENET_CLASSNAMES)
    if len(names) != 1000:
        raise ModelError(f"open_clip lists {len(names)} ImageNet classes, expected 1000.")
    return names


def _timm_info(name: str) -> Path:
    import timm.data

    return Path(timm.data.__file__).parent / "_info" / name


@functools.cache
def class_definitions() -> tuple[str, ...]:
    """WordNet's gloss of each ImageNet class, in class-index order (from timm's metadata)."""
    try:
        synsets = _timm_info("imagenet_synsets.txt").read_text(encoding="utf-8").split()
        lines = _timm_info("imagenet_synset_to_definition.txt").read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"timm's ImageNet metadata is missing ({exc}); reinstall timm.") from exc
    glosses = dict(line.split("\t", 1) for line in lines.splitlines() if "\t" in line)
    missing = [synset for synset in synsets if synset not in glosses]
    if len(synsets) != 1000 or missing:
        raise ModelError(
            f"timm's ImageNet metadata lists {len(synsets)} synsets ({len(missing)} undefined)."
        )
    return tuple(glosses[synset].strip() for synset in synsets)


@functools.cache
def class_hypernyms() -> tuple[tuple[str, ...], ...]:
    """Each class's generic nouns (``HYPERNYM_RANGES``, ``OBJECT_HYPERNYMS``; else empty)."""
    out: list[tuple[str, ...]] = [() for _ in range(1000)]
    for start, stop, terms in HYPERNYM_RANGES:
        for index in range(start, stop + 1):
            out[index] = terms
    for terms, indices in OBJECT_HYPERNYMS:
        for index in indices:
            out[index] = terms
    return tuple(out)
