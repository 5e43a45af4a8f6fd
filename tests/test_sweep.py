"""Sweeps (cl_core.sweep): parsing, type conversion, refusal before anything runs, gathering, and the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cl_core import sweep as S
from cl_core.config import ConfigError
from cl_core.methods import METHODS
from cl_core.presets import preset_config
from cl_core.runs import write_json

ROOT = Path(__file__).resolve().parents[1]


class FakeJobs:
    """Stands in for JobManager: writes config.json and hands out ids, trains nothing."""

    def __init__(self, runs_dir: Path):
        self.runs_dir, self.submitted, self.limits = runs_dir, [], None  # no server caps

    def submit(self, cfg, owner):
        run_id = f"run-{len(self.submitted)}"
        write_json(self.runs_dir / run_id / "config.json", cfg.to_dict())
        self.submitted.append(cfg)
        return run_id


def test_values_are_parsed_to_the_type_of_the_field_a_short_name_resolves_to():
    base = preset_config("simclr")
    name, values, cfgs = S.plan(base, "temperature", "0.05, 0.1,0.5 ,1")
    assert name == "method.temperature" and values == [0.05, 0.1, 0.5, 1.0]
    assert all(isinstance(v, float) for v in values) and [c.method.temperature for c in cfgs] == values
    assert base.method.temperature == preset_config("simclr").method.temperature  # the base is left alone
    assert S.plan(base, "batch_size", "16,32")[1] == [16, 32]
    assert S.plan(base, "projection_head", "true, off")[:2] == ("method.options.projection_head", [True, False])
    assert S.plan(preset_config("moco"), "queue_size", [0, 256])[1] == [0, 256]


@pytest.mark.parametrize(
    ("method", "param", "values", "field", "words"),
    [
        ("simclr", "temperature", "0.1, 0", "method.temperature", "> 0"),
        ("simclr", "temperature", "0.1, warm", "method.temperature", "expected float"),
        ("simclr", "batch_size", "32, 1", "train.batch_size", ">= 2"),
        ("simclr", "jitter_p", "0.5, 1.5", "augment.jitter_p", "<= 1"),
        ("moco", "batch_size", "128, 100", "method.options.queue_size", "multiple"),
        ("simclr", "no_such_knob", "1", "no_such_knob", "unknown"),
        ("simclr", "temperature", " , ", "values", "at least one"),
        ("simclr", "temperature", "0.1, 0.10", "method.temperature", "each value once"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_before_any_run_starts(tmp_path, method, param, values, field, words):
    jobs = FakeJobs(tmp_path)
    with pytest.raises(ConfigError) as e:
        S.launch(jobs, preset_config(method), param, values, "me")
    assert e.value.field == field and words in str(e.value)
    assert jobs.submitted == [] and not list(tmp_path.iterdir())


def test_the_parameters_come_from_the_config_fields_and_the_methods_options():
    for name, cls in METHODS.items():
        params = S.parameters(preset_config(name))
        assert [p for p in params if p.startswith("method.options.")] == [f"method.options.{o}" for o in cls.OPTIONS]
        assert ("method.temperature" in params) == cls.USES_TEMPERATURE
        assert ("method.margin" in params) == cls.USES_MARGIN
        assert {"train.batch_size", "augment.jitter_strength", "train.seed"} <= set(params)
        assert not set(params) & S.NOT_SWEPT
        cfg = preset_config(name)
        assert all(cfg.resolve(p) == p for p in params)


def test_a_launched_sweep_is_found_again_in_the_runs_folder_and_gives_points_as_runs_finish(tmp_path):
    from cl_core.runs import RunWriter, load_run

    jobs = FakeJobs(tmp_path)
    launched = S.launch(jobs, preset_config("simclr"), "temperature", "0.5, 0.1, 1", "me")
    (found,) = S.find_sweeps(tmp_path)
    assert found == launched and found.values == [0.5, 0.1, 1.0] and found.run_ids == ["run-0", "run-1", "run-2"]
    for i, knn in ((0, 0.3), (2, 0.7)):  # run-1 is still running
        w = RunWriter(tmp_path / f"run-{i}", jobs.submitted[i].to_dict())
        w.summary({"knn_top1": knn, "final_loss": 1.0 + i, "verdict": "healthy"})
        w.set_status("completed")
    runs = {f"run-{i}": load_run(tmp_path / f"run-{i}") for i in range(3)}
    assert S.points(found, runs) == ([0.5, 1.0], [0.3, 0.7])
    assert S.points(found, runs, "final_loss") == ([0.5, 1.0], [1.0, 3.0])
    rows = S.table(found, runs)
    assert [r["method.temperature"] for r in rows] == [0.5, 0.1, 1.0] and rows[1]["knn_top1"] is None


def test_suggested_values_are_all_valid():
    for method in METHODS:
        cfg = preset_config(method)
        for param in S.parameters(cfg):
            S.plan(cfg, param, S.suggest(cfg, param))  # raises if any suggestion is out of range
    cfg = preset_config("simclr")
    assert S.suggest(cfg, "projection_head") == "true, false"
    assert S.plan(cfg, "jitter_p", S.suggest(cfg, "jitter_p"))[1] == [0.2, 0.8]


def test_cli_sweep_runs_one_child_per_value_and_prints_the_table(tmp_path):
    from test_cli import TINY

    argv = ["sweep", "--param", "temperature", "--values", "0.1,0.5", *TINY, "--runs-dir", str(tmp_path)]
    p = subprocess.run([sys.executable, "-m", "cl_core", *argv], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    dirs = sorted(d for d in tmp_path.iterdir() if d.is_dir())
    assert len(dirs) == 2
    members = [json.loads((d / "sweep.json").read_text()) for d in dirs]
    assert sorted(m["value"] for m in members) == [0.1, 0.5] and len({m["sweep"] for m in members}) == 1
    for d in dirs:
        assert json.loads((d / "status.json").read_text())["state"] == "completed"
        assert json.loads((d / "config.json").read_text())["train"]["steps"] == 3
    table = p.stdout.split("method.temperature ")[-1].splitlines()
    assert "kNN" in table[0] and "final loss" in table[0]
    assert [line.split()[:2] for line in table[1:3]] == [["0.1", "completed"], ["0.5", "completed"]]
