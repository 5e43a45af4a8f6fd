"""Time to accuracy of the default recipe against the previous default and a per-image (lightly-style) pipeline.

    python benchmarks/learn_per_second.py [--datasets photos digits shapes] [--seconds 30 60 120]
                                          [--threads 1] [--parallel 1] [--seeds 0] [--out DIR]

Three ways to spend the same budget on SimCLR with the small CNN, each cell its own child process:

- **default**: what ``python -m cl_core train --dataset D --seconds S`` does now (the trainer's batched
  augmentation, with snapshots and diagnostics as in any run);
- **previous**: the same run with the defaults of before this benchmark (fp32 on the CPU, NCHW, full-size views; on a
  folder data set SimCLR's colour jitter and greyscale): ``PREVIOUS`` below, as config overrides;
- **per-image**: the previous default's model, optimiser, schedule and augmentations, fed one image at a time
  by torchvision transforms in a DataLoader (``benchmarks/_per_image.py``), as lightly and solo-learn do.

Every encoder is scored the same way after its budget: weighted kNN top-1 (k=20, T=0.1) of the backbone's
features, the whole training split as memory, the test split as queries. ``photos`` is a folder of 32x32
crops of 7 photographs made by ``benchmarks/photo_folder.py`` (class = photograph; test crops come from a part
of each photo no training crop saw). A budget's three cells run one after the other, so they see the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECIPES = ("default", "previous", "per-image")
# the defaults before this benchmark: config field -> old value; on a folder also the method's own colour jitter
# and full-size views; shapes trained and were measured at 16x16 (now 16x16 views of 32x32 images, measured at 32)
PREVIOUS: dict[str, Any] = {"train.precision": "fp32", "train.channels_last": False}
PREVIOUS_DATASET: dict[str, dict[str, Any]] = {"shapes": {"data.image_size": 16, "data.view_size": 0}}


def config(recipe: str, dataset: str, seconds: float, threads: int, seed: int):
    from cl_core.presets import dataset_defaults, preset_config

    cfg = preset_config("simclr", dataset)
    cfg.train.seconds, cfg.train.threads, cfg.train.seed = seconds, threads, seed
    if recipe != "default":
        method_only = preset_config("simclr", "none")  # the method's preset before any data set's defaults
        folder = (
            {name: method_only.get(name) for name in dataset_defaults(dataset)} if dataset.startswith("folder:") else {}
        )
        for name, value in {**PREVIOUS, **folder, **PREVIOUS_DATASET.get(dataset, {})}.items():
            cfg.set(name, value)
    return cfg.validate()


def child(recipe: str, dataset: str, seconds: float, threads: int, seed: int) -> dict[str, Any]:
    """Train one cell in this process and score it; the dict is printed as the child's last line."""
    import torch
    from engine_vs_per_image import knn, train_per_image

    from cl_core.data import load_data
    from cl_core.trainer import train

    torch.set_num_threads(threads)
    cfg = config(recipe, dataset, seconds, threads, seed)
    data = load_data(dataset, image_size=cfg.data.image_size)
    if recipe == "per-image":
        views_per_second, method = train_per_image(cfg, data, data.image_size, 0, seconds)
        steps = None
    else:
        result = train(cfg)
        method, steps = result.method, result.summary["steps"]
        views_per_second = result.summary["views_per_second"]
    return {"knn_top1": knn(method, data, data.image_size), "steps": steps, "views_per_second": views_per_second}


def run_cell(recipe: str, dataset: str, seconds: float, threads: int, seed: int) -> dict[str, Any]:
    load, t0 = os.getloadavg()[0], time.perf_counter()
    cmd = [sys.executable, __file__, "--child", recipe, "--datasets", dataset, "--seconds", str(seconds),
           "--threads", str(threads), "--seeds", str(seed)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    if proc.returncode != 0:
        out: dict[str, Any] = {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]}
    else:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    out |= {"load_at_start": round(load, 2), "wall_seconds": round(time.perf_counter() - t0, 1)}
    print(f"{dataset[:24]:24} {recipe:10} {seconds:5g}s seed {seed}  {out}", file=sys.stderr, flush=True)
    return out


def _mean(cells: list[dict[str, Any]], key: str) -> float | None:
    values = [c[key] for c in cells if c.get(key) is not None]
    return sum(values) / len(values) if values else None


def table(cells: dict[tuple[str, float], list[dict[str, Any]]], budgets: list[float]) -> str:
    """Markdown: one row per recipe, kNN (mean over seeds) and steps per budget, and default / this."""
    head = ["recipe", *(f"kNN {b:g} s" for b in budgets), *(f"steps {b:g} s" for b in budgets)]
    head += [f"default / this, {b:g} s" for b in budgets]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for recipe in RECIPES:
        knn = [_mean(cells[recipe, b], "knn_top1") for b in budgets]
        steps = [_mean(cells[recipe, b], "steps") for b in budgets]
        ours = [_mean(cells["default", b], "knn_top1") for b in budgets]
        ratio = ["" if recipe == "default" or not (a and o) else f"{o / a:.2f}x" for a, o in zip(knn, ours)]
        errors = [" ".join(c["error"]) for b in budgets for c in cells[recipe, b] if "error" in c]
        text = [f"{k:.3f}" if k is not None else "–" for k in knn] + [f"{s:.0f}" if s else "–" for s in steps]
        lines.append(f"| {recipe} | " + " | ".join(text + ratio) + " |" + (f" error: {errors[0]}" if errors else ""))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["photos", "digits", "shapes"])
    p.add_argument("--seconds", type=float, nargs="+", default=[30.0, 60.0, 120.0])
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (1: stable on a shared machine)")
    p.add_argument("--parallel", type=int, default=1, help="cells at the same time")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "learn_per_second")
    p.add_argument("--child", choices=RECIPES, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.datasets[0], args.seconds[0], args.threads, args.seeds[0])))
        return
    import torch
    from photo_folder import write_photo_folder

    budgets = sorted(set(args.seconds))
    host = f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
    host += f"torch {torch.__version__}, {args.threads} thread(s) per run, {args.parallel} run(s) at a time"
    load_before, started = tuple(round(x, 2) for x in os.getloadavg()), time.strftime("%Y-%m-%d %H:%M:%S")
    with tempfile.TemporaryDirectory(prefix="learn_per_second_") as tmp:
        names = {d: f"folder:{write_photo_folder(Path(tmp) / 'photos')}" if d == "photos" else d for d in args.datasets}
        jobs = [(d, r, b, s) for d in args.datasets for b in budgets for s in args.seeds for r in RECIPES]
        with ThreadPoolExecutor(args.parallel) as pool:
            futures = {j: pool.submit(run_cell, j[1], names[j[0]], j[2], args.threads, j[3]) for j in jobs}
            raw = {j: f.result() for j, f in futures.items()}
    load_after = tuple(round(x, 2) for x in os.getloadavg())
    parts = []
    for d in args.datasets:
        cells = {(r, b): [raw[d, r, b, s] for s in args.seeds] for r in RECIPES for b in budgets}
        parts.append(f"**{d}** (seeds {', '.join(map(str, args.seeds))})\n\n{table(cells, budgets)}")
    text = "\n\n".join(parts) + f"\n\n{host}\nload average (1, 5, 15 min) before {load_before}, after {load_after}; "
    text += f"started {started}\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    rows = [{"dataset": d, "recipe": r, "seconds": b, "seed": s, **v} for (d, r, b, s), v in raw.items()]
    (args.out / "results.json").write_text(json.dumps({"host": host, "started": started, "cells": rows}, indent=1))


if __name__ == "__main__":
    main()
