"""A saved run as series, figures and files: what `python -m cl_core eval` prints and writes.

``run_series`` turns metrics.jsonl into per-key lists; ``run_figures`` builds every figure of one run;
``report`` writes the self-contained HTML page; ``export_projector`` writes the TSV pair that
TensorBoard's Embedding Projector (projector.tensorflow.org, "Load") opens as it is.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from cl_core import figures
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


def snapshot_pairs(snap: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative cosine similarities of the probe batch's (2M, 2M) matrix."""
    sim = snap["similarity"]
    m = len(sim) // 2
    idx = np.arange(2 * m)
    pos = sim[idx, (idx + m) % (2 * m)]
    neg_mask = ~np.eye(2 * m, dtype=bool)
    neg_mask[idx, (idx + m) % (2 * m)] = False
    return pos, sim[neg_mask]


def run_figures(run: Run, projection: str = "pca") -> list[go.Figure]:
    """Every figure of one run: loss, kNN, collapse monitors, alignment–uniformity, spectrum, similarities."""
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
        figs.append(figures.similarity_matrix([sn["similarity"] for sn in snaps], steps))
        pos, neg = snapshot_pairs(snaps[-1])
        method = run.config.get("method", {})
        if method.get("name") == "contrastive":
            figs.append(
                figures.distance_histograms(
                    np.sqrt(np.clip(2 - 2 * pos, 0, None)),
                    np.sqrt(np.clip(2 - 2 * neg, 0, None)),
                    method.get("margin", 1.0),
                )
            )
        else:
            figs.append(figures.similarity_histograms(pos, neg, method.get("temperature")))
        from cl_core.projection import project_snapshots

        points = project_snapshots([sn["features"] for sn in snaps], method=projection)
        names = run.status.get("class_names")
        figs.append(figures.projection_scatter(points, snaps[-1]["labels"], names, steps, method=projection))
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


def metrics_csv(run: Run) -> str:
    """The training rows of metrics.jsonl as CSV (one column per key)."""
    rows = [r for r in run.metrics if not r.get("snapshot")]
    cols = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def export_projector(
    run: Run, out_dir: str | Path, step: int | None = None, class_names: list[str] | None = None
) -> tuple[Path, Path]:
    """vectors.tsv (one embedding per line) + metadata.tsv (header; index, label, class) of a snapshot."""
    steps = run.snapshot_steps()
    if not steps:
        raise ValueError(f"run {run.id} has no snapshots to export")
    snap = run.snapshot(steps[-1] if step is None else step)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vectors, meta = out / "vectors.tsv", out / "metadata.tsv"
    np.savetxt(vectors, snap["features"], delimiter="\t", fmt="%.6g")
    names = class_names or run.status.get("class_names") or []
    lines = ["index\tlabel\tclass"]
    for idx, label in zip(snap["probe_index"], snap["labels"]):
        cls = names[int(label)] if int(label) < len(names) else str(int(label))
        lines.append(f"{int(idx)}\t{int(label)}\t{cls}")
    meta.write_text("\n".join(lines) + "\n")
    return vectors, meta
