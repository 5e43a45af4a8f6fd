"""cl_core.RunLogger and the Lightning callback: real loops written with lightly (and Lightning) as child processes
write runs that the app reads on every page; a collapsed variant reads collapsed and a healthy one healthy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cl_core import RunLogger
from cl_core.runs import RunError, load_run

pytest.importorskip("lightly")
LOOPS = Path(__file__).with_name("external_loops.py")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def loop(kind: str, run_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(LOOPS.parents[1])}
    return subprocess.Popen([sys.executable, str(LOOPS), kind, str(run_dir), *extra], env=env, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Three real runs written by child processes, two at a time: lightly in a plain loop (healthy and collapsed)
    and lightly inside a Lightning Trainer (healthy). ~15 s each on one core."""
    root = tmp_path_factory.mktemp("runs")
    jobs = [("plain", "plain"), ("plain", "plain-collapse", "--collapse"), ("lightning", "lightning")]
    procs = [loop(kind, root / name, *extra) for kind, name, *extra in jobs[:2]]
    procs.append(loop(jobs[2][0], root / jobs[2][1]))
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()[-2000:]
    return root


# Measured over seeds 0-4 (tests/external_loops.py --seed S, one torch thread): every healthy run read healthy with
# effective rank 18.3-20.3 of 32 and std 0.168-0.175 (healthy 0.177); every collapsed one dimensional_collapse,
# rank 2.3-5.0. The test runs seed 0 (2.3 and 18.6); the rank bound 6 sits between the two ranges.
def test_a_lightly_loop_reads_healthy_and_its_collapsed_variant_reads_collapsed(runs):
    healthy, collapsed, lit = (load_run(runs / n) for n in ("plain", "plain-collapse", "lightning"))
    assert healthy.state == collapsed.state == lit.state == "completed"
    assert healthy.summary["verdict"] == "healthy" and lit.summary["verdict"] == "healthy"
    assert collapsed.summary["verdict"] in ("dimensional_collapse", "complete_collapse")
    assert collapsed.summary["effective_rank"] < 6 < healthy.summary["effective_rank"]
    assert healthy.summary["final_loss"] < healthy.summary["chance_level"]  # lightly's NT-Xent learned
    assert healthy.snapshot_steps() == [0, 40, 80, 119] and len(lit.snapshot_steps()) >= 3
    assert healthy.summary["steps"] == lit.summary["steps"] == 120  # steps taken, as the trainer counts them
    snap = healthy.snapshot(119)
    assert snap["z1"].shape == snap["z2"].shape == (48, 32) and snap["images"].shape == (48, 24, 24, 3)
    assert snap["features"].shape == (48, 64) and snap["similarity"].shape == (96, 96)
    assert healthy.config["external"]["source"].startswith("lightly") and lit.config["external"]["source"]


@pytest.mark.parametrize(
    "page", ["start", "train", "embeddings", "diagnostics", "compare", "sweeps", "lessons", "data"]
)
def test_every_page_opens_an_external_run_and_says_what_it_lacks(runs, page, monkeypatch):
    monkeypatch.setenv("CL_RUNS_DIR", str(runs))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["run_id"] = "plain"
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if not e.value.startswith("**Verdict")]
    if page in ("train", "embeddings", "diagnostics"):
        assert any("Your own run" in i.value and "no config to replay" in i.value for i in at.info)
    if page == "train":
        assert not [b for b in at.button if "settings" in b.label or "Continue" in b.label]
    if page == "start":  # the latest runs say which loop wrote each
        assert set(at.dataframe[0].value["written by"]) == {"lightly (plain loop)", "PyTorch Lightning"}
    if page == "compare":
        assert any("Your own runs among these" in i.value for i in at.info)


def test_a_live_external_run_reads_running_and_a_killed_one_interrupted(tmp_path):
    p = loop("plain", tmp_path / "live", "--steps", "400", "--sleep", "0.05")
    try:
        for _ in range(600):
            if (tmp_path / "live" / "snapshots" / "step_0000000.npz").exists():
                break
            if p.poll() is not None:  # the loop ended early: the asserts below say how
                break
            time.sleep(0.1)
        run = load_run(tmp_path / "live")
        assert run.state == "running" and run.snapshot_steps() == [0]
    finally:
        p.kill()
        p.wait()
    run = load_run(tmp_path / "live")
    assert run.state == "interrupted" and "RunLogger.close()" in run.status["message"]


def test_the_logger_refuses_bad_input_and_keeps_what_was_written(tmp_path):
    with pytest.raises(ValueError, match="method: unknown 'dino'"):
        RunLogger(tmp_path / "a", method="dino")
    log = RunLogger(tmp_path / "b", batch_size=8, temperature=0.5)
    with pytest.raises(RunError, match="already holds a run"):
        RunLogger(tmp_path / "b")
    z = np.random.default_rng(0).normal(size=(16, 4))
    log.log(0, 2.0)
    with pytest.raises(ValueError, match="z2: needs the shape"):
        log.snapshot(0, z, z[:8])
    with pytest.raises(ValueError, match=r"z1: expected an \(N, D\)"):
        log.snapshot(0, z[0], z[0])
    d = log.snapshot(1, z, z + 0.01)
    assert d.verdict == "healthy"
    run = load_run(tmp_path / "b")
    assert [r["step"] for r in run.metrics] == [0, 1] and run.snapshot_steps() == [1]
    assert run.state == "running"


def test_an_exception_in_the_loop_marks_the_run_failed_with_its_message(tmp_path):
    with pytest.raises(ZeroDivisionError), RunLogger(tmp_path / "c", method="byol") as log:
        log.log(0, 0.5)
        1 / 0  # noqa: B018
    run = load_run(tmp_path / "c")
    assert run.state == "failed" and "ZeroDivisionError" in run.status["message"]
    assert run.summary["final_loss"] == 0.5 and run.summary["chance_level"] is None


def test_identical_embeddings_read_complete_collapse_and_names_become_classes(tmp_path):
    log = RunLogger(tmp_path / "d", labels=["cat", "dog"] * 8, batch_size=16)
    same = np.ones((16, 8))
    assert log.snapshot(0, same, same).verdict == "complete_collapse"
    log.close()
    run = load_run(tmp_path / "d")
    assert run.status["class_names"] == ["cat", "dog"] and list(run.snapshot(0)["labels"][:2]) == [0, 1]
