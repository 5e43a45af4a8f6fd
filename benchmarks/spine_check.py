"""The engine's acceptance numbers: 60-second SimCLR on digits and shapes against their baselines.

    python benchmarks/spine_check.py [--seconds 60] [--out runs/spine]

- digits: ``python -m cl_core train --method simclr --dataset digits --seconds 60``; its kNN top-1
  against the randomly initialised encoder of the same architecture on the same split, and its
  linear probe against a linear probe on raw pixels (same standardise + logistic regression);
- shapes: the same 60 s with the preset's colour jitter and with colour jitter off (``--opt
  jitter_p=0``): kNN on the shape classes.
Each training run is a child process, one after the other. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from methods_table import random_encoder  # noqa: E402

from cl_core import metrics  # noqa: E402
from cl_core.data import load_data  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402


def run(out: Path, threads: str, name: str, *args: str) -> dict:
    run_dir = out / name
    cmd = [sys.executable, "-m", "cl_core", "train", *args, "--out", str(run_dir), "--quiet", "--threads", threads]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return json.loads((run_dir / "summary.json").read_text())


def raw_pixel_probe(dataset: str) -> float:
    data = load_data(dataset, image_size=preset_config("simclr", dataset).data.image_size)
    flat = lambda a: torch.from_numpy(a.reshape(len(a), -1)).float() / 255  # noqa: E731
    return metrics.linear_probe(
        flat(data.train_images),
        torch.from_numpy(data.train_labels),
        flat(data.test_images),
        torch.from_numpy(data.test_labels),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", default="60")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "spine")
    ap.add_argument("--threads", default="0", help="torch threads per run (0: torch's default)")
    args = ap.parse_args()
    s = args.seconds
    digits = run(args.out, args.threads, "digits", "--method", "simclr", "--dataset", "digits", "--seconds", s)
    rand = random_encoder("digits", calibrate=False)
    on = run(args.out, args.threads, "shapes-jitter", "--method", "simclr", "--dataset", "shapes", "--seconds", s)
    off = run(
        args.out,
        args.threads,
        "shapes-no-jitter",
        *("--method", "simclr", "--dataset", "shapes", "--seconds", s, "--opt", "jitter_p=0"),
    )
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {s} s per run\n")
    print("| data set | encoder | kNN top-1 | linear probe | steps | views/s |\n|---|---|---|---|---|---|")
    print(
        f"| digits | SimCLR {s} s | {digits['knn_top1']:.3f} | {digits['linear_probe']:.3f} | {digits['steps']} "
        f"| {digits['views_per_second']:.0f} |"
    )
    print(f"| digits | random init, same architecture | {rand['knn_top1']:.3f} | {rand['linear_probe']:.3f} | 0 | – |")
    print(f"| digits | raw pixels | – | {raw_pixel_probe('digits'):.3f} | – | – |")
    for name, r in (("SimCLR, colour jitter on", on), ("SimCLR, colour jitter off", off)):
        print(
            f"| shapes | {name} | {r['knn_top1']:.3f} | {r['linear_probe']:.3f} | {r['steps']} "
            f"| {r['views_per_second']:.0f} |"
        )


if __name__ == "__main__":
    main()
