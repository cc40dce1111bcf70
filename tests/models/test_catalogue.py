"""The model catalogue (checked against open_clip's own tables) and the hub cache around it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from photosense.errors import Cancelled, ModelError, ModelNotDownloadedError
from photosense.models import hub, inventory
from photosense.models.catalogue import (
    CatalogueError,
    load_catalogue,
    parse_catalogue,
)
from photosense.models.openclip import TINY_ARCH, OpenClipEncoder, build_skeleton
from photosense.models.registry import STARTER_ID, load_encoder
from photosense.progress import CancelToken, Progress
from tests.hub_cache import (
    TINY_REPO,
    lay_out_hub_cache,
    lay_out_hub_file,
    register_tiny_pretrained,
)

ENTRIES = load_catalogue().entries


def test_the_catalogue_covers_the_kinds_of_model_users_need() -> None:
    ids = {entry.id for entry in ENTRIES}
    assert "ViT-B-32" in ids
    assert any("MobileCLIP" in i for i in ids)
    assert any("SigLIP" in i for i in ids)
    assert any(len(entry.languages) and "multilingual" in entry.languages[0] for entry in ENTRIES)
    assert load_catalogue().get(load_catalogue().recommended) is not None
    vit = load_catalogue().get("vit-b-32")
    assert vit is not None and vit.pretrained == "laion2b_s34b_b79k"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_each_entry_is_an_open_clip_pretrained_model(entry: Any) -> None:
    import open_clip

    assert (entry.architecture, entry.pretrained) in open_clip.list_pretrained()
    config = open_clip.get_model_config(entry.architecture)
    assert entry.embedding_size == config["embed_dim"]
    size = config["vision_cfg"]["image_size"]
    assert entry.image_size == (size if isinstance(size, int) else max(size))
    source = hub.hub_source(entry.architecture, entry.pretrained)  # on the hub, not a URL
    assert source.repo and source.filenames
    assert entry.model_id == f"open_clip/{entry.architecture}/{entry.pretrained}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_the_recorded_hub_files_are_open_clips(entry: Any) -> None:
    """The listing reads where a model comes from in the catalogue, never importing open_clip;
    here it must equal what open_clip itself would fetch."""
    import open_clip
    from open_clip import pretrained as oc_pretrained

    cfg = oc_pretrained.get_pretrained_cfg(entry.architecture, entry.pretrained)
    assert entry.hf_hub == cfg["hf_hub"]
    text_cfg = open_clip.get_model_config(entry.architecture)["text_cfg"]
    assert entry.hf_model_name == text_cfg.get("hf_model_name")
    assert entry.hf_tokenizer_name == text_cfg.get("hf_tokenizer_name")
    source = hub.hub_source(entry.architecture, entry.pretrained)
    assert source == hub.open_clip_hub_source(entry.architecture, entry.pretrained)
    # open_clip reads a tag in any case, with - for _; so does the catalogue lookup.
    tag = entry.pretrained.upper().replace("_", "-")
    assert hub.hub_source(entry.architecture, tag).repo == source.repo


def test_the_checkpoint_names_are_open_clips() -> None:
    from open_clip import pretrained as oc_pretrained

    assert hub.HF_WEIGHTS_NAME == oc_pretrained.HF_WEIGHTS_NAME
    assert hub.HF_SAFE_WEIGHTS_NAME == oc_pretrained.HF_SAFE_WEIGHTS_NAME


@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if not e.architecture.startswith("xlm")],  # needs a transformers config
    ids=lambda e: e.id,
)
def test_download_size_matches_the_parameter_count(entry: Any) -> None:
    """The checkpoints are fp32: four bytes per weight, give or take the file's header."""
    skeleton = build_skeleton(entry.architecture)
    values = sum(t.numel() for t in skeleton.state_dict().values())
    assert entry.download_mb == pytest.approx(values * 4 / 1e6, rel=0.03)


def test_the_catalogue_is_read_on_first_use_not_at_import() -> None:
    code = (
        "import photosense.cli, photosense.models.registry as r\n"
        "from photosense.models import catalogue\n"
        "assert catalogue.load_catalogue.cache_info().currsize == 0\n"
        "r.parse_spec('starter')\n"
        "assert catalogue.load_catalogue.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _document() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("photosense").joinpath("resources", "models.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=2), '"format": 1'),
        (lambda d: d.update(models=[]), "non-empty list"),
        (lambda d: d["models"][0].pop("licence"), "'ViT-B-32' lacks the field 'licence'"),
        (lambda d: d["models"][0].pop("hf_hub"), "'ViT-B-32' lacks the field 'hf_hub'"),
        (lambda d: d["models"][0].update(hf_model_name=""), "'hf_model_name' is empty"),
        (lambda d: d["models"][0].update(hf_tokenizer_name=1), "'hf_tokenizer_name' must be"),
        (lambda d: d["models"][0].update(download_mb="big"), "'download_mb' must be a int"),
        (lambda d: d["models"][0].update(image_size=True), "'image_size' must be a int"),
        (lambda d: d["models"][0].update(embedding_size=0), "must be positive"),
        (lambda d: d["models"][0].update(languages=[]), "'languages' must be a non-empty"),
        (lambda d: d["models"][0].update(colour="red"), "unknown fields: colour"),
        (lambda d: d["models"][1].update(id="vit-b-32"), "duplicate model ids: vit-b-32"),
        (lambda d: d["models"][1].update(id="a/b"), "cannot contain '/'"),
        (lambda d: d.update(recommended="nope"), '"recommended" must be the id'),
    ],
)
def test_a_broken_catalogue_says_what_is_wrong(change: Any, message: str) -> None:
    document = copy.deepcopy(_document())
    change(document)
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        parse_catalogue(document)


def test_catalogue_ids_load_the_pretrained_weights(empty_hub: Path) -> None:
    """``ViT-B-32`` means the catalogue's pretrained weights, and says how to get them."""
    with pytest.raises(ModelNotDownloadedError) as raised:
        load_encoder("ViT-B-32", device="cpu")
    assert (raised.value.name, raised.value.arch) == ("ViT-B-32", "ViT-B-32")
    assert raised.value.label == "ViT-B-32/laion2b_s34b_b79k"


# -- the Hugging Face cache ----------------------------------------------------------------


@pytest.fixture
def tiny_on_hub(empty_hub: Path, monkeypatch: pytest.MonkeyPatch) -> OpenClipEncoder:
    """``photosense-tiny/testtag`` exists on the 'hub' and is in the cache."""
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=21)
    register_tiny_pretrained(monkeypatch)
    lay_out_hub_cache(empty_hub, TINY_REPO, "open_clip_model.safetensors", source.model)
    return source


def test_a_cached_model_is_downloaded_and_pulls_offline(tiny_on_hub: OpenClipEncoder) -> None:
    assert hub.is_downloaded(TINY_ARCH, "testtag")
    seen: list[Progress] = []
    path = hub.download(TINY_ARCH, "testtag", seen.append)
    assert path.name == "open_clip_model.safetensors" and path.is_file()
    assert seen == []  # nothing to fetch
    assert inventory.pull(f"{TINY_ARCH}/testtag") == "open_clip/photosense-tiny/testtag"
    sizes = hub.cached_repo_sizes()
    assert sizes[TINY_REPO] > 0


def test_pulling_offline_says_the_model_is_missing_and_how_to_get_it(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_tiny_pretrained(monkeypatch)
    assert not hub.is_downloaded(TINY_ARCH, "testtag")
    with pytest.raises(ModelError, match="is not downloaded, and it cannot be downloaded now"):
        hub.download(TINY_ARCH, "testtag")
    with pytest.raises(ModelNotDownloadedError) as raised:
        inventory.pull("ViT-B-32")
    error = raised.value  # what a front needs to say how to get it
    assert (error.name, error.arch) == ("ViT-B-32", "ViT-B-32")
    assert error.repo == "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
    assert "open_clip_model.safetensors" in error.filenames


def test_only_pretrained_models_can_be_pulled() -> None:
    for spec in ("starter", "imported/x", "photosense-tiny"):
        with pytest.raises(ModelError, match="not a downloadable model"):
            inventory.pull(spec)
    with pytest.raises(ModelError, match="no pretrained weights ViT-B-32/nonsense"):
        inventory.pull("ViT-B-32/nonsense")


def test_download_reports_bytes_and_can_be_cancelled(
    empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress plumbing, with huggingface_hub's transfer replaced by a fake one."""
    import huggingface_hub

    register_tiny_pretrained(monkeypatch)
    target = empty_hub / "fetched.safetensors"

    def fake_download(repo: str, filename: str, *, tqdm_class: Any) -> str:
        bar = tqdm_class(total=300, initial=0, unit="B", desc=filename, name="test")
        for _ in range(3):
            bar.update(100)
        bar.close()
        target.write_bytes(b"x")
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    seen: list[Progress] = []
    assert hub.download(TINY_ARCH, "testtag", seen.append) == target
    assert [(p.done, p.total) for p in seen] == [(0, 300), (100, 300), (200, 300), (300, 300)]
    assert seen[0].message == "downloading photosense-tiny/testtag"

    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        hub.download(TINY_ARCH, "testtag", seen.append, cancel)


def test_removing_a_download_empties_the_cache(tiny_on_hub: OpenClipEncoder) -> None:
    freed = hub.remove_download(TINY_ARCH, "testtag")
    assert freed > 0
    assert not hub.is_downloaded(TINY_ARCH, "testtag")
    with pytest.raises(ModelError, match="not downloaded; there is nothing to remove"):
        hub.remove_download(TINY_ARCH, "testtag")


def test_the_listing_marks_what_is_on_this_machine(empty_hub: Path) -> None:
    from photosense.models.starter import StarterEncoder

    models = inventory.list_models()
    assert models[0].model_id == STARTER_ID and models[0].available
    starter = StarterEncoder("cpu")  # the listing describes it without building it
    assert (models[0].embedding_size, models[0].image_size) == (starter.dim, starter.image_size)
    catalogue = [m for m in models if m.kind == "catalogue"]
    assert [m.id for m in catalogue] == [e.id for e in ENTRIES]
    assert not any(m.available for m in catalogue)
    assert all(m.size_bytes is None and m.download_mb for m in catalogue)


def test_a_transformers_tokenizer_is_part_of_the_download(
    tiny_on_hub: OpenClipEncoder, empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like SigLIP2 and XLM-RoBERTa: weights alone are not enough to load the model."""
    from open_clip import factory

    config = copy.deepcopy(factory._MODEL_CONFIGS[TINY_ARCH])
    config["text_cfg"]["hf_tokenizer_name"] = "photosense/tokenizer"
    monkeypatch.setitem(factory._MODEL_CONFIGS, TINY_ARCH, config)
    source = hub.hub_source(TINY_ARCH, "testtag")
    assert source.support == (("photosense/tokenizer", "tokenizer_config.json"),)

    assert not hub.is_downloaded(TINY_ARCH, "testtag")
    with pytest.raises(ModelError, match="is not downloaded"):
        hub.download(TINY_ARCH, "testtag")
    lay_out_hub_file(empty_hub, "photosense/tokenizer", "tokenizer_config.json", b"{}")
    assert hub.is_downloaded(TINY_ARCH, "testtag")
    assert hub.download(TINY_ARCH, "testtag").name == "open_clip_model.safetensors"
