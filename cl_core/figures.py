"""Plotly figure builders for training curves, the shared style, and the HTML report. No torch, no Streamlit.

Plain data (lists, NumPy arrays) in, go.Figure out. Every builder here, in cl_core.figures_embeddings and in
cl_core.figures_playground ends in style(): one template, large fonts and the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative
from plotly.subplots import make_subplots

FONT_SIZE = 18
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
CLASS_COLOURS = qualitative.Safe  # 11 colour-blind-safe colours for class labels
POS_COLOUR, NEG_COLOUR = OKABE_ITO[2], OKABE_ITO[3]
KNN_PROTOCOL = "kNN top-1 (k=20, T=0.1)"
# plotly_white's page, axis, 3-D scene and hover styling, registered under its own name. Naming a template
# validates a copy of it in every figure, and again whenever a cached figure is read back: the whole
# plotly_white (with defaults for two dozen trace types these figures never use) costs ~9 ms a time and 7 KB
# of every chart's JSON; this part of it ~3 ms and 1.6 KB (benchmarks/app_speed.py: page switches).
TEMPLATE = "cl_explorer"
_WHITE = pio.templates["plotly_white"].layout
_KEEP = ("font", "title", "paper_bgcolor", "plot_bgcolor", "xaxis", "yaxis", "scene", "hoverlabel", "hovermode")
_KEEP += ("annotationdefaults", "shapedefaults", "autotypenumbers")  # reference lines, their labels, numeric axes
pio.templates[TEMPLATE] = go.layout.Template(layout={k: _WHITE[k] for k in _KEEP})


def style(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None, **layout) -> go.Figure:
    """The shared layout: the white TEMPLATE, base font 18, Okabe-Ito colourway, titled axes."""
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"size": FONT_SIZE},
        colorway=OKABE_ITO,
        legend={"bgcolor": "rgba(255,255,255,0.6)"},
        margin={"l": 80, "r": 30, "t": 80, "b": 70},
        **layout,
    )
    if x_title:
        fig.update_xaxes(title_text=x_title)
    if y_title:
        fig.update_yaxes(title_text=y_title)
    return fig


def ema(values: Sequence[float], smooth: float = 0.9) -> np.ndarray:
    """Debiased exponential moving average (as TensorBoard's smoothing slider). (T,) -> (T,)."""
    out, acc = np.empty(len(values)), 0.0
    for t, v in enumerate(values):
        acc = smooth * acc + (1 - smooth) * v
        out[t] = acc / (1 - smooth ** (t + 1))
    return out


def loss_curves(runs: list[dict], smooth: float = 0.9, normalise: bool = False) -> go.Figure:
    """Raw (faint) and smoothed loss per run, with each run's chance level ln C where given.

    runs: dicts of name, steps (T,), loss (T,), optional chance (ln C) and chance_label.
    normalise: divide by ln C (1 = chance); runs without a chance level stay raw.
    """
    fig = go.Figure()
    for i, run in enumerate(runs):
        colour, name, steps = OKABE_ITO[i % len(OKABE_ITO)], run["name"], list(run["steps"])
        chance = run.get("chance")
        scale = chance if normalise and chance else 1.0
        loss = np.asarray(run["loss"], dtype=float) / scale
        common = {"x": steps, "legendgroup": name, "line": {"color": colour}}
        fig.add_scatter(y=loss, name=f"{name} (raw)", opacity=0.25, showlegend=False, hoverinfo="skip", **common)
        fig.add_scatter(y=ema(loss, smooth), name=name, line_width=3, **common)
        if chance and steps:
            label = run.get("chance_label", "chance ln(2N-1)")
            fig.add_scatter(
                x=[steps[0], steps[-1]],
                y=[chance / scale] * 2,
                mode="lines",
                legendgroup=name,
                name=f"{name}: {label} = {chance:.2f}",
                line={"color": colour, "dash": "dash"},
            )
    y_title = "loss / ln C (1 = chance)" if normalise else "loss (nats)"
    return style(fig, "Training loss", "training step", y_title, hovermode="x unified")


def spectrum(singular_values: list[np.ndarray], steps: list[int]) -> go.Figure:
    """Singular values of the embedding matrix at each snapshot, largest first, log scale. Each: (K,)."""
    fig = go.Figure()
    shades = np.linspace(1.0, 0.15, len(steps))[::-1]  # latest opaque
    for s, t, a in zip(singular_values, steps, shades):
        s = np.asarray(s)
        fig.add_scatter(
            x=np.arange(1, len(s) + 1),
            y=s,
            mode="lines",
            name=f"step {t}",
            opacity=float(a),
            line={"color": OKABE_ITO[0], "width": 3 if t == steps[-1] else 1.5},
        )
    fig.update_yaxes(type="log")
    return style(fig, "Singular value spectrum", "index (largest first)", "singular value (log scale)")


def rank_and_std(
    steps: list[int], effective_rank: list[float], std: list[float], std_healthy: float, rank_max: float | None = None
) -> go.Figure:
    """Effective rank (RankMe) and per-dimension std over training, with their healthy references."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_scatter(x=steps, y=effective_rank, name="effective rank", line={"width": 3}, row=1, col=1)
    fig.add_scatter(x=steps, y=std, name="per-dim std", line={"width": 3, "color": OKABE_ITO[1]}, row=2, col=1)
    fig.add_hline(y=std_healthy, line_dash="dash", annotation_text=f"healthy 1/√d = {std_healthy:.3g}", row=2, col=1)
    if rank_max:
        fig.add_hline(y=rank_max, line_dash="dash", annotation_text=f"max min(N, d) = {rank_max:g}", row=1, col=1)
    fig.add_hline(y=0, line_dash="dot", annotation_text="collapsed", row=2, col=1)
    fig.update_yaxes(title_text="effective rank", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="std (unit vectors)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="training step", row=2, col=1)
    return style(fig, "Collapse monitors: effective rank and per-dimension std", height=650)


def align_uniform(runs: list[dict]) -> go.Figure:
    """Alignment vs uniformity trajectories (Wang & Isola 2020); down-left is better.

    runs: dicts of name, alignment (T,), uniformity (T,), steps (T,).
    """
    fig = go.Figure()
    for i, run in enumerate(runs):
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        n = len(run["steps"])
        fig.add_scatter(
            x=run["uniformity"],
            y=run["alignment"],
            mode="lines+markers",
            name=run["name"],
            customdata=run["steps"],
            hovertemplate="step %{customdata}<br>uniformity %{x:.3f}<br>alignment %{y:.3f}<extra></extra>",
            line={"color": colour, "width": 2},
            marker={"size": [8] * (n - 1) + [16], "symbol": ["circle"] * (n - 1) + ["star"]},
        )
    return style(
        fig,
        "Alignment vs uniformity (★ = latest)",
        "uniformity log E exp(−2‖z_i − z_j‖²) (lower: more uniform)",
        "alignment E‖z − z⁺‖² (lower: better aligned)",
    )


def knn_curve(runs: list[dict]) -> go.Figure:
    """kNN top-1 accuracy on the test set over training. runs: dicts of name, steps, knn (fractions 0-1)."""
    fig = go.Figure()
    for run in runs:
        fig.add_scatter(x=run["steps"], y=run["knn"], mode="lines+markers", name=run["name"], line={"width": 3})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return style(fig, "Test accuracy of a weighted kNN on backbone features", "training step", KNN_PROTOCOL)


def sweep_chart(values: Sequence, metric_values: Sequence[float], param_name: str, metric_name: str) -> go.Figure:
    """One metric against the swept values of one parameter; a log axis when positive values span > 10x."""
    fig = go.Figure(
        go.Scatter(
            x=list(values),
            y=list(metric_values),
            mode="lines+markers",
            line={"width": 3},
            marker={"size": 12},
            name=metric_name,
        )
    )
    num = np.asarray([v for v in values if isinstance(v, int | float) and not isinstance(v, bool)], dtype=float)
    if len(num) == len(values) and len(num) > 1 and num.min() > 0 and num.max() / num.min() > 10:
        fig.update_xaxes(type="log")
    return style(fig, f"{metric_name} vs {param_name}", param_name, metric_name)


def report_html(figures: list[go.Figure], title: str, tables: dict[str, list[dict]]) -> str:
    """A self-contained HTML page: tables, then figures; plotly.js embedded once, no CDN."""
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for name, rows in tables.items():
        cols = list(dict.fromkeys(k for row in rows for k in row))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
        parts.append(f"<h2>{html.escape(name)}</h2><table><tr>{head}</tr>{body}</table>")
    for i, fig in enumerate(figures):
        parts.append(fig.to_html(full_html=False, include_plotlyjs=i == 0))
    return "".join(parts) + "</body></html>"


def _cell(v: object) -> str:
    return "" if v is None else html.escape(f"{v:.4g}" if isinstance(v, float) else str(v))
