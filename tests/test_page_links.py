"""Links of the Loss Playground, Compare, Sweeps and Lessons (AppTest): a link restores the view it names."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from test_compare import fake_run
from test_links import APP, problems, warnings, widget_labels
from test_playground import np_info_nce

from cl_core.config import Config, ConfigError
from cl_core.methods import METHODS
from cl_core.playground import Toy, toy_embeddings
from cl_core.presets import preset_config
from cl_core.runs import write_json
from cl_core.sweep import SWEEP_FILE, suggest

PLAYGROUND = "app_pages/playground.py"


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")


def open_link(page: str, **params: str) -> AppTest:
    """A new session whose first address is ``/page?params`` (test_links.open_link takes ``runs`` as the folder)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(page)
    at.query_params.update(params)
    return at.run()


def metric(at, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def test_a_playground_link_restores_every_control_and_the_loss_follows():
    link = {"T": "0.1", "n": "4", "toy_seed": "7", "dim": "3", "anchor": "5", "closeness": "0.5", "bug": "true"}
    at = open_link(PLAYGROUND, **link)
    assert problems(at) == [] and warnings(at) == ""
    assert at.select_slider(key="pg.temperature").value == 0.1 and at.slider(key="pg.n").value == 4
    assert at.number_input(key="pg.seed").value == 7 and at.segmented_control(key="pg.dim").value == 3
    assert at.selectbox(key="pg.anchor").value == 5 and at.slider(key="pg.closeness").value == 0.5
    assert at.toggle(key="pg.bug").value is True
    z = np.concatenate(toy_embeddings(Toy(n=4, seed=7, dim=3, anchor=5, closeness=0.5)))
    assert metric(at, "InfoNCE loss") == pytest.approx(np_info_nce(z, 0.1).mean(), abs=5e-4)
    assert metric(at, "Copied-bug loss") == pytest.approx(np_info_nce(z, 0.1, bug=True).mean(), abs=5e-4)
    assert at.query_params == link
    if "cfg" in at.session_state:  # the working config is made on first use; the Playground need not make it
        assert at.session_state["cfg"].method.temperature == preset_config("simclr", "digits").method.temperature

    at.toggle(key="pg.bug").set_value(False).run()  # back to the default: it leaves the address
    assert "bug" not in at.query_params and at.query_params["T"] == "0.1"


def test_no_playground_link_name_is_a_training_setting():
    """A link also sets the training config by the settings' bare names (?temperature=0.5): no clash allowed."""
    at = open_link(PLAYGROUND)
    names = at.session_state["link.controls"]
    assert {"T", "m", "n", "toy_seed", "dim", "anchor", "bug"} <= set(names)
    for method in METHODS:
        cfg = Config.from_dict(preset_config(method, "digits").to_dict())
        for name in names:
            with pytest.raises(ConfigError):
                cfg.resolve(name)


def test_a_playground_link_snaps_the_temperature_and_ignores_a_bad_value():
    at = open_link(PLAYGROUND, T="0.12", n="40")
    assert problems(at) == []
    assert at.select_slider(key="pg.temperature").value == 0.1  # the nearest of the slider's values
    assert "`n`" in warnings(at) and at.slider(key="pg.n").value == Toy().n
    assert at.query_params == {"T": "0.1"}


def test_a_playground_presentation_link_shows_only_the_listed_control():
    at = open_link(PLAYGROUND, present="1", show="T", T="0.2", n="5")
    assert problems(at) == [] and len(at.sidebar.children) == 0
    assert widget_labels(at) == {"Temperature T"}
    assert at.session_state["pg.n"] == 5 and metric(at, "Chance ln(2N−1)") == pytest.approx(np.log(9), abs=5e-4)


def test_a_compare_link_picks_its_runs_and_ignores_unknown_ones(tmp_path):
    runs = tmp_path / "runs"
    for name in ("run-a", "run-b", "run-c"):
        fake_run(runs, name)
    at = open_link("app_pages/compare.py", runs="run-c,nope,run-a", normalise="true")
    assert problems(at) == []
    assert "nope" in warnings(at) and "run-a" not in warnings(at)
    assert at.multiselect(key="compare_picker").value == ["run-c", "run-a"]
    assert at.toggle(key="compare_normalise").value is True
    assert at.query_params == {"runs": "run-c,run-a", "normalise": "true"}
    at.multiselect(key="compare_picker").set_value(["run-b"]).run()
    assert at.query_params["runs"] == "run-b"


def test_a_sweeps_link_opens_its_sweep_and_metric(tmp_path):
    runs = tmp_path / "runs"
    for sweep, value, name in (("sweep-1", 0.1, "run-a"), ("sweep-1", 0.5, "run-b"), ("sweep-2", 0.2, "run-c")):
        fake_run(runs, name, temperature=value)
        member = {"sweep": sweep, "param": "method.temperature", "value": value, "index": value > 0.1, "size": 2}
        write_json(runs / name / SWEEP_FILE, member)
    at = open_link("app_pages/sweeps.py", sweep="sweep-1", metric="final_loss")
    assert problems(at) == [] and warnings(at) == ""
    assert at.selectbox(key="sweep_picker").value == "sweep-1"
    assert at.segmented_control(key="sweep_metric").value == "final_loss"
    assert {"sweep": "sweep-1", "metric": "final_loss"}.items() <= at.query_params.items()
    at = open_link("app_pages/sweeps.py", sweep="sweep-9")
    assert "sweep" in warnings(at) and at.selectbox(key="sweep_picker").value == "sweep-2"  # the newest


def test_a_sweeps_link_fills_in_its_values_and_another_setting_starts_from_suggestions():
    at = open_link("app_pages/sweeps.py", param="method.temperature", values="0.3, 0.9")
    assert problems(at) == [] and warnings(at) == ""
    assert at.text_input(key="sweep_values.method.temperature").value == "0.3, 0.9"
    at.selectbox(key="sweep_param").set_value("train.lr").run()
    assert at.text_input(key="sweep_values.train.lr").value == suggest(at.session_state["cfg"], "train.lr")
    assert at.query_params == {"param": "train.lr"}


def test_a_lessons_link_opens_its_lesson():
    at = open_link("app_pages/lessons.py", lesson="collapse", budget="full")
    assert problems(at) == [] and warnings(at) == ""
    assert at.selectbox(key="lesson.picked").value == "collapse"
    assert at.radio(key="lesson.collapse.mode").value == "full"
    assert at.query_params == {"lesson": "collapse", "budget": "full"}


DOCTOR = "app_pages/doctor.py"


def test_the_loss_doctor_opens_on_the_copied_examples_loss_and_names_the_bug():
    at = open_link(DOCTOR)
    assert not at.exception and warnings(at) == ""  # the reading's banner is an st.error: no problems() here
    (banner,) = at.error
    assert "ln(2N) = ln 32" in banner.value and "Exactly a degenerate value" in banner.value
    assert "copied-example bug" in at.markdown[-1].value
    assert metric(at, "Chance ln C") == pytest.approx(np.log(31), abs=1e-4)
    assert at.query_params == {}  # the defaults stay out of the address


def test_a_loss_doctor_link_carries_its_numbers_and_the_reading_follows():
    link = {"doc_loss": "2.0", "doc_n": "128", "doc_T": "0.1"}
    at = open_link(DOCTOR, **link)
    assert problems(at) == [] and warnings(at) == ""
    assert at.number_input(key="doc.loss").value == 2.0 and at.number_input(key="doc.n").value == 128
    (banner,) = at.success
    assert "Learning" in banner.value and "of the way from chance to the floor" in banner.value
    assert metric(at, "Temperature floor") == pytest.approx(np.log1p(254 * np.exp(-10)), abs=1e-4)
    assert at.query_params == link
    at.selectbox(key="doc.method").set_value("moco").run()
    at.number_input(key="doc.queue").set_value(4096).run()
    assert at.query_params == link | {"doc_method": "moco", "doc_queue": "4096"}
    assert metric(at, "Chance ln C") == pytest.approx(np.log(4097), abs=1e-4)
    at.selectbox(key="doc.method").set_value("byol").run()
    assert "has no chance level" in at.info[0].value and not at.error
    bad = open_link(DOCTOR, doc_n="1")
    assert "`doc_n`" in warnings(bad) and bad.number_input(key="doc.n").value == 16
