"""What keeps the app fast (benchmarks/app_speed.py measures it): no redraws of unchanged charts, light live ticks."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cl_core.runs import RunWriter, load_run
from cl_core.trainer import train

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def finished_run(tmp_path, monkeypatch, tiny) -> Path:
    runs = tmp_path / "runs"
    monkeypatch.setenv("CL_RUNS_DIR", str(runs))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    train(tiny(steps=4, snapshots=2), runs / "20260101-000000-simclr-tiny")
    return runs / "20260101-000000-simclr-tiny"


def chart_specs(at: AppTest) -> dict[str, str]:
    return {c.proto.id.rsplit("-", 1)[-1]: c.proto.spec for c in at.get("plotly_chart")}


@pytest.mark.parametrize("page", ["pages/train.py", "pages/embeddings.py", "pages/diagnostics.py"])
def test_a_chart_sends_the_same_json_whether_its_figure_was_built_or_came_from_the_cache(finished_run, page):
    """The browser redraws a chart whose JSON changed: a cache miss must not look different from the hit after it."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["projection"] = "pca"  # not UMAP: its layout, computed in the background, would swap in
    at.run()
    at.switch_page(page).run()
    first = chart_specs(at)  # the cached figures are built here
    at.run()
    assert not at.exception
    assert len(first) >= 3 and chart_specs(at) == first


def test_the_live_progress_line_reads_the_new_status_and_keeps_the_rest(finished_run):
    import ui

    run = load_run(finished_run)
    writer = RunWriter(finished_run, run.config, append=True)
    writer.set_status("stopped", "Stopped by request at step 2.")
    live = ui.with_status(run)
    assert live.state == "stopped" and live.status["message"] == "Stopped by request at step 2."
    assert live.metrics == run.metrics and live.summary == run.summary and live.config == run.config


def test_streamlit_does_not_walk_every_object_after_each_script_run():
    """gc.collect() after every rerun cost 0.15-0.3 s of CPU with torch loaded, live-refresh ticks included."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
