"""Processes that go wrong: a diverging run, one killed with SIGKILL mid-run, a torch that cannot be imported."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    VIEWPORT,
    chromium_path,
    go_to,
    problems,
    require_browser,
    streamlit_server,
    wait_idle,
)
from streamlit.testing.v1 import AppTest
from test_app import plotly_specs

from cl_core.runs import RunError, load_run

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--dataset", "digits", "--width", "8", "--batch-size", "32", "--threads", "1", "--snapshots", "2",
    "--opt", "data.max_train=512", "--opt", "data.probe_size=64", "--opt", "train.probe_pairs=16",
    "--opt", "method.proj_hidden=32", "--opt", "method.proj_dim=16", "--opt", "train.log_every=1",
    "--opt", "train.knn_max_train=300", "--quiet",
]  # fmt: skip


def train_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cl_core", "train", *TINY, *args]


def logged_steps(run_dir: Path) -> list[int]:
    try:
        return [r["step"] for r in load_run(run_dir).metrics if not r.get("snapshot")]
    except RunError:  # not written yet
        return []


def test_a_diverging_run_fails_naming_the_learning_rate_and_a_smaller_one_and_keeps_its_metrics(tmp_path):
    out = tmp_path / "run"
    cmd = train_cli("--method", "vicreg", "--optimizer", "sgd", "--lr", "100", "--steps", "30", "--out", str(out))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    run = load_run(out)
    assert run.state == "failed", run.status
    msg = run.status["message"]
    assert "NaN or infinite" in msg and "learning rate 100 is too high (try 10)" in msg
    steps = [r["step"] for r in run.metrics if not r.get("snapshot")]
    # over seeds 0-4, threads 1 and 2 the loss was NaN at step 4 every time (3 steps logged): 30 leaves 26 steps
    assert steps and steps == list(range(1, len(steps) + 1)) and len(steps) < 30
    assert f"at step {steps[-1] + 1}" in msg  # the step after the last logged one
    assert all(math.isfinite(r["loss"]) for r in run.metrics if not r.get("snapshot"))
    assert run.snapshot_steps() == [0] and run.snapshot(0)["features"].shape[0] == 64
    assert run.summary["state"] == "failed" and run.summary["knn_top1"] is None  # no probe on NaN weights
    assert not (out / "checkpoint.pt").exists()  # nothing to Continue from: it would diverge again


def test_a_run_killed_with_sigkill_reads_as_interrupted_and_stays_viewable(tmp_path, monkeypatch):
    out = tmp_path / "runs" / "20260101-000000-simclr-killed"
    proc = subprocess.Popen(train_cli("--method", "simclr", "--seconds", "600", "--out", str(out)), cwd=ROOT)
    try:
        end = time.time() + 120
        while len(logged_steps(out)) < 3:
            assert proc.poll() is None and time.time() < end, "the run did not start training"
            time.sleep(0.2)
        assert load_run(out).state == "running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    run = load_run(out)
    assert run.state == "interrupted" and "killed or crashed" in run.status["message"]
    steps = logged_steps(out)
    assert len(steps) >= 3 and steps == list(range(1, len(steps) + 1))
    assert 0 in run.snapshot_steps() and run.snapshot(0)["similarity"].shape == (32, 32)
    assert not (out / "checkpoint.pt").exists() and not list(out.rglob("*.tmp"))

    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert any("Interrupted" in w.value and "no checkpoint" in w.value for w in at.warning)
    assert not any("Continue" in b.label for b in at.button)  # nothing to continue from
    at.switch_page("app_pages/embeddings.py").run()
    assert not at.exception and at.session_state["run_id"] == out.name
    assert len(plotly_specs(at)) >= 1  # the probe set at step 0, projected


def broken_torch(folder: Path) -> dict[str, str]:
    """An environment whose torch cannot be imported, as after a half-failed install (a package shadowing it)."""
    (folder / "torch").mkdir(parents=True)
    (folder / "torch" / "__init__.py").write_text(
        'raise ImportError("libtorch_cpu.so: cannot open shared object file: No such file or directory")\n'
    )
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def test_the_cli_without_a_working_torch_says_what_failed_and_what_to_do_without_a_traceback(tmp_path):
    env = {**os.environ, **broken_torch(tmp_path / "site")}
    proc = subprocess.run(
        train_cli("--steps", "2", "--out", str(tmp_path / "run")), cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "could not be imported (libtorch_cpu.so: cannot open shared object file" in proc.stderr
    assert "pip install -r requirements.txt" in proc.stderr


@pytest.mark.browser
def test_the_app_without_a_working_torch_says_what_to_do_on_every_page_instead_of_a_traceback(tmp_path):
    from playwright.sync_api import expect

    sync_playwright = require_browser()
    env = broken_torch(tmp_path / "site")
    server = streamlit_server(tmp_path / "runs", tmp_path / "server.log", CL_UMAP_WARMUP="0", **env)
    with server as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(url)
        for title in ("Start", "Train", "Data & augmentations", "Embeddings", "Loss Playground"):
            if title != "Start":
                go_to(page, title)
            error = page.locator('[data-testid="stAlert"]').filter(has_text="could not be imported")
            expect(error).to_contain_text("libtorch_cpu.so", timeout=60_000)
            expect(error).to_contain_text("pip install -r requirements.txt")
            wait_idle(page)
            assert problems(page) == [], title
        browser.close()
