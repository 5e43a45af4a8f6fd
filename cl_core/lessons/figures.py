"""The figures a lesson names: one for all its runs (loss, kNN, a metric's bars) or one per run, side by side."""

from __future__ import annotations

from typing import Any

import numpy as np

from cl_core.lessons.measures import background_colours, run_values
from cl_core.lessons.schema import PER_RUN_FIGURES, Lesson, text
from cl_core.runs import Run

METRIC_TITLES = {  # short: the bar charts often stand three in a row
    "knn_top1": "kNN accuracy: class",
    "colour_knn": "kNN accuracy: background colour",
    "linear_probe": "Linear probe: class",
    "std": "Spread: std per dimension",
    "effective_rank": "Effective rank",
    "uniformity": "Uniformity (lower: more even)",
    "alignment": "Alignment (lower: views closer)",
    "pos_sim_mean": "Positive pairs: mean cosine",
    "neg_sim_mean": "Negative pairs: mean cosine",
    "final_loss": "Final loss",
    "loss_floor": "Temperature floor",
    "prototypes_used": "Prototypes in use",
    "pos_dist": "Positive pairs: mean distance",
    "neg_dist": "Negative pairs: mean distance",
}
COLOUR_NAMES = ("red", "yellow", "green", "cyan", "blue", "magenta")  # the 6 hue bins of background_hue_bins


def _still(fig: Any, title: str) -> Any:
    """One frame, no slider or play button, titled with the run."""
    fig.frames = []
    fig.layout.sliders, fig.layout.updatemenus = (), ()
    return fig.update_layout(title_text=title)


def _run_figure(kind: str, run: Run, title: str) -> Any | None:
    from cl_core import figures, figures_embeddings
    from cl_core.methods import temperature_of
    from cl_core.projection import project_2d

    steps = run.snapshot_steps()
    if not steps:
        return None
    snap, m = run.snapshot(steps[-1]), run.config["method"]
    if kind in ("projection", "projection_colour"):
        if kind == "projection":
            labels, names = snap["labels"], _class_names(run)
        elif run.config["data"]["name"] == "shapes":
            d = run.config["data"]
            labels = background_colours(d["root"], d["image_size"], run.config["train"]["seed"])[snap["probe_index"]]
            names = list(COLOUR_NAMES)
        else:
            return None
        points = [project_2d(snap["features"], "pca")]
        fig = figures_embeddings.projection_scatter(points, labels, names, [steps[-1]], method="pca")
        return _still(fig, f"{title}: {'shape' if kind == 'projection' else 'background colour'} (PCA)")
    if kind in ("similarity_hist", "distance_hist"):
        pos, neg = figures_embeddings.pair_similarities(snap["similarity"])
        if kind == "distance_hist":
            dist = lambda c: np.sqrt(np.clip(2 - 2 * c, 0, None))  # noqa: E731 - unit vectors: |a-b|^2 = 2 - 2cos
            return _still(
                figures_embeddings.distance_histograms(dist(pos), dist(neg), m["margin"]), f"{title}: distances"
            )
        fig = figures_embeddings.similarity_histograms(pos, neg, temperature_of(m))
        return _still(fig, f"{title}: pair similarities")
    if kind == "similarity_matrix":
        return _still(
            figures_embeddings.similarity_matrix([snap["similarity"]], [steps[-1]]), f"{title}: similarity matrix"
        )
    rows = [r for r in run.metrics if r.get("snapshot")]
    if kind == "rank_std" and rows:
        healthy = rows[-1].get("std_healthy", 0.0)
        fig = figures.rank_and_std(
            [r["step"] for r in rows], [r["effective_rank"] for r in rows], [r["std"] for r in rows], healthy
        )
        return _still(fig, f"{title}: effective rank and std")
    if kind == "spectrum":
        svs = [run.snapshot(s)["singular_values_projections"] for s in steps]
        return _still(figures.spectrum(svs, steps), f"{title}: singular values")
    return None


def _class_names(run: Run) -> list[str] | None:
    if run.config["data"]["name"] == "shapes":
        from cl_core.shapes import SHAPE_CLASSES

        return list(SHAPE_CLASSES)
    return None


def _cross_figure(kind: str, runs: dict[str, Run], labels: dict[str, str]) -> Any | None:
    from cl_core import figures
    from cl_core.report import overlay_figure

    if kind in ("loss", "knn", "align_uniform"):
        return overlay_figure(kind, {labels[name]: run for name, run in runs.items()})
    metric = kind.removeprefix("metric:")
    vals = {labels[n]: v for n, r in runs.items() if (v := run_values(r).get(metric)) is not None}
    if not vals:
        return None
    fig = figures.sweep_chart(list(vals), list(vals.values()), "run", metric)  # its layout, with bars instead
    fig.data = ()
    fig.add_bar(
        x=list(vals),
        y=list(vals.values()),
        text=[f"{v:.3g}" for v in vals.values()],
        textposition="auto",
        marker_color=figures.OKABE_ITO[0],
        name=metric,
    )
    return fig.update_layout(title_text=METRIC_TITLES.get(metric, metric), xaxis_title=None, yaxis_title=metric)


def lesson_figures(lesson: Lesson, runs: dict[str, Run], lang: str = "en") -> list[tuple[str, list[Any]]]:
    """(kind, figures) per figure kind of the lesson: one figure for all runs, or one per run (side by side)."""
    labels = {r.name: text(r.label, lang) for r in lesson.runs}
    out = []
    for kind in lesson.figures:
        if kind in PER_RUN_FIGURES:
            figs = [_run_figure(kind, runs[r.name], labels[r.name]) for r in lesson.runs if r.name in runs]
        else:
            figs = [_cross_figure(kind, {n: r for n, r in runs.items()}, labels)]
        figs = [f for f in figs if f is not None]
        if figs:
            out.append((kind, figs))
    return out


def figure_rows(groups: list[tuple[str, list[Any]]]) -> list[list[tuple[str, Any]]]:
    """``lesson_figures``' groups laid out in rows of (kind, figure): per-run figures side by side (two or three
    a row); consecutive one-figure kinds share a row too."""
    rows: list[list] = []
    for kind, figs in groups:
        if len(figs) == 1 and kind != "loss":
            if rows and rows[-1][0][0] == "single" and len(rows[-1]) < 3:
                rows[-1].append(("single", figs[0]))
            else:
                rows.append([("single", figs[0])])
            continue
        per_row = 2 if kind == "similarity_hist" else 3
        rows += [[(kind, f) for f in figs[i : i + per_row]] for i in range(0, len(figs), per_row)]
    return rows
