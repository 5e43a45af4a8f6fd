"""Time to accuracy: every method's kNN top-1 after 30, 60 and 120 s of training, beside a floor and a ceiling.

    python benchmarks/time_to_accuracy.py [--seconds 30 60 120] [--datasets digits shapes] [--methods moco ...]
                                          [--threads 1] [--parallel 1] [--out DIR]

Each cell is its own run with that budget (``python -m cl_core train --seconds S``, so a 30 s run has the
learning-rate schedule of a 30 s run, not the first 30 s of a longer one), in a child process through
``methods_table.ssl_run``; the floor (random init, no training) and the ceiling (supervised, same seconds)
are ``methods_table``'s too. A row's runs are queued next to each other (one after the other with
``--parallel 1``), so its ratio is measured side by side: the share of the longest budget's kNN gain over
the random-init floor reached at each shorter budget. Prints one markdown table per data set and writes it
with the raw numbers, the load average before and after and the host to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from methods_table import ROOT, child, fmt, ssl_run  # noqa: E402

from cl_core.methods import METHODS  # noqa: E402

FLOOR, CALIBRATED, CEILING = "random init (floor)", "random init, batch-norm statistics of the data", "supervised"


def run_cell(row: str, dataset: str, seconds: float, threads: int, runs: Path) -> dict[str, Any]:
    """One floor, ceiling or method run; with the 1-minute load average when it started and its wall time."""
    load, t0 = os.getloadavg()[0], time.perf_counter()
    if row in (FLOOR, CALIBRATED):
        out = child("random" if row == FLOOR else "calibrated", dataset, 0, threads)
    elif row == CEILING:
        out = child("supervised", dataset, seconds, threads)
    else:
        out = ssl_run(row, dataset, seconds, threads, runs / f"{seconds:g}s")
    out = {**out, "load_at_start": round(load, 2), "wall_seconds": round(time.perf_counter() - t0, 1)}
    print(f"{dataset:8} {row:14.14} {seconds:5g}s  {out}", file=sys.stderr, flush=True)
    return out


def gain_share(cells: dict[float, dict[str, Any]], floor: float | None, short: float, long: float) -> float | None:
    """(kNN at ``short`` - floor) / (kNN at ``long`` - floor): the share of the longer run's gain reached sooner.

    None where the longer run did not beat the floor."""
    a, b = cells.get(short, {}).get("knn_top1"), cells.get(long, {}).get("knn_top1")
    if None in (a, b, floor) or b <= floor:  # no gain to share
        return None
    return (a - floor) / (b - floor)


def knn_text(cell: dict[str, Any]) -> str:
    return f"error: {' '.join(cell['error'])}" if "error" in cell else fmt(cell.get("knn_top1"))


def table(results: dict[str, dict[float, dict[str, Any]]], budgets: list[float]) -> str:
    """Markdown: kNN and steps per budget, and the gain shares, one row per encoder of one data set."""
    s = [f"{b:g} s" for b in budgets]
    shares = [f"gain {b:g} s / {budgets[-1]:g} s" for b in budgets[:-1]]
    head = ["encoder", *(f"kNN {x}" for x in s), *(f"steps {x}" for x in s), *shares]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    floor = results.get(FLOOR, {}).get(0.0, {}).get("knn_top1")
    for row, cells in results.items():
        if not (trained := row not in (FLOOR, CALIBRATED)):  # the same encoder at every budget
            cells = dict.fromkeys(budgets, cells.get(0.0, {}))
        knn = [knn_text(cells.get(b, {})) for b in budgets]
        steps = [fmt(cells.get(b, {}).get("steps")) for b in budgets]
        ratio = [fmt(gain_share(cells, floor, b, budgets[-1]) if trained else None, 2) for b in budgets[:-1]]
        name = f"{row} (ceiling)" if row == CEILING else row
        lines.append(f"| {name} | " + " | ".join(knn + steps + ratio) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, nargs="+", default=[30.0, 60.0, 120.0], help="training budgets")
    p.add_argument("--datasets", nargs="+", default=["digits", "shapes"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="METHOD")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads per run (1: stable on a shared machine)")
    p.add_argument("--parallel", type=int, default=1, help="runs at the same time")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "time_to_accuracy")
    args = p.parse_args()
    budgets = sorted(set(args.seconds))
    rows = [FLOOR, CALIBRATED, *args.methods, CEILING]
    host = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch": torch.__version__,
        "threads_per_run": args.threads,
        "parallel": args.parallel,
    }
    load_before, started = tuple(round(x, 2) for x in os.getloadavg()), time.strftime("%Y-%m-%d %H:%M:%S")
    # a row's budgets one after the other, so the row's ratio compares runs made under the same load
    cells = [(d, r, b) for d in args.datasets for r in rows for b in ([0.0] if r in (FLOOR, CALIBRATED) else budgets)]
    with tempfile.TemporaryDirectory(prefix="time_to_accuracy_") as runs, ThreadPoolExecutor(args.parallel) as pool:
        futures = {c: pool.submit(run_cell, c[1], c[0], c[2], args.threads, Path(runs)) for c in cells}
        raw = {c: f.result() for c, f in futures.items()}
    load_after = tuple(round(x, 2) for x in os.getloadavg())
    results: dict[str, dict[str, dict[float, Any]]] = {d: {r: {} for r in rows} for d in args.datasets}
    for (d, r, b), cell in raw.items():
        results[d][r][b] = cell
    tables = "\n\n".join(f"**{d}**\n\n{table(results[d], budgets)}" for d in args.datasets)
    loads = f"load average (1, 5, 15 min) before {load_before}, after {load_after}"
    text = f"{tables}\n\n{', '.join(f'{k} {v}' for k, v in host.items())}\n{loads}; started {started}\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    raw_json = {"host": host, "load_before": load_before, "load_after": load_after, "started": started,
                "budgets": budgets, "results": results}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps(raw_json, indent=1))


if __name__ == "__main__":
    main()
