"""Where a run's final evaluation spends its time: embedding, kNN, linear probe (and a torch L-BFGS probe).

    python benchmarks/final_scores.py [--datasets shapes digits] [--seconds 30] [--threads 1] [--repeats 2]

For each data set, trains the default SimCLR run for ``--seconds`` (as ``python -m cl_core train`` does), then
times, fastest of ``--repeats``, the parts of ``evaluation.summary_scores``: embedding the kNN's
``train.knn_max_train`` training images and the whole test split, ``metrics.knn_top1`` on them, and
``metrics.linear_probe`` (scikit-learn's StandardScaler + LogisticRegression). For comparison it also fits the
same objective (multinomial, L2 with C = 1) in float64 with torch's full-batch L-BFGS, the obvious candidate
for a faster probe. Prints the times, the probe accuracies and the run's own ``summary_seconds``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cl_core import evaluation, metrics  # noqa: E402
from cl_core.data import nchw  # noqa: E402
from cl_core.presets import preset_config  # noqa: E402
from cl_core.trainer import train  # noqa: E402


def torch_probe(x: torch.Tensor, y: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor) -> float:
    """scikit-learn's objective (mean cross-entropy + ||w||^2 / (2n), standardised features) by torch L-BFGS."""
    x, xt = x.double(), xt.double()
    mean, std = x.mean(0), x.std(0, correction=0).clamp_min(1e-12)
    x, xt = (x - mean) / std, (xt - mean) / std
    classes, yi = torch.unique(y.long(), return_inverse=True)
    w = torch.zeros(x.shape[1], len(classes), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(classes), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=1000, tolerance_grad=1e-6, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(x @ w + b, yi) + w.pow(2).sum() / (2 * len(x))
        loss.backward()
        return loss

    opt.step(objective)
    with torch.no_grad():
        return float((classes[(xt @ w + b).argmax(1)] == yt.long()).double().mean())


def fastest(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def measure(name: str, seconds: float, threads: int, repeats: int) -> tuple:
    cfg = preset_config("simclr", name)
    cfg.train.seconds, cfg.train.threads = seconds, threads
    result = train(cfg.validate())
    method = result.method.eval()
    s = evaluation.setup(cfg, torch.device("cpu"))
    test_images = nchw(s.data.test_images)

    def embed_both() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # as evaluation.summary_scores does
        bank, y = evaluation._memory(method, s, cfg.train.knn_max_train, cfg.train.seed)
        return bank, y, evaluation.embed(method, test_images, s.size)[0]

    t_embed, (bank, y, queries) = fastest(embed_both, repeats)
    yt = torch.from_numpy(s.data.test_labels)
    t_knn, _ = fastest(lambda: metrics.knn_top1(bank, y, queries, yt), repeats)
    t_probe, acc = fastest(lambda: metrics.linear_probe(bank, y, queries, yt), repeats)
    t_torch, acc_torch = fastest(lambda: torch_probe(bank, y, queries, yt), repeats)
    shape = f"{len(bank)} + {len(queries)} x {bank.shape[1]}"
    return name, shape, result.summary["summary_seconds"], t_embed, t_knn, t_probe, acc, t_torch, acc_torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["shapes", "digits"])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = [measure(name, args.seconds, args.threads, args.repeats) for name in args.datasets]
    print(f"\n{args.seconds:g} s SimCLR runs, {args.threads} thread(s), torch {torch.__version__}, "
          f"fastest of {args.repeats}\n")  # fmt: skip
    print("| data set | features (memory + test x F) | run's summary_seconds | embed | kNN | linear probe (acc) | "
          "torch L-BFGS probe (acc) |\n|---|---|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, shape, summary, t_embed, t_knn, t_probe, acc, t_torch, acc_torch in rows:
        print(f"| {name} | {shape} | {summary:.2f} s | {t_embed:.2f} s | {t_knn:.2f} s | {t_probe:.2f} s ({acc:.4f}) "
              f"| {t_torch:.2f} s ({acc_torch:.4f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
