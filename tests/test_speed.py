"""What keeps the app fast (benchmarks/app_speed.py measures it): no redraws of unchanged charts, light live ticks."""

from __future__ import annotations

import base64
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit import config
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
    """Each chart's JSON as sent, by element id: st.plotly_chart's spec, charts.in_place_chart's data."""
    charts = [n for n in at.main if n.type in ("plotly_chart", "bidi_component")]
    return {c.proto.id: c.proto.spec if c.type == "plotly_chart" else c.proto.json for c in charts}


@pytest.mark.parametrize("page", ["app_pages/train.py", "app_pages/embeddings.py", "app_pages/diagnostics.py"])
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
    from ui import runs

    run = load_run(finished_run)
    writer = RunWriter(finished_run, run.config, append=True)
    writer.set_status("stopped", "Stopped by request at step 2.")
    live = runs.with_status(run)
    assert live.state == "stopped" and live.status["message"] == "Stopped by request at step 2."
    assert live.metrics == run.metrics and live.summary == run.summary and live.config == run.config


def test_streamlit_does_not_walk_every_object_after_each_script_run():
    """gc.collect() after every rerun cost 0.15-0.3 s of CPU with torch loaded, live-refresh ticks included."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False


def embeddings(finished_run: Path) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["projection"] = "pca"
    at.run()
    return at.switch_page("app_pages/embeddings.py").run()


def in_place(at: AppTest) -> list[dict]:
    """The in-place charts in page order: what each sends to the browser, and its element id."""
    nodes = [n for n in at.main if n.type == "bidi_component" and n.proto.component_name == "cl_in_place_chart"]
    return [json.loads(n.proto.json) | {"id": n.proto.id} for n in nodes]


def test_the_embeddings_charts_stay_mounted_and_only_their_points_move_from_step_to_step(finished_run):
    """A slider step redraws the scatter in place: same element (no remount), same layout (axes shared by every
    step, so the browser only moves the points), new positions; plotly.js comes from the app's own static folder."""
    import plotly

    at = embeddings(finished_run)
    assert not at.exception and not at.get("plotly_chart")
    last = in_place(at)
    assert len(last) == 3
    src = {c["src"] for c in last}
    assert src == {f"app/static/plotly-{plotly.__version__}.min.js"}
    served = ROOT / "static" / f"plotly-{plotly.__version__}.min.js"
    assert served.read_bytes() == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()

    steps = load_run(finished_run).snapshot_steps()
    at.select_slider(key=f"emb_step.{steps[-1]}").set_value(steps[0]).run()
    first = in_place(at)
    assert not at.exception and [c["id"] for c in first] == [c["id"] for c in last]
    a, b = last[0]["figure"], first[0]["figure"]  # the scatter
    assert a["layout"] == b["layout"]
    assert [{k: v for k, v in t.items() if k not in "xy"} for t in a["data"]] == [
        {k: v for k, v in t.items() if k not in "xy"} for t in b["data"]
    ]
    assert [t["x"] for t in a["data"]] != [t["x"] for t in b["data"]]


def values(array: list | dict) -> list:
    """A plotly JSON array, plain or base64-encoded (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def test_selected_points_stay_selected_and_highlighted_at_every_step(finished_run):
    at = embeddings(finished_run)
    key = f"emb_chart.{finished_run.name}"
    # then no such probe image (another run's), and what no browser of ours sends
    at.session_state[key] = {"selection": [0, 3, 5, 10**6, "x", 2.5, None, float("nan")]}
    at.run()
    assert not at.exception
    assert any(s.value == "3 selected images" for s in at.subheader)
    steps = load_run(finished_run).snapshot_steps()
    at.select_slider(key=f"emb_step.{steps[-1]}").set_value(steps[0]).run()
    assert any(s.value == "3 selected images" for s in at.subheader)
    traces = in_place(at)[0]["figure"]["data"]
    # plain lists: plotly.js reads a base64 array only in data arrays, and selectedpoints is not one
    assert all(isinstance(t["selectedpoints"], list) for t in traces)
    highlighted = sorted(values(t["customdata"])[i] for t in traces for i in t["selectedpoints"])
    assert highlighted == [0, 3, 5]


@pytest.fixture
def no_static_serving():
    """A server started outside the app's folder reads no .streamlit/config.toml: no static/ served."""
    from ui import charts

    charts.plotly_js_url.clear()
    serving = config.get_option("server.enableStaticServing")
    config.set_option("server.enableStaticServing", False)
    yield
    config.set_option("server.enableStaticServing", serving)
    charts.plotly_js_url.clear()


def test_without_static_serving_the_charts_are_plotly_charts_and_selecting_still_works(finished_run, no_static_serving):
    at = embeddings(finished_run)
    assert not at.exception and not in_place(at) and len(at.get("plotly_chart")) == 3
    scatter = at.get("plotly_chart")[0]
    assert json.loads(scatter.proto.spec)["layout"]["dragmode"] == "lasso"
    assert set(scatter.proto.selection_mode) and scatter.proto.form_id == ""


def test_plotly_js_is_a_readable_copy_at_a_url_relative_to_the_page(tmp_path):
    """Relative: the same under any server.baseUrlPath or a proxy's path prefix."""
    import plotly

    from ui import charts

    charts.plotly_js_url.clear()
    url = charts.plotly_js_url()
    assert url == f"app/static/plotly-{plotly.__version__}.min.js"
    assert (ROOT / "static" / Path(url).name).stat().st_mode & 0o444 == 0o444
