"""The numbers a lesson's claims read from its runs, and the claims' verdicts over them."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cl_core.config import Config, ConfigError
from cl_core.doctor import read_loss
from cl_core.lessons.claims import LOG_METRICS, SUMMARY_METRICS, ClaimResult, evaluate_claim
from cl_core.lessons.schema import Lesson
from cl_core.runs import Run


def run_values(run: Run) -> dict[str, float]:
    """The numbers a claim can read from one run: summary fields, last per-step method logs, colour_knn, loss_floor."""
    out = {k: float(v) for k, v in run.summary.items()
           if k in SUMMARY_METRICS and isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
    rows = [r for r in run.metrics if not r.get("snapshot")]
    for key in LOG_METRICS:
        last = [r[key] for r in rows if isinstance(r.get(key), int | float)][-3:]
        if last:
            out[key] = float(np.mean(last))
    colour = colour_knn(run)
    if colour is not None:
        out["colour_knn"] = colour
    floor = loss_floor(run)
    if floor is not None:
        out["loss_floor"] = floor
    return out


def loss_floor(run: Run) -> float | None:
    """The temperature floor of the run's loss (``doctor.read_loss``): positives aligned, negatives orthogonal.

    Only SimCLR's and MoCo's losses have one; None for the other methods and for a run without a usable config
    (an external run's). N is the batch the run trained with (the summary's), else the config's.
    """
    try:
        cfg = Config.from_dict(run.config)
        m = cfg.method.name
        if m not in ("simclr", "moco"):
            return None
        n = int(run.summary.get("batch_size") or cfg.train.batch_size)
        queue = cfg.get("queue_size") if m == "moco" else 0
        return read_loss(0.0, n, m, cfg.method.temperature, queue_size=queue).floor  # the floor: N, T, K alone
    except (ConfigError, TypeError, ValueError):
        return None


def background_hue_bins(images: np.ndarray, bins: int = 6) -> np.ndarray:
    """Hue bin of each image's top-left pixel (the shapes' background: shapes never reach the corners). (N, H, W, 3)."""
    rgb = images[:, 0, 0, :].astype(float) / 255  # (N, 3)
    mx, mn = rgb.max(1), rgb.min(1)
    d = np.where(mx > mn, mx - mn, 1.0)
    r, g, b = rgb.T
    hue = np.select([mx == r, mx == g], [((g - b) / d) % 6, (b - r) / d + 2], (r - g) / d + 4) / 6  # in [0, 1)
    return np.minimum((hue * bins).astype(np.int64), bins - 1)


@lru_cache(maxsize=8)
def background_colours(root: str, image_size: int, seed: int) -> np.ndarray:
    """The background hue bin of every probe (test) image of the shapes data set."""
    from cl_core.data import load_data

    return background_hue_bins(load_data("shapes", root=root, image_size=image_size, seed=seed).test_images)


def colour_knn(run: Run) -> float | None:
    """How well the backbone features of the last snapshot tell the probe images' background colour apart.

    kNN top-1 (the summary's protocol) over 6 hue bins, half of the probe set as memory and half as
    queries; chance is about 1/6. None for data sets other than shapes or without a snapshot.
    """
    import torch

    from cl_core.metrics import knn_top1

    d = run.config.get("data", {})
    steps = run.snapshot_steps()
    if d.get("name") != "shapes" or not steps:
        return None
    snap = run.snapshot(steps[-1])
    colours = background_colours(d.get("root", "data"), d.get("image_size", 0), run.config["train"]["seed"])
    y = torch.from_numpy(colours[snap["probe_index"]])
    x = torch.from_numpy(snap["features"])
    return knn_top1(x[::2], y[::2], x[1::2], y[1::2])


def evaluate_lesson(lesson: Lesson, runs: dict[str, Run]) -> tuple[dict[str, dict[str, float]], list[ClaimResult]]:
    """Every run's numbers and every claim's verdict."""
    values = {name: run_values(run) for name, run in runs.items()}
    return values, [evaluate_claim(c, values) for c in lesson.claims]
