"""JobManager with real training children on a tiny config (digits, a few steps, width 8)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cl_core.config import Config
from cl_core.jobs import JobError, JobManager
from cl_core.runs import load_run


def tiny_config(steps: int = 3, seconds: float = 0.0) -> Config:
    cfg = Config()
    cfg.data.name, cfg.data.probe_size = "digits", 64
    cfg.method.proj_hidden, cfg.method.proj_dim = 32, 16
    t = cfg.train
    t.steps, t.seconds, t.batch_size, t.width, t.snapshots = steps, seconds, 16, 8, 2
    t.knn_max_train, t.log_every, t.probe_pairs, t.threads = 200, 1, 16, 1
    return cfg


def wait_for(pred: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def state(jm: JobManager, run_id: str) -> str:
    jm.poll()
    return load_run(jm.runs_dir / run_id).state


def finished(jm: JobManager, run_id: str) -> bool:
    done = state(jm, run_id) in ("completed", "stopped", "failed", "interrupted")
    return done and run_id not in {j.run_id for j in jm.jobs()}


@pytest.fixture
def jm(tmp_path: Path):
    manager = JobManager(tmp_path / "runs", max_concurrent=1)
    yield manager
    manager.shutdown()
    wait_for(lambda: not manager.jobs(), 30, "children to exit")


def test_a_submitted_run_completes_with_a_complete_run_directory(jm):
    run_id = jm.submit(tiny_config(), owner="alice")
    wait_for(lambda: finished(jm, run_id), what="the run to finish")
    run = load_run(jm.runs_dir / run_id)
    assert run.state == "completed", run.status
    assert run.summary["steps"] == 3 and run.summary["knn_top1"] is not None
    assert len(run.snapshot_steps()) >= 2
    assert {"features", "z1", "z2", "similarity", "probe_index"} <= set(run.snapshot(run.snapshot_steps()[-1]))
    assert [r["step"] for r in run.metrics if not r.get("snapshot")] == [1, 2, 3]
    assert (run.path / "train.log").is_file() and (run.path / "model.pt").is_file()


def test_with_one_slot_a_second_run_waits_in_the_queue_then_runs(jm):
    first = jm.submit(tiny_config(), owner="alice")
    second = jm.submit(tiny_config(), owner="bob")
    jobs = {j.run_id: j for j in jm.jobs()}
    assert (jobs[first].state, jobs[second].state, jobs[second].position) == ("running", "queued", 1)
    assert load_run(jm.runs_dir / second).state == "queued"
    wait_for(lambda: finished(jm, first) and finished(jm, second), 150, "both runs")
    assert state(jm, first) == state(jm, second) == "completed"


def test_stop_ends_a_running_run_cleanly_and_keeps_it_viewable(jm):
    run_id = jm.submit(tiny_config(steps=0, seconds=120), owner="alice")
    wait_for(lambda: any(not r.get("snapshot") for r in load_run(jm.runs_dir / run_id).metrics), what="training")
    jm.stop(run_id, owner="alice")
    wait_for(lambda: finished(jm, run_id), 60, "the stop")
    run = load_run(jm.runs_dir / run_id)
    assert run.state == "stopped" and "Stopped" in run.status["message"]
    assert run.snapshot_steps() and run.summary["steps"] > 0


def test_another_owner_cannot_stop_a_run(jm):
    run_id = jm.submit(tiny_config(steps=0, seconds=120), owner="alice")
    with pytest.raises(JobError, match="another session"):
        jm.stop(run_id, owner="mallory")
    with pytest.raises(JobError, match="not started by this app"):
        jm.stop("20260101-000000-simclr-abcdef", owner="alice")
    assert [j.state for j in jm.jobs()] == ["running"]


def test_a_stopped_queued_run_never_starts_and_a_gone_owner_is_dropped(jm):
    running = jm.submit(tiny_config(steps=0, seconds=120), owner="alice")
    queued = jm.submit(tiny_config(), owner="bob")
    dropped = jm.submit(tiny_config(), owner="alice")
    jm.stop(queued, owner="bob")
    assert state(jm, queued) == "stopped"
    assert sorted(jm.drop_owner("alice")) == sorted([running, dropped])
    wait_for(lambda: not jm.jobs(), 60, "alice's runs to end")
    assert state(jm, running) == "stopped" and state(jm, dropped) == "stopped"
    assert "session" in load_run(jm.runs_dir / dropped).status["message"]
    assert not (jm.runs_dir / queued / "train.log").exists()


def test_a_gone_owner_loses_its_runs_after_the_grace_time_unless_a_new_session_adopts_them(tmp_path):
    alive = {"alice": True, "bob": True}
    jm = JobManager(tmp_path / "runs", max_concurrent=2, owner_alive=lambda o: alive[o], drop_after=1.0)
    kept = jm.submit(tiny_config(steps=0, seconds=120), owner="alice")
    dropped = jm.submit(tiny_config(steps=0, seconds=120), owner="bob")
    assert not jm.adopt(kept, "carol")
    alive["alice"] = alive["bob"] = False  # both tabs closed; carol is alice's reloaded tab
    assert jm.adopt(kept, "carol") and jm.owner_of(kept) == "carol"
    wait_for(lambda: finished(jm, dropped), 60, "the drop")
    assert state(jm, dropped) == "stopped" and [(j.run_id, j.state) for j in jm.jobs()] == [(kept, "running")]
    jm.stop(kept, owner="carol")
    wait_for(lambda: finished(jm, kept), 60, "the stop")


def test_a_child_that_fails_leaves_a_failed_status_with_its_message(jm, tmp_path):
    cfg = tiny_config()
    cfg.data.name = f"folder:{tmp_path / 'nowhere'}"
    run_id = jm.submit(cfg, owner="alice")
    wait_for(lambda: finished(jm, run_id), what="the failure")
    run = load_run(jm.runs_dir / run_id)
    assert run.state == "failed" and "nowhere" in run.status["message"]


def test_continue_trains_a_finished_run_further(jm):
    run_id = jm.submit(tiny_config(), owner="alice")
    wait_for(lambda: finished(jm, run_id), what="the first run")
    assert jm.submit(None, owner="alice", resume_run=jm.runs_dir / run_id, steps=2) == run_id
    wait_for(lambda: finished(jm, run_id), what="the continued run")
    run = load_run(jm.runs_dir / run_id)
    assert run.state == "completed" and run.summary["steps"] == 5


def test_submit_refuses_a_bad_config_and_a_run_without_checkpoint(jm, tmp_path):
    cfg = tiny_config()
    cfg.train.batch_size = 1
    with pytest.raises(ValueError, match="train.batch_size"):
        jm.submit(cfg, owner="alice")
    (jm.runs_dir / "empty").mkdir(parents=True)
    with pytest.raises(JobError, match="checkpoint"):
        jm.submit(None, owner="alice", resume_run="empty")


# ------------------------------------------------------------ the session-drop rule (cl_core/jobs.py's docstring)


def logged(jm: JobManager, run_id: str) -> bool:
    return any(not r.get("snapshot") for r in load_run(jm.runs_dir / run_id).metrics)


def test_a_closed_session_keeps_its_runs_for_the_grace_time_then_frees_its_slot_for_the_queue(tmp_path):
    alive = {"alice": True, "carol": True}
    jm = JobManager(tmp_path / "runs", max_concurrent=1, owner_alive=lambda o: alive[o], drop_after=2.0)
    running = jm.submit(tiny_config(steps=0, seconds=120), owner="alice")
    queued, spare = jm.submit(tiny_config(), owner="alice"), jm.submit(tiny_config(), owner="alice")
    waiting = jm.submit(tiny_config(), owner="carol")
    try:
        wait_for(lambda: logged(jm, running), what="alice's run to train")
        alive["alice"] = False  # a network blip shorter than the grace time drops nothing
        time.sleep(0.8)
        alive["alice"] = True
        time.sleep(2.5)
        assert [j.state for j in jm.jobs()] == ["running", "queued", "queued", "queued"]
        with pytest.raises(JobError, match="another session"):
            jm.stop(spare, owner="mallory")
        alive["alice"], gone = False, time.time()  # alice closed her tab
        jm.stop(spare, owner="mallory")  # the run of a session that has gone: anyone may stop it
        time.sleep(1.0)
        states = {j.run_id: j.state for j in jm.jobs()}
        assert states == {running: "running", queued: "queued", waiting: "queued"}, "dropped before the grace time"
        wait_for(lambda: finished(jm, running), 60, "the drop")
        assert time.time() - gone >= 2.0
        wait_for(lambda: finished(jm, waiting), 120, "carol's run, which waited for the slot")
        assert state(jm, running) == "stopped" and state(jm, waiting) == "completed" and state(jm, spare) == "stopped"
        partial = load_run(jm.runs_dir / running)  # kept in the store, and Continue can train it further
        assert partial.summary["steps"] > 0 and (partial.path / "checkpoint.pt").is_file()
        dropped = load_run(jm.runs_dir / queued)
        assert dropped.state == "stopped" and "session" in dropped.status["message"]
        assert not (dropped.path / "train.log").exists() and not dropped.metrics  # it never started
    finally:
        jm.shutdown()
        wait_for(lambda: not jm.jobs(), 30, "children to exit")
