"""The trainer's step on the CPU in each precision and memory format, side by side in one process.

    python benchmarks/cpu_step.py [--dataset shapes] [--size 16] [--threads 1] [--variants fp32 cl bf16 bf16+cl]

SimCLR with the small CNN at the data set's preset (batch 128, width 16); each variant is its own
``cl_core.trainer._Loop`` on the same data and augmenter: ``fp32`` (NCHW), ``cl`` (channels-last), ``bf16``
(bf16 autocast), ``bf16+cl``, and ``+compile`` on any of them (torch.compile of the step). Three warm-up steps
each, then 8 rounds of one step per variant (interleaved, so all see the same load); prints the median and
fastest step and views/s, and each variant's median against fp32's.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import torch

from cl_core.evaluation import setup
from cl_core.presets import preset_config
from cl_core.runtime import Budget
from cl_core.trainer import _Loop


def config(dataset: str, size: int, variant: str):
    cfg = preset_config("simclr", dataset)
    cfg.data.image_size = size
    cfg.train.seconds, cfg.train.steps, cfg.train.snapshots = 0, 10**6, 0
    cfg.train.channels_last = "cl" in variant.split("+")
    cfg.train.precision = "bf16" if "bf16" in variant else "fp32"
    cfg.train.compile = "compile" in variant
    return cfg.validate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="shapes")
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", nargs="+", default=["fp32", "cl", "bf16", "bf16+cl"])
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    s = setup(config(args.dataset, args.size, "fp32"), torch.device("cpu"))
    loops = {v: _Loop(config(args.dataset, args.size, v), s, [], threading.Event(), None) for v in args.variants}
    budget = Budget(10**6, 0, 0, 10)
    for loop in loops.values():
        loop.method.train()
        for _ in range(3):
            loop._train_step(budget)
    times: dict[str, list[float]] = {v: [] for v in loops}
    for _ in range(args.rounds):
        for v, loop in loops.items():
            t0 = time.perf_counter()
            loop._train_step(budget)
            times[v].append(time.perf_counter() - t0)
    print(
        f"{args.dataset} at {args.size}x{args.size}, batch {next(iter(loops.values())).batch}, {args.threads} "
        f"thread(s), torch {torch.__version__}, load {os.getloadavg()[0]:.2f}"
    )
    base = sorted(times[args.variants[0]])[args.rounds // 2]
    for v, ts in times.items():
        ts.sort()
        med = ts[args.rounds // 2]
        views = 2 * loops[v].batch / med
        print(f"{v:18} median {1000 * med:6.1f} ms  fastest {1000 * ts[0]:6.1f} ms  {views:7.0f} views/s  "
              f"{med / base:.2f}x the time of {args.variants[0]}")  # fmt: skip


if __name__ == "__main__":
    main()
