"""Every method's preset for a fixed wall-clock budget on digits and shapes, beside a floor and a ceiling.

    python benchmarks/methods_table.py [--seconds 60] [--datasets digits shapes] [--methods moco byol ...]
                                      [--threads N]

Each cell is one child process run after the other (so runs never share the CPU):
``python -m cl_core train --method M --dataset D --seconds S``, read back from its summary.json.
The floors are the randomly initialised encoder (seed 0, no training), as initialised and with its batch-norm
statistics measured on the training images; the ceiling is the same backbone
trained for the same seconds with cross-entropy on the labels (crop + flip augmentations from the
same batched Augmenter at the methods' view size, a linear classifier on the features, AdamW with the trainer's
schedule).
All rows are scored by the trainer's protocol: weighted kNN top-1 (k=20, T=0.1, up to 5000 train images
as memory, the test split as queries) and a linear probe on the same backbone features.
Prints a markdown table and writes it with the raw numbers to ``--out``; the run directories go to a
temporary folder (named on stderr).
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
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_core import metrics  # noqa: E402
from cl_core.augment import Augmenter, apply_preset, to_float  # noqa: E402
from cl_core.data import ImageData, load_data, nchw, view_source  # noqa: E402
from cl_core.encoders import build_backbone  # noqa: E402
from cl_core.methods import METHODS  # noqa: E402
from cl_core.optim import build_optimizer, lr_at  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402

KNN_MEMORY = 5000  # as TrainConfig.knn_max_train


@torch.no_grad()
def features(backbone: nn.Module, images: np.ndarray, batch: int = 512) -> torch.Tensor:
    """Backbone features (N, F) of uint8 NHWC images, in eval mode."""
    backbone.eval()
    x = nchw(images)
    return torch.cat([backbone(to_float(x[i : i + batch])) for i in range(0, len(x), batch)])


def evaluate(backbone: nn.Module, data: ImageData, seed: int = 0) -> dict[str, float]:
    """kNN top-1 and linear probe of the backbone's features, with the trainer's memory subset."""
    idx = np.random.default_rng(seed).permutation(len(data.train_images))[:KNN_MEMORY]
    train, test = features(backbone, data.train_images[idx]), features(backbone, data.test_images)
    ytr, yte = torch.from_numpy(data.train_labels[idx]), torch.from_numpy(data.test_labels)
    knn = metrics.knn_top1(train, ytr, test, yte)
    return {"knn_top1": knn, "linear_probe": metrics.linear_probe(train, ytr, test, yte)}


@torch.no_grad()
def calibrate_batchnorm(backbone: nn.Module, images: np.ndarray, batch: int = 512) -> None:
    """Replace every batch norm's running statistics (0 and 1 at initialisation) by those of ``images``."""
    for m in backbone.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches below
    backbone.train()
    x = nchw(images)
    for i in range(0, len(x), batch):
        backbone(to_float(x[i : i + batch]))


def random_encoder(dataset: str, calibrate: bool) -> dict[str, Any]:
    """The floor: the backbone as initialised (seed 0, as the trainer seeds it), optionally with its batch-norm
    statistics measured on the training images (a single training step already moves them a tenth of the way
    there, and on digits that alone is worth several points of kNN)."""
    cfg = preset_config("simclr", dataset)
    torch.manual_seed(cfg.train.seed)
    backbone = build_backbone(cfg.train.backbone, cfg.train.width)
    data = load_data(dataset, image_size=cfg.data.image_size)  # the size the methods train at
    if calibrate:
        calibrate_batchnorm(backbone, data.train_images[:KNN_MEMORY])
    return {**evaluate(backbone, data), "views_per_second": None, "steps": 0}


def supervised(dataset: str, seconds: float) -> dict[str, Any]:
    """The ceiling: backbone + linear classifier trained with cross-entropy for ``seconds``."""
    cfg = preset_config("simclr", dataset)
    t = cfg.train
    torch.manual_seed(t.seed)
    data = load_data(dataset, image_size=cfg.data.image_size)  # the size the methods are measured at
    # trained on views of the methods' view size (data.view_size), cut from the images shrunk to it, as the trainer does
    source = view_source(data.train_images, cfg.data.view_size)
    images = nchw(source)  # (N, 3, V, V)
    labels = torch.from_numpy(data.train_labels)
    backbone = build_backbone(t.backbone, t.width)
    model = nn.Sequential(backbone, nn.Linear(backbone.out_dim, len(data.class_names)))
    opt = build_optimizer(model, t)
    augmenter = Augmenter(apply_preset(cfg.augment, "crop_only"), images.shape[-1])
    gen = torch.Generator().manual_seed(t.seed + 3)
    batch, steps, t0 = min(t.batch_size, len(images)), 0, time.perf_counter()
    model.train()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for group in opt.param_groups:
            group["lr"] = lr_at(elapsed / seconds, t)
        idx = torch.randint(0, len(images), (batch,), generator=gen)
        loss = nn.functional.cross_entropy(model(augmenter(images[idx], gen)), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
    rate = batch * steps / (time.perf_counter() - t0)
    return {**evaluate(backbone, data), "views_per_second": round(rate, 1), "steps": steps}


def ssl_run(method: str, dataset: str, seconds: float, threads: int, out: Path) -> dict[str, Any]:
    """One ``python -m cl_core train`` child process; its summary."""
    run_dir = out / f"{method}-{dataset}"
    cmd = [sys.executable, "-m", "cl_core", "train", "--method", method, "--dataset", dataset,
           "--seconds", str(seconds), "--threads", str(threads), "--out", str(run_dir), "--quiet"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    summary_file = run_dir / "summary.json"
    if proc.returncode != 0 or not summary_file.is_file():
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]}
    s = json.loads(summary_file.read_text())
    return {k: s.get(k) for k in ("knn_top1", "linear_probe", "views_per_second", "steps", "verdict")}


def child(kind: str, dataset: str, seconds: float, threads: int) -> dict[str, Any]:
    """Run a floor or the ceiling in a fresh process, like the methods."""
    cmd = [sys.executable, __file__, "--child", kind, "--datasets", dataset, "--seconds", str(seconds),
           "--threads", str(threads)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) and value < 10 else f"{value:.0f}"


def table(results: dict[str, dict[str, dict[str, Any]]], datasets: list[str]) -> str:
    head = "| encoder | " + " | ".join(f"{d} kNN | {d} linear | {d} views/s | {d} steps" for d in datasets) + " |"
    lines = [head, "|" + "---|" * (1 + 4 * len(datasets))]
    for row, cells in results.items():
        parts = []
        for d in datasets:
            c = cells.get(d, {})
            if "error" in c:
                parts += [f"error: {' '.join(c['error'])}", "", "", ""]
            else:
                keys = ("knn_top1", "linear_probe", "views_per_second", "steps")
                parts += [fmt(c.get(k)) for k in keys]
        lines.append(f"| {row} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads per run (0: torch's default)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "methods_table")
    p.add_argument("--child", choices=("random", "calibrated", "supervised"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        if args.threads:
            torch.set_num_threads(args.threads)
        d = args.datasets[0]
        out = supervised(d, args.seconds) if args.child == "supervised" else random_encoder(d, args.child != "random")
        print(json.dumps(out))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    runs = Path(tempfile.mkdtemp(prefix="methods_table_"))  # run directories (models), not kept with the table
    floors = {"random init (floor)": "random", "random init, batch-norm statistics of the data": "calibrated"}
    rows = [*floors, *args.methods, f"supervised {args.seconds:g} s (ceiling)"]
    results: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in rows}
    print(f"run directories: {runs}", file=sys.stderr)
    for d in args.datasets:
        for row in rows:
            t0 = time.perf_counter()
            if row in floors:
                results[row][d] = child(floors[row], d, 0, args.threads)
            elif row.startswith("supervised"):
                results[row][d] = child("supervised", d, args.seconds, args.threads)
            else:
                results[row][d] = ssl_run(row, d, args.seconds, args.threads, runs)
            print(f"{d:8} {row:28} {time.perf_counter() - t0:6.1f}s  {results[row][d]}", file=sys.stderr, flush=True)
    text = table(results, args.datasets)
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {args.seconds:g} s per run"
    print(f"{text}\n\n{machine}")
    (args.out / "table.md").write_text(f"{text}\n\n{machine}\n")
    (args.out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))


if __name__ == "__main__":
    main()
