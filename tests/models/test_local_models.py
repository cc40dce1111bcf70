"""Importing checkpoint files: safe reading only, whole-or-nothing, loadable by id."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from photosense import paths
from photosense.errors import ModelError
from photosense.models import local
from photosense.models.openclip import TINY_ARCH, OpenClipEncoder
from photosense.models.registry import load_encoder

IMAGES = [Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("RGB", (30, 40), (20, 60, 220))]


@pytest.fixture(scope="module")
def source() -> OpenClipEncoder:
    return OpenClipEncoder.create(TINY_ARCH, device="cpu", seed=31)


def _state(source: OpenClipEncoder) -> dict[str, torch.Tensor]:
    return {key: value.contiguous() for key, value in source.model.state_dict().items()}


def _models_on_disk() -> list[Path]:
    root = paths.models_dir()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _same_vectors(encoder: object, source: OpenClipEncoder) -> None:
    assert isinstance(encoder, OpenClipEncoder)
    np.testing.assert_allclose(
        encoder.encode_images(IMAGES), source.encode_images(IMAGES), atol=1e-6
    )
    np.testing.assert_allclose(
        encoder.encode_texts(["a red kite"]), source.encode_texts(["a red kite"]), atol=1e-6
    )


def test_a_safetensors_file_imports_and_loads_by_id(
    tmp_path: Path, source: OpenClipEncoder
) -> None:
    file = tmp_path / "My Holiday Model.safetensors"
    save_file(_state(source), str(file))

    model = local.import_checkpoint(file, TINY_ARCH)

    assert model.id == "imported/My-Holiday-Model"
    assert (model.kind, model.architecture, model.embedding_size) == ("imported", TINY_ARCH, 8)
    assert model.weights.parent == paths.models_dir() / "imported" / "My-Holiday-Model"
    assert model.source == str(file.resolve())
    assert len(str(model.extra["source_sha256"])) == 64
    encoder = load_encoder("imported/My-Holiday-Model", device="cpu")
    assert encoder.model_id == "imported/My-Holiday-Model"
    _same_vectors(encoder, source)
    assert [m.id for m in local.list_local()] == ["imported/My-Holiday-Model"]


def test_a_torch_state_dict_imports_through_the_weights_only_loader(
    tmp_path: Path, source: OpenClipEncoder
) -> None:
    """A DDP training checkpoint: nested under ``state_dict`` with ``module.`` prefixes."""
    file = tmp_path / "epoch_3.pt"
    nested = {f"module.{key}": value for key, value in _state(source).items()}
    torch.save({"epoch": 3, "state_dict": nested}, file)

    model = local.import_checkpoint(file, TINY_ARCH, "trained")

    assert model.id == "imported/trained"
    _same_vectors(local.load_local(model.id, "cpu"), source)


class _WritesAFile:
    """A pickle payload that, if ever unpickled unsafely, creates a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.target), "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_that_carries_code_is_refused_and_never_run(
    tmp_path: Path, source: OpenClipEncoder, writer: str
) -> None:
    evidence = tmp_path / "pwned.txt"
    file = tmp_path / "model.pt"
    payload = {**_state(source), "visual.proj": _WritesAFile(evidence)}
    if writer == "torch.save":
        torch.save(payload, file)
    else:
        with file.open("wb") as handle:
            pickle.dump(payload, handle)

    with pytest.raises(ModelError, match="refused model.pt: it is a pickle that carries code"):
        local.import_checkpoint(file, TINY_ARCH, "evil")

    assert not evidence.exists()
    assert _models_on_disk() == []


def test_a_checkpoint_of_another_shape_is_refused_whole(
    tmp_path: Path, source: OpenClipEncoder
) -> None:
    state = _state(source)
    state["text_projection"] = torch.zeros(32, 16)  # the model's is 32 x 8
    del state["ln_final.bias"]
    state["extra.weight"] = torch.zeros(3)
    file = tmp_path / "wrong.safetensors"
    save_file(state, str(file))

    with pytest.raises(ModelError) as raised:
        local.import_checkpoint(file, TINY_ARCH, "wrong")

    text = str(raised.value)
    assert "does not fit photosense-tiny" in text
    assert "1 weights missing (ln_final.bias)" in text
    assert "1 weights unexpected (extra.weight)" in text
    assert "text_projection (32, 16) (the model has (32, 8))" in text
    assert "nothing was imported" in text
    assert _models_on_disk() == []


def test_files_that_are_not_state_dicts(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelError, match="not a checkpoint photosense can read"):
        local.read_checkpoint(junk)
    listing = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], listing)
    with pytest.raises(ModelError, match="holds no state dict"):
        local.read_checkpoint(listing)
    mixed = tmp_path / "mixed.pt"
    torch.save({"a": torch.zeros(2), "b": 3}, mixed)
    with pytest.raises(ModelError, match="'b' is not a tensor"):
        local.read_checkpoint(mixed)
    with pytest.raises(ModelError, match="does not exist"):
        local.read_checkpoint(tmp_path / "absent.pt")


def test_the_architecture_is_guessed_when_not_given(
    tmp_path: Path, source: OpenClipEncoder
) -> None:
    file = tmp_path / "tiny.safetensors"
    save_file(_state(source), str(file))
    model = local.import_checkpoint(file, candidates=["ViT-B-32", TINY_ARCH])
    assert model.architecture == TINY_ARCH
    with pytest.raises(ModelError, match="could not tell which architecture.*--arch"):
        local.import_checkpoint(file, name="other", candidates=["ViT-B-32", "RN50"])


def test_names_are_checked_and_never_overwritten(tmp_path: Path, source: OpenClipEncoder) -> None:
    file = tmp_path / "tiny.safetensors"
    save_file(_state(source), str(file))
    local.import_checkpoint(file, TINY_ARCH, "mine")
    with pytest.raises(ModelError, match="imported/mine already exists"):
        local.import_checkpoint(file, TINY_ARCH, "mine")
    with pytest.raises(ModelError, match="not a local model id"):
        local.import_checkpoint(file, TINY_ARCH, "../escape")


def test_removing_a_stored_model(tmp_path: Path, source: OpenClipEncoder) -> None:
    file = tmp_path / "tiny.safetensors"
    save_file(_state(source), str(file))
    local.import_checkpoint(file, TINY_ARCH, "gone")
    assert local.remove_local("imported/gone") > 0
    assert _models_on_disk() == []
    with pytest.raises(ModelError, match="is not on this machine"):
        load_encoder("imported/gone", device="cpu")
    with pytest.raises(ModelError, match="no model imported/gone to remove"):
        local.remove_local("imported/gone")


def test_an_import_keeps_the_architectures_image_normalisation() -> None:
    """MobileCLIP was trained without mean/std; a bare file must not get OpenAI's."""
    mobile = local.default_preprocess("MobileCLIP-S2")
    assert mobile is not None
    assert mobile["mean"] == (0.0, 0.0, 0.0) or mobile["mean"] == [0.0, 0.0, 0.0]
    assert local.default_preprocess(TINY_ARCH) is None
