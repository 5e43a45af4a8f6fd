"""The app on a classroom server (AppTest): caps in the widgets, refused uploads, a bad settings file, private mode."""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from pathlib import Path

import pytest
from conftest import start_tiny_training
from streamlit.testing.v1 import AppTest

from cl_core.config import Config
from cl_core.runs import FINISHED, OWNER_FILE, RunWriter, write_json

APP = str(Path(__file__).resolve().parents[1] / "app.py")
OTHERS, CLI = "20260101-000000-simclr-others", "20260101-000001-simclr-cmdlin"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    return tmp_path


def use_settings(home: Path, monkeypatch, text: str) -> None:
    """A settings file of its own per test: the app reads each path once."""
    (home / "explorer.toml").write_text(text)
    monkeypatch.setenv("CL_SETTINGS", str(home / "explorer.toml"))


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    return at


def make_run(runs: Path, run_id: str, owner: str | None) -> None:
    """A finished run with one logged step, started by session ``owner`` (None: from the command line)."""
    w = RunWriter(runs / run_id, Config().to_dict())
    w.log({"step": 1, "loss": 1.0})
    w.set_status("completed", "Done.", created=1795900000.0)  # the same minute for every run
    if owner:
        write_json(runs / run_id / OWNER_FILE, {"owner": owner})


def test_train_widgets_stop_at_the_servers_caps(home, monkeypatch):
    use_settings(home, monkeypatch, "max_batch_size = 64\nmax_seconds_per_run = 30\n")
    at = open_page("app_pages/train.py")
    batch = at.select_slider(key="w.train.batch_size")
    assert batch.options[-1] == "64" and batch.value == 64
    seconds = at.number_input(key="w.train.seconds")
    assert (seconds.max, seconds.value) == (30, 30) and not at.exception


def test_a_bad_settings_key_is_reported_and_the_app_runs_with_its_default(home, monkeypatch):
    use_settings(home, monkeypatch, "max_batch_size = 1\n")
    at = open_page("app_pages/train.py")
    assert not at.exception
    assert any("max_batch_size" in w.value and "keeps its default" in w.value for w in at.sidebar.warning)
    assert at.select_slider(key="w.train.batch_size").options[-1] == "2048"


def test_an_upload_over_the_limit_is_refused_even_past_the_widget(home, monkeypatch):
    use_settings(home, monkeypatch, "max_upload_mb = 1\n")
    at = open_page("app_pages/data.py")
    at.selectbox(key="w.data.source").set_value("upload").run()
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w") as z:
        z.writestr("a/noise.png", os.urandom(3 * 2**19))  # stored, not compressed: 1.5 MB
    at.get("file_uploader")[0].set_value(("big.zip", big.getvalue(), "application/zip")).run()
    assert not at.exception
    assert any("big.zip is 1.5 MB" in e.value and "up to 1 MB" in e.value for e in at.error)
    assert at.session_state["cfg"].data.name == "digits" and not (home / "data" / "uploads").exists()


@pytest.mark.parametrize("private", [False, True])
def test_in_private_mode_a_session_sees_none_of_the_other_runs(home, monkeypatch, private):
    use_settings(home, monkeypatch, f"private = {str(private).lower()}\n")
    make_run(home / "runs", OTHERS, owner="another session")
    make_run(home / "runs", CLI, owner=None)
    at = open_page("app_pages/train.py")
    assert len(at.sidebar.selectbox[0].options) == (0 if private else 2)
    assert (at.session_state["run_id"] is None) == private
    assert any(w.key == "runs_dir" for w in at.sidebar.text_input) != private  # the runs folder is fixed
    at.session_state["run_id"] = OTHERS  # as a page link or a query parameter would set it
    at.run()
    shown = [c.value for c in at.caption]
    assert (OTHERS in shown) != private and not at.exception


@pytest.mark.parametrize("local_folders", [True, False])
def test_without_local_folders_neither_the_runs_folder_nor_a_data_folder_nor_a_checkpoint_can_be_picked(
    home, monkeypatch, local_folders
):
    use_settings(home, monkeypatch, f"local_folders = {str(local_folders).lower()}\n")
    at = open_page("app_pages/data.py")
    assert any(w.key == "runs_dir" for w in at.sidebar.text_input) == local_folders
    assert ("A folder of images on this computer…" in at.selectbox(key="w.data.source").options) == local_folders
    assert not at.exception
    at.switch_page("app_pages/train.py").run()
    assert any(w.key == "w.train.init_from" for w in at.text_input) == local_folders
    assert not at.exception


@pytest.mark.parametrize("private", [False, True])
def test_a_run_id_in_the_address_opens_another_sessions_run_only_outside_private_mode(home, monkeypatch, private):
    use_settings(home, monkeypatch, f"private = {str(private).lower()}\n")
    make_run(home / "runs", OTHERS, owner="another session")
    make_run(home / "runs", CLI, owner=None)  # newer: the one the sidebar would pick by itself
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["run"] = OTHERS
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert (OTHERS in [c.value for c in at.caption]) != private and not at.exception


def test_in_private_mode_a_session_lists_and_opens_the_run_it_started(home, monkeypatch):
    use_settings(home, monkeypatch, "private = true\n")
    make_run(home / "runs", OTHERS, owner="another session")
    at = open_page("app_pages/train.py")
    start_tiny_training(at, snapshots=1)
    mine = at.session_state["run_id"]
    assert mine and mine != OTHERS and not at.exception
    end = time.time() + 120
    while json.loads((home / "runs" / mine / "status.json").read_text())["state"] not in FINISHED:
        assert time.time() < end, "the run did not finish"
        time.sleep(0.3)
    at.switch_page("app_pages/train.py").run()  # (a plain rerun under AppTest leaves the sidebar out of its tree)
    assert len(at.sidebar.selectbox[0].options) == 1 and mine in [c.value for c in at.caption]
    at.switch_page("app_pages/diagnostics.py").run()
    assert not at.exception and at.session_state["run_id"] == mine


def test_runs_with_the_same_label_get_distinct_labels_in_the_run_picker(home):
    from cl_core.runs import list_runs
    from ui import widgets

    make_run(home / "runs", OTHERS, owner=None)
    make_run(home / "runs", CLI, owner=None)
    runs = list_runs(home / "runs")
    assert widgets.run_label(runs[0]) == widgets.run_label(runs[1])  # same minute, method, data set and state
    labels = widgets.run_labels(runs)  # a selectbox sends back the label: one label for two runs picks the wrong one
    assert len(set(labels.values())) == 2 and all(run_id in label for run_id, label in labels.items())
