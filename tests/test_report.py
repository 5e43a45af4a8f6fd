import csv
import dataclasses
import io

import numpy as np
import plotly.graph_objects as go
import pytest

from cl_core import figures_embeddings, report
from cl_core.__main__ import main
from cl_core.runs import load_run
from cl_core.trainer import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from conftest import tiny_config

    path = tmp_path_factory.mktemp("runs") / "r"
    train(tiny_config(), path)
    return load_run(path)


def test_eval_prints_the_diagnostics_and_writes_a_self_contained_report(run, tmp_path, capsys):
    html = tmp_path / "report.html"
    assert main(["eval", str(run.path), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "knn_top1" in out and "verdict" in out and "k=20, T=0.1" in out
    page = html.read_text()
    assert page.count("Plotly.newPlot") >= 7 and "<script src=" not in page and 'src="http' not in page
    assert run.summary["verdict"] in page


def test_metrics_csv_has_one_row_per_logged_step(run):
    rows = list(csv.DictReader(io.StringIO(report.metrics_csv(run))))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6] and "loss" in rows[0]


def test_pair_similarities_count_each_pair_once_and_match_a_plain_loop():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(10, 4))  # 5 images, [view 1; view 2]
    sim = z @ z.T
    m = 5
    pos, neg = figures_embeddings.pair_similarities(sim)
    assert np.allclose(pos, [sim[i, i + m] for i in range(m)])
    plain = [sim[i, j] for i in range(2 * m) for j in range(i + 1, 2 * m) if j != i + m]
    assert sorted(neg.tolist()) == sorted(plain)
    _, cross = figures_embeddings.pair_similarities(sim, cross_only=True)
    assert sorted(cross.tolist()) == sorted(sim[i, m + j] for i in range(m) for j in range(m) if i != j)


def test_the_pair_histograms_show_a_softmax_temperature_only_for_methods_that_have_one(run):
    """BYOL's settings carry a temperature field too; its report must not chart a softmax it does not have."""
    from cl_core.methods import temperature_of

    assert temperature_of({"name": "simclr", "temperature": 0.2}) == 0.2
    assert temperature_of({"name": "byol", "temperature": 0.2}) is None
    assert temperature_of({"name": "no such method", "temperature": 0.2}) is None and temperature_of({}) is None

    def histograms(config: dict) -> go.Figure:
        figs = report.run_figures(dataclasses.replace(run, config=config))
        return next(f for f in figs if f.layout.title.text == "Positive vs negative pair similarities")

    method = run.config["method"]
    assert len({t.xaxis for t in histograms(run.config).data}) == 2  # cosine, and the softmax weight's share
    byol = run.config | {"method": method | {"name": "byol"}}
    assert len({t.xaxis for t in histograms(byol).data}) == 1
