"""Sweeps: one setting, a list of values, one ordinary run per value, and the sweep chart's points.

``plan`` resolves the setting (any name ``Config.set`` takes), parses every value to the field's type and
validates every config before anything runs; ``launch`` queues the runs on a JobManager and writes
``runs/<run-id>/sweep.json`` ({"sweep", "param", "value", "index", "size"}) into each, so that the runs
stay ordinary runs and ``find_sweeps`` can gather a sweep from the runs folder again (the app and the
CLI share it).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cl_core.config import Config, ConfigError
from cl_core.jobs import JobManager
from cl_core.runs import FINISHED, Run, RunError, new_run_id, read_json, write_json

SWEEP_FILE = "sweep.json"
MAX_VALUES = 24
# Settings that change how a run is measured or where it runs, not what it learns: not offered to sweep.
NOT_SWEPT = {
    "data.name", "data.root", "data.probe_size", "method.name", "train.device", "train.precision",
    "train.channels_last", "train.compile", "train.profile", "train.sync_bn", "train.stream_data",
    "train.log_every", "train.snapshots", "train.probe_pairs", "train.knn_max_train", "train.threads",
    "train.init_from",
}  # fmt: skip
METRICS = ("knn_top1", "linear_probe", "final_loss", "effective_rank", "std", "alignment", "uniformity")


@dataclass
class Sweep:
    """A launched sweep: the full dotted name of the setting, its parsed values and their run ids (in order)."""

    id: str
    param: str
    values: list[Any]
    run_ids: list[str]


def parameters(cfg: Config) -> list[str]:
    """What can be swept for ``cfg``'s method: its options, then the method, training, augmentation, data fields."""
    from cl_core.methods import get_method_class

    cls = get_method_class(cfg.method.name)
    out = [f"method.options.{k}" for k in cls.OPTIONS]
    skip = {"method.temperature": not cls.USES_TEMPERATURE, "method.margin": not cls.USES_MARGIN}
    for section in ("method", "train", "augment", "data"):
        for f in fields(getattr(cfg, section)):
            name = f"{section}.{f.name}"
            if f.name != "options" and name not in NOT_SWEPT and not skip.get(name):
                out.append(name)
    return out


def parse_values(values: str | Sequence[Any]) -> list[Any]:
    """``"0.05, 0.1,0.5"`` -> ``["0.05", "0.1", "0.5"]``; a sequence is taken as it is."""
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    items = [v for v in items if v != ""]
    if not items:
        raise ConfigError("values", "give at least one value, separated by commas (e.g. 0.05, 0.1, 0.5)")
    if len(items) > MAX_VALUES:
        raise ConfigError("values", f"at most {MAX_VALUES} values in one sweep; got {len(items)}")
    return items


def plan(base: Config, param: str, values: str | Sequence[Any]) -> tuple[str, list[Any], list[Config]]:
    """(full dotted name, parsed values, one validated config per value); ConfigError before anything runs."""
    name = base.resolve(param)
    parsed, configs = [], []
    for raw in parse_values(values):
        cfg = copy.deepcopy(base)
        cfg.set(name, raw)
        configs.append(cfg.validate())
        parsed.append(cfg.get(name))
    if len({repr(v) for v in parsed}) < len(parsed):
        raise ConfigError(name, f"each value once, please; got {', '.join(map(str, parsed))}")
    return name, parsed, configs


def launch(jobs: JobManager, base: Config, param: str, values: str | Sequence[Any], owner: str) -> Sweep:
    """Validate the whole sweep, then queue one run per value (the manager's concurrency limit applies)."""
    name, parsed, configs = plan(base, param, values)
    if jobs.limits:  # the server's caps hold for every value before the first run is queued
        for cfg in configs:
            jobs.limits.check_config(cfg)
        jobs.check_room(owner, len(configs))
    sweep = Sweep(new_run_id("sweep"), name, parsed, [])
    for i, (value, cfg) in enumerate(zip(parsed, configs)):
        run_id = jobs.submit(cfg, owner)
        member = {"sweep": sweep.id, "param": name, "value": value, "index": i, "size": len(configs)}
        write_json(jobs.runs_dir / run_id / SWEEP_FILE, member)
        sweep.run_ids.append(run_id)
    return sweep


def find_sweeps(runs_dir: str | Path) -> list[Sweep]:
    """Every sweep whose runs are in ``runs_dir``, newest first (runs deleted since are left out)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in Path(runs_dir).glob(f"*/{SWEEP_FILE}"):
        try:
            member = read_json(path)
        except RunError:
            continue
        if isinstance(member, dict) and {"sweep", "param", "value"} <= set(member):
            found.setdefault(str(member["sweep"]), []).append({**member, "run": path.parent.name})
    out = []
    for sweep_id in sorted(found, reverse=True):
        members = sorted(found[sweep_id], key=lambda m: m.get("index", 0))
        out.append(Sweep(sweep_id, members[0]["param"], [m["value"] for m in members], [m["run"] for m in members]))
    return out


def points(sweep: Sweep, runs: dict[str, Run], metric: str = "knn_top1") -> tuple[list[Any], list[float]]:
    """(values, metric values) of the sweep's finished runs that measured ``metric``, in sweep order."""
    xs, ys = [], []
    for value, run_id in zip(sweep.values, sweep.run_ids):
        run = runs.get(run_id)
        y = run.summary.get(metric) if run is not None and run.state in FINISHED else None
        if isinstance(y, int | float) and not isinstance(y, bool):
            xs.append(str(value).lower() if isinstance(value, bool) else value)
            ys.append(float(y))
    return xs, ys


def table(sweep: Sweep, runs: dict[str, Run]) -> list[dict[str, Any]]:
    """One row per value: its run, state, kNN, final loss and verdict (None until it has finished)."""
    rows = []
    for value, run_id in zip(sweep.values, sweep.run_ids):
        run = runs.get(run_id)
        s = run.summary if run is not None else {}
        rows.append(
            {
                sweep.param: value,
                "state": run.state if run is not None else "missing",
                "knn_top1": s.get("knn_top1"),
                "final_loss": s.get("final_loss"),
                "verdict": s.get("verdict"),
                "run": run_id,
            }
        )
    return rows


def suggest(cfg: Config, param: str) -> str:
    """A starting list of values for ``param`` around its current value, keeping only valid ones."""
    value = cfg.get(param)
    if isinstance(value, bool):
        return "true, false"
    if isinstance(value, int | float):
        kind = type(value)
        candidates = [value / 4, value, value * 4] if value else [0, 0.5, 1]
        candidates = list(dict.fromkeys(kind(round(c)) if kind is int else float(c) for c in candidates))
        valid = []
        for c in candidates:
            try:
                plan(cfg, param, [c])
                valid.append(c)
            except ConfigError:
                continue
        return ", ".join(f"{c:g}" for c in valid or [value])
    return str(value)
