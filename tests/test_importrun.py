"""cl_core.import_run, ``python -m cl_core import`` and the Loss doctor's "Open your own run": files a practitioner
already has become a run with cl_core.diagnose's verdict, every format round-trips, a bad file leaves nothing and
says why in one line, and the app keeps the server's upload cap and a private session's runs to itself."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from streamlit.testing.v1 import AppTest
from test_classroom import open_page, use_settings

import cl_core
from cl_core import importrun
from cl_core.doctor import diagnose
from cl_core.embedfiles import EmbeddingsError
from cl_core.importrun import import_run
from cl_core.lossfiles import LossFileError
from cl_core.runs import RunError, list_runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the ui package lives beside app.py
RNG = np.random.default_rng(0)
ISO = RNG.normal(size=(2, 256, 16)).astype(np.float32)  # two views of isotropic Gaussian embeddings


def loss_csv(path: Path, values: list[float]) -> Path:
    path.write_text("step,loss\n" + "".join(f"{10 * i},{v}\n" for i, v in enumerate(values)))
    return path


@pytest.mark.parametrize(
    "z, verdict",
    [(np.ones((2, 64, 8), np.float32), "complete_collapse"), (ISO, "healthy")],
    ids=["identical-rows", "isotropic"],
)
def test_known_embeddings_get_diagnoses_verdict_and_metrics(tmp_path, z, verdict):
    labels = np.arange(z.shape[1]) % 4
    np.savez(tmp_path / "e.npz", z1=z[0], z2=z[1], labels=labels)
    losses = list(np.linspace(6.0, 4.0, 30))
    run = import_run(tmp_path / "run", tmp_path / "e.npz", loss_csv(tmp_path / "l.csv", losses), batch_size=128)
    d = diagnose(z[0], z[1], labels=labels, loss=float(np.mean(losses[-20:])), batch_size=128)
    assert d.verdict == verdict and run.summary["verdict"] == verdict and run.state == "completed"
    assert run.summary["verdict_reasons"] == d.reasons
    assert {k: run.summary[k] for k in d.metrics} == pytest.approx(d.metrics)
    assert run.snapshot_steps() == [290] and [r["loss"] for r in run.metrics[:-1]] == pytest.approx(losses)
    assert run.config["external"]["source"] == f"{tmp_path / 'e.npz'}, {tmp_path / 'l.csv'}"


@pytest.mark.parametrize("kind", ["npy", "npz", "safetensors", "pt"])
def test_each_format_round_trips_into_the_snapshot(tmp_path, kind):
    z1, z2 = ISO[0][:40], ISO[1][:40]
    path = tmp_path / f"e.{kind}"
    if kind == "npy":
        np.save(path, np.stack([z1, z2]))  # (2, N, D)
    elif kind == "npz":
        np.savez(path, z1=z1, z2=z2)
    elif kind == "safetensors":
        save_file({"z1": z1, "z2": z2}, str(path))
    else:
        torch.save({"z1": torch.from_numpy(z1), "z2": torch.from_numpy(z2)}, path)
    snap = (run := import_run(tmp_path / "run", path)).snapshot(0)
    np.testing.assert_array_equal(snap["z1"], z1)
    np.testing.assert_array_equal(snap["z2"], z2)
    assert run.summary["verdict"] == diagnose(z1, z2).verdict


def test_one_view_labels_by_name_and_a_large_file_say_what_the_run_is(tmp_path):
    np.save(tmp_path / "big.npy", RNG.normal(size=(600, 8)).astype(np.float32))
    (tmp_path / "names.txt").write_text("\n".join(["cat", "dog", "emu"] * 200))
    run = import_run(tmp_path / "run", tmp_path / "big.npy", labels=tmp_path / "names.txt")
    snap, missing = run.snapshot(0), run.config["external"]["missing"]
    assert snap["z1"].shape == (importrun.MAX_POINTS, 8) and run.status["class_names"] == ["cat", "dog", "emu"]
    assert importrun.ONE_VIEW in missing and importrun.NO_LOSS in missing
    assert importrun.SUBSET.format(n=importrun.MAX_POINTS, total=600) in missing


def test_a_loss_curve_alone_is_a_run_and_a_long_one_keeps_its_nan(tmp_path, monkeypatch):
    monkeypatch.setattr(importrun, "MAX_ROWS", 10)
    values = [3.0] * 50
    values[17] = float("nan")
    run = import_run(tmp_path / "run", loss=loss_csv(tmp_path / "l.csv", values), batch_size=16)
    steps = [r["step"] for r in run.metrics]
    assert steps == [0, 50, 100, 150, 170, 200, 250, 300, 350, 400, 450, 490] and run.snapshot_steps() == []
    assert run.summary["chance_level"] == pytest.approx(np.log(31)) and "verdict" not in run.summary
    assert importrun.NO_EMBEDDINGS in run.config["external"]["missing"]


def test_moco_s_queue_and_swav_s_prototypes_set_the_chance_level(tmp_path):
    curve = loss_csv(tmp_path / "l.csv", [10.8, 9.0])
    moco = import_run(tmp_path / "moco", loss=curve, method="moco", batch_size=256, temperature=0.2, queue_size=65536)
    assert moco.summary["chance_level"] == pytest.approx(np.log(65537))  # the queue's keys and the positive
    swav = import_run(tmp_path / "swav", loss=curve, method="swav", batch_size=256, prototypes=3000)
    assert swav.summary["chance_level"] == pytest.approx(np.log(3000))


def test_a_bad_file_or_argument_leaves_nothing_behind(tmp_path):
    np.save(tmp_path / "e.npy", ISO[0])
    (tmp_path / "l.csv").write_text("step,loss\nnot,numbers\n")
    with pytest.raises(LossFileError, match="l.csv: has no numeric rows"):
        import_run(tmp_path / "runs" / "a", tmp_path / "e.npy", tmp_path / "l.csv")
    with pytest.raises(EmbeddingsError, match="nothing.npy: no such file"):
        import_run(tmp_path / "runs" / "a", tmp_path / "nothing.npy")
    with pytest.raises(ValueError, match="method: unknown 'dino'"):  # refused by RunLogger, mid-way through writing
        import_run(tmp_path / "runs" / "a", tmp_path / "e.npy", method="dino")
    with pytest.raises(ValueError, match="give an embeddings file, a loss file or both"):
        import_run(tmp_path / "runs" / "a")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    import_run(tmp_path / "runs" / "a", tmp_path / "e.npy")
    with pytest.raises(RunError, match="already exists"):
        import_run(tmp_path / "runs" / "a", tmp_path / "e.npy")
    assert [r.id for r in list_runs(tmp_path / "runs")] == ["a"] and cl_core.import_run is import_run
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["a"]  # no staging folder left


def test_the_cli_in_a_child_process_imports_a_run_and_refuses_a_bad_file_in_one_line(tmp_path):
    np.savez(tmp_path / "e.npz", z1=np.ones((32, 8)), z2=np.ones((32, 8)))
    loss_csv(tmp_path / "l.csv", [4.2, 4.1])
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "cl_core", "import"]
    args = ["e.npz", "--loss-file", "l.csv", "--batch-size", "32", "--out", "runs/mine"]
    out = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "run: runs/mine" in out.stdout and "verdict: complete_collapse" in out.stdout
    assert list_runs(tmp_path / "runs")[0].summary["verdict"] == "complete_collapse"
    out = subprocess.run([*cli, "bad.npz"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: bad.npz: could not be read as .npz")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["mine"]


# ------------------------------------------------------------------------------------------------- the app page


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    return tmp_path


def doctor_page() -> AppTest:
    return open_page("app_pages/doctor.py")


def npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def upload(at: AppTest, which: int, name: str, content: bytes) -> None:
    at.get("file_uploader")[which].set_value((name, content, "application/octet-stream"))


def test_a_private_session_opens_its_upload_on_diagnostics_and_another_session_never_sees_it(home, monkeypatch):
    use_settings(home, monkeypatch, "private = true\n")
    at = doctor_page()
    upload(at, 0, "collapsed.npy", npy(np.ones((2, 48, 8), np.float32)))
    upload(at, 2, "loss.csv", b"step,loss\n0,4.6\n10,4.5\n")
    at.number_input(key="own.n").set_value(48)
    at.run()
    at.button(key="own.open").click().run()
    assert not at.exception and not [e.value for e in at.error if "Your run" in e.value]
    mine = at.session_state["run_id"]
    assert any("is open" in s.value for s in at.success)
    assert {p.proto.page.split("/")[-1] for p in at.get("page_link")} >= {"diagnostics", "embeddings"}
    run = list_runs(home / "runs")[0]
    assert run.id == mine and run.owner and run.config["external"]["source"] == "collapsed.npy, loss.csv"
    assert (home / "data" / "uploads").is_dir() and run.config["external"]["files"]["embeddings"].startswith(
        str(home / "data" / "uploads")
    )
    at.switch_page("app_pages/diagnostics.py").run()
    assert not at.exception
    assert any(w.value.startswith("**Verdict: Complete collapse**") for w in at.error)
    assert any("Your own run" in i.value and "collapsed.npy" in i.value for i in at.info)

    from ui import private  # AppTest gives every AppTest one session id: the other session's is its own

    monkeypatch.setattr(private, "session_id", lambda: "another browser session")
    other = doctor_page()
    assert other.session_state["run_id"] is None and not other.sidebar.selectbox[0].options


def test_an_upload_over_the_classroom_cap_is_refused_and_the_form_keeps_its_values(home, monkeypatch):
    use_settings(home, monkeypatch, "max_upload_mb = 1\n")
    at = doctor_page()
    upload(at, 0, "huge.npy", npy(np.zeros((3 * 2**16, 2), np.float32)))  # 1.5 MB
    at.number_input(key="own.n").set_value(256)
    at.run()
    at.button(key="own.open").click().run()
    assert not at.exception
    assert any("huge.npy is 1.5 MB" in e.value and "up to 1 MB" in e.value for e in at.error)
    assert not (home / "runs").exists() and not (home / "data" / "uploads").exists()
    assert at.number_input(key="own.n").value == 256 and at.session_state["run_id"] is None


def test_a_bad_upload_names_the_file_as_the_user_named_it(home, monkeypatch):
    use_settings(home, monkeypatch, "local_folders = false\n")
    at = doctor_page()
    assert [w.key for w in at.text_input] == ["own.tag"]  # no server paths on a shared server
    upload(at, 0, "mine.npy", b"not an array")
    at.button(key="own.open").click().run()
    (err,) = [e.value for e in at.error if "Your run" in e.value]
    assert "mine.npy: could not be read as .npy" in err and str(home) not in err
    assert not (home / "runs").exists()
