"""Views per second of one SimCLR-style recipe in three implementations, on the same uint8 batches.

    python benchmarks/augment_vs_kornia.py [--batch 256] [--size 32] [--rounds 7] [--threads N]

Recipe: RandomResizedCrop(size, scale=(0.2, 1)), horizontal flip p=0.5, ColorJitter(0.4, 0.4, 0.4, 0.1) p=0.8,
greyscale p=0.2, float32 output in [0,1]; every image draws its own parameters.

- ours: ``cl_core.augment.Augmenter`` on the whole batch;
- kornia: ``kornia.augmentation`` on the whole batch (``same_on_batch=False``), uint8 -> float included;
- per-image: a torchvision.transforms.v2 ``Compose`` called once per image in a Python loop (as lightly / solo-learn
  do in a DataLoader with 0 workers), on uint8 tensors and on PIL images. DataLoader workers run with one torch
  thread, so the per-image pipelines are also timed with ``torch.set_num_threads(1)``.

Rounds interleave the pipelines and the best round counts. On a shared machine wall-clock numbers swing with the
load (printed); process CPU time per view (best with ``--threads 1``) is the number that stays comparable.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cl_core.augment import Augmenter  # noqa: E402
from cl_core.config import AugmentConfig  # noqa: E402


def kornia_pipeline(size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    import kornia.augmentation as K

    aug = K.AugmentationSequential(
        K.RandomResizedCrop((size, size), scale=(0.2, 1.0)),
        K.RandomHorizontalFlip(p=0.5),
        K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=0.8),
        K.RandomGrayscale(p=0.2),
        same_on_batch=False,
    )
    return lambda x: aug(x.float() / 255)


def per_image_pipeline(size: int, pil: bool) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable]:
    """(run on prepared inputs, prepare inputs from a uint8 batch)."""
    from torchvision.transforms import v2

    steps = [
        v2.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True),
        v2.RandomHorizontalFlip(p=0.5),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(p=0.2),
    ]
    tail = [v2.PILToTensor()] if pil else []
    t = v2.Compose(steps + tail + [v2.ToDtype(torch.float32, scale=True)])
    prepare = (lambda x: [v2.functional.to_pil_image(im) for im in x]) if pil else (lambda x: list(x))
    return (lambda items: torch.stack([t(im) for im in items])), prepare


def seconds(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, process CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=0, help="torch threads for the batched pipelines; 0 = default")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    x = torch.randint(0, 256, (args.batch, 3, args.size, args.size), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(0)
    ours = Augmenter(AugmentConfig(crop_scale_min=0.2), args.size)  # the defaults are this recipe
    kornia = kornia_pipeline(args.size)
    run_t, prep_t = per_image_pipeline(args.size, pil=False)
    run_p, prep_p = per_image_pipeline(args.size, pil=True)
    items_t, items_p = prep_t(x), prep_p(x)

    def with_threads(n: int, fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            old = torch.get_num_threads()
            torch.set_num_threads(n)
            try:
                return fn()
            finally:
                torch.set_num_threads(old)

        return run

    cases = {"ours (batched)": lambda: ours(x, gen), "kornia (batched)": lambda: kornia(x)}
    for n in sorted({threads, 1}, reverse=True):
        suffix = f"{n} thread" + "s" * (n > 1)
        cases[f"per-image v2, uint8 tensors, {suffix}"] = with_threads(n, lambda: run_t(items_t))
        cases[f"per-image v2, PIL, {suffix}"] = with_threads(n, lambda: run_p(items_p))
    for fn in cases.values():  # warm up
        fn()
    load0 = os.getloadavg()[0]
    best = {name: (float("inf"), float("inf")) for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            best[name] = tuple(map(min, best[name], seconds(fn)))
    load1 = os.getloadavg()[0]

    print(f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, {threads} torch threads")
    print(f"batch {args.batch} x 3 x {args.size} x {args.size} uint8, best of {args.rounds} rounds")
    print(f"load average (1 min) before / after: {load0:.2f} / {load1:.2f}")
    print(f"{'':<48s} {'views/s':>10s} {'ms/batch':>9s} {'views/CPU-s':>12s}")
    for name, (wall, cpu) in best.items():
        print(f"{name:<48s} {args.batch / wall:>10,.0f} {1e3 * wall:>9.1f} {args.batch / cpu:>12,.0f}")
    o = best["ours (batched)"]
    print(f"{'speed-up of ours over':<48s} {'wall':>10s} {'':>9s} {'CPU':>12s}")
    for name in [n for n in best if n != "ours (batched)"]:
        print(f"{'  ' + name:<48s} {best[name][0] / o[0]:>9.1f}x {'':>9s} {best[name][1] / o[1]:>11.1f}x")


if __name__ == "__main__":
    main()
