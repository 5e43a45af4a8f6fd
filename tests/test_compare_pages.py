"""Compare and Sweeps under AppTest: preselected runs overlaid, a 2-value sweep that completes and charts
2 points, its runs opened in Compare, and the Lessons page's "compare" try-next opening its runs there."""

import json
from pathlib import Path

import pytest
from conftest import tiny_config
from streamlit.testing.v1 import AppTest
from test_app import button, plotly_specs, problems, wait_finished
from test_compare import fake_run
from test_lessons import GOOD

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    return tmp_path / "runs"


def open_page(page: str, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    return at


@pytest.mark.parametrize("page", ["app_pages/compare.py", "app_pages/sweeps.py"])
def test_the_pages_render_without_runs(page):
    at = open_page(page)
    assert problems(at) == [] and at.title


def test_compare_shows_the_preselected_runs_overlaid_with_their_differences_highlighted(runs_dir):
    fake_run(runs_dir, "run-a", knn=0.4, chance=4.0, temperature=0.1)
    fake_run(runs_dir, "run-b", knn=0.6, chance=5.0, temperature=0.5)
    fake_run(runs_dir, "run-c")
    at = open_page("app_pages/compare.py", compare_ids=["run-a", "run-b"])
    assert problems(at) == []
    assert at.multiselect(key="compare_picker").value == ["run-a", "run-b"]
    loss, knn, au = plotly_specs(at)
    names = ["temperature=0.1", "temperature=0.5"]
    assert [tr["name"] for tr in knn["data"]] == names and [tr["name"] for tr in au["data"]] == names
    raw = [tr["y"] for tr in loss["data"] if tr["name"].endswith("(raw)")]
    at.toggle(key="compare_normalise").set_value(True).run()
    norm = [tr["y"] for tr in plotly_specs(at)[0]["data"] if tr["name"].endswith("(raw)")]
    assert norm != raw and problems(at) == []
    (df,) = at.dataframe
    assert list(df.value["run"]) == names and "method.temperature" in df.value.columns
    assert "train.lr" not in df.value.columns  # only the settings that differ, unless asked for all
    at.toggle(key="compare_every").set_value(True).run()
    assert "train.lr" in at.dataframe[0].value.columns
    assert len(at.get("download_button")) == 2


def test_a_two_value_sweep_completes_charts_two_points_and_opens_in_compare(runs_dir):
    cfg = tiny_config(steps=3, batch_size=16)
    cfg.train.snapshots = 1
    at = open_page("app_pages/sweeps.py", cfg=cfg)
    at.selectbox(key="sweep_param").set_value("method.temperature").run()
    at.text_input(key="sweep_values.method.temperature").set_value("0.1, 0.5").run()
    button(at, "Launch the sweep").click().run()
    assert problems(at) == []
    dirs = sorted(runs_dir.iterdir())
    assert len(dirs) == 2 and at.session_state["sweep_id"]
    assert len(at.progress) == 2, "each run shows its state while the sweep runs"
    for d in dirs:
        assert wait_finished(d, timeout=240) == "completed", (d / "train.log").read_text()
    at.run()
    assert problems(at) == []
    (chart,) = plotly_specs(at)
    assert sorted(chart["data"][0]["x"]) == [0.1, 0.5] and len(chart["data"][0]["y"]) == 2
    assert sorted(json.loads((d / "sweep.json").read_text())["value"] for d in dirs) == [0.1, 0.5]
    button(at, "Open these runs in Compare").click().run()
    assert problems(at) == [] and at.title[0].value == "Compare runs"
    assert sorted(at.multiselect(key="compare_picker").value) == [d.name for d in dirs]
    assert len(plotly_specs(at)) == 3


def test_the_lessons_compare_try_next_opens_compare_with_the_lessons_runs(runs_dir, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    lesson = GOOD.replace('figures = ["loss", "knn",', 'figures = ["loss", "knn"]\n#')
    lesson += '\n[[try_next]]\nlabel = { en = "Compare the runs side by side", zh = "并排比较" }\npage = "compare"\n'
    (folder / "tiny.toml").write_text(lesson, encoding="utf-8")
    monkeypatch.setenv("CL_LESSONS_DIR", str(folder))
    fake_run(runs_dir, "run-a")
    fake_run(runs_dir, "run-b", temperature=0.5)
    fake_run(runs_dir, "run-c")
    started = {"mode": "fast", "ids": {"a": "run-a", "b": "run-b"}}
    at = open_page("app_pages/lessons.py", **{"lesson.tiny.runs": started, "lesson.tiny.prediction": 0})
    assert not at.exception  # (a claim that does not hold on these made-up runs is an error box, on purpose)
    button(at, "Compare the runs side by side").click().run()
    assert problems(at) == [] and at.title[0].value == "Compare runs"
    assert at.multiselect(key="compare_picker").value == ["run-a", "run-b"]


def test_train_shows_a_run_whose_snapshot_rows_lack_some_diagnostics(runs_dir):
    fake_run(runs_dir, "run-a")  # snapshot rows with kNN and alignment only: an older or a partial run
    at = open_page("app_pages/train.py", run_id="run-a")
    assert problems(at) == [] and plotly_specs(at)
