"""Plotly figures of the loss playground: toy embeddings on the unit circle or sphere, the margin loss curve.

Plain data in, go.Figure out, in the style of cl_core.figures. No torch, no Streamlit.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cl_core.figures import NEG_COLOUR, POS_COLOUR, style


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
        return style(fig, title)
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
    return style(fig, title)


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
    return style(fig, "Margin loss against distance", "distance d = ‖z_i − z_j‖", "loss of the pair")
