"""The engine against the per-image pipeline, side by side in one run (SimCLR, small CNN, CPU).

    python benchmarks/engine_vs_per_image.py [--dataset digits] [--seconds 60] [--workers 0]

(a) augmentation alone, views/s: cl_core's batched Augmenter vs a per-image torchvision v2 Compose
    through a DataLoader (the way lightly and solo-learn feed a model);
(b) end-to-end training views/s with the small CNN, same model, optimiser and batch, fed either way;
(c) kNN top-1 (k=20, T=0.1, full train split as memory) after ``--seconds`` of training with the
    default CPU preset, fed either way.
Prints each number and the ratios ours / per-image. ``--seconds 0`` skips (c).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _per_image import per_image_loader  # noqa: E402

from cl_core import metrics  # noqa: E402
from cl_core.augment import Augmenter, to_float  # noqa: E402
from cl_core.data import load_data, nchw  # noqa: E402
from cl_core.methods import build_method  # noqa: E402
from cl_core.optim import build_optimizer, lr_at  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402
from cl_core.trainer import train  # noqa: E402


def augment_rate(cfg, data, size: int, batch: int, workers: int, rounds: int = 5) -> tuple[float, float]:
    """Views/s of (ours, per-image loader) on the training images."""
    x = nchw(data.train_images[:batch]).contiguous()
    aug, gen = Augmenter(cfg.augment, size), torch.Generator().manual_seed(0)
    ours = min(_timed(lambda: aug.two_views(x, gen)) for _ in range(rounds))
    loader = per_image_loader(data.train_images, data.train_labels, cfg.augment, size, batch, workers)
    it = iter(loader)
    next(it)  # start-up (and workers) not counted
    theirs = min(_timed(lambda: next(it)) for _ in range(min(rounds, len(loader) - 1)))
    return 2 * batch / ours, 2 * batch / theirs


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def train_per_image(cfg, data, size: int, workers: int, seconds: float, steps: int = 0) -> tuple[float, object]:
    """Train like the trainer does, fed by the per-image loader; returns (views/s, method)."""
    torch.manual_seed(cfg.train.seed)
    method = build_method(cfg)
    opt = build_optimizer(method, cfg.train)
    loader = per_image_loader(data.train_images, data.train_labels, cfg.augment, size, cfg.train.batch_size, workers)
    done, t0 = 0, time.perf_counter()
    while True:
        for v1, v2, _ in loader:
            progress = max(done / steps if steps else 0, (time.perf_counter() - t0) / seconds if seconds else 0)
            if progress >= 1:
                return 2 * cfg.train.batch_size * done / (time.perf_counter() - t0), method
            for g in opt.param_groups:
                g["lr"] = lr_at(progress, cfg.train)
            loss, _ = method.training_step(v1, v2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            method.on_step_end(done + 1, steps or 10**6)
            done += 1


@torch.no_grad()
def knn(method, data, size: int) -> float:
    method.eval()

    def emb(a):
        return torch.cat([method.embed(to_float(nchw(a[i : i + 512]), size)) for i in range(0, len(a), 512)])

    return metrics.knn_top1(
        emb(data.train_images),
        torch.from_numpy(data.train_labels),
        emb(data.test_images),
        torch.from_numpy(data.test_labels),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--steps", type=int, default=20, help="steps timed for (b)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers for the per-image pipeline")
    args = ap.parse_args()
    cfg = preset_config("simclr", args.dataset)
    data = load_data(args.dataset, image_size=cfg.data.image_size)
    size, batch = data.image_size, cfg.train.batch_size
    print(
        f"torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} "
        f"threads; simclr on {args.dataset} {size}x{size}, {cfg.train.backbone} width {cfg.train.width}, "
        f"batch {batch}, per-image loader with {args.workers} workers; load {os.getloadavg()[0]:.2f}"
    )
    ours, theirs = augment_rate(cfg, data, size, batch, args.workers)
    print(f"(a) augmentation views/s: ours {ours:,.0f}  per-image {theirs:,.0f}  ratio {ours / theirs:.1f}x")

    run = preset_config("simclr", args.dataset)
    run.train.seconds, run.train.steps, run.train.snapshots = 0, args.steps, 0
    ours = train(run).summary["views_per_second"]
    theirs, _ = train_per_image(run, data, size, args.workers, 0, args.steps)
    print(
        f"(b) training views/s ({args.steps} steps): ours {ours:,.0f}  per-image {theirs:,.0f}  "
        f"ratio {ours / theirs:.2f}x"
    )

    if args.seconds:
        run = preset_config("simclr", args.dataset)
        run.train.seconds, run.train.snapshots, run.train.knn_max_train = args.seconds, 0, 10**6
        result = train(run)
        _, method = train_per_image(run, data, size, args.workers, args.seconds)
        k_ours, k_theirs = result.summary["knn_top1"], knn(method, data, size)
        print(
            f"(c) kNN top-1 after {args.seconds:.0f} s: ours {k_ours:.4f} ({result.summary['steps']} steps)  "
            f"per-image {k_theirs:.4f}  difference {k_ours - k_theirs:+.4f}"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
