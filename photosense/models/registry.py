"""Turn a model spec (a setting, a CLI flag, a stored model id) into a loaded Encoder.

Accepted specs:

- ``auto``, ``starter`` or ``photosense-starter/v2``: the offline starter model;
- ``photosense-starter/bridge-v1``: the first starter, so libraries indexed with it still load;
- a catalogue id (``ViT-B-32``, ``MobileCLIP-S2``; see ``resources/models.json``): that
  model's pretrained weights;
- ``imported/NAME`` or ``fine-tuned/NAME``: a model stored in the models folder (a
  fine-tuned one loads its base model, then its adapters);
- ``photosense-tiny`` or any other open_clip architecture (``RN50``): that architecture with
  random weights from seed 0, i.e. ``open_clip/ARCH/random-seed0``;
- ``open_clip/ARCH/random-seedN``: the same random model again (so stored ids reload);
- ``ARCH/PRETRAINED`` or ``open_clip/ARCH/PRETRAINED``: open_clip's pretrained weights.
"""

from __future__ import annotations

import re

from photosense.errors import UnknownModelError
from photosense.models.catalogue import find_entry
from photosense.models.encoder import Encoder, TextEncoder
from photosense.models.local import is_adapted_id, is_local_id, load_local
from photosense.models.starter_recipes import BRIDGE_V1_ID, STARTER_ID

__all__ = ["STARTER_ID", "is_starter", "load_encoder", "load_query_encoder", "parse_spec"]

_STARTER_ALIASES = {"auto", "starter", STARTER_ID}
_RANDOM_TAG = re.compile(r"random-seed(\d+)")


def _accepted() -> str:
    return (
        f"'auto', 'starter', {STARTER_ID!r}, a catalogue model such as 'ViT-B-32', "
        "'imported/NAME', an open_clip architecture such as "
        "'photosense-tiny' (random weights), 'ARCH/PRETRAINED' or 'open_clip/ARCH/PRETRAINED' "
        "(e.g. 'ViT-B-32/laion2b_s34b_b79k'), or 'open_clip/ARCH/random-seedN'"
    )


def is_starter(model_id: str) -> bool:
    """Whether a model id is one of the offline starter's versions."""
    return parse_spec(model_id)[0] == "starter"


def parse_spec(spec: str) -> tuple[str, str | None, int | None]:
    """Split a spec into (kind or arch, pretrained tag, seed) without loading anything.

    Returns ``("starter", None, None)`` for the starter (``("starter", BRIDGE_V1_ID, None)``
    for the old bridge), ``("local", model_id, None)`` for a stored model, ``(arch, None,
    seed)`` for random weights and ``(arch, tag, None)`` for pretrained ones (catalogue ids
    included). Unknown shapes raise ``ModelError``; whether the
    architecture exists is checked on load.
    """
    text = spec.strip()
    if text in _STARTER_ALIASES:
        return ("starter", None, None)
    if text == BRIDGE_V1_ID:
        return ("starter", BRIDGE_V1_ID, None)
    if is_local_id(text):
        return ("local", text, None)
    entry = find_entry(text) if "/" not in text else None
    if entry is not None:
        return (entry.architecture, entry.pretrained, None)
    parts = text.split("/")
    if parts[0] == "open_clip":
        parts = parts[1:]
        if len(parts) != 2:
            raise UnknownModelError(spec, _accepted())
    if len(parts) == 1 and parts[0]:
        return (parts[0], None, 0)
    if len(parts) == 2 and all(parts):
        arch, tag = parts
        seed = _RANDOM_TAG.fullmatch(tag)
        if seed:
            return (arch, None, int(seed.group(1)))
        return (arch, tag, None)
    raise UnknownModelError(spec, _accepted())


def load_encoder(spec: str = "auto", device: str = "auto") -> Encoder:
    """Load the encoder ``spec`` names (see the module docstring) on ``device``.

    Raises ``ModelError`` for an unknown spec, a missing architecture, or pretrained weights
    that are not downloaded. The starter loads its weights lazily; open_clip models load now.
    """
    arch, pretrained, seed = parse_spec(spec)
    if arch == "starter":
        from photosense.models.starter import StarterEncoder

        return StarterEncoder(device, recipe=pretrained or STARTER_ID)
    if arch == "local" and pretrained is not None:
        if is_adapted_id(pretrained):
            from photosense.models.adapted import load_adapted

            return load_adapted(pretrained, lambda base: load_encoder(base, device))
        return load_local(pretrained, device)

    from photosense.models.openclip import OpenClipEncoder, known_architectures

    if arch not in known_architectures():
        raise UnknownModelError(spec, _accepted())
    if pretrained is None:
        return OpenClipEncoder.create(arch, None, device=device, seed=seed or 0)
    return OpenClipEncoder.create(arch, pretrained, device=device)


def load_query_encoder(spec: str) -> TextEncoder | None:
    """A light encoder for search queries under ``spec``, or None where the model has none.

    The starter's versions and open_clip models with CLIP's own tokenizer have one (their text
    tower exported to ONNX and run by ONNX Runtime, no torch; ``PHOTOSENSE_ONNX=0`` makes the
    starter's torch's text tower alone and leaves open_clip models none). It loads on the
    first query: its model id costs nothing.
    """
    from photosense.models.onnx_text import onnx_enabled

    try:
        arch, pretrained, seed = parse_spec(spec)
    except UnknownModelError:
        return None  # the full model's loader reports it
    if arch == "starter":
        from photosense.models.starter_query import StarterQueryEncoder

        return StarterQueryEncoder(pretrained or STARTER_ID, use_onnx=onnx_enabled())
    if not onnx_enabled():
        return None
    from photosense.models.clip_query import clip_query_encoder

    if arch == "local":
        return clip_query_encoder(spec, arch, local_id=pretrained)
    return clip_query_encoder(spec, arch, pretrained, seed)
