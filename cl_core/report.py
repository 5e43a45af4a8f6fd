"""A saved run as series, figures and files: what `python -m cl_core eval` prints and writes.

``run_series`` turns metrics.jsonl into per-key lists; ``run_figures`` builds every figure of one run;
``report`` writes the self-contained HTML page. The Embedding Projector export is cl_core.embedding_projector.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import plotly.graph_objects as go

from cl_core import figures, figures_embeddings
from cl_core.runs import Run

SUMMARY_ROWS = (
    "verdict",
    "knn_top1",
    "knn_protocol",
    "linear_probe",
    "final_loss",
    "chance_level",
    "std",
    "std_healthy",
    "effective_rank",
    "alignment",
    "uniformity",
    "contrast_acc",
    "contrast_entropy",
    "steps",
    "epochs",
    "seconds",
    "views_per_second",
)


def run_series(run: Run) -> dict[str, dict[str, list]]:
    """{"train": {"step": [...], "loss": [...], ...}, "snapshot": {"step": [...], "std": [...], ...}}."""
    out: dict[str, dict[str, list]] = {"train": {}, "snapshot": {}}
    for row in run.metrics:
        part = out["snapshot" if row.get("snapshot") else "train"]
        for key, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                part.setdefault(key, [])
        for key in part:
            value = row.get(key)
            part[key].append(value if isinstance(value, int | float) and not isinstance(value, bool) else None)
    return out


def _pairs(series: dict[str, list], key: str) -> tuple[list, list]:
    """(steps, values) where the value is present."""
    pts = [(s, v) for s, v in zip(series.get("step", []), series.get(key, [])) if v is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def run_figures(run: Run, projection: str = "pca") -> list[go.Figure]:
    """Every figure of one run: loss, kNN, collapse monitors, alignment–uniformity, spectrum, similarities."""
    from cl_core.methods import temperature_of

    s = run_series(run)
    name = run.config.get("method", {}).get("name", run.id)
    figs = []
    steps, loss = _pairs(s["train"], "loss")
    if steps:
        figs.append(
            figures.loss_curves(
                [{"name": name, "steps": steps, "loss": loss, "chance": run.summary.get("chance_level")}]
            )
        )
    k_steps, knn = _pairs(s["snapshot"], "knn_top1")
    if k_steps:
        figs.append(figures.knn_curve([{"name": name, "steps": k_steps, "knn": knn}]))
    snap_steps, std = _pairs(s["snapshot"], "std")
    if snap_steps:
        _, rank = _pairs(s["snapshot"], "effective_rank")
        healthy = next(v for v in s["snapshot"].get("std_healthy", [None]) + [0.0] if v is not None)
        figs.append(figures.rank_and_std(snap_steps, rank, std, healthy))
        _, align = _pairs(s["snapshot"], "alignment")
        _, unif = _pairs(s["snapshot"], "uniformity")
        figs.append(
            figures.align_uniform([{"name": name, "steps": snap_steps, "alignment": align, "uniformity": unif}])
        )
    steps = run.snapshot_steps()
    if steps:
        snaps = [run.snapshot(t) for t in steps]
        figs.append(figures.spectrum([sn["singular_values_projections"] for sn in snaps], steps))
        figs.append(figures_embeddings.similarity_matrix([sn["similarity"] for sn in snaps], steps))
        pos, neg = figures_embeddings.pair_similarities(snaps[-1]["similarity"])
        method = run.config.get("method", {})
        if method.get("name") == "contrastive":
            figs.append(
                figures_embeddings.distance_histograms(
                    np.sqrt(np.clip(2 - 2 * pos, 0, None)),
                    np.sqrt(np.clip(2 - 2 * neg, 0, None)),
                    method.get("margin", 1.0),
                )
            )
        else:
            figs.append(figures_embeddings.similarity_histograms(pos, neg, temperature_of(method)))
        from cl_core.projection import project_snapshots

        points = project_snapshots([sn["features"] for sn in snaps], method=projection)
        names = run.status.get("class_names")
        figs.append(figures_embeddings.projection_scatter(points, snaps[-1]["labels"], names, steps, method=projection))
    return figs


def summary_table(run: Run) -> list[dict[str, Any]]:
    return [{"metric": k, "value": run.summary[k]} for k in SUMMARY_ROWS if run.summary.get(k) is not None]


def config_table(run: Run) -> list[dict[str, Any]]:
    return [
        {"setting": f"{sec}.{k}", "value": str(v)}
        for sec, part in run.config.items()
        if isinstance(part, dict)
        for k, v in part.items()
    ]


def report(run: Run, projection: str = "pca") -> str:
    """The self-contained HTML report of one run: verdict, summary, config and every figure."""
    reasons = run.summary.get("verdict_reasons") or []
    tables = {"Summary": summary_table(run), "Verdict": [{"reason": r} for r in reasons], "Config": config_table(run)}
    title = f"Run {run.id} — {run.state}"
    return figures.report_html(run_figures(run, projection), title, tables)


def metrics_csv(run: Run, snapshots: bool = False) -> str:
    """metrics.jsonl as CSV: one row per logged step (and, with ``snapshots``, per snapshot), one column per
    scalar field."""
    rows = [r for r in run.metrics if snapshots or not r.get("snapshot")]
    return _csv([{k: v for k, v in r.items() if not isinstance(v, list | dict)} for r in rows])


def _csv(rows: list[dict[str, Any]]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ comparing runs

COMPARE_METRICS = (
    "final_loss",
    "chance_level",
    "loss_over_chance",  # final loss / ln C: 1 = chance, comparable across batch sizes
    "knn_top1",
    "linear_probe",
    "alignment",
    "uniformity",
    "effective_rank",
    "std",
    "steps",
    "seconds",
    "views_per_second",
)
_SECTION_ORDER = {"method": 0, "train": 1, "augment": 2, "data": 3}  # which differences name a run first


def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json as {dotted name: value}; the method's options not set in it appear with their defaults
    (not for a run from outside, whose loop set none of them)."""
    from cl_core.methods import METHODS

    out: dict[str, Any] = {}
    for section, part in config.items():
        for key, value in part.items() if isinstance(part, dict) else ():
            if isinstance(value, dict):
                out |= {f"{section}.{key}.{k}": v for k, v in value.items()}
            else:
                out[f"{section}.{key}"] = value
    cls = None if config.get("external") else METHODS.get(config.get("method", {}).get("name"))
    for key, opt in cls.OPTIONS.items() if cls else ():
        out.setdefault(f"method.options.{key}", opt.default)
    return out


def differing_keys(flats: list[dict[str, Any]]) -> list[str]:
    """The settings whose values are not the same in every flattened config (a missing one counts as None)."""
    keys = list(dict.fromkeys(k for f in flats for k in f))
    return [k for k in keys if len({repr(f.get(k)) for f in flats}) > 1]


def run_names(runs: list[Run]) -> list[str]:
    """Short distinct names from the settings the runs differ in (``temperature=0.1, lr=0.002``), else their ids."""
    flats = [flat_config(r.config) for r in runs]
    diff = sorted(differing_keys(flats), key=lambda k: _SECTION_ORDER.get(k.split(".")[0], 9))[:3]
    names = []
    for run, flat in zip(runs, flats):
        parts = [
            str(flat.get(k)) if k in ("method.name", "data.name") else f"{k.split('.')[-1]}={flat.get(k)}" for k in diff
        ]
        names.append(", ".join(parts) or run.id)
    if len(set(names)) < len(names):
        names = [n if n == r.id else f"{n} ({r.id[-6:]})" for n, r in zip(names, runs)]
    return names


def compare_table(runs: list[Run]) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per run (name, id, state, COMPARE_METRICS, verdict, every setting) and the settings that differ."""
    flats = [flat_config(r.config) for r in runs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    rows = []
    for name, run, flat in zip(run_names(runs), runs, flats):
        s = run.summary
        loss, chance = s.get("final_loss"), s.get("chance_level")
        metrics = {k: s.get(k) for k in COMPARE_METRICS} | {
            "loss_over_chance": loss / chance if loss is not None and chance else None
        }
        settings = {k: str(v) if isinstance(v, list | dict) else v for k, v in ((k, flat.get(k)) for k in keys)}
        rows.append({"run": name, "id": run.id, "state": run.state, **metrics, "verdict": s.get("verdict"), **settings})
    return rows, differing_keys(flats)


def overlay_figure(kind: str, runs: dict[str, Run], normalise: bool = False) -> go.Figure:
    """One figure over several runs named by the keys: ``loss`` (raw, or / ln C), ``knn`` or ``align_uniform``."""
    series = {name: run_series(run) for name, run in runs.items()}
    if kind == "loss":
        data = []
        for name, run in runs.items():
            steps, loss = _pairs(series[name]["train"], "loss")
            chance = run.summary.get("chance_level") or run.status.get("chance_level")
            data.append({"name": name, "steps": steps, "loss": loss, "chance": chance, "chance_label": "chance ln C"})
        return figures.loss_curves(data, normalise=normalise)
    if kind == "knn":
        return figures.knn_curve(
            [dict(zip(("name", "steps", "knn"), (n, *_pairs(s["snapshot"], "knn_top1")))) for n, s in series.items()]
        )
    if kind == "align_uniform":
        data = []
        for name, s in series.items():
            steps, align = _pairs(s["snapshot"], "alignment")
            _, unif = _pairs(s["snapshot"], "uniformity")
            data.append({"name": name, "steps": steps, "alignment": align, "uniformity": unif})
        return figures.align_uniform(data)
    raise ValueError(f"unknown figure {kind!r}; known: loss, knn, align_uniform")


def comparison_csv(runs: list[Run]) -> str:
    """Every run's training rows as one CSV, with the run's name and id in the first columns."""
    return _csv(
        [{"run": n, "id": r.id, **m} for n, r in zip(run_names(runs), runs) for m in r.metrics if not m.get("snapshot")]
    )


def comparison_report(runs: list[Run], title: str = "Comparison") -> str:
    """The self-contained HTML comparison: overlaid figures, summaries, the settings that differ, verdicts."""
    names = run_names(runs)
    rows, diff = compare_table(runs)
    named = dict(zip(names, runs))
    summary = [{k: row[k] for k in ("run", "id", "state", *COMPARE_METRICS, "verdict")} for row in rows]
    verdicts = [
        {"run": n, "verdict": r.summary.get("verdict"), "reasons": " ".join(r.summary.get("verdict_reasons") or [])}
        for n, r in named.items()
    ]
    shared = [k for k in rows[0] if k not in diff and k not in summary[0]] if rows else []
    tables = {
        "Summary": summary,
        "Verdicts": verdicts,
        "Settings that differ": [{"setting": k, **{row["run"]: row[k] for row in rows}} for k in diff],
        "Settings in common": [{"setting": k, "value": rows[0][k]} for k in shared],
    }
    figs = [overlay_figure("loss", named)]
    if any(r.summary.get("chance_level") or r.status.get("chance_level") for r in runs):
        figs.append(overlay_figure("loss", named, normalise=True))
    figs += [overlay_figure("knn", named), overlay_figure("align_uniform", named)]
    return figures.report_html(figs, f"{title}: {len(runs)} runs", tables)
