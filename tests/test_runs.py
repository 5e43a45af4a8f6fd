import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from cl_core.runs import RunError, RunWriter, list_runs, load_run, new_run_id, read_jsonl, resolve_run


def test_writer_produces_a_run_that_loads_back(tmp_path):
    w = RunWriter(tmp_path / "r1", {"method": {"name": "simclr"}})
    w.set_status("running", "Training")
    w.log({"step": 1, "loss": 2.0})
    w.snapshot(1, {"labels": np.arange(3)})
    w.summary({"knn_top1": 0.5})
    w.set_status("completed")
    run = load_run(tmp_path / "r1")
    assert run.state == "completed" and run.metrics == [{"step": 1, "loss": 2.0}]
    assert run.snapshot_steps() == [1] and run.snapshot(1)["labels"].tolist() == [0, 1, 2]
    assert run.summary["knn_top1"] == 0.5
    assert not [p for p in (tmp_path / "r1").rglob("*.tmp")]


def test_a_torn_last_metrics_line_is_ignored(tmp_path):
    p = tmp_path / "metrics.jsonl"
    p.write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "lo')
    assert read_jsonl(p) == [{"step": 1, "loss": 1.0}]


def test_a_running_run_whose_process_is_gone_reads_as_interrupted(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    w = RunWriter(tmp_path / "r", {})
    w.set_status("running", "Training")
    w.status["pid"] = proc.pid
    from cl_core.runs import write_json

    write_json(tmp_path / "r" / "status.json", w.status)
    assert load_run(tmp_path / "r").state == "running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = load_run(tmp_path / "r")
    assert run.state == "interrupted" and "killed or crashed" in run.status["message"]
    assert "no checkpoint" in run.status["message"]  # nothing to Continue from
    assert [r.id for r in list_runs(tmp_path)] == ["r"]


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "", "/etc", "x\0y"])
def test_run_ids_cannot_leave_the_runs_folder(tmp_path, bad):
    with pytest.raises(RunError):
        resolve_run(tmp_path, bad)


def test_run_ids_are_fresh_and_safe():
    ids = {new_run_id("Sim/CLR ../") for _ in range(50)}
    assert len(ids) == 50
    assert all("/" not in i and ".." not in i for i in ids)


def test_list_runs_skips_folders_that_are_not_runs(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text("{not json")
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "missing") == []


def test_a_queued_run_whose_app_is_gone_reads_as_interrupted(tmp_path):
    from cl_core.runs import write_json

    (tmp_path / "q").mkdir()
    write_json(tmp_path / "q" / "config.json", {})
    write_json(tmp_path / "q" / "status.json", {"state": "queued", "pid": 2**22 + 12345})
    run = load_run(tmp_path / "q")
    assert run.state == "interrupted" and "queued" in run.status["message"]
