"""The Lessons page in AppTest: it renders, asks for a prediction before anything runs, launches the lesson's
runs through the job manager, and shows figures, verdicts and the explanation once they have finished."""

import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cl_core import lessons as L
from cl_core.runs import RunWriter

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "app_pages" / "lessons.py")
sys.path.insert(0, str(ROOT))  # the page imports ui from the app's folder
from test_lessons import GOOD  # noqa: E402 - tests/ is on sys.path under pytest


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)
    return tmp_path


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def button(at: AppTest, label: str):
    return next(b for b in at.button if label in b.label)


def test_page_renders_the_first_lesson_its_question_and_choices(env):
    at = page()
    first = L.load_lessons()[0][0]
    assert at.header[0].value == first.title["en"]
    assert any(first.question["en"].strip()[:40] in m.value for m in at.markdown)
    assert at.radio[0].options == [c["en"] for c in first.choices]
    assert len(at.selectbox[0].options) == len(L.load_lessons()[0])


def test_runs_start_only_after_the_class_commits_a_prediction(env):
    at = page()
    assert button(at, "Commit prediction").disabled and button(at, "Start the runs").disabled
    at.radio[0].set_value(1).run()
    assert not button(at, "Commit prediction").disabled and button(at, "Start the runs").disabled
    button(at, "Commit prediction").click().run()
    assert not at.exception
    assert not button(at, "Start the runs").disabled
    assert at.radio[0].disabled and any("Your prediction" in i.value for i in at.info)


def test_the_page_speaks_chinese(env):
    """The lessons follow the app's language (the sidebar's switch, or ?lang=zh in the address)."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    first = L.load_lessons()[0][0]
    assert at.header[0].value == first.title["zh"] and at.title[0].value == "课程"
    assert at.radio[0].options == [c["zh"] for c in first.choices]


def test_a_broken_lesson_file_is_a_warning_not_a_crash(env, monkeypatch):
    folder = env / "lessons"
    folder.mkdir()
    (folder / "good.toml").write_text(GOOD, encoding="utf-8")
    (folder / "broken.toml").write_text(GOOD.replace("[budget]", "[budgets]"), encoding="utf-8")
    monkeypatch.setenv("CL_LESSONS_DIR", str(folder))
    at = page()
    assert any("broken.toml" in w.value for w in at.warning)
    assert at.header[0].value == "Tiny"


def test_one_click_launches_the_runs_then_shows_figures_verdicts_and_explanation(env, monkeypatch):
    folder = env / "lessons"
    folder.mkdir()
    (folder / "tiny.toml").write_text(GOOD.replace("fast_steps = 5", "fast_steps = 2"), encoding="utf-8")
    monkeypatch.setenv("CL_LESSONS_DIR", str(folder))
    at = page()
    at.radio[0].set_value(0).run()
    button(at, "Commit prediction").click().run()
    button(at, "Start the runs").click().run()
    assert not at.exception, at.exception
    started = at.session_state["lesson.tiny.runs"]
    assert started["mode"] == "fast" and set(started["ids"]) == {"a", "b"}
    deadline = time.time() + 240
    runs = env / "runs"
    while time.time() < deadline:
        states = [json.loads((runs / i / "status.json").read_text()).get("state") for i in started["ids"].values()]
        if all(s in ("completed", "failed", "stopped") for s in states):
            break
        time.sleep(1)
    assert states == ["completed", "completed"], states
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) >= 7
    assert any("steps[a] = 2 ≥ steps[b] = 2" in v for v in [s.value for s in at.success])
    assert any("It is a test." in m.value for m in at.markdown)
    assert len(at.get("download_button")) == 2
    shutil.rmtree(runs, ignore_errors=True)


def test_a_lesson_that_would_pass_the_sessions_run_quota_starts_none_of_its_runs(env, monkeypatch):
    (env / "class.toml").write_text("max_runs_per_session = 1\n")  # every lesson has two runs or more
    monkeypatch.setenv("CL_SETTINGS", str(env / "class.toml"))
    at = page()
    at.radio[0].set_value(0).run()
    button(at, "Commit prediction").click().run()
    button(at, "Start the runs").click().run()
    assert not at.exception and any("max_runs_per_session" in e.value for e in at.error)
    assert not (env / "runs").exists() or not list((env / "runs").glob("*/config.json"))  # none queued
    assert button(at, "Start the runs")  # still the first start: nothing is tracked as started


def test_the_doctor_try_next_opens_the_loss_doctor_on_the_runs_loss_batch_and_temperature(env, monkeypatch):
    folder = env / "lessons"
    folder.mkdir()
    doctor = '\n[[try_next]]\nlabel = { en = "Read its loss", zh = "解读它的损失" }\npage = "doctor"\nrun = "b"\n'
    text = re.sub(r"figures = \[.*\]", 'figures = ["loss", "metric:final_loss"]', GOOD) + doctor
    (folder / "tiny.toml").write_text(text, encoding="utf-8")
    lesson = L.load_lesson(folder / "tiny.toml")
    ids = {}
    for name in ("a", "b"):  # finished runs written directly: no training needed to reach the results
        ids[name] = f"20260101-00000{len(ids)}-simclr-{name}"
        cfg = L.lesson_config(lesson, name, "fast")
        cfg.method.temperature = 0.3
        w = RunWriter(env / "runs" / ids[name], cfg.to_dict())
        w.log({"step": 5, "loss": 3.25})
        w.summary({"final_loss": 3.25, "batch_size": 32, "chance_level": math.log(63), "steps": 5})
        w.set_status("completed", "Done.")
    monkeypatch.setenv("CL_LESSONS_DIR", str(folder))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.session_state["lesson.tiny.prediction"] = 0
    at.session_state["lesson.tiny.runs"] = {"mode": "fast", "ids": ids}
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception, at.exception
    button(at, "Read its loss").click().run()
    assert not at.exception, at.exception
    assert at.number_input(key="doc.loss").value == 3.25 and at.number_input(key="doc.n").value == 32
    assert at.number_input(key="doc.T").value == 0.3 and at.selectbox(key="doc.method").value == "simclr"
    assert "Learning" in at.success[0].value
