"""open_clip models' text side for queries, without torch: the text tower run by ONNX Runtime.

``encode_text`` (token and position embeddings, the transformer, pooling, projection and L2
normalisation) is exported to ONNX once per model weights, from the loaded torch model (at the
end of ``photosense index`` or of a model switch, else by the first search), into the user's
cache (see :mod:`photosense.models.onnx_text` for the cache and its checks). The file is named
by a fingerprint of the weights read without torch: the architecture's config, the seed and the
open_clip and torch versions for random weights, the content hash the Hugging Face cache names a
download by, a stored model's size and modification time.

Queries are tokenized without torch too (open_clip's tokenizer module imports it): the export
turns open_clip's BPE vocabulary into a ``tokenizers`` tokenizer with ``transformers``' CLIP
tokenizer, checks that it gives open_clip's token ids on a varied list of texts, and keeps it in
the file. Only models with open_clip's own CLIP tokenizer take this path; those whose tokenizer
comes from ``transformers`` (XLM-RoBERTa, RoBERTa, mT5, NLLB), SigLIP's SentencePiece ones, and
the CLIP tokenizers with other cleaning (CLIPA, the "worldwide" models) keep the full model, as
do fine-tuned models. An export that fails its checks is remembered (a ``.failed`` note beside
it), so searches do not try again; the full model answers them.
"""

from __future__ import annotations

import copy
import hashlib
import html
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from photosense import paths
from photosense.errors import ModelError
from photosense.fileio import atomic_write
from photosense.models.encoder import Encoder, Vectors
from photosense.models.onnx_text import (
    LightQueryEncoder,
    OnnxTower,
    export_module,
    is_exported,
    load_or_export,
    write_checked,
)
from photosense.models.openclip_configs import (
    architecture_config,
    pretrained_model_id,
    random_model_id,
)

if TYPE_CHECKING:
    import torch

    from photosense.models.openclip import OpenClipEncoder

__all__ = [
    "ClipQueryEncoder",
    "ClipTokens",
    "OnnxClipText",
    "clip_query_encoder",
    "export_clip_text",
    "tokenizer_route",
]

log = logging.getLogger(__name__)

EXPORT_SETTINGS: dict[str, Any] = {
    "format": 1,
    "opset": 17,
    "input": "text: open_clip token ids, batch x context length",
    "output": "encode_text(normalize=True)",
    "tokenizer": "open_clip SimpleTokenizer (clean=lower) as a tokenizers BPE",
}
"""What the export does; part of the file's name, so a change here makes a new file."""

TOKENS_KEY = "photosense.tokenizer"
"""Metadata: the ``tokenizers`` JSON of the model's BPE tokenizer."""
LAYOUT_KEY = "photosense.tokens"
"""Metadata: context length, start and end token ids, vector size."""

PROBE_TEXTS = ("Kids building a sandcastle at sunset, Ünïcode café — 東京 ✓",)
"""Checked against torch at export, and against the file's probe on every load. One text: the
tower always runs the whole context (77 tokens), so each probe text costs a search as much as
its query (~0.12 CPU-seconds for ViT-B-32), and one already runs every layer."""
EXAMPLE_TEXTS = ("a dog", "kids building a sandcastle at sunset")
"""What the export traces with: a batch of two, so the batch size stays free in the graph."""
TOKEN_CHECK_TEXTS = (
    "a photo of a dog",
    "Kids building a SANDCASTLE at sunset!",
    "Crème brûlée – 東京 — naïve façade, Øresund, straße",
    "😀🐶 party 🎉 🏳️‍🌈",
    "ΟΔΟΣ ΣΤΟ ΣΠΙΤΙ, İstanbul, Привет мир, مرحبا, नमस्ते",
    "don't STOP 'til you're done, we'll see; I'd've",
    "&amp;lt;b&amp;gt; fish &amp; chips",
    "cafÃ© mojibake and “curly” ‘quotes’ and ﬁne ligatures",
    "ｆｕｌｌ width, e\u0301 combining, zero\u200bwidth",
    "tabs\tand\nnewlines   and  spaces ",
    "123 4567 3.14 1,000,000 2024-06-01",
    "<end_of_text> and <start_of_text> typed in",
    "",
    "a very long caption of a beach with many words " * 12,
)
"""Texts whose token ids the light tokenizer must give exactly as open_clip's does."""


def tokenizer_route(arch: str, config: Mapping[str, Any]) -> str | None:
    """Why queries of ``arch`` cannot be tokenized without torch, or None when they can
    (open_clip's own CLIP BPE tokenizer with its default cleaning)."""
    text_cfg = config.get("text_cfg", {})
    if text_cfg.get("hf_tokenizer_name") or text_cfg.get("hf_model_name"):
        return "its tokenizer comes from transformers"
    if "siglip" in arch.lower():
        return "SigLIP tokenizes with SentencePiece"
    if text_cfg.get("tokenizer_kwargs"):
        return "its tokenizer cleans text its own way"
    return None


def clip_tokens_json(tokenizer: Any) -> str:
    """open_clip's ``SimpleTokenizer`` as a ``tokenizers`` JSON: its vocabulary and merges in
    ``transformers``' CLIP tokenizer, without the normalizer and post-processor (the cleaning
    and the start and end tokens are :class:`ClipTokens`' own, exactly as open_clip does
    them)."""
    from transformers import CLIPTokenizer

    sot, eot = (tokenizer.decoder[i] for i in (tokenizer.sot_token_id, tokenizer.eot_token_id))
    built = CLIPTokenizer(
        vocab=dict(tokenizer.encoder),
        merges=list(tokenizer.bpe_ranks),
        bos_token=sot,
        eos_token=eot,
        unk_token=eot,
        pad_token=eot,
    )
    backend = built.backend_tokenizer
    backend.normalizer = None
    backend.post_processor = None
    return str(backend.to_str())


def _clean(text: str) -> str:
    """open_clip's ``clean="lower"`` (``whitespace_clean(basic_clean(text)).lower()`` in
    ``open_clip.tokenizer``, which imports torch): ftfy, HTML entities twice, whitespace."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


class ClipTokens:
    """open_clip's CLIP tokenizer without torch: the same token ids, as int64 numpy rows of
    the context length (start, BPE ids, end, zeros; cut texts end with the end token)."""

    def __init__(self, tokens_json: str, context_length: int, sot: int, eot: int) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_str(tokens_json)
        self.context_length, self.sot, self.eot = context_length, sot, eot
        # Rust tokenizers raise "Already borrowed" when two threads share one.
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        cleaned = [_clean(text) for text in texts]
        with self._lock:
            encodings = self._tokenizer.encode_batch(cleaned, add_special_tokens=False)
        rows = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, encoding in zip(rows, encodings, strict=True):
            tokens = [self.sot, *encoding.ids, self.eot][: self.context_length]
            tokens[-1] = self.eot
            row[: len(tokens)] = tokens
        return rows


class OnnxClipText(OnnxTower):
    """An open_clip text tower, projection and normalisation included, in an ONNX Runtime
    session, with the tokenizer its file carries."""

    def __init__(self, model: bytes | Path) -> None:
        super().__init__(model)
        layout = json.loads(self.metadata[LAYOUT_KEY])
        self.dim = int(layout["dim"])
        self.tokens = ClipTokens(
            self.metadata[TOKENS_KEY], int(layout["context_length"]), layout["sot"], layout["eot"]
        )

    def feeds(self, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
        return {"text": self.tokens(texts)}


def _text_side(model: torch.nn.Module) -> torch.nn.Module:
    import torch

    class TextSide(torch.nn.Module):
        def __init__(self, clip: torch.nn.Module) -> None:
            super().__init__()
            self.clip = clip

        def forward(self, text: torch.Tensor) -> torch.Tensor:
            vectors: torch.Tensor = self.clip.encode_text(text, normalize=True)  # type: ignore[operator]
            return vectors

    return TextSide(model).eval()


def export_clip_text(encoder: OpenClipEncoder, path: Path) -> OnnxTower:
    """Export ``encoder``'s text side and tokenizer to ``path`` (seconds, once), checked
    against open_clip's token ids and torch's vectors; ``ModelError`` if either differs.

    A CPU float32 copy of the model is traced, so the loaded one keeps serving meanwhile.
    """
    import torch
    from open_clip.tokenizer import SimpleTokenizer

    tokenizer = encoder.tokenizer
    if not isinstance(tokenizer, SimpleTokenizer) or tokenizer.reduction_fn is not None:
        raise ModelError(f"{encoder.model_id} does not use open_clip's CLIP tokenizer")
    context = int(tokenizer.context_length or 0)
    tokens_json = clip_tokens_json(tokenizer)
    light = ClipTokens(tokens_json, context, tokenizer.sot_token_id, tokenizer.eot_token_id)
    for text in TOKEN_CHECK_TEXTS:
        if not np.array_equal(light([text]), tokenizer([text]).numpy()):
            raise ModelError(f"the light tokenizer of {encoder.model_id} differs on {text!r}")
    side = _text_side(copy.deepcopy(encoder.model).to("cpu", torch.float32))
    with torch.inference_mode():
        expected = side(tokenizer(list(PROBE_TEXTS))).numpy()
    model = export_module(
        side,
        (tokenizer(list(EXAMPLE_TEXTS)),),
        ["text"],
        {"text": {0: "batch"}, "vectors": {0: "batch"}},
        EXPORT_SETTINGS["opset"],
    )
    layout = {
        "context_length": context,
        "sot": tokenizer.sot_token_id,
        "eot": tokenizer.eot_token_id,
        "dim": int(expected.shape[1]),
    }
    metadata = {TOKENS_KEY: tokens_json, LAYOUT_KEY: json.dumps(layout)}
    return write_checked(model, path, (PROBE_TEXTS, expected), OnnxClipText, metadata)


def clip_text_path(arch: str, fingerprint: Mapping[str, Any], cache_root: Path | None) -> Path:
    """Where the export of the weights ``fingerprint`` names lives (weights beside it)."""
    payload = json.dumps({"export": EXPORT_SETTINGS, "weights": fingerprint}, sort_keys=True)
    key = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    root = cache_root if cache_root is not None else paths.cache_dir() / "models"
    return root / f"openclip-{re.sub(r'[^A-Za-z0-9._-]+', '-', arch)}-text-{key}.onnx"


def failure_note(path: Path) -> Path:
    """Where a failed export of ``path`` is remembered, so no search tries it again."""
    return path.with_name(path.name + ".failed")


class ClipQueryEncoder(LightQueryEncoder):
    """An open_clip model's text side for queries: its model id and ``encode_texts``' vectors
    through ONNX Runtime. The export needs the torch model: ``prepare`` takes the library's
    loaded one; a query with no export yet loads its own (on the CPU)."""

    def __init__(self, model_id: str, dim: int, spec: str, path: Path) -> None:
        super().__init__(model_id, dim)
        self.spec = spec
        self.path = path

    def needs_preparing(self) -> bool:
        return not is_exported(self.path)

    def _load(self, full: Callable[[], Encoder] | None) -> Callable[[Sequence[str]], Vectors]:
        return load_or_export(self.path, OnnxClipText, lambda: self._export(full)).encode

    def _export(self, full: Callable[[], Encoder] | None) -> OnnxTower:
        from photosense.models.openclip import OpenClipEncoder
        from photosense.models.registry import load_encoder

        encoder = full() if full is not None else None
        if not isinstance(encoder, OpenClipEncoder) or encoder.model_id != self.model_id:
            loaded = load_encoder(self.spec, device="cpu")
            if not isinstance(loaded, OpenClipEncoder) or loaded.model_id != self.model_id:
                raise ModelError(f"{self.spec} did not load as the open_clip model {self.model_id}")
            encoder = loaded
        try:
            return export_clip_text(encoder, self.path)
        except (ModelError, RuntimeError, ValueError, TypeError) as exc:
            with atomic_write(failure_note(self.path), "w", encoding="utf-8") as handle:
                handle.write(f"{self.model_id}: {exc}\n")
            raise


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _fingerprint(
    arch: str, pretrained: str | None, seed: int | None, local_id: str | None
) -> tuple[str, dict[str, Any]] | None:
    """(model id, what names its weights), read without torch; None where the weights are
    not on this machine or the model is not a plain open_clip one."""
    if local_id is not None:
        from photosense.models.local import ADAPTER_ARCH, read_local

        try:
            record = read_local(local_id)
        except ModelError:
            return None  # the full loader says what is wrong
        if record.architecture == ADAPTER_ARCH:
            return None
        stat = record.weights.stat()
        return local_id, {
            "weights": "local",
            "id": local_id,
            "arch": record.architecture,
            "created_at": record.created_at,
            "bytes": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }
    if pretrained is not None:
        from photosense.models import hub

        source = hub.catalogue_hub_source(arch, pretrained)
        found = hub.cached_weights(source) if source is not None else None
        if found is None:
            return None  # not downloaded, or outside the catalogue (open_clip knows it: torch)
        blob = found.resolve()
        return pretrained_model_id(arch, pretrained), {
            "weights": "hub",
            "arch": arch,
            "tag": pretrained,
            "blob": blob.name,  # the content's hash, for files the hub stores by hash
            "bytes": blob.stat().st_size,
        }
    return random_model_id(arch, seed or 0), {
        "weights": "random",
        "arch": arch,
        "seed": seed or 0,
        "open_clip": _package_version("open_clip_torch"),
        "torch": _package_version("torch"),
    }


def clip_query_encoder(
    spec: str,
    arch: str,
    pretrained: str | None = None,
    seed: int | None = None,
    *,
    local_id: str | None = None,
    cache_root: Path | None = None,
) -> ClipQueryEncoder | None:
    """The light query encoder of an open_clip model (``arch`` with ``pretrained`` weights,
    random ones from ``seed``, or the stored model ``local_id``), or None where it has none:
    a tokenizer other than CLIP's, weights not on this machine, a failed export."""
    if local_id is not None:
        from photosense.models.local import read_local

        try:
            arch = read_local(local_id).architecture
        except ModelError:
            return None
    config = architecture_config(arch)
    if config is None:
        return None  # unknown to open_clip's files: the full loader says so
    reason = tokenizer_route(arch, config)
    if reason is not None:
        log.debug("queries of %s go through torch: %s", arch, reason)
        return None
    found = _fingerprint(arch, pretrained, seed, local_id)
    if found is None:
        return None
    model_id, fingerprint = found
    fingerprint["config"] = config
    path = clip_text_path(arch, fingerprint, cache_root)
    if failure_note(path).is_file():
        log.debug("queries of %s go through torch: its export failed before", model_id)
        return None
    return ClipQueryEncoder(model_id, int(config.get("embed_dim", 0)), spec, path)
