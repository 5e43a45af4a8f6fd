"""Training-step throughput: our batched on-device augmentation vs a per-image pipeline through a DataLoader.

    python benchmarks/throughput.py [--backbones small_cnn resnet18] [--methods simclr byol] [--workers 0]

For every registered method and each backbone, the same trainer step (``cl_core.trainer._Loop._train_step``:
forward, backward, optimiser, on_step_end) is fed two ways, with the method's own augmentation preset:

- ours: ``cl_core.augment.Augmenter`` on the whole uint8 batch, on the training device (what the trainer does);
- per-image: ``benchmarks/_per_image.py``, the same recipe as a torchvision.transforms.v2 ``Compose`` on PIL
  images in a ``Dataset``, batched by a ``DataLoader`` (the way lightly and solo-learn feed a model), with
  one torch thread as in a DataLoader worker; ``--workers 0`` (default) runs it in the main process.

The step is profiled (``train.profile``): views/s = 2 x batch / the fastest step (the two feeds alternate step by
step, so both see the same background load), and the shares of augmentation (batch + views), forward, backward
and optimiser are printed. Data: scikit-learn's digits upsampled to 32x32; CPU. The default run (8 methods x 2
backbones x 2 feeds) takes ~3 minutes on 2 idle cores, where ResNet-18 trains at ~60 views/s (batch 32, 32x32):
few steps, so run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _per_image import per_image_loader  # noqa: E402

from cl_core.augment import Augmenter  # noqa: E402
from cl_core.config import Config  # noqa: E402
from cl_core.evaluation import Setup, setup  # noqa: E402
from cl_core.methods import METHODS  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402
from cl_core.runtime import Budget, PhaseTimer  # noqa: E402
from cl_core.trainer import _Loop  # noqa: E402

SIZES = {"small_cnn": (64, 6), "resnet18": (32, 4)}  # backbone -> (batch, timed steps)


class PerImageLoop(_Loop):
    """The trainer's loop with its views taken from the per-image DataLoader instead of the batched augmenter."""

    def __init__(self, cfg: Config, s: Setup, workers: int):
        super().__init__(cfg, s, [], threading.Event(), None)
        d = s.data
        self.loader = per_image_loader(d.train_images, d.train_labels, cfg.augment, s.size, self.batch, workers)
        self.batches = iter(self.loader)

    def _views(self) -> tuple[torch.Tensor, torch.Tensor]:
        old = torch.get_num_threads()
        torch.set_num_threads(1)  # as in a DataLoader worker (per-image hue jitter is ~20x slower with 2 threads)
        try:
            v1, v2, _ = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            v1, v2, _ = next(self.batches)
        finally:
            torch.set_num_threads(old)
        return v1.to(self.s.device), v2.to(self.s.device)


def config(method: str, backbone: str, batch: int) -> Config:
    cfg = preset_config(method, "digits")
    cfg.data.image_size = 32  # CIFAR-size views
    cfg.train.backbone, cfg.train.batch_size, cfg.train.profile = backbone, batch, True
    cfg.train.width = 64 if backbone == "resnet18" else 32  # the standard widths
    cfg.train.seconds, cfg.train.steps, cfg.train.snapshots = 0, 10**6, 0
    if method == "swav":  # at most one prototype per image of the batch
        cfg.method.options["prototypes"] = min(batch, 30)
    return cfg.validate()


def measure(loops: list[_Loop], steps: int) -> list[tuple[float, dict[str, float]]]:
    """(views/s, phase shares) of each loop: one warm-up step each, then ``steps`` rounds of one step each.

    The loops alternate, so that both see the same background load; the fastest step counts (the machine may
    be shared) and the shares are over all timed steps.
    """
    budget = Budget(10**6, 0, 0, loops[0].steps_per_epoch)
    best = [float("inf")] * len(loops)
    for loop in loops:
        loop.method.train()
        loop._train_step(budget)
        loop.timer = PhaseTimer(loop.s.device)
    for _ in range(steps):
        for k, loop in enumerate(loops):
            t0 = time.perf_counter()
            loop._train_step(budget)
            best[k] = min(best[k], time.perf_counter() - t0)
    return [(2 * loop.batch / b, loop.timer.shares()) for loop, b in zip(loops, best)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbones", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--steps", type=int, default=0, help="timed steps per config (0: 6 small CNN, 4 ResNet-18)")
    ap.add_argument("--batch", type=int, default=0, help="images per step (0: 64 small CNN, 32 ResNet-18)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers of the per-image feed")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.manual_seed(0)
    device = torch.device(args.device)
    s = setup(config("simclr", "small_cnn", 64), device)  # data + augmenter, shared by every config
    load0 = os.getloadavg()[0]
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch threads, device {device}, per-image feed: {args.workers} workers"
    )
    print(
        f"{'backbone':<10} {'method':<12} {'ours v/s':>9} {'per-image':>10} {'ratio':>6}   "
        f"{'ours: aug / fwd / bwd / opt':<28} {'per-image: aug / fwd / bwd / opt'}"
    )
    ratios = []
    for backbone in args.backbones:
        batch, steps = args.batch or SIZES[backbone][0], args.steps or SIZES[backbone][1]
        for method in args.methods:
            cfg = config(method, backbone, batch)
            s = dataclasses.replace(s, augmenter=Augmenter(cfg.augment, s.size))  # the method's own recipe
            loops = [_Loop(cfg, s, [], threading.Event(), None), PerImageLoop(cfg, s, args.workers)]
            (ours, ours_shares), (theirs, their_shares) = measure(loops, steps)
            ratios.append(ours / theirs)
            fmt = lambda sh: " / ".join(f"{100 * v:3.0f}%" for v in sh.values())  # noqa: E731
            print(
                f"{backbone:<10} {method:<12} {ours:9.1f} {theirs:10.1f} {ours / theirs:5.2f}x   "
                f"{fmt(ours_shares):<28} {fmt(their_shares)}",
                flush=True,
            )
    geo = torch.tensor(ratios).log().mean().exp().item()
    print(
        f"geometric mean ratio ours / per-image: {geo:.2f}x over {len(ratios)} configs; "
        f"load average (1 min) before / after: {load0:.2f} / {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
