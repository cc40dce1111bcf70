"""open_clip models' light query encoder: the text tower exported to ONNX, run without torch.

Its token ids must be open_clip's, its vectors torch's (same model id, to within 1e-4), an export
is made once per weights and reused, a damaged one is rebuilt, a failed one is remembered, and a
search with it imports no torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import open_clip
import pytest
from safetensors.torch import save_file

from photosense.errors import ModelError
from photosense.library import Library
from photosense.models import clip_query, hub, local
from photosense.models.clip_query import (
    TOKEN_CHECK_TEXTS,
    ClipQueryEncoder,
    ClipTokens,
    clip_query_encoder,
    clip_tokens_json,
    failure_note,
    tokenizer_route,
)
from photosense.models.onnx_text import ENV_ONNX, weights_path
from photosense.models.openclip import TINY_ARCH, OpenClipEncoder, register_tiny_config
from photosense.models.openclip_configs import architecture_config, random_model_id
from photosense.models.registry import load_encoder, load_query_encoder
from photosense.progress import run_to_end
from tests.hub_cache import TINY_REPO, lay_out_hub_cache, register_tiny_pretrained
from tests.test_startup import run_fresh

TINY_ID = random_model_id(TINY_ARCH, 0)
TEXTS = [
    "kids building a sandcastle at sunset",
    "a red car",
    "Crème brûlée – 東京",
    "",
    "a very long caption " * 40,  # past the 77-token cut (and the tiny model's 16)
]
MORE_TEXTS = [
    "ÀÉÎÕÜ àéîõü ÇÑ ß Æ Œ ø å",
    "🙂🙃 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✓ ★ ™ ©",
    "東京タワーの夜景 서울 北京 ภาษาไทย",
    "WHAT'S UP? Y'ALL'LL SEE!!! ...",
    "&lt;html&gt; &quot;quoted&quot; &#39;x&#39; &nbsp;",
    "ÃƒÂ©tÃƒÂ© double mojibake",
    "x" * 500,
    " ".join(str(n) for n in range(100)),
    "   ",
    "\u00a0non-breaking\u2003em space\u3000ideographic",
]


@pytest.fixture(scope="module")
def tiny() -> OpenClipEncoder:
    return OpenClipEncoder.create(TINY_ARCH, device="cpu")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny: OpenClipEncoder) -> ClipQueryEncoder:
    """The tiny model's light encoder with its export made (once per module)."""
    encoder = clip_query_encoder(
        TINY_ARCH, TINY_ARCH, None, 0, cache_root=tmp_path_factory.mktemp("onnx")
    )
    assert encoder is not None and encoder.needs_preparing()
    encoder.prepare(lambda: tiny)
    assert not encoder.needs_preparing()
    return encoder


@pytest.mark.parametrize("arch", ["ViT-B-32", TINY_ARCH])
def test_token_ids_are_open_clips(arch: str) -> None:
    """Accents, emoji, scripts, HTML entities, mojibake, long texts cut at the context length."""
    register_tiny_config()
    reference = open_clip.get_tokenizer(arch)
    light = ClipTokens(
        clip_tokens_json(reference),
        reference.context_length,
        reference.sot_token_id,
        reference.eot_token_id,
    )
    texts = [*TOKEN_CHECK_TEXTS, *TEXTS, *MORE_TEXTS]
    got = light(texts)
    assert got.dtype == np.int64 and got.shape == (len(texts), reference.context_length)
    np.testing.assert_array_equal(got, reference(texts).numpy())
    assert (got[:, -1] == reference.eot_token_id).sum() >= 3  # long texts were cut


def test_which_models_have_a_light_query_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Known without torch; ids as the full loader gives them."""
    routes = {
        arch: tokenizer_route(arch, architecture_config(arch) or {})
        for arch in ["ViT-B-32", "MobileCLIP-S2", "RN50", TINY_ARCH]
    }
    assert routes == dict.fromkeys(routes)
    for arch in ["xlm-roberta-base-ViT-B-32", "ViT-B-16-SigLIP2", "ViT-L-14-CLIPA"]:
        assert tokenizer_route(arch, architecture_config(arch) or {}) is not None
    monkeypatch.delenv(ENV_ONNX, raising=False)
    for spec, model_id in [(TINY_ARCH, TINY_ID), ("open_clip/RN50/random-seed3", None)]:
        encoder = load_query_encoder(spec)
        assert isinstance(encoder, ClipQueryEncoder)
        assert encoder.model_id == (model_id or "open_clip/RN50/random-seed3")
    assert load_query_encoder(TINY_ARCH).dim == 8  # type: ignore[union-attr]
    assert load_query_encoder("ViT-B-16-SigLIP2") is None
    assert load_query_encoder("xlm-roberta-base-ViT-B-32") is None
    assert load_query_encoder("no-such-arch") is None
    assert load_query_encoder("imported/missing") is None


def test_a_pretrained_model_needs_its_weights_on_this_machine(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_query_encoder("ViT-B-32") is None  # in the catalogue, not downloaded
    monkeypatch.setenv(ENV_ONNX, "0")
    assert load_query_encoder(TINY_ARCH) is None  # the escape hatch: the full model answers


def test_query_vectors_are_torchs(exported: ClipQueryEncoder, tiny: OpenClipEncoder) -> None:
    got = exported.encode_texts(TEXTS + MORE_TEXTS)
    expected = tiny.encode_texts(TEXTS + MORE_TEXTS)
    assert exported.model_id == tiny.model_id == TINY_ID
    assert got.dtype == np.float32 and got.shape == expected.shape == (15, 8)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.abs(got - expected).max() <= 1e-5
    # One text at a time (a search) is the same as in a batch.
    assert np.allclose(exported.encode_texts([TEXTS[1]])[0], got[1], atol=1e-6)
    assert exported.encode_texts([]).shape == (0, 8)


@pytest.mark.slow
def test_a_vit_b_32_sized_model_gives_torchs_vectors(tmp_path: Path) -> None:
    """The size the speed goal names (random weights: the same graph and cost)."""
    full = OpenClipEncoder.create("ViT-B-32", device="cpu", seed=0)
    encoder = clip_query_encoder("ViT-B-32", "ViT-B-32", None, 0, cache_root=tmp_path)
    assert encoder is not None and encoder.dim == 512
    encoder.prepare(lambda: full)
    got, expected = encoder.encode_texts(TEXTS + MORE_TEXTS), full.encode_texts(TEXTS + MORE_TEXTS)
    assert encoder.model_id == full.model_id
    assert np.abs(got - expected).max() <= 1e-4
    assert (got * expected).sum(axis=1).min() >= 0.9999


def test_the_export_is_reused(exported: ClipQueryEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new process's encoder for the same weights finds the file: no torch model, no export."""

    def no_export(*_args: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(clip_query, "export_clip_text", no_export)
    stamp = exported.path.stat().st_mtime_ns
    again = clip_query_encoder(TINY_ARCH, TINY_ARCH, None, 0, cache_root=exported.path.parent)
    assert again is not None and again.path == exported.path and not again.needs_preparing()
    assert np.allclose(again.encode_texts(TEXTS), exported.encode_texts(TEXTS), atol=1e-6)
    assert exported.path.stat().st_mtime_ns == stamp
    other = clip_query_encoder(TINY_ARCH, TINY_ARCH, None, 1, cache_root=exported.path.parent)
    assert other is not None and other.path != exported.path  # other weights, other file
    assert other.model_id == random_model_id(TINY_ARCH, 1)


@pytest.mark.parametrize("damage", ["graph", "weights-cut", "missing"])
def test_a_damaged_or_missing_export_is_rebuilt(
    exported: ClipQueryEncoder, tmp_path: Path, damage: str
) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    copy = folder / exported.path.name
    copy.write_bytes(exported.path.read_bytes())
    weights_path(copy).write_bytes(weights_path(exported.path).read_bytes())
    if damage == "graph":
        copy.write_bytes(copy.read_bytes()[: copy.stat().st_size // 2])
    elif damage == "weights-cut":
        data = weights_path(copy).read_bytes()
        weights_path(copy).write_bytes(data[: len(data) // 2])
    else:
        copy.unlink()
    encoder = clip_query_encoder(TINY_ARCH, TINY_ARCH, None, 0, cache_root=folder)
    assert encoder is not None

    got = encoder.encode_texts(TEXTS)  # no full model given: it loads its own

    assert np.allclose(got, exported.encode_texts(TEXTS), atol=1e-6)
    assert copy.is_file() and weights_path(copy).is_file()


def test_a_failed_export_is_remembered(
    tmp_path: Path, tiny: OpenClipEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*_args: object) -> None:
        raise ModelError("the light tokenizer differs")

    monkeypatch.setattr(clip_query, "export_clip_text", fails)
    encoder = clip_query_encoder(TINY_ARCH, TINY_ARCH, None, 0, cache_root=tmp_path)
    assert encoder is not None
    with pytest.raises(ModelError):
        encoder.prepare(lambda: tiny)
    assert "differs" in failure_note(encoder.path).read_text()
    assert clip_query_encoder(TINY_ARCH, TINY_ARCH, None, 0, cache_root=tmp_path) is None


def test_an_imported_model_has_its_own_export(tmp_path: Path) -> None:
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=5)
    file = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in source.model.state_dict().items()}, str(file))
    local.import_checkpoint(file, TINY_ARCH)
    encoder = load_query_encoder("imported/mine")
    assert isinstance(encoder, ClipQueryEncoder) and encoder.model_id == "imported/mine"
    full = load_encoder("imported/mine", device="cpu")
    encoder.prepare(lambda: full)
    assert np.abs(encoder.encode_texts(TEXTS) - source.encode_texts(TEXTS)).max() <= 1e-5


def test_a_downloaded_pretrained_model_has_its_own_export(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Named by the checkpoint the Hugging Face cache holds; gone with it."""
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=11)
    register_tiny_pretrained(monkeypatch)

    def catalogue(arch: str, tag: str) -> hub.HubSource | None:  # as if the pair were listed
        if (arch, tag) != (TINY_ARCH, "testtag"):
            return None
        return hub._hub_source(arch, tag, f"{TINY_REPO}/", None, None)

    monkeypatch.setattr(hub, "catalogue_hub_source", catalogue)
    assert load_query_encoder(f"{TINY_ARCH}/testtag") is None  # not downloaded yet
    file = lay_out_hub_cache(empty_hub, TINY_REPO, "open_clip_model.safetensors", source.model)
    encoder = load_query_encoder(f"{TINY_ARCH}/testtag")
    assert isinstance(encoder, ClipQueryEncoder)
    assert encoder.model_id == "open_clip/photosense-tiny/testtag"
    got = encoder.encode_texts(TEXTS)  # exports from its own load of the full model
    assert np.abs(got - source.encode_texts(TEXTS)).max() <= 1e-5
    file.unlink()
    assert load_query_encoder(f"{TINY_ARCH}/testtag") is None


@pytest.fixture
def tiny_library(tmp_path: Path, photo_dir: Path) -> Iterator[Path]:
    """A library whose active model is the tiny open_clip one, indexed (which exports)."""
    directory = tmp_path / "library"
    with Library.open(directory, device="cpu") as library:
        run_to_end(library.models.use(TINY_ARCH))
        steps: list[str] = []
        run_to_end(library.folders.index([photo_dir]), lambda p: steps.append(p.message))
        assert "preparing search" in steps
    encoder = load_query_encoder(TINY_ARCH)
    assert encoder is not None and not encoder.needs_preparing()
    yield directory


@pytest.mark.slow
def test_a_search_process_imports_no_torch(
    tiny_library: Path, photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as torch_only:
        torch_only.setenv(ENV_ONNX, "0")
        with Library.open(tiny_library, device="cpu") as library:
            expected = library.search.text("a red photo")
    report = run_fresh(
        """
        from pathlib import Path

        from photosense.library import Library

        with Library.open(Path(sys.argv[1])) as library:
            results = library.search.text("a red photo")
            report["model"] = results.model_id
            report["hits"] = [(hit.photo.path, hit.score) for hit in results.hits]
            report["similar"] = len(library.search.similar(sys.argv[2]).hits)
        """,
        str(tiny_library),
        str(photo_dir / "red.jpg"),
    )
    assert report["loaded"] == []
    assert report["model"] == TINY_ID and report["similar"] == 3
    assert [p for p, _ in report["hits"]] == [h.photo.path for h in expected.hits]
    assert np.allclose([s for _, s in report["hits"]], [h.score for h in expected.hits], atol=1e-4)


def test_a_failing_light_encoder_falls_back_to_the_full_model(
    tiny_library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Library.open(tiny_library, device="cpu") as library:
        expected = library.search.text("a blue photo")  # the light encoder
        assert library.runtime._encoder is None  # no full model loaded for it

    def broken(self: object, texts: object) -> None:
        raise RuntimeError("the ONNX session is broken")

    monkeypatch.setattr(clip_query.OnnxClipText, "encode", broken)
    with Library.open(tiny_library, device="cpu") as library:
        got = library.search.text("a blue photo")
        assert library.runtime._encoder is not None  # the full model answered
    assert [h.photo.path for h in got.hits] == [h.photo.path for h in expected.hits]
    assert np.allclose([h.score for h in got.hits], [h.score for h in expected.hits], atol=1e-4)
