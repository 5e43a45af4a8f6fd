"""Plotly figures of the embeddings: similarity matrix, pair similarity and distance histograms, projections.

Plain data in, go.Figure out, in the style of cl_core.figures. No torch, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cl_core.figures import CLASS_COLOURS, NEG_COLOUR, OKABE_ITO, POS_COLOUR, style


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
    return style(fig, title, f"image (0-{m - 1}: view 1, {m}-{2 * m - 1}: view 2)", "image", height=700)


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
    return style(fig, "Positive vs negative pair similarities", barmode="overlay")


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
    return style(
        fig, "Pair distances and the margin", "distance ‖z_i − z_j‖ (unit vectors)", "density", barmode="overlay"
    )


def negative_weights(sorted_weights: np.ndarray) -> go.Figure:
    """Relative penalty on each negative, hardest first, averaged over anchors (metrics.what_if). (K,)."""
    w = np.asarray(sorted_weights, dtype=float)
    fig = go.Figure(go.Bar(x=np.arange(1, len(w) + 1), y=w, marker_color=OKABE_ITO[3], name="penalty"))
    fig.add_hline(y=1 / max(len(w), 1), line_dash="dash", annotation_text="even push 1/K")
    return style(
        fig, "Where the push on negatives goes", "negative, hardest first (rank)", "relative penalty (share of push)"
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
    return style(fig, f"Probe embeddings ({method.upper() or 'projection'})", height=650, legend_title_text="class")
