"""Links and presentation mode (AppTest): a URL restores a page's settings; the page writes them back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest

from cl_core.runs import load_run
from cl_core.trainer import train

APP = str(Path(__file__).resolve().parents[1] / "app.py")
WIDGETS = (
    "button",
    "selectbox",
    "select_slider",
    "slider",
    "number_input",
    "toggle",
    "segmented_control",
    "text_input",
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """One finished tiny run (two snapshots) in its own runs folder, shared by the tests that only read it."""
    runs = tmp_path_factory.mktemp("links") / "runs"
    cfg = tiny_config()
    cfg.train.threads = 1
    train(cfg, runs / "20260101-000000-simclr-linked")
    return runs


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    return tmp_path


def open_link(page: str, runs: Path | None = None, **params: str) -> AppTest:
    """A new session whose first address is ``/page?params`` (AppTest sends the query string with each run)."""
    at = AppTest.from_file(APP, default_timeout=60)
    if runs is not None:
        at.session_state["runs_dir"] = str(runs)
    at.switch_page(page)
    at.query_params.update(params)
    return at.run()


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [e.value for e in at.error if not e.value.startswith("**Verdict")]


def warnings(at: AppTest) -> str:
    """The warnings, except verdict banners (a run stuck at chance is an st.warning on purpose)."""
    return "\n".join(w.value for w in at.warning if not w.value.startswith("**Verdict"))


def widget_labels(at: AppTest, where=None) -> set[str]:
    where = where or at.main
    return {w.label for kind in WIDGETS for w in where.get(kind)}


def test_a_link_restores_the_train_settings_and_keeps_other_parameters():
    at = open_link("app_pages/train.py", method="byol", lr="0.01", steps="300", predictor="false", utm="x")
    assert problems(at) == [] and warnings(at) == ""
    assert at.selectbox(key="method_picker").value == "byol"
    assert at.select_slider(key="w.train.lr").value == 0.01
    assert at.segmented_control(key="w.train.budget").value == "steps"
    assert at.number_input(key="w.train.steps").value == 300
    assert at.toggle(key="w.method.options.predictor").value is False
    cfg = at.session_state["cfg"]
    assert (cfg.method.name, cfg.train.lr, cfg.train.steps, cfg.method.options["predictor"]) == (
        "byol",
        0.01,
        300,
        False,
    )
    # the page writes back exactly what differs from BYOL's defaults, and leaves parameters it does not own
    assert at.query_params == {
        "method": "byol",
        "lr": "0.01",
        "steps": "300",
        "predictor": "false",
        "utm": "x",
    }


def test_a_link_restores_the_data_settings_and_the_gallery_seed():
    at = open_link("app_pages/data.py", dataset="shapes", hue="0.3", flip_p="0.1", crop_scale_min="0.5", aug_seed="3")
    assert problems(at) == [] and warnings(at) == ""
    assert at.selectbox(key="w.data.source").value == "shapes"
    assert at.slider(key="w.augment.hue").value == 0.3
    assert at.slider(key="w.augment.flip_p").value == 0.1
    assert at.slider(key="w.augment.crop_scale_min..augment.crop_scale_max").value[0] == 0.5
    assert any("Seed 3." in c.value for c in at.caption)
    assert {"dataset": "shapes", "hue": "0.3", "flip_p": "0.1", "crop_scale_min": "0.5", "aug_seed": "3"}.items() <= (
        at.query_params.items()
    )


def test_bad_link_values_warn_naming_the_range_and_fall_back_to_the_defaults():
    at = open_link(
        "app_pages/train.py", temperature="-1", batch_size="many", snapshots="500", method="nope", probe_pairs="16"
    )
    assert problems(at) == []
    text = warnings(at)
    assert "`temperature`" in text and "> 0" in text  # validate's range
    assert "`batch_size`" in text and "expected int" in text
    assert "`snapshots`" in text and "<= 100" in text  # the widget's range (the config would take 1000)
    assert "`method`" in text and "simclr" in text
    cfg = at.session_state["cfg"]
    assert (cfg.method.name, cfg.method.temperature, cfg.train.batch_size) == ("simclr", 0.2, 128)
    assert cfg.train.snapshots == 8 and cfg.train.probe_pairs == 16  # the good value next to them is kept
    assert at.query_params == {"probe_pairs": "16"}  # the ignored ones leave the address


def test_an_unknown_or_escaping_run_id_is_ignored(trained, env):
    outside = env / "outside"
    outside.mkdir()
    (outside / "config.json").write_text(json.dumps(tiny_config().to_dict()))
    real = next(trained.iterdir()).name
    for bad in ("no-such-run", "../outside", str(outside), "..", "%2e%2e"):
        at = open_link("app_pages/diagnostics.py", trained, run=bad)
        assert problems(at) == [], bad
        assert "`run`" in warnings(at), bad
        assert at.session_state["run_id"] == real, bad  # the sidebar's default, the newest run
        assert at.query_params["run"] == real, bad
    at = open_link("app_pages/diagnostics.py", trained, run=real)
    assert warnings(at) == "" and at.session_state["run_id"] == real


def test_a_link_restores_the_embeddings_and_diagnostics_views(trained):
    run = load_run(next(trained.iterdir()))
    first = run.snapshot_steps()[0]
    at = open_link("app_pages/embeddings.py", trained, run=run.id, projection="pca", dims="3", space="projections")
    assert problems(at) == [] and warnings(at) == ""
    assert at.segmented_control(key="emb_method").value == "pca"
    assert at.segmented_control(key="emb_dim").value == 3
    assert at.segmented_control(key="emb_space").value == "projections"
    assert at.query_params == {"run": run.id, "projection": "pca", "dims": "3", "space": "projections"}
    at.segmented_control(key="emb_dim").set_value(2).run()  # back to the default: it leaves the link
    assert at.query_params == {"run": run.id, "projection": "pca", "space": "projections"}
    at.select_slider(key=f"emb_step.{run.snapshot_steps()[-1]}").set_value(first).run()
    assert at.query_params["step"] == str(first)

    at = open_link(
        "app_pages/diagnostics.py", trained, run=run.id, spectrum="projections", whatif_t="0.5", whatif_step=str(first)
    )
    assert problems(at) == [] and warnings(at) == ""
    assert at.segmented_control(key="diag_space").value == "projections"
    assert at.select_slider(key="wi_t").value == 0.5
    assert at.select_slider(key=f"wi_step.{run.snapshot_steps()[-1]}").value == first
    at.slider(key="wi_m").set_value(0.3).run()
    assert at.query_params["whatif_m"] == "0.3" and at.query_params["whatif_t"] == "0.5"

    at = open_link("app_pages/embeddings.py", trained, projection="umap3", step="12345")
    assert problems(at) == []
    assert "`projection`" in warnings(at) and "`step`" in warnings(at)
    assert at.segmented_control(key="emb_method").value == "umap"


def test_changing_a_widget_puts_it_in_the_address_and_the_default_takes_it_out():
    at = open_link("app_pages/train.py")
    assert at.query_params == {}
    at.select_slider(key="w.method.temperature").set_value(0.5).run()
    at.toggle(key="w.method.options.mask_self").set_value(False).run()
    assert at.query_params == {"temperature": "0.5", "mask_self": "false"}
    at.select_slider(key="w.method.temperature").set_value(0.2).run()
    assert at.query_params == {"mask_self": "false"}
    at.selectbox(key="method_picker").set_value("moco").run()
    assert at.query_params == {"method": "moco"}  # MoCo's preset: nothing else differs


def test_presentation_mode_shows_only_the_listed_controls_and_no_sidebar():
    at = open_link("app_pages/train.py", present="1", show="temperature,start", temperature="0.5", lr="0.01")
    assert problems(at) == []
    assert len(at.sidebar.children) == 0
    assert widget_labels(at) == {"Temperature T", "▶ Start training"}
    cfg = at.session_state["cfg"]
    assert (cfg.method.temperature, cfg.train.lr) == (0.5, 0.01)  # hidden controls keep their link values
    assert at.query_params == {"present": "1", "show": "temperature,start", "temperature": "0.5", "lr": "0.01"}
    assert any("stSidebar" in h.proto.body for h in at.get("html"))  # the CSS that also hides the toolbar


def test_the_share_box_offers_a_presentation_link_of_the_visible_controls(trained):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["runs_dir"] = str(trained)
    at.session_state["share.present"] = True  # the toggle on: after its first run AppTest runs a page without app.py
    at.switch_page("app_pages/embeddings.py").run()
    assert problems(at) == []
    (box,) = at.sidebar.get("popover")
    assert "Share" in box.proto.popover.label
    (keep,) = at.sidebar.multiselect
    assert keep.options == ["projection", "dims", "space", "play", "step"] and keep.value == keep.options
    link, presentation = (e.proto.srcdoc for e in at.sidebar.get("iframe"))
    assert "const extra = {}" in link and "window.parent.location" in link
    assert '{"present": "1", "show": "projection,dims,space,play,step"}' in presentation
