"""Device selection, batch sizes and CPU threads, with torch's availability checks faked."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import torch

from photosense.errors import ModelError
from photosense.models import device as device_module
from photosense.models.device import configure_cpu_threads, default_batch_size, select_device


@pytest.fixture
def hardware(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Call with (cuda, mps) to fake what this machine has."""

    def fake(cuda: bool, mps: bool, gpus: int = 1) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus if cuda else 0)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return fake


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_prefers_cuda_then_mps_then_cpu(
    hardware: Callable[..., None], cuda: bool, mps: bool, expected: str
) -> None:
    hardware(cuda, mps)
    assert select_device("auto").type == expected
    assert select_device().type == expected


def test_explicit_choices_when_available(hardware: Callable[..., None]) -> None:
    hardware(True, True, gpus=2)
    assert select_device("cuda") == torch.device("cuda")
    assert select_device("CUDA:1") == torch.device("cuda:1")
    assert select_device("mps") == torch.device("mps")
    assert select_device("cpu") == torch.device("cpu")
    assert select_device(torch.device("cpu")) == torch.device("cpu")


def test_cpu_is_always_available(hardware: Callable[..., None]) -> None:
    hardware(False, False)
    assert select_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(("choice", "words"), [("cuda", "CUDA"), ("mps", "MPS")])
def test_unavailable_accelerator_is_an_error_not_a_fallback(
    hardware: Callable[..., None], choice: str, words: str
) -> None:
    hardware(False, False)
    with pytest.raises(ModelError, match=f"{words} was requested but is not available"):
        select_device(choice)


def test_missing_gpu_index_is_an_error(hardware: Callable[..., None]) -> None:
    hardware(True, False, gpus=1)
    with pytest.raises(ModelError, match="CUDA device 1 was requested but only 1 GPU"):
        select_device("cuda:1")


def test_unknown_device_names_the_choices() -> None:
    with pytest.raises(ModelError, match="auto, cuda, mps, cpu"):
        select_device("tpu")


def test_default_batch_size_per_device() -> None:
    assert default_batch_size(torch.device("cpu")) == 8
    assert default_batch_size("cuda") == 64
    assert default_batch_size("mps") == 32
    assert default_batch_size("meta") == 8


@pytest.fixture
def thread_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records torch.set_num_threads calls instead of changing this process's thread pool."""
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("PHOTOSENSE_THREADS", raising=False)
    return calls


def test_threads_from_photosense_threads(
    thread_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOTOSENSE_THREADS", "3")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    configure_cpu_threads()
    assert thread_calls == [3]


def test_user_omp_setting_is_left_alone(
    thread_calls: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    configure_cpu_threads()
    assert thread_calls == []


@pytest.mark.parametrize(("cpus", "expected"), [(1, 1), (2, 2), (4, 4), (8, 4), (16, 8)])
def test_threads_follow_physical_cores(
    thread_calls: list[int], monkeypatch: pytest.MonkeyPatch, cpus: int, expected: int
) -> None:
    monkeypatch.setattr(device_module, "_usable_cpus", lambda: cpus)
    configure_cpu_threads()
    assert thread_calls == [expected]


def test_bad_photosense_threads_warns_and_falls_back(
    thread_calls: list[int], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PHOTOSENSE_THREADS", "many")
    monkeypatch.setattr(device_module, "_usable_cpus", lambda: 2)
    with caplog.at_level(logging.WARNING):
        configure_cpu_threads()
    assert thread_calls == [2]
    assert "PHOTOSENSE_THREADS" in caplog.text


@pytest.mark.parametrize(
    ("device", "env", "expected"),
    [
        ("cuda", "", "fp16"),
        ("cuda:1", "", "fp16"),
        ("mps", "", "fp32"),
        ("cpu", "", "fp32"),
        ("cuda", "fp32", "fp32"),  # an older GPU, or a numeric doubt
        ("mps", "fp16", "fp16"),
        ("cpu", "fp16", "fp32"),  # no fast fp16 path on the CPU
    ],
)
def test_half_precision_on_gpus_only(
    monkeypatch: pytest.MonkeyPatch, device: str, env: str, expected: str
) -> None:
    monkeypatch.setenv("PHOTOSENSE_PRECISION", env)
    assert device_module.inference_precision(device) == expected


def test_bad_precision_setting_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PHOTOSENSE_PRECISION", "fp8")
    with caplog.at_level(logging.WARNING):
        assert device_module.inference_precision("cuda") == "fp16"
    assert "PHOTOSENSE_PRECISION" in caplog.text


def test_batch_size_follows_the_encoders_device() -> None:
    from photosense.models.fake import FakeEncoder

    class OnGpu:
        device = torch.device("cuda")

    class Transformer:
        device = torch.device("cpu")
        cpu_batch_size = 16

    class TransformerOnGpu(Transformer):
        device = torch.device("cuda")

    assert device_module.batch_size_for(FakeEncoder()) == 8  # no device: the CPU's
    assert device_module.batch_size_for(OnGpu()) == 64
    assert device_module.batch_size_for(Transformer()) == 16  # its own CPU preference
    assert device_module.batch_size_for(TransformerOnGpu()) == 64


def test_the_gpu_precision_path_runs_and_matches_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    """What CUDA gets by default (open_clip's fp16 weights, fp16 inputs), exercised on the CPU:
    vectors leave as unit float32 and agree with fp32 to cosine >= 0.999."""
    import numpy as np
    from PIL import Image

    from photosense.models import openclip

    monkeypatch.setattr(openclip, "inference_precision", lambda _device: "fp16")
    half = openclip.OpenClipEncoder.create(openclip.TINY_ARCH, device="cpu", seed=5)
    full = openclip.OpenClipEncoder.create(
        openclip.TINY_ARCH, device="cpu", seed=5, precision="fp32"
    )
    assert (half.precision, full.precision) == ("fp16", "fp32")
    conv = half.model.visual.conv1.weight  # type: ignore[union-attr]
    assert conv.dtype == torch.float16
    images = [Image.new("RGB", (48, 40), (i * 30, 90, 200 - i * 20)) for i in range(6)]
    for a, b in (
        (half.encode_images(images), full.encode_images(images)),
        (half.encode_texts(["a dog", "sunset"]), full.encode_texts(["a dog", "sunset"])),
    ):
        assert a.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert float(np.min(np.sum(a * b, axis=1))) >= 0.999
