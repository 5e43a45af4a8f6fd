"""Run pickers with runs whose labels coincide (same minute, method, data and state: a sweep's runs).

Streamlit's selectbox and multiselect send back the label of a choice, not the choice, so twin labels must differ.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest
from test_compare import fake_run

from cl_core.runs import read_json, write_json
from cl_core.trainer import train

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # ui lives beside app.py
from ui import runs as ui_runs  # noqa: E402
from ui import widgets  # noqa: E402

APP = str(ROOT / "app.py")
CREATED = 1767225600.0  # 2026-01-01 00:00 UTC: one minute for both runs, and not today (the label has the date)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny finished run, trained once for this module."""
    cfg = tiny_config()
    cfg.train.threads = 1
    path = tmp_path_factory.mktemp("picker") / "20260101-000000-simclr-aaaa"
    train(cfg, path)
    return path


@pytest.fixture
def twins(trained, tmp_path, monkeypatch) -> list:
    """Two finished SimCLR runs on digits created in the same minute: the same run_label."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("CL_RUNS_DIR", str(runs))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    out = []
    for name in ("20260101-000000-simclr-aaaa", "20260101-000000-simclr-bbbb"):
        shutil.copytree(trained, runs / name)
        status = read_json(runs / name / "status.json")
        write_json(runs / name / "status.json", {**status, "created": CREATED})
        out.append(ui_runs.load(runs / name))
    assert widgets.run_label(out[0]) == widgets.run_label(out[1])
    return out


def test_run_labels_tell_twins_apart_by_id_and_leave_other_labels_alone(twins, tmp_path):
    labels = widgets.run_labels(twins)
    assert len(set(labels.values())) == 2
    assert all(labels[r.id] == f"{widgets.run_label(r)} · {r.id}" for r in twins)
    other = fake_run(tmp_path / "other", "20260102-000000-moco-cccc")
    assert widgets.run_labels([twins[0], other]) == {r.id: widgets.run_label(r) for r in (twins[0], other)}


def picker(at: AppTest):
    (box,) = [s for s in at.sidebar.selectbox if s.key.startswith("run_picker.")]
    return box


def test_picking_the_second_of_two_runs_with_the_same_label_shows_the_second(twins):
    first, second = sorted(twins, key=lambda r: r.id)
    for run in (second, first, second):
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()  # the sidebar is drawn by app.py: AppTest runs a page alone after switch_page
        assert len(set(picker(at).options)) == 2
        picker(at).set_value(run.id).run()
        assert not at.exception
        assert at.session_state["run_id"] == run.id and picker(at).value == run.id
        at.switch_page("app_pages/train.py").run()
        assert {c.value for c in at.caption} & {first.id, second.id} == {run.id}  # run_header's caption


def test_compare_keeps_both_runs_with_the_same_label(twins):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/compare.py").run()
    box = at.multiselect(key="compare_picker")
    assert sorted(box.value) == sorted(r.id for r in twins) and len(set(box.options)) == 2
    box.set_value([twins[1].id]).run()
    assert at.multiselect(key="compare_picker").value == [twins[1].id]
    at.multiselect(key="compare_picker").set_value([twins[1].id, twins[0].id]).run()
    assert sorted(at.multiselect(key="compare_picker").value) == sorted(r.id for r in twins)
    assert not at.exception
