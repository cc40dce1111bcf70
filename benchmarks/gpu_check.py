"""Same vectors on every device: CPU fp32 against GPU half precision, plus speed on both.

    .venv/bin/python benchmarks/gpu_check.py [--device cuda] [--archs ...] [--count 64]

For each architecture (the tiny test model and random-weight catalogue ones), builds the model
twice from the same seed: on the CPU in fp32, and on the GPU the way photosense runs it there
(``inference_precision``: fp16 on CUDA). Both encode the same 64 images and 64 texts; prints the
minimum cosine between the CPU and GPU vector of each item (target >= 0.999) and images/s on
both. Exits 0 with a message when the device is absent, 1 if any minimum is below target.
``--device cpu`` runs the same comparison against CPU fp16, to check the script itself.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from _common import machine
from bench_models import TEXTS, sample_images

from photosense.models.device import configure_cpu_threads, default_batch_size
from photosense.models.openclip import TINY_ARCH, OpenClipEncoder

TARGET = 0.999


def available(device: str) -> bool:
    kind = device.split(":", 1)[0]
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return torch.backends.mps.is_available()
    return True


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(encoder: OpenClipEncoder, prepared: list[torch.Tensor], batch: int) -> float:
    """Images/s over ``prepared`` after one warm-up batch."""
    encoder.encode_prepared(prepared[:batch])
    synchronise(encoder.device)
    started = time.perf_counter()
    for start in range(0, len(prepared), batch):
        encoder.encode_prepared(prepared[start : start + batch])
    synchronise(encoder.device)
    return len(prepared) / (time.perf_counter() - started)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The lowest row-wise cosine of two sets of unit vectors."""
    return float(np.min(np.sum(a * b, axis=1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--archs", default=f"{TINY_ARCH},ViT-B-32,MobileCLIP-S2")
    parser.add_argument("--count", type=int, default=64)
    args = parser.parse_args()
    if not available(args.device):
        print(f"gpu_check: no {args.device} device on this machine; nothing to compare")
        return 0
    configure_cpu_threads()
    print(f"machine: {machine()}; torch {torch.__version__}")
    if args.device.startswith("cuda"):
        print(f"gpu: {torch.cuda.get_device_name(torch.device(args.device))}")
    images, texts = sample_images(args.count), (TEXTS * 2)[: args.count]
    print(f"{len(images)} images, {len(texts)} texts; target: min cosine >= {TARGET}\n")
    print("| model | GPU precision | min cos images | min cos texts | CPU img/s | GPU img/s |")
    print("|---|---|---|---|---|---|")
    worst = 1.0
    for arch in args.archs.split(","):
        cpu = OpenClipEncoder.create(arch, None, device="cpu", seed=0, precision="fp32")
        precision = "fp16" if args.device == "cpu" else None  # None: what photosense picks
        gpu = OpenClipEncoder.create(arch, None, device=args.device, seed=0, precision=precision)
        prepared = [cpu.prepare_image(image) for image in images]
        image_cos = min_cosine(cpu.encode_prepared(prepared), gpu.encode_prepared(prepared))
        text_cos = min_cosine(cpu.encode_texts(texts), gpu.encode_texts(texts))
        cpu_rate = timed(cpu, prepared, default_batch_size("cpu"))
        gpu_rate = timed(gpu, prepared, default_batch_size(gpu.device))
        worst = min(worst, image_cos, text_cos)
        print(
            f"| {arch} (random) | {gpu.precision} | {image_cos:.5f} | {text_cos:.5f} "
            f"| {cpu_rate:.1f} | {gpu_rate:.1f} |"
        )
        del cpu, gpu
    verdict = "PASS" if worst >= TARGET else "FAIL"
    print(f"\n{verdict}: worst minimum cosine {worst:.5f} (target {TARGET})")
    return 0 if worst >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
