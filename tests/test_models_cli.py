"""``photosense models ...`` and the model footer, through the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from photosense import paths
from photosense.cli import app
from photosense.library import library
from photosense.models import registry
from photosense.models.encoder import Encoder
from photosense.models.fake import FakeEncoder
from photosense.models.openclip import TINY_ARCH, OpenClipEncoder
from photosense.models.registry import STARTER_ID
from tests.cli_run import run, run_json
from tests.hub_cache import TINY_REPO, lay_out_hub_cache, register_tiny_pretrained

TINY_ID = "open_clip/photosense-tiny/random-seed0"


@pytest.fixture(autouse=True)
def devices(monkeypatch: pytest.MonkeyPatch, empty_hub: Path) -> list[tuple[str, str]]:
    """Real models, except that the starter is a fast fake; records (spec, device) loads."""
    loads: list[tuple[str, str]] = []
    real = registry.load_encoder

    def load(spec: str = "auto", device: str = "auto") -> Encoder:
        loads.append((spec, device))
        if spec in ("auto", "starter", STARTER_ID):
            return FakeEncoder(STARTER_ID)
        return real(spec, device="cpu")

    monkeypatch.setattr(library, "load_encoder", load)
    monkeypatch.setattr(registry, "load_encoder", load)
    # The fake starter embeds its own queries (the real one's query side is 384-d ONNX).
    monkeypatch.setattr(library, "load_query_encoder", lambda _spec: None)
    return loads


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=41)
    file = tmp_path / "downloads" / "tiny-finetune.safetensors"
    file.parent.mkdir()
    save_file({k: v.contiguous() for k, v in source.model.state_dict().items()}, str(file))
    return file


def test_list_shows_the_starter_the_catalogue_and_what_is_active(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = run_json(capsys, "--library", tmp_path / "lib", "models", "list", "--json")

    assert doc["active"] == STARTER_ID and doc["pending"] is None
    by_id = {m["id"]: m for m in doc["models"]}
    assert by_id["starter"]["active"] and by_id["starter"]["available"]
    vit = by_id["ViT-B-32"]
    assert vit["model_id"] == "open_clip/ViT-B-32/laion2b_s34b_b79k"
    assert (vit["available"], vit["download_mb"], vit["embedding_size"]) == (False, 605, 512)
    assert vit["licence"] and vit["good_for"] and vit["languages"] == ["en"]
    assert {"MobileCLIP-S2", "ViT-B-16-SigLIP2", "xlm-roberta-base-ViT-B-32"} <= set(by_id)

    code, out, _ = run(capsys, "--library", tmp_path / "lib", "models", "list")
    assert code == 0
    assert "* starter" in out and "not downloaded" in out and "605 MB" in out


def test_pull_offline_says_how_to_get_the_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "models", "pull", "MobileCLIP-S2")
    assert code == 1
    assert "MobileCLIP-S2/datacompdr is not downloaded" in err
    assert "photosense models import FILE --arch MobileCLIP-S2" in err
    assert not (paths.default_library_dir() / paths.DATABASE_NAME).exists()  # no library


def test_pull_finds_a_model_already_in_the_hub_cache(
    capsys: pytest.CaptureFixture[str], empty_hub: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_tiny_pretrained(monkeypatch)
    source = OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=2)
    lay_out_hub_cache(empty_hub, TINY_REPO, "open_clip_model.safetensors", source.model)

    code, out, err = run(capsys, "models", "pull", f"{TINY_ARCH}/testtag")

    assert code == 0, err
    assert "open_clip/photosense-tiny/testtag is downloaded" in out


@pytest.mark.slow
def test_import_use_search_and_remove(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path, tiny_file: Path
) -> None:
    lib = ("--library", tmp_path / "lib")
    run_json(capsys, *lib, "--model", "photosense-tiny", "index", photo_dir, "--json")

    code, out, err = run(capsys, *lib, "models", "import", tiny_file, "--arch", TINY_ARCH)
    assert code == 0, err
    assert "imported imported/tiny-finetune (photosense-tiny, 8-d" in out

    switched = run_json(capsys, *lib, "models", "use", "imported/tiny-finetune", "--json")
    assert switched["activated"] and switched["active"] == "imported/tiny-finetune"
    assert switched["index"]["indexed"] == 4
    assert switched["progress"] == {"done": 4, "total": 4}

    found = run_json(capsys, *lib, "search", "a red photo", "--json")
    assert found["model"] == "imported/tiny-finetune" and len(found["results"]) == 4
    listing = run_json(capsys, *lib, "models", "list", "--json")
    mine = next(m for m in listing["models"] if m["id"] == "imported/tiny-finetune")
    assert mine["active"] and mine["available"] and mine["vectors"] == 4
    assert mine["kind"] == "imported" and mine["size_bytes"] > 0
    old = next(m for m in listing["models"] if m["id"] == TINY_ID)
    assert old["vectors"] == 4 and not old["active"]

    code, _, err = run(capsys, *lib, "models", "remove", "imported/tiny-finetune", "--yes")
    assert code == 1 and "active model" in err
    code, _, err = run(capsys, *lib, "models", "remove", TINY_ID, "--vectors")
    assert code == 2 and "add --yes" in err
    code, out, err = run(capsys, *lib, "models", "remove", TINY_ID, "--vectors", "--yes")
    assert code == 0, err
    assert f"removed {TINY_ID}: 0 MB freed, 4 vectors forgotten" in out


def test_a_pickle_with_code_is_refused_at_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    evidence = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str, str]]:
            return (open, (str(evidence), "w"))

    file = tmp_path / "model.pt"
    torch.save({"weight": Payload()}, file)
    code, _, err = run(capsys, "models", "import", file, "--arch", TINY_ARCH)
    assert code == 1
    assert "refused model.pt: it is a pickle that carries code" in err
    assert not evidence.exists()
    assert not paths.models_dir().exists()


def test_plain_search_names_the_model_and_the_starter_says_how_to_do_better(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo_dir: Path
) -> None:
    lib = ("--library", tmp_path / "lib")
    run(capsys, *lib, "index", photo_dir)
    code, out, err = run(capsys, *lib, "search", "red")
    assert code == 0
    assert f"model: {STARTER_ID}" in err
    assert "photosense models pull ViT-B-32` then `photosense models use ViT-B-32`" in err
    assert "model:" not in out


@pytest.mark.slow
def test_device_reaches_every_model_load(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    photo_dir: Path,
    devices: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[int] = []
    monkeypatch.setattr(app, "configure_cpu_threads", lambda: threads.append(1))
    lib = ("--library", tmp_path / "lib", "--device", "cpu")
    run_json(capsys, *lib, "--model", "photosense-tiny", "index", photo_dir, "--json")
    run_json(capsys, *lib, "search", "red", "--json")
    run_json(capsys, *lib, "models", "use", "starter", "--json")
    assert devices and all(device == "cpu" for _, device in devices)
    assert [spec for spec, _ in devices] == ["photosense-tiny", TINY_ID, "starter"]
    assert threads == [1, 1, 1]  # once per process start


def _store_a_model(model_id: str) -> None:
    """A stored (fine-tuned) model, as the app's Teach dialog leaves one."""
    from photosense.models.local import ADAPTER_ARCH, write_model

    write_model(
        model_id,
        {"weight": torch.zeros(2, 2)},
        architecture=ADAPTER_ARCH,
        embedding_size=8,
        image_size=32,
        base=STARTER_ID,
        source="fine-tuning",
    )


def _listed(capsys: pytest.CaptureFixture[str], *argv: object) -> set[str]:
    return {m["id"] for m in run_json(capsys, *argv, "models", "list", "--json")["models"]}


def test_library_flag_and_home_variable_find_the_same_models(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--library DIR`` and ``PHOTOSENSE_HOME=DIR`` are one library with one models folder."""
    first, second = tmp_path / "first", tmp_path / "second"
    # Made under PHOTOSENSE_HOME=first (the app run that way), found with --library first.
    monkeypatch.setenv("PHOTOSENSE_HOME", str(first))
    _store_a_model("fine-tuned/made-at-home")
    assert (first / "models" / "fine-tuned" / "made-at-home").is_dir()
    monkeypatch.setenv("PHOTOSENSE_HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(paths, "_chosen_library", None)
    assert "fine-tuned/made-at-home" in _listed(capsys, "--library", first)
    # Made with --library second, found under PHOTOSENSE_HOME=second.
    run_json(capsys, "--library", second, "status", "--json")
    _store_a_model("fine-tuned/made-with-flag")
    monkeypatch.setattr(paths, "_chosen_library", None)
    monkeypatch.setenv("PHOTOSENSE_HOME", str(second))
    found = _listed(capsys)
    assert "fine-tuned/made-with-flag" in found and "fine-tuned/made-at-home" not in found
