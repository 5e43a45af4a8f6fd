"""Embeddings files in their real formats (written by NumPy, torch, safetensors, and as the Projector's TSV):
``python -m cl_core inspect`` gives the same diagnosis as ``cl_core.diagnose`` on the arrays, and bad files get
one line naming the file and the problem."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cl_core import embedfiles
from cl_core.__main__ import main
from cl_core.doctor import diagnose
from cl_core.embedfiles import EmbeddingsError, load_embeddings

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)
N, D = 96, 16
Z1 = RNG.normal(size=(N, D)).astype(np.float32)
Z2 = (Z1 + 0.2 * RNG.normal(size=(N, D))).astype(np.float32)
LABELS = np.arange(N) % 4
NAMES = ["cat", "dog", "owl", "yak"]


def write(kind: str, folder: Path, z1=Z1, z2=Z2, labels=LABELS) -> Path:
    """The same two views (and labels) saved the way each tool saves them."""
    if kind == "npy":  # (2, N, D), no labels
        np.save(folder / "z.npy", np.stack([z1, z2]))
        return folder / "z.npy"
    if kind == "npz":
        np.savez(folder / "z.npz", z1=z1, z2=z2, labels=labels)
        return folder / "z.npz"
    if kind == "pt":  # (N, 2, D) under an unknown name, labels as a tensor
        torch.save({"emb": torch.tensor(np.stack([z1, z2], 1)), "y": torch.tensor(labels)}, folder / "z.pt")
        return folder / "z.pt"
    if kind == "safetensors":
        from safetensors.numpy import save_file

        save_file({"view1": z1, "view2": z2, "targets": labels.astype(np.int64)}, str(folder / "z.safetensors"))
        return folder / "z.safetensors"
    # TensorBoard's projector: one view, string labels in a metadata.tsv with a header row
    np.savetxt(folder / "tensors.tsv", z1, delimiter="\t", fmt="%.8g")
    rows = ["index\tlabel"] + [f"{i}\t{NAMES[y]}" for i, y in enumerate(labels)]
    (folder / "metadata.tsv").write_text("\n".join(rows) + "\n")
    return folder / "tensors.tsv"


def inspect_json(capsys, *args) -> dict:
    assert main(["inspect", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("kind", ["npy", "npz", "pt", "safetensors", "tsv"])
def test_inspect_gives_diagnoses_verdict_and_metrics_for_each_format(tmp_path, capsys, kind):
    path = write(kind, tmp_path)
    e = load_embeddings(path)
    two = kind != "tsv"
    assert e.views == (2 if two else 1) and e.z1.shape == (N, D)
    np.testing.assert_allclose(e.z1, Z1, rtol=1e-6)
    if kind != "npy":
        assert e.labels.tolist() == LABELS.tolist()
    if kind == "tsv":
        assert e.class_names == NAMES
    out = inspect_json(capsys, path, "--loss", 3.0, "--batch-size", 64, "--temperature", 0.2)
    d = diagnose(
        Z1, Z2 if two else None, labels=None if kind == "npy" else LABELS, loss=3.0, batch_size=64, temperature=0.2
    )
    assert out["verdict"] == d.verdict and out["reasons"] == d.reasons and out["views"] == e.views
    assert out["metrics"] == pytest.approx(d.metrics, rel=1e-5)
    assert out["loss"]["kind"] == d.loss.kind


def test_known_answers_through_files(tmp_path, capsys):
    same = np.ones((64, 8), np.float32)
    assert inspect_json(capsys, write("npz", tmp_path, same, same, np.arange(64) % 2))["verdict"] == "complete_collapse"
    basis = np.linalg.qr(RNG.normal(size=(32, 3)))[0].T  # (3, 32): a 3-D subspace, equal variance
    sub = (RNG.normal(size=(256, 3)) @ basis).astype(np.float32)
    out = inspect_json(capsys, write("safetensors", tmp_path, sub, sub, np.arange(256) % 2))
    # effective rank of 3 equal directions: 2.988-2.999 over seeds 0-9 (256 rows); 10% spare
    assert out["verdict"] == "dimensional_collapse" and out["metrics"]["effective_rank"] == pytest.approx(3, rel=0.1)
    iso = RNG.normal(size=(256, 32)).astype(np.float32)
    assert inspect_json(capsys, write("pt", tmp_path, iso, iso + 0.1, np.arange(256) % 2))["verdict"] == "healthy"


def test_a_labels_file_beside_the_embeddings(tmp_path):
    np.save(tmp_path / "z.npy", Z1)
    (tmp_path / "labels.txt").write_text("label\n" + "\n".join(NAMES[y] for y in LABELS) + "\n")
    e = load_embeddings(tmp_path / "z.npy", tmp_path / "labels.txt")
    assert e.class_names == NAMES and e.labels.tolist() == LABELS.tolist()
    np.save(tmp_path / "y.npy", LABELS[:10])
    with pytest.raises(EmbeddingsError, match=r"y\.npy: holds 10 labels for 96 embeddings"):
        load_embeddings(tmp_path / "z.npy", tmp_path / "y.npy")


class Evil:
    """A pickle that would write a file when unpickled, if pickled code were run."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_in_a_pt_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"z1": torch.zeros(3, 2), "evil": Evil(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(EmbeddingsError, match=r"evil\.pt: holds Python objects besides tensors"):
        load_embeddings(tmp_path / "evil.pt")
    assert not marker.exists()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.savez(p / "a.npz", z1=np.ones((10, 4)), z2=np.ones((9, 4))), r"a\.npz: its two views differ"),
        (lambda p: np.save(p / "a.npy", np.full((5, 3), np.nan)), r"a\.npy: view 1: 5 of 5 rows hold NaN"),
        (lambda p: np.save(p / "a.npy", np.ones(7)), r"a\.npy: view 1 has shape \(7,\); expected \(N, D\)"),
        (lambda p: np.savez(p / "a.npz", a=np.ones((4, 3)), b=np.ones((5, 2))), r"a\.npz: holds a \(4, 3\), b"),
        (lambda p: (p / "a.npy").write_bytes(b"not numpy"), r"a\.npy: could not be read as \.npy"),
        (lambda p: (p / "a.tsv").write_text("1\tx\n"), r"a\.tsv: is not a table of numbers"),
        (lambda p: (p / "a.csv").write_text("1,2\n"), r"a\.csv: unknown kind of file \.csv"),
        (lambda p: np.save(p / "a.npy", np.ones((3, 5, 4))), r"a\.npy: holds an array of shape \(3, 5, 4\)"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, make, message):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(EmbeddingsError, match=message):
        load_embeddings(path)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    np.save(tmp_path / "z.npy", Z1)
    monkeypatch.setattr(embedfiles, "MAX_BYTES", 1000)
    with pytest.raises(EmbeddingsError, match=r"z\.npy: is 0\.0 GiB; at most"):
        load_embeddings(tmp_path / "z.npy")


def test_metadata_with_the_wrong_number_of_rows(tmp_path):
    np.savetxt(tmp_path / "tensors.tsv", Z1[:5], delimiter="\t")
    (tmp_path / "metadata.tsv").write_text("a\nb\n")
    with pytest.raises(EmbeddingsError, match=r"metadata\.tsv: has 2 rows for 5 vectors in tensors\.tsv"):
        load_embeddings(tmp_path / "tensors.tsv")


def test_the_cli_in_a_child_process_reads_the_seed_loss_and_refuses_bad_files_in_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "cl_core"]
    out = subprocess.run(
        [*cmd, "doctor", "--loss", "3.465735912322998", "--batch-size", "16"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0 and "ln(2N) = ln 32" in out.stdout and "copied-example bug" in out.stdout
    (tmp_path / "bad.pt").write_bytes(b"\x80\x04garbage")
    out = subprocess.run(
        [*cmd, "inspect", "bad.pt"], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 2 and out.stderr.startswith("error: bad.pt: is not a file torch.save wrote")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
