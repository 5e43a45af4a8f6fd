import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--steps",
    "3",
    "--batch-size",
    "16",
    "--width",
    "8",
    "--snapshots",
    "1",
    "--opt",
    "data.max_train=256",
    "--opt",
    "probe_size=64",
    "--opt",
    "knn_max_train=200",
    "--quiet",
]


def cl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cl_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--temperature", "0"], "method.temperature"),
        (["--temperature", "-1"], "method.temperature"),
        (["--margin", "-0.5"], "method.margin"),
        (["--batch-size", "1"], "train.batch_size"),
        (["--method", "simclrr"], "method.name"),
        (["--dataset", "imagenet"], "data.name"),
        (["--lr", "fast"], "train.lr"),
        (["--opt", "no_such=1"], "no_such"),
        (["--opt", "predictor"], "predictor"),
        (["--view-size", "4"], "data.view_size"),
    ],
)
def test_bad_values_give_one_line_naming_the_field_and_exit_2(args, field, tmp_path):
    p = cl("train", *args, "--out", str(tmp_path / "r"))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in p.stderr


def test_a_missing_folder_is_a_one_line_error(tmp_path):
    p = cl("train", "--dataset", f"folder:{tmp_path / 'nowhere'}", *TINY, "--out", str(tmp_path / "r"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "nowhere" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_train_then_replay_the_saved_config_then_list(tmp_path):
    p = cl("train", "--method", "contrastive", "--margin", "0.7", *TINY, "--out", str(tmp_path / "runs" / "a"))
    assert p.returncode == 0, p.stderr
    saved = json.loads((tmp_path / "runs" / "a" / "config.json").read_text())
    assert saved["method"]["name"] == "contrastive" and saved["method"]["margin"] == 0.7
    p = cl(
        "train",
        "--config",
        str(tmp_path / "runs" / "a" / "config.json"),
        "--quiet",
        "--out",
        str(tmp_path / "runs" / "b"),
    )
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "runs" / "b" / "config.json").read_text()) == saved
    p = cl("list", str(tmp_path / "runs"))
    assert p.returncode == 0 and " a " in p.stdout.replace("\n", " ") and "completed" in p.stdout


def test_resume_continues_a_finished_run(tmp_path):
    assert cl("train", *TINY, "--out", str(tmp_path / "r")).returncode == 0
    p = cl("train", "--resume", str(tmp_path / "r"), "--steps", "2", "--quiet")
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["steps"] == 5


@pytest.mark.parametrize(
    ("flag", "want"), [([], True), (["--channels-last", "false"], False), (["--channels-last"], True)]
)
def test_channels_last_is_the_default_and_a_flag_turns_it_off(flag, want, tmp_path):
    import torch

    from cl_core.runtime import autocast_dtype, precision_name

    out = tmp_path / "run"
    r = cl("train", *TINY, "--device", "cpu", *flag, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "config.json").read_text())["train"]["channels_last"] is want
    ran = json.loads((out / "summary.json").read_text())["precision"]  # what "auto" became on this machine
    assert ran == precision_name(autocast_dtype("auto", torch.device("cpu")))
