"""Figure builders: trace types and counts, axis titles, slider frames, warnings, self-contained HTML."""

import re

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from cl_core import figures, figures_embeddings

RNG = np.random.default_rng(0)
STEPS = [0, 50, 100]


def test_every_figure_uses_the_shared_style():
    fig = figures.knn_curve([{"name": "a", "steps": STEPS, "knn": [0.1, 0.5, 0.8]}])
    assert fig.layout.font.size == figures.FONT_SIZE
    assert list(fig.layout.colorway) == figures.OKABE_ITO
    assert fig.layout.title.text


def test_ema_is_debiased_and_smooths():
    assert figures.ema([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])
    assert figures.ema([0.0, 1.0], smooth=0.0) == pytest.approx([0.0, 1.0])


def test_loss_curves_raw_smoothed_and_chance_line():
    runs = [
        {"name": "simclr", "steps": STEPS, "loss": [5.5, 4.0, 3.0], "chance": np.log(255)},
        {"name": "byol", "steps": STEPS, "loss": [2.0, 1.0, 0.5]},
    ]
    fig = figures.loss_curves(runs)
    assert len(fig.data) == 5  # 2 x (raw + smoothed) + 1 chance line
    chance = [t for t in fig.data if "chance ln(2N-1)" in t.name]
    assert len(chance) == 1 and chance[0].y[0] == pytest.approx(np.log(255))
    assert fig.layout.xaxis.title.text == "training step" and "nats" in fig.layout.yaxis.title.text
    norm = figures.loss_curves(runs, normalise=True)
    assert norm.data[2].y[0] == pytest.approx(1.0) and "ln C" in norm.layout.yaxis.title.text


def test_similarity_matrix_has_a_frame_per_step_and_says_how_views_are_laid_out():
    sims = [np.clip(RNG.normal(size=(8, 8)), -1, 1) for _ in STEPS]
    fig = figures_embeddings.similarity_matrix(sims, STEPS)
    assert isinstance(fig.data[0], go.Heatmap) and fig.data[0].zmin == -1 and fig.data[0].zmax == 1
    assert len(fig.frames) == 3 and len(fig.layout.sliders[0].steps) == 3
    assert "view 1; view 2" in fig.layout.title.text and "off-diagonal bands" in fig.layout.title.text
    assert "view 2" in fig.layout.xaxis.title.text


def test_similarity_histograms_with_and_without_temperature():
    pos, neg = RNG.uniform(0.5, 1, 50), RNG.uniform(-0.3, 0.4, 500)
    one = figures_embeddings.similarity_histograms(pos, neg)
    assert [type(t) for t in one.data] == [go.Histogram, go.Histogram]
    two = figures_embeddings.similarity_histograms(pos, neg, temperature=0.1)
    bars = [t for t in two.data if isinstance(t, go.Bar)]
    assert len(bars) == 2 and sum(b.y.sum() for b in bars) == pytest.approx(1.0)
    assert two.layout.yaxis2.title.text == "share of total weight"
    assert two.layout.xaxis.title.text == "cosine similarity"


def test_distance_histograms_warn_when_no_negative_can_leave_the_margin():
    pos, neg = RNG.uniform(0, 0.5, 50), RNG.uniform(0.5, 2, 500)
    ok = figures_embeddings.distance_histograms(pos, neg, margin=1.0)
    assert len(ok.data) == 2 and not any("⚠" in (a.text or "") for a in ok.layout.annotations)
    bad = figures_embeddings.distance_histograms(pos, neg, margin=2.0)
    assert any("no negative can leave the margin" in (a.text or "") for a in bad.layout.annotations)
    assert "unit vectors" in bad.layout.xaxis.title.text


@pytest.mark.parametrize("dim", [2, 3])
def test_projection_scatter_one_trace_per_class_and_a_frame_per_step(dim):
    labels = np.arange(30) % 3
    points = [RNG.normal(size=(30, dim)) for _ in STEPS]
    fig = figures_embeddings.projection_scatter(points, labels, ["cat", "dog", "owl"], STEPS, method="umap")
    kind = go.Scatter3d if dim == 3 else go.Scatter
    assert [type(t) for t in fig.data] == [kind] * 3 and [t.name for t in fig.data] == ["cat", "dog", "owl"]
    assert len(fig.frames) == 3 and all(len(f.data) == 3 for f in fig.frames)
    assert "image %{customdata}" in fig.data[0].hovertemplate
    title = fig.layout.scene.xaxis.title.text if dim == 3 else fig.layout.xaxis.title.text
    assert title == "UMAP 1"


def test_projection_scatter_without_labels_is_one_trace_and_one_step_is_not_animated():
    fig = figures_embeddings.projection_scatter([RNG.normal(size=(10, 2))], None, None, [5], hover_index=False)
    assert len(fig.data) == 1 and fig.data[0].customdata is None
    assert not fig.frames and not fig.layout.sliders and not fig.layout.updatemenus


def test_projection_scatter_axes_fit_the_extent_so_that_steps_share_them():
    small, large = np.zeros((4, 2)), np.array([[-10.0, -1.0], [10.0, 1.0]])
    fig = figures_embeddings.projection_scatter([small], None, None, [1], extent=[small, large])
    assert fig.layout.xaxis.range[0] < -10 < 10 < fig.layout.xaxis.range[1]
    assert fig.layout.yaxis.range[0] < -1 < 1 < fig.layout.yaxis.range[1]
    assert figures_embeddings.projection_scatter([small], None, None, [1]).layout.xaxis.range[1] < 1


def test_spectrum_is_log_scale_one_line_per_step():
    fig = figures.spectrum([np.sort(RNG.uniform(0.01, 5, 16))[::-1] for _ in STEPS], STEPS)
    assert len(fig.data) == 3 and fig.layout.yaxis.type == "log" and fig.data[-1].opacity == 1.0


def test_rank_and_std_has_the_healthy_reference():
    fig = figures.rank_and_std(STEPS, [2.0, 10.0, 20.0], [0.01, 0.08, 0.1], 0.125, rank_max=32)
    assert len(fig.data) == 2
    assert any("1/√d" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.yaxis.title.text == "effective rank" and fig.layout.xaxis2.title.text == "training step"


def test_align_uniform_trajectories():
    runs = [{"name": n, "steps": STEPS, "alignment": [1.0, 0.5, 0.3], "uniformity": [-0.5, -2, -3]} for n in "ab"]
    fig = figures.align_uniform(runs)
    assert len(fig.data) == 2 and "uniformity" in fig.layout.xaxis.title.text
    assert "alignment" in fig.layout.yaxis.title.text


def test_knn_curve_axis_states_the_protocol():
    fig = figures.knn_curve([{"name": "a", "steps": STEPS, "knn": [0.1, 0.5, 0.8]}])
    assert fig.layout.yaxis.title.text == "kNN top-1 (k=20, T=0.1)"


def test_sweep_chart_uses_log_axis_for_wide_positive_ranges():
    assert figures.sweep_chart([0.05, 0.1, 1.0], [0.5, 0.6, 0.4], "temperature", "kNN").layout.xaxis.type == "log"
    lin = figures.sweep_chart([1, 2, 3], [0.5, 0.6, 0.4], "margin", "kNN")
    assert lin.layout.xaxis.type is None and lin.layout.xaxis.title.text == "margin"


def test_negative_weights_bars_and_even_reference():
    fig = figures_embeddings.negative_weights(np.array([0.7, 0.2, 0.1]))
    assert isinstance(fig.data[0], go.Bar) and list(fig.data[0].x) == [1, 2, 3]
    assert "hardest first" in fig.layout.xaxis.title.text


def test_report_html_is_self_contained():
    figs = [
        figures.knn_curve([{"name": "a", "steps": STEPS, "knn": [0.1, 0.5, 0.8]}]),
        figures_embeddings.negative_weights(np.array([0.7, 0.3])),
    ]
    page = figures.report_html(figs, "Run <1>", {"summary": [{"method": "simclr", "knn": 0.81234}, {"method": "byol"}]})
    assert not re.search(r"<script[^>]+src=", page)  # no CDN: plotly.js is inline
    assert len(get_plotlyjs()) < len(page) < 1.5 * len(get_plotlyjs())  # plotly.js embedded exactly once
    assert "Run &lt;1&gt;" in page and "<td>0.8123</td>" in page and page.count('class="plotly-graph-div"') == 2
