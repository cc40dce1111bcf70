"""Text in photos: how well the reader reads, how well word search finds, what it costs.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_text.py [--sides 640,960,1280]
        [--models DIR] [--no-probe] [--bad-input] [--repeat 1]
    PYTHONPATH=. .venv/bin/python benchmarks/bench_text.py --good-matches

**Photos with known text** (``text-photos``, built here into ``~/.cache/photosense-bench``):
the scene-text photos that ship in Debian's ``opencv-doc`` 4.6.0 package
(``examples/text/scenetext*.jpg``: street signs, shop fronts, a generator, posters, from the
ICDAR 2013 robust-reading set that OpenCV's text module uses as samples; and
``examples/data/imageTextN.png``/``imageTextR.png``, a photographed book page, straight and
rotated). The package file is the one ``shared/datasets/fetch`` keeps in
``~/.cache/photosense-datasets/_downloads`` (else ``apt-get download opencv-doc``). The text in
each photo was transcribed by hand for this benchmark (``TRUTH`` below: the legible text, not
the fine print); licence: Apache-2.0/BSD-3-Clause as OpenCV declares, for local use only.

**Photos without text**: ``camera-photos`` (71 real camera files, from the shared data sets),
for the cost of a photo with nothing to read and for false readings.

Reported: character accuracy (1 - CER, edit distance over the truth's length, lines joined
top to bottom) and word recall/precision (folded words, as a bag), per setting; "text search
finds the photo" recall@1/@5 for a hand-written query per photo (``QUERIES``, what a person
would type) over all photos of both sets, through the library's word search; photos/s; and the
bad inputs of the issue (``--bad-input``): a huge scan, rotated and vertical text, a photo
that is all text, a pattern that makes the detector find thousands of boxes.

``--good-matches`` indexes a library of the photos with text, camera-photos and
foolbox-imagenet (108 photos) with the starter and both readers (cached in the benchmark
cache), then asks it ``EVERYDAY`` queries (what a person types to find a thing, not a text)
and the ``QUERIES``: how many good matches the words alone make for the everyday queries, and
how many text queries keep their photo among the good matches, with the rules for a text hit
(``PARTIAL_TEXT_Z``, ``LONG_TEXT_WORDS``) off ("before": half the words anywhere suffice) and on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import CACHE, DATASETS, dataset, machine, peak_rss_mib
from PIL import Image, ImageDraw, ImageFont

from photosense.library.text_query import rank_text_matches
from photosense.models.ocr import OcrEngine, OcrResult, OcrSettings
from photosense.store.records import Batch, PhotoFields, TextLine
from photosense.store.repository import Store
from photosense.store.text import words

OPENCV_DOC = "opencv-doc_4.6.0+dfsg-12_all.deb"
_DOC = "usr/share/doc/opencv-doc/examples"
TRUTH = {
    "scenetext01.jpg": "NOTICE\nDOUBLE\nPARKING\nPROHIBITED\nAT ALL TIMES",
    "scenetext02.jpg": "Sports Centre\nWivenhoe Park\nConference Centre\nCar Parks",
    "scenetext03.jpg": "the copy centre",
    "scenetext04.jpg": "GM 125",
    "scenetext05.jpg": "NO PARKING\nNO PARKING",
    "scenetext06.jpg": "priory galleries\npriory galleries at the ship",
    "scenetext_segmented_word01.jpg": "HOTEL",
    "scenetext_segmented_word02.jpg": "Stationery Box",
    "scenetext_segmented_word03.jpg": "Customer\nFreephone\nPrivate Hire\nService",
    "scenetext_segmented_word04.jpg": "FOSTER'S",
    "scenetext_segmented_word05.jpg": "SANYO\nPRO xtraX\nMULTIMEDIA PROJECTOR",
    "scenetext_word01.jpg": "CHINA",
    "scenetext_word02.jpg": "HERE",
    "scenetext_word03.jpg": "riser",
    "scenetext_word04.jpg": "Produkt",
    "imageTextN.png": (
        "technical details are too complex to cover in the book itself.\n"
        "In teaching our courses, we have found it useful for the students to attempt a number "
        "of small implementation projects, which often build on one another, in order to get "
        "them used to working with real-world images and the challenges that these present. "
        "The students are then asked to choose an individual topic for each of their "
        "small-group, final projects. (Sometimes these projects even turn into conference "
        "papers!) The exercises at the end of each chapter contain numerous suggestions for "
        "smaller mid-term projects, as well as more open-ended problems whose solutions are "
        "still active research topics. Wherever possible, I encourage students to try their "
        "algorithms on their own personal photographs, since this better motivates them, often "
        "leads to creative variants on the problems, and better acquaints them with the "
        "variety and complexity of real-world imagery.\n"
        "In formulating and solving computer vision problems, I have often found it useful to "
        "draw inspiration from three high-level approaches:"
    ),
}
TRUTH["imageTextR.png"] = TRUTH["imageTextN.png"]
QUERIES = {
    "scenetext01.jpg": "double parking prohibited",
    "scenetext02.jpg": "sign to the conference centre",
    "scenetext03.jpg": "the copy centre",
    "scenetext04.jpg": "GM 125",
    "scenetext05.jpg": "barrier that says no parking",
    "scenetext06.jpg": "priory galleries",
    "scenetext_segmented_word01.jpg": "hotel sign",
    "scenetext_segmented_word02.jpg": "stationery shop",
    "scenetext_segmented_word03.jpg": "private hire",
    "scenetext_segmented_word04.jpg": "fosters",
    "scenetext_segmented_word05.jpg": "sanyo projector",
    "scenetext_word01.jpg": "china",
    "scenetext_word02.jpg": '"here"',
    "scenetext_word03.jpg": "riser",
    "scenetext_word04.jpg": "produkt",
    "imageTextN.png": "students personal photographs",
    "imageTextR.png": "computer vision problems",
}


def text_photos() -> Path:
    """The photos with known text, extracted from opencv-doc into the benchmark cache."""
    target = CACHE / "text-photos"
    if all((target / name).is_file() for name in TRUTH):
        return target
    deb = DATASETS / "_downloads" / OPENCV_DOC
    with tempfile.TemporaryDirectory() as tmp:
        if not deb.is_file():
            subprocess.run(["apt-get", "download", "opencv-doc"], cwd=tmp, check=True)
            deb = next(Path(tmp).glob("opencv-doc_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        target.mkdir(parents=True, exist_ok=True)
        for name in TRUTH:
            sub = "data" if name.startswith("imageText") else "text"
            shutil.copy2(Path(tmp) / _DOC / sub / name, target / name)
    (target / "SOURCE.txt").write_text(
        f"Debian package opencv-doc ({deb.name}), {_DOC}/text and /data; transcriptions in "
        "benchmarks/bench_text.py\n"
    )
    return target


EVERYDAY = (
    "snow", "a red flower", "people on a beach", "a dog", "a cat", "sunset", "a car",
    "mountains", "a church", "food", "a tree", "the sea", "a bird", "a bicycle", "a building",
    "a street at night", "flowers", "a boat", "a bridge", "a horse", "a parking lot",
    "a blue sky", "an old book", "a computer", "a shop window", "a red car", "green grass",
    "a copy of a book", "a white house", "a hotel room",
)  # fmt: skip
"""Queries for things, not for words, some of which a sign or a page happens to hold."""


def good_matches() -> None:
    """Good matches made by words alone, with the rules for a text hit off and on."""
    import photosense.library.search as search_module
    import photosense.library.text_query as text_module
    from photosense.enums import MatchReason
    from photosense.library import Library
    from photosense.progress import run_to_end

    folder = CACHE / "text-search-library"
    photos = folder / "photos"
    if not (folder / ".complete").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(text_photos(), photos / "signs")
        shutil.copytree(dataset("camera-photos") / "images", photos / "camera")
        shutil.copytree(dataset("foolbox-imagenet") / "images", photos / "foolbox")
        started = time.perf_counter()
        with Library.open(folder / "library", model="starter") as library:
            run_to_end(library.folders.index([photos]))
        print(f"indexed in {time.perf_counter() - started:.0f} s")
        (folder / ".complete").touch()
    rules = (
        ("before", float("-inf"), 10**9),
        ("after", search_module.PARTIAL_TEXT_Z, text_module.LONG_TEXT_WORDS),
    )
    with Library.open(folder / "library", model="starter") as library:
        for label, partial_z, long_text in rules:
            search_module.PARTIAL_TEXT_Z, text_module.LONG_TEXT_WORDS = partial_z, long_text
            claims = [
                (query, Path(hit.photo.path).name)
                for query in EVERYDAY
                for hit in library.search.text(query).good_hits
                if hit.matched == MatchReason.TEXT
            ]
            kept = sum(
                name in {Path(h.photo.path).name for h in library.search.text(query).good_hits}
                for name, query in QUERIES.items()
            )
            print(
                f"{label}: {len(claims)} good matches by words alone over {len(EVERYDAY)} "
                f"everyday queries; {kept}/{len(QUERIES)} text queries keep their photo "
                "among the good matches"
            )
            for query, name in claims:
                print(f"    {query!r}: {name}")


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def flat(value: str) -> str:
    return " ".join(value.split())


def scores(result: OcrResult, truth: str) -> tuple[int, int, int, int, int]:
    """(character errors, truth characters, truth words found, truth words, words read)."""
    read = flat(" ".join(line.text for line in result.lines))
    errors = edit_distance(read.casefold(), flat(truth).casefold())
    expected, got = words(truth), words(read)
    pool = list(got)
    found = 0
    for word in expected:
        if word in pool:
            pool.remove(word)
            found += 1
    return errors, len(flat(truth)), found, len(expected), len(got)


def load(folder: Path, names: list[str]) -> dict[str, Image.Image]:
    """The photos decoded as the analysis runner decodes them (upright, RGB, ``MAX_SIDE``)."""
    return {name: _decode(folder / name) for name in names}


def _decode(path: Path) -> Image.Image:
    from photosense.media.decode import decode_for_analysis

    return decode_for_analysis(path, MAX_SIDE)


MAX_SIDE = 1600


def run_set(
    engine: OcrEngine, images: dict[str, Image.Image], times: list[float] | None = None
) -> tuple[dict[str, OcrResult], float]:
    """Read every image; the total seconds (and each image's in ``times``)."""
    results: dict[str, OcrResult] = {}
    total = 0.0
    for name, image in images.items():
        started = time.perf_counter()
        results[name] = engine.read(image)
        took = time.perf_counter() - started
        total += took
        if times is not None:
            times.append(took)
    return results, total


def search_recall(
    results: dict[str, OcrResult], extra: dict[str, OcrResult]
) -> tuple[float, float]:
    """Recall@1 and @5 of each photo for its query, through the library's word search."""
    names = list(results) + list(extra)
    with Store.in_memory() as store:
        ids = dict(zip(names, _photos(store, names), strict=True))
        every = {**results, **extra}
        store.texts.record(
            {
                ids[n]: [TextLine(line.text, line.confidence, 0, 0, 0, 0) for line in r.lines]
                for n, r in every.items()
            }
        )
        at1 = at5 = 0
        for name, query in QUERIES.items():
            ranked = [m.photo_id for m in rank_text_matches(store, query, 50)]
            # The book page is there twice (straight and rotated): either answers its query.
            right = {ids[n] for n in QUERIES if TRUTH[n] == TRUTH[name]}
            at1 += bool(set(ranked[:1]) & right)
            at5 += bool(set(ranked[:5]) & right)
            if not set(ranked[:1]) & right:
                read = " / ".join(line.text for line in every[name].lines)
                print(f"{'':28s}   missed @1: {query!r} -> {name} (read: {read[:50]!r})")
    return at1 / len(QUERIES), at5 / len(QUERIES)


def _photos(store: Store, names: list[str]) -> list[int]:
    """``names`` registered as photos of an in-memory library (their text is all it needs)."""
    store.vectors.ensure_model("bench", 1)
    batch = Batch(store.folders.add("/bench").id)
    one = np.ones(1, np.float32)
    batch.new = [(PhotoFields(f"/bench/{n}", 1, 0, f"h{i}"), one) for i, n in enumerate(names)]
    return [photo_id for photo_id, _ in store.vectors.commit_batch("bench", batch).upserted]


def report(label: str, results: dict[str, OcrResult], seconds: float) -> None:
    totals = [0, 0, 0, 0, 0]
    for name, result in results.items():
        for i, v in enumerate(scores(result, TRUTH[name])):
            totals[i] += v
    errors, chars, found, expected, read = totals
    print(
        f"{label:28s} char acc {1 - errors / chars:6.1%}  word recall {found / expected:6.1%}  "
        f"word precision {found / max(1, read):6.1%}  {len(results) / seconds:5.2f} photos/s "
        f"({seconds / len(results):.2f} s/photo)"
    )


def bad_inputs(engine: OcrEngine, page: Image.Image) -> None:
    """The issue's bad inputs: each read once, with its time and outcome."""
    font = _font(28)
    huge = Image.new("RGB", (9000, 12000), "white")  # a 108-megapixel scan
    draw = ImageDraw.Draw(huge)
    for row in range(0, 12000, 600):
        draw.text((400, row + 200), "INVOICE 2024 TOTAL DUE", fill="black", font=_font(160))
    vertical = Image.new("RGB", (300, 1400), "white")
    draw = ImageDraw.Draw(vertical)
    for i, ch in enumerate("VERTICAL"):
        draw.text((110, 40 + i * 160), ch, fill="black", font=_font(120))
    noise = Image.effect_noise((1600, 1200), 128).convert("RGB")
    dots = Image.new("RGB", (1600, 1200), "white")
    draw = ImageDraw.Draw(dots)
    for y in range(0, 1200, 45):
        for x in range(0, 1600, 90):
            draw.text((x, y), "ab", fill="black", font=font.font_variant(size=26))
    cases = {
        "huge scan 9000x12000 (decoded at max side)": _decoded(huge),
        "rotated 90°": page.rotate(90, expand=True),
        "rotated 180°": page.rotate(180),
        "vertical letters": vertical,
        "all text (book page)": page,
        "486 short words in a grid": dots,
        "random noise": noise,
    }
    for label, image in cases.items():
        started = time.perf_counter()
        result = engine.read(image)
        took = time.perf_counter() - started
        text = flat(" ".join(line.text for line in result.lines))
        print(
            f"  {label:44s} {took:6.2f} s  {len(result.lines):4d} lines of {result.boxes:4d} "
            f"boxes  stopped: {result.limited or '-':5s}  {text[:60]!r}"
        )


def _decoded(image: Image.Image) -> Image.Image:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.png"
        image.save(path)
        return _decode(path)


def _font(size: int) -> ImageFont.FreeTypeFont:
    for candidate in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", default="960", help="detector sizes to compare")
    parser.add_argument("--models", type=Path, help="another PP-OCR model folder to compare")
    parser.add_argument("--no-probe", action="store_true", help="also run without the probe")
    parser.add_argument("--bad-input", action="store_true")
    parser.add_argument("--bad-input-only", action="store_true", help="only the bad inputs")
    parser.add_argument(
        "--good-matches", action="store_true", help="only the good-match rules for text hits"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--probe", default="320:0.5", help="probe settings to compare, side:threshold,…"
    )
    args = parser.parse_args()
    print(machine(), f"load average {os.getloadavg()[0]:.1f}")
    if args.good_matches:
        good_matches()
        return
    with_text = text_photos()
    camera = dataset("camera-photos")
    no_text_names = sorted(
        str(p.relative_to(camera)) for p in (camera / "images").rglob("*") if p.is_file()
    )
    texts = load(with_text, list(TRUTH))
    if args.bad_input_only:
        print("bad input (det 960):")
        bad_inputs(OcrEngine(OcrSettings(threads=args.threads)), texts["imageTextN.png"])
        return
    plain = load(camera, no_text_names)
    base = OcrSettings(threads=args.threads)
    variants: list[tuple[str, OcrSettings, Path | None]] = []
    for side in (int(s) for s in args.sides.split(",")):
        for probe in args.probe.split(","):
            probe_side, threshold = probe.split(":")
            settings = replace(
                base, det_side=side, probe_side=int(probe_side), probe_threshold=float(threshold)
            )
            variants.append((f"det {side}, probe {probe}", settings, None))
        if args.no_probe:
            variants.append(
                (f"det {side}, no probe", replace(base, det_side=side, probe_side=0), None)
            )
    if args.models:
        variants.append((f"{args.models.name} det 960", base, args.models))
    for label, settings, models in variants:
        engine = OcrEngine(settings, models)
        engine.read(Image.new("RGB", (64, 64)))  # load the models outside the timing
        results, seconds = run_set(engine, texts)
        report(label, results, seconds)
        each: list[float] = []
        empty, plain_seconds = run_set(engine, plain, each)
        probed = sum(r.probed_empty for r in empty.values())
        false_lines = sum(len(r.lines) for r in empty.values())
        with_lines = sum(bool(r.lines) for r in empty.values())
        print(
            f"{'':28s} photos without text: {plain_seconds / len(plain):.3f} s/photo "
            f"(median {statistics.median(each):.3f} s), {probed}/{len(plain)} "
            f"stopped by the probe, {with_lines} with some text read ({false_lines} lines)"
        )
        at1, at5 = search_recall(results, empty)
        print(f"{'':28s} text search finds the photo: recall@1 {at1:.0%}, recall@5 {at5:.0%}")
    if args.bad_input:
        print("bad input (det 960):")
        bad_inputs(OcrEngine(base), texts["imageTextN.png"])
    print(f"peak memory {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
