"""CPU encode speed of catalogue architectures with random weights (what real weights would run at).

    .venv/bin/python benchmarks/bench_models.py [--archs ViT-B-32,MobileCLIP-S2]
        [--batch-sizes 8,16,32] [--images 64]

Weights do not change the arithmetic, so a random-weight model measures the images/s and
texts/s a user's CPU gets with the downloaded one. Images are prepared (resized, cropped,
normalised) beforehand: the figures are the model alone, as in the indexing pipeline where
decoding runs on other threads. Threads are set the way the app sets them.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from _common import machine, peak_rss_mib
from PIL import Image

from photosense.models.device import configure_cpu_threads
from photosense.models.openclip import OpenClipEncoder

TEXTS = [
    f"a photo of {thing} at the {place}"
    for thing in (
        "a dog",
        "two kids",
        "a red bike",
        "a birthday cake",
        "snow",
        "a sailing boat",
        "grandma",
        "a cat",
    )
    for place in ("beach", "park", "kitchen", "mountains", "station", "garden", "market", "lake")
]


def sample_images(count: int, seed: int = 0) -> list[Image.Image]:
    """Photo-sized images with some structure (noise over gradients), reproducible."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(count):
        base = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
        pixels = base * rng.uniform(0.2, 1.0, size=(1, 1, 3)) + rng.normal(0, 30, (480, 640, 3))
        images.append(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))
    return images


def images_per_second(
    encoder: OpenClipEncoder, prepared: list[torch.Tensor], batch: int
) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process, all threads)."""
    encoder.encode_prepared(prepared[:batch])  # warm-up: allocator, kernels
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(prepared), batch):
        encoder.encode_prepared(prepared[start : start + batch])
    return (
        len(prepared) / (time.perf_counter() - wall),
        len(prepared) / (time.process_time() - cpu),
    )


def texts_per_second(encoder: OpenClipEncoder) -> float:
    encoder.encode_texts(TEXTS[:8])
    started = time.perf_counter()
    encoder.encode_texts(TEXTS)
    return len(TEXTS) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archs", default="ViT-B-32,MobileCLIP-S2")
    parser.add_argument("--batch-sizes", default="8,16,32")
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    configure_cpu_threads()
    batches = [int(b) for b in args.batch_sizes.split(",")]
    images = sample_images(args.images)
    print(f"machine: {machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{args.images} images (640x480, prepared beforehand), {len(TEXTS)} texts, fp32, CPU")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("img/s: wall clock (per CPU-second of this process, in brackets)\n")
    print("| model | load s | " + " | ".join(f"img/s @{b}" for b in batches) + " | texts/s |")
    print("|---|---|" + "---|" * len(batches) + "---|")
    for arch in args.archs.split(","):
        started = time.perf_counter()
        encoder = OpenClipEncoder.create(arch, None, device="cpu", seed=0)
        load_s = time.perf_counter() - started
        prepared = [encoder.prepare_image(image) for image in images]
        rates = [images_per_second(encoder, prepared, batch) for batch in batches]
        cells = " | ".join(f"{wall:.1f} ({cpu:.1f})" for wall, cpu in rates)
        print(f"| {arch} (random) | {load_s:.1f} | {cells} | {texts_per_second(encoder):.0f} |")
        del encoder, prepared
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB; load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
