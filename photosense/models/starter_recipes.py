"""The offline starter's recipes: what decides its vectors, and its model ids.

Data without torch, so the model registry, the library and the window know the starter's ids
before any model loads; the model itself is :mod:`photosense.models.starter`.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT_DIM = 384
"""all-MiniLM-L6-v2's vector size, the embedding size of every starter recipe."""

TEXT_MAX_TOKENS = 256
"""all-MiniLM-L6-v2's ``max_seq_length`` (sentence_bert_config.json)."""

CLASS_PROMPTS: tuple[str, ...] = (
    "{}",
    "a photo of a {}.",
    "a picture of a {}.",
)
"""Prompt ensemble for a class's name. On tuxpaint-stamps caption retrieval, 2, 3, 8 or 14
plain photo phrasings scored the same (R@1 0.175-0.184), so three keep the first build short."""

NAME_PROMPTS_V2: tuple[str, ...] = ("a photo of a {}.",)
"""With definitions and generic nouns in the class vector, one name prompt scores as well as
three on the validation data (docs/models.md) and halves the first build."""


@dataclass(frozen=True)
class StarterRecipe:
    """Everything that decides a starter's vectors; a change needs a new ``model_id``.

    ``definition_weight`` and ``hypernym_weight`` scale the WordNet definition and the generic
    nouns added to each class's name vector (0 leaves them out); ``top_k`` keeps only the k
    likeliest classes of each image (0 keeps all 1000).
    """

    model_id: str
    backbone: str
    image_size: int
    name_prompts: tuple[str, ...]
    definition_weight: float
    hypernym_weight: float
    temperature: float
    top_k: int
    cache_name: str


BRIDGE_V1 = StarterRecipe(
    model_id="photosense-starter/bridge-v1",
    backbone="lite0",
    image_size=224,
    name_prompts=CLASS_PROMPTS,
    definition_weight=0.0,
    hypernym_weight=0.0,
    temperature=1.0,
    top_k=0,
    cache_name="starter-bridge-v1",
)
"""The first, zero-training bridge; kept loadable for libraries indexed with it."""

STARTER_V2 = StarterRecipe(
    model_id="photosense-starter/v2",
    backbone="lite2",
    image_size=260,
    name_prompts=NAME_PROMPTS_V2,
    definition_weight=1.0,
    hypernym_weight=0.5,
    temperature=1.0,
    top_k=10,
    cache_name="starter-v2",
)
"""The default starter. Weights and k were chosen on train-split data only (docs/models.md)."""

RECIPES: dict[str, StarterRecipe] = {r.model_id: r for r in (STARTER_V2, BRIDGE_V1)}
STARTER_ID = STARTER_V2.model_id
"""Model id of the default starter; a new recipe gets a new id."""
BRIDGE_V1_ID = BRIDGE_V1.model_id
