"""Plotly figure builders: plain data (lists, NumPy arrays) in, go.Figure out. No torch, no Streamlit.

Every builder ends in _style(): one template, large fonts and the Okabe-Ito colour-blind-safe palette.
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


def _style(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None, **layout) -> go.Figure:
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


def _animate(fig: go.Figure, frames: list[go.Frame], steps: Sequence[int]) -> go.Figure:
    """Attach one frame per training step, a step slider and a play button (none for a single step)."""
    if len(frames) < 2:
        return fig
    fig.frames = frames
    move = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    play = {"frame": {"duration": 600, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    slider = {
        "active": len(steps) - 1,
        "currentvalue": {"prefix": "step "},
        "pad": {"t": 50},
        "steps": [{"label": str(s), "method": "animate", "args": [[f.name], move]} for s, f in zip(steps, frames)],
    }
    buttons = [
        {"label": "▶", "method": "animate", "args": [None, play]},
        {"label": "❚❚", "method": "animate", "args": [[None], move]},
    ]
    menu = {"type": "buttons", "buttons": buttons, "showactive": False, "x": 0, "y": 0, "xanchor": "right"}
    fig.update_layout(sliders=[slider], updatemenus=[menu | {"yanchor": "top", "pad": {"t": 50, "r": 10}}])
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
    return _style(fig, "Training loss", "training step", y_title, hovermode="x unified")


def similarity_matrix(sims: list[np.ndarray], steps: list[int]) -> go.Figure:
    """Cosine similarity of the probe batch at each snapshot. sims: list of (2M, 2M), rows [view 1; view 2]."""
    m = len(sims[0]) // 2

    def heat(s: np.ndarray) -> go.Heatmap:
        return go.Heatmap(
            z=s,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            colorbar={"title": "cos"},
            hovertemplate="row %{y}, col %{x}<br>cos %{z:.2f}<extra></extra>",
        )

    fig = go.Figure(heat(sims[-1]))
    fig.add_hline(y=m - 0.5, line={"color": "black", "width": 1})  # the boundary between the two views
    fig.add_vline(x=m - 0.5, line={"color": "black", "width": 1})
    _animate(fig, [go.Frame(data=[heat(s)], name=str(t)) for s, t in zip(sims, steps)], steps)
    fig.update_yaxes(autorange="reversed", scaleanchor="x")
    title = "Cosine similarity, images ordered [view 1; view 2]: positive pairs form the two off-diagonal bands"
    return _style(fig, title, f"image (0-{m - 1}: view 1, {m}-{2 * m - 1}: view 2)", "image", height=700)


def pair_similarities(sim: np.ndarray, cross_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative cosines of a [view 1; view 2] similarity matrix (2M, 2M) -> (M,), (K,).

    Each pair counted once. Negatives: view-1 / view-2 pairs of different images (M(M-1)), plus, unless
    ``cross_only``, the same-view pairs of different images (M(M-1) more).
    """
    m = len(sim) // 2
    pos = np.diagonal(sim, offset=m)
    neg = sim[:m, m:][~np.eye(m, dtype=bool)]
    if cross_only:
        return pos, neg
    within = np.concatenate([sim[:m, :m][np.triu_indices(m, 1)], sim[m:, m:][np.triu_indices(m, 1)]])
    return pos, np.concatenate([neg, within])


def _pair_histograms(fig: go.Figure, pos: np.ndarray, neg: np.ndarray, lo: float, hi: float, **cell) -> None:
    """Overlaid density histograms of positive and negative pairs on [lo, hi] in bins of 0.05."""
    for name, x, colour in (("positive pairs", pos, POS_COLOUR), ("negative pairs", neg, NEG_COLOUR)):
        fig.add_histogram(
            x=x,
            name=name,
            legendgroup=name,
            histnorm="probability density",
            opacity=0.6,
            marker_color=colour,
            xbins={"start": lo, "end": hi, "size": 0.05},
            **cell,
        )


def similarity_histograms(pos: np.ndarray, neg: np.ndarray, temperature: float | None = None) -> go.Figure:
    """Cosine similarity of positive and negative pairs; with a temperature, where the exp(s/T) weight goes.

    pos: (P,) and neg: (Q,) cosine similarities.
    """
    pos, neg = np.asarray(pos, dtype=float), np.asarray(neg, dtype=float)
    titles = ["cosine similarity"]
    if temperature is not None:
        titles.append(f"share of softmax weight exp(s/T), T = {temperature:g}")
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    _pair_histograms(fig, pos, neg, -1, 1, row=1, col=1)
    if temperature is not None:
        w_pos, w_neg = np.exp((pos - 1) / temperature), np.exp((neg - 1) / temperature)  # / e^(1/T): no overflow
        total, bins = w_pos.sum() + w_neg.sum(), np.linspace(-1, 1, 41)
        for name, s, w, colour in (
            ("positive pairs", pos, w_pos, POS_COLOUR),
            ("negative pairs", neg, w_neg, NEG_COLOUR),
        ):
            share = np.histogram(s, bins=bins, weights=w / total)[0]
            fig.add_bar(
                x=bins[:-1] + 0.025,
                y=share,
                width=0.05,
                name=name,
                legendgroup=name,
                marker_color=colour,
                opacity=0.6,
                showlegend=False,
                row=1,
                col=2,
            )
        fig.update_yaxes(title_text="share of total weight", row=1, col=2)
    fig.update_xaxes(title_text="cosine similarity", range=[-1, 1])
    fig.update_yaxes(title_text="density", row=1, col=1)
    return _style(fig, "Positive vs negative pair similarities", barmode="overlay")


def distance_histograms(pos_d: np.ndarray, neg_d: np.ndarray, margin: float) -> go.Figure:
    """Euclidean distances of positive and negative pairs of unit vectors (0..2), with the margin marked."""
    fig = go.Figure()
    _pair_histograms(fig, np.asarray(pos_d), np.asarray(neg_d), 0, 2)
    fig.add_vline(x=margin, line={"dash": "dash", "width": 3}, annotation_text=f"margin m = {margin:g}")
    if margin >= 2:
        warning = (
            "⚠ margin ≥ 2: unit vectors are never farther apart than 2, so no negative can leave the margin; "
            "every negative keeps being pushed."
        )
        fig.add_annotation(
            text=warning,
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.0,
            yanchor="bottom",
            showarrow=False,
            font={"color": NEG_COLOUR},
        )
    fig.update_xaxes(range=[0, max(2.05, margin + 0.05)])
    return _style(
        fig, "Pair distances and the margin", "distance ‖z_i − z_j‖ (unit vectors)", "density", barmode="overlay"
    )


def projection_scatter(
    points: list[np.ndarray],
    labels: np.ndarray | None,
    class_names: list[str] | None,
    steps: list[int],
    hover_index: bool = True,
    method: str = "",
    extent: list[np.ndarray] | None = None,
) -> go.Figure:
    """Probe-set embeddings projected to 2-D or 3-D, one trace per class, one frame per snapshot.

    points: list of (N, 2) or (N, 3); labels: (N,) class indices or None. The axes fit ``extent`` (default:
    ``points``): pass every step's layout to keep the axes put when showing one step after another.
    """
    dim = points[0].shape[1]
    labels = np.zeros(len(points[0]), int) if labels is None else np.asarray(labels)
    classes = np.unique(labels)
    names = [class_names[c] if class_names else str(c) for c in classes] if len(classes) > 1 else ["probe images"]
    idx = np.arange(len(labels))

    def traces(p: np.ndarray) -> list:
        out = []
        for k, (c, name) in enumerate(zip(classes, names)):
            sel = labels == c
            xyz = {a: p[sel, j] for j, a in enumerate("xyz"[:dim])}
            common = {
                "mode": "markers",
                "name": name,
                "customdata": idx[sel] if hover_index else None,
                "hovertemplate": (f"image %{{customdata}}<br>{name}" if hover_index else name) + "<extra></extra>",
                "marker": {"color": CLASS_COLOURS[k % len(CLASS_COLOURS)], "size": 4 if dim == 3 else 7},
            }
            out.append(go.Scatter3d(**xyz, **common) if dim == 3 else go.Scatter(**xyz, **common))
        return out

    fig = go.Figure(traces(points[-1]))
    _animate(fig, [go.Frame(data=traces(p), name=str(t)) for p, t in zip(points, steps)], steps)
    allp = np.concatenate(points if extent is None else extent)
    pad = 0.05 * (allp.max(0) - allp.min(0) + 1e-9)
    ranges = [[float(lo), float(hi)] for lo, hi in zip(allp.min(0) - pad, allp.max(0) + pad)]  # fixed across frames
    axis = f"{method.upper()} " if method else "component "
    if dim == 3:
        fig.update_layout(
            scene={f"{a}axis": {"title": f"{axis}{j + 1}", "range": ranges[j]} for j, a in enumerate("xyz")}
        )
    else:
        fig.update_xaxes(title_text=f"{axis}1", range=ranges[0])
        fig.update_yaxes(title_text=f"{axis}2", range=ranges[1])
    return _style(fig, f"Probe embeddings ({method.upper() or 'projection'})", height=650, legend_title_text="class")


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
    return _style(fig, "Singular value spectrum", "index (largest first)", "singular value (log scale)")


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
    return _style(fig, "Collapse monitors: effective rank and per-dimension std", height=650)


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
    return _style(
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
    return _style(fig, "Test accuracy of a weighted kNN on backbone features", "training step", KNN_PROTOCOL)


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
    return _style(fig, f"{metric_name} vs {param_name}", param_name, metric_name)


def negative_weights(sorted_weights: np.ndarray) -> go.Figure:
    """Relative penalty on each negative, hardest first, averaged over anchors (metrics.what_if). (K,)."""
    w = np.asarray(sorted_weights, dtype=float)
    fig = go.Figure(go.Bar(x=np.arange(1, len(w) + 1), y=w, marker_color=OKABE_ITO[3], name="penalty"))
    fig.add_hline(y=1 / max(len(w), 1), line_dash="dash", annotation_text="even push 1/K")
    return _style(
        fig, "Where the push on negatives goes", "negative, hardest first (rank)", "relative penalty (share of push)"
    )


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


def _sphere_surface(dim: int) -> go.Scatter | go.Surface:
    """The unit circle (2-D) or sphere (3-D), drawn faintly."""
    if dim == 2:
        a = np.linspace(0, 2 * np.pi, 181)
        line = {"color": "#bbbbbb", "width": 1}
        return go.Scatter(x=np.cos(a), y=np.sin(a), mode="lines", line=line, hoverinfo="skip", showlegend=False)
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 41), np.linspace(0, np.pi, 21))
    grey = [[0, "#cccccc"], [1, "#cccccc"]]
    return go.Surface(
        x=np.cos(u) * np.sin(v),
        y=np.sin(u) * np.sin(v),
        z=np.cos(v),
        opacity=0.12,
        colorscale=grey,
        showscale=False,
        hoverinfo="skip",
    )


def _points(z: np.ndarray, **kw) -> go.Scatter | go.Scatter3d:
    """A scatter trace of (K, 2) or (K, 3) points."""
    if z.shape[1] == 2:
        return go.Scatter(x=z[:, 0], y=z[:, 1], **kw)
    return go.Scatter3d(x=z[:, 0], y=z[:, 1], z=z[:, 2], **kw)


def toy_embeddings_figure(
    z: np.ndarray, anchor: int, positive: int, weights: np.ndarray, grad: np.ndarray, title: str, pull_label: str
) -> go.Figure:
    """The playground's embeddings on the unit circle or sphere, for one anchor.

    Args:
        z: (2N, D) unit vectors, D = 2 or 3, ordered [view 1; view 2] (image i has rows i and i + N).
        anchor, positive: row of the anchor and of its other view.
        weights: (2N,) the anchor's softmax weight of each candidate: marker size and colour.
        grad: (2N, D) gradient of the anchor's loss; arrows show -grad (a descent step), scaled to fit.
        title: the figure's title; pull_label: the legend name of the anchor's other view.
    """
    z, w, g = np.asarray(z, float), np.asarray(weights, float), np.asarray(grad, float)
    n2, dim = z.shape
    n = n2 // 2
    fig = go.Figure(_sphere_surface(dim))
    pairs = np.full((3 * n, dim), np.nan)  # segment view 1 -> view 2 of each image, gaps between
    pairs[0::3], pairs[1::3] = z[:n], z[n:]
    fig.add_trace(_points(pairs, mode="lines", line={"color": "#999999", "dash": "dot"}, name="views of one image"))
    hover = [f"image {i % n + 1}, view {i // n + 1}<br>softmax weight {w[i]:.3f}" for i in range(n2)]
    others = [i for i in range(n2) if i not in (anchor, positive)]
    scale = [[0, "#fdd0a2"], [1, "#a63603"]]  # light to dark orange: the heaviest negative darkest
    neg = {"size": 7 + 30 * np.sqrt(w[others]), "color": w[others], "cmin": 0, "colorscale": scale}
    neg |= {"cmax": max(w[others].max(), 1e-12), "line": {"color": "#a63603", "width": 1}}
    fig.add_trace(_points(z[others], mode="markers", marker=neg, name="negatives (size = softmax weight)"))
    fig.data[-1].update(hovertext=[hover[i] for i in others], hoverinfo="text")
    flat = dim == 2  # Scatter3d draws a marker of the same size larger
    for idx, name, marker in (
        (positive, pull_label, {"color": POS_COLOUR, "size": 14 if flat else 7, "symbol": "diamond"}),
        (anchor, "anchor", {"color": "#000000", "size": 16 if flat else 7, "symbol": "star" if flat else "circle"}),
    ):
        fig.add_trace(_points(z[[idx]], mode="markers", marker=marker, name=name, hovertext=[hover[idx]]))
        fig.data[-1].hoverinfo = "text"
    length = np.linalg.norm(g, axis=1)
    show = [i for i in range(n2) if length[i] > 0.02 * length.max()]
    tips = z - (0.4 / length.max() if length.max() > 0 else 0.0) * g
    if dim == 2:
        arrow = {"xref": "x", "yref": "y", "axref": "x", "ayref": "y", "arrowhead": 2, "arrowwidth": 2}
        for i in show:
            fig.add_annotation(x=tips[i, 0], y=tips[i, 1], ax=z[i, 0], ay=z[i, 1], text="", showarrow=True, **arrow)
        axis = {"range": [-1.45, 1.45], "zeroline": False, "showgrid": False, "showticklabels": False}
        fig.update_xaxes(**axis)
        fig.update_yaxes(**axis, scaleanchor="x", scaleratio=1)
        return _style(fig, title)
    if show:
        seg = np.full((3 * len(show), 3), np.nan)
        seg[0::3], seg[1::3] = z[show], tips[show]
        fig.add_trace(_points(seg, mode="lines", line={"color": "#333333", "width": 5}, name="−gradient (scaled)"))
        head = -g[show] / length[show, None] * 0.12  # arrowheads of one size, pointing along -grad
        (x, y, zz), (u, v, w_) = tips[show].T, head.T
        cone = {"anchor": "tip", "sizemode": "raw", "showscale": False, "hoverinfo": "skip"}
        fig.add_trace(go.Cone(x=x, y=y, z=zz, u=u, v=v, w=w_, colorscale=[[0, "#333333"], [1, "#333333"]], **cone))
    axis = {"range": [-1.3, 1.3], "visible": False}
    camera = {"eye": {"x": 1.0, "y": 1.0, "z": 0.7}}  # nearer than plotly's default: a larger sphere
    fig.update_layout(scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube", "camera": camera})
    return _style(fig, title)


def margin_loss_curve(
    distance: np.ndarray,
    positive_curve: np.ndarray,
    negative_curve: np.ndarray,
    margin: float,
    pair_distance: np.ndarray,
    pair_loss: np.ndarray,
    pair_is_positive: np.ndarray,
) -> go.Figure:
    """The margin loss against distance for positive and negative pairs, the margin line, the toy pairs on it.

    Args:
        distance: (G,) grid; positive_curve, negative_curve: (G,) the loss of each kind of pair on it.
        margin: drawn as a vertical dashed line.
        pair_distance, pair_loss, pair_is_positive: (P,) the toy pairs' distances, losses and kinds.
    """
    pos = np.asarray(pair_is_positive, bool)
    d, loss = np.asarray(pair_distance, float), np.asarray(pair_loss, float)
    fig = go.Figure()
    for curve, mask, colour, name in (
        (positive_curve, pos, POS_COLOUR, "positive pairs: d²"),
        (negative_curve, ~pos, NEG_COLOUR, "negative pairs: max(0, m − d)²"),
    ):
        fig.add_trace(go.Scatter(x=distance, y=curve, mode="lines", line={"color": colour, "width": 3}, name=name))
        marker = {"color": colour, "size": 11, "line": {"color": "white", "width": 1}}
        fig.add_trace(go.Scatter(x=d[mask], y=loss[mask], mode="markers", marker=marker, showlegend=False))
    fig.add_vline(x=margin, line={"dash": "dash", "width": 3}, annotation_text=f"margin m = {margin:g}")
    return _style(fig, "Margin loss against distance", "distance d = ‖z_i − z_j‖", "loss of the pair")
