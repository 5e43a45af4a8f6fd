"""The Loss Playground: toy embeddings, InfoNCE / margin / copied-bug values against plain NumPy, and the page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from cl_core import losses
from cl_core.config import ConfigError
from cl_core.playground import Toy, anchor_view, margin_curve, margin_view, toy_embeddings

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def np_info_nce(z: np.ndarray, temperature: float, bug: bool = False) -> np.ndarray:
    """Per-anchor NT-Xent from the paper, in plain NumPy. z: (2N, D) as [view 1; view 2] -> (2N,).

    Correct: -s_ap / T + log sum_{j != a} exp(s_aj / T), p the other view. The copied bug:
    -s_aa / T + log sum_j exp(s_aj / T) with s_aa = 1.
    """
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    n2 = len(z)
    out = np.empty(n2)
    for a in range(n2):
        s = z @ z[a] / temperature
        target = a if bug else (a + n2 // 2) % n2
        others = s if bug else np.delete(s, a)
        out[a] = -s[target] + np.log(np.exp(others - others.max()).sum()) + others.max()
    return out


def views(**kw) -> tuple[np.ndarray, np.ndarray]:
    return toy_embeddings(Toy(**kw))


@pytest.mark.parametrize("dim", [2, 3])
def test_toy_embeddings_are_unit_vectors_and_deterministic_per_seed(dim):
    z1, z2 = views(n=7, dim=dim, seed=3)
    assert z1.shape == z2.shape == (7, dim)
    assert np.allclose(np.linalg.norm(z1, axis=1), 1) and np.allclose(np.linalg.norm(z2, axis=1), 1)
    again = views(n=7, dim=dim, seed=3)
    assert np.array_equal(z1, again[0]) and np.array_equal(z2, again[1])
    assert not np.allclose(z1, views(n=7, dim=dim, seed=4)[0])


def test_closeness_joins_the_views_and_zero_spread_clusters_the_images():
    z1, z2 = views(closeness=1.0)
    assert np.allclose(z1, z2)
    z1, z2 = views(closeness=1.0, spread=0.0)
    assert np.allclose(z1, z1[0])
    loose = views(closeness=0.0)
    # seeds 0-4: the loose pairs' mean cosine is 0.26-0.60 below the tight ones' (1)
    assert np.mean(np.sum(loose[0] * loose[1], 1)) < np.mean(np.sum(z1 * z2, 1))


@pytest.mark.parametrize(("dim", "anchor", "temperature"), [(2, 0, 0.5), (2, 9, 0.07), (3, 4, 0.2), (3, 11, 2.0)])
def test_infonce_and_copied_bug_equal_a_plain_numpy_formula(dim, anchor, temperature):
    z1, z2 = views(dim=dim, seed=dim, closeness=0.5)
    z = np.concatenate([z1, z2])
    for bug in (False, True):
        v = anchor_view(z1, z2, anchor, temperature, bug=bug)
        expected = np_info_nce(z, temperature, bug=bug)
        assert v.loss == pytest.approx(expected[anchor], rel=1e-9)
        assert v.batch_loss == pytest.approx(expected.mean(), rel=1e-9)


def test_all_points_equal_give_the_chance_levels():
    z1, z2 = views(n=5, closeness=1.0, spread=0.0)
    correct, bug = anchor_view(z1, z2, 0, 0.3), anchor_view(z1, z2, 0, 0.3, bug=True)
    assert correct.batch_loss == pytest.approx(math.log(9)) == correct.chance
    assert bug.batch_loss == pytest.approx(math.log(10)) == bug.chance
    assert correct.effective_negatives == pytest.approx(8)


def test_weights_sum_to_one_match_the_loss_and_sharpen_as_temperature_falls():
    z1, z2 = views(seed=1)
    temps = [2.0, 1.0, 0.5, 0.2, 0.1, 0.05]
    vs = [anchor_view(z1, z2, 2, t) for t in temps]
    for v in vs:
        assert v.weights.sum() == pytest.approx(1) and v.weights[v.anchor] == 0
        assert v.weights[v.positive] == pytest.approx(math.exp(-v.loss))  # the loss is -log p(positive)
    eff = [v.effective_negatives for v in vs]
    top = [v.top_negative_share for v in vs]
    # measured over toy seeds 1-5: effective negatives fall by >= 0.21 and the top share rises by >= 0.029 per
    # step; eff[-1] 1.33-3.25, eff[0] 9.28-9.85 (10 negatives: the bounds 1 and 10 are analytic)
    assert all(a > b for a, b in zip(eff, eff[1:])) and all(a < b for a, b in zip(top, top[1:]))
    assert 1 <= eff[-1] < eff[0] <= 10


@pytest.mark.parametrize("bug", [False, True])
def test_gradient_matches_finite_differences_of_the_numpy_loss(bug):
    z1, z2 = views(n=4, dim=3, seed=5, closeness=0.4)
    z, anchor, temperature, h = np.concatenate([z1, z2]), 1, 0.3, 1e-6
    v = anchor_view(z1, z2, anchor, temperature, bug=bug)
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[idx] += h
        minus[idx] -= h
        loss = lambda x: np_info_nce(x, temperature, bug)[anchor]  # noqa: E731
        numeric[idx] = (loss(plus) - loss(minus)) / (2 * h)
    assert np.allclose(v.grad, numeric, atol=1e-6)


def test_copied_bug_pushes_the_other_view_away_while_infonce_pulls_it_in():
    z1, z2 = views(seed=2, closeness=0.6)
    for anchor in range(12):
        correct, bug = anchor_view(z1, z2, anchor, 0.5), anchor_view(z1, z2, anchor, 0.5, bug=True)
        z = np.concatenate([z1, z2])
        towards_anchor = z[anchor] - z[correct.positive]
        assert -correct.grad[correct.positive] @ towards_anchor > 0
        assert -bug.grad[bug.positive] @ towards_anchor < 0


def test_margin_loss_of_each_pair_lies_on_the_plain_curve():
    z1, z2 = views(n=5, seed=6, closeness=0.5)
    m = margin_view(z1, z2, 1.2)
    assert m.distance.shape == (25,) and m.is_positive.sum() == 5
    pos_curve, neg_curve = margin_curve(m.distance, 1.2)
    assert np.allclose(m.pair_loss, np.where(m.is_positive, pos_curve, neg_curve))
    d = np.linalg.norm(z1[:, None] - z2[None], axis=2)  # (5, 5) plain distances, positives on the diagonal
    plain = np.where(np.eye(5, dtype=bool), d**2, np.maximum(1.2 - d, 0) ** 2)
    assert np.allclose(m.distance, d.flatten()) and m.loss == pytest.approx(plain.mean())


@pytest.mark.parametrize(
    ("field", "value"), [("n", 1), ("n", 99), ("dim", 4), ("anchor", 12), ("temperature", 0.0), ("margin", -1.0)]
)
def test_bad_settings_raise_a_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as e:
        Toy(**{field: value}).validate()
    assert e.value.field == f"playground.{field}"


# ----------------------------------------------------------------------------------------------------- the page


@pytest.fixture
def page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/playground.py").run()
    return at


def metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def core_loss(temperature: float, **kw) -> float:
    z1, z2 = (torch.from_numpy(z) for z in toy_embeddings(Toy()))
    return losses.info_nce(z1, z2, temperature, **kw).item()


def test_playground_shows_cl_core_loss_and_follows_the_temperature_slider(page):
    at = page
    assert not at.exception and not at.error
    assert at.title[0].value == "Loss Playground"
    shown = metric(at, "InfoNCE loss")
    assert shown == pytest.approx(core_loss(Toy().temperature), abs=5e-4)
    at.select_slider(key="pg.temperature").set_value(0.1).run()
    assert metric(at, "InfoNCE loss") != shown
    assert metric(at, "InfoNCE loss") == pytest.approx(core_loss(0.1), abs=5e-4)
    traces = [t["type"] for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]]
    assert "scatter" in traces and "scatter3d" not in traces
    at.session_state["pg.dim"] = 3
    at.run()
    traces = [t["type"] for c in at.get("plotly_chart") for t in json.loads(c.proto.spec)["data"]]
    assert not at.exception and "scatter3d" in traces


def test_bug_toggle_shows_both_losses_and_both_pictures(page):
    at = page
    assert not any(m.label == "Copied-bug loss" for m in at.metric)
    at.toggle(key="pg.bug").set_value(True).run()
    assert not at.exception
    assert metric(at, "InfoNCE loss") == pytest.approx(core_loss(Toy().temperature), abs=5e-4)
    bug = core_loss(Toy().temperature, positive="self", mask_self=False)
    assert metric(at, "Copied-bug loss") == pytest.approx(bug, abs=5e-4)
    assert len(at.get("plotly_chart")) == 3  # InfoNCE and bug side by side, the margin curve below


@pytest.mark.parametrize("dim", [2, 3])
def test_figures_draw_the_sphere_weights_arrows_and_margin_line(dim):
    from cl_core import figures_playground

    z1, z2 = views(dim=dim, seed=8)
    v = anchor_view(z1, z2, 0, 0.2)
    fig = figures_playground.toy_embeddings_figure(
        np.concatenate([z1, z2]), 0, v.positive, v.weights, v.grad, "t", "positive"
    )
    negatives = next(t for t in fig.data if (t.name or "").startswith("negatives"))
    heaviest = np.delete(v.weights, [0, v.positive]).max()
    assert len(negatives.marker.size) == 10 and max(negatives.marker.color) == pytest.approx(heaviest)
    moving = (np.linalg.norm(v.grad, axis=1) > 0.02 * np.linalg.norm(v.grad, axis=1).max()).sum()
    if dim == 2:
        assert len(fig.layout.annotations) == moving and fig.layout.yaxis.scaleanchor == "x"
    else:
        assert {type(t).__name__ for t in fig.data} >= {"Surface", "Scatter3d", "Cone"}
        assert len(next(t for t in fig.data if type(t).__name__ == "Cone").x) == moving
    m = margin_view(z1, z2, 0.8)
    d = np.linspace(0, 2, 50)
    curve = figures_playground.margin_loss_curve(d, *margin_curve(d, 0.8), 0.8, m.distance, m.pair_loss, m.is_positive)
    assert curve.layout.shapes[0].x0 == 0.8 and len(curve.data) == 4
