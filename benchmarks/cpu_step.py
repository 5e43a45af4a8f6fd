"""The trainer's step on the CPU in each precision and memory format, side by side in one process.

    python benchmarks/cpu_step.py [--dataset shapes] [--size 16] [--threads 1] [--variants fp32 cl bf16 bf16+cl]

SimCLR with the small CNN at the data set's preset (batch 128, width 16); each variant is its own
``cl_core.trainer._Loop`` on the same data and augmenter: ``fp32`` (NCHW), ``cl`` (channels-last), ``bf16``
(bf16 autocast), ``bf16+cl``, and ``+compile`` on any of them (torch.compile of the step). Timed by
``throughput.measure``: one warm-up step each, then ``--rounds`` rounds of one step per variant (interleaved, so
all see the same load); prints views/s of the fastest step, the step's time against the first variant's, and
the augment / forward / backward / optimiser shares.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import measure  # noqa: E402

from cl_core.evaluation import setup  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402
from cl_core.trainer import _Loop  # noqa: E402


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
    results = dict(zip(loops, measure(list(loops.values()), args.rounds)))
    print(
        f"{args.dataset} at {args.size}x{args.size}, batch {next(iter(loops.values())).batch}, {args.threads} "
        f"thread(s), torch {torch.__version__}, load {os.getloadavg()[0]:.2f}"
    )
    base = results[args.variants[0]][0]
    for v, (views, shares) in results.items():
        split = " / ".join(f"{100 * x:.0f}%" for x in shares.values())
        print(f"{v:18} {views:7.0f} views/s  {base / views:.2f}x the time of {args.variants[0]}  "
              f"aug / fwd / bwd / opt {split}")  # fmt: skip


if __name__ == "__main__":
    main()
