"""cl_core.diagnose and cl_core.read_loss: known answers, the losses they read computed by cl_core.losses, and
the same verdict as the app's for a trained run's own snapshots."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import cl_core
from cl_core import losses
from cl_core.doctor import diagnose, read_loss
from cl_core.methods import build_method
from cl_core.runs import load_run
from cl_core.trainer import train

SEED_LOSS = 3.465735912322998  # what the copied SimCLR example printed every epoch, last batch of 16 images


def test_the_copied_examples_loss_is_recognised_as_ln_2n_with_the_bug_named():
    r = read_loss(SEED_LOSS, 16)
    assert r.kind == "exactly_degenerate"
    assert "ln(2N) = ln 32" in r.text() and "copied-example bug" in r.text()
    assert r.chance == pytest.approx(math.log(31))  # ln(2N) is not SimCLR's chance level: the bug shows
    assert "not chance" in r.text()
    # The same number is what cl_core's loss gives with the bug switched on and every embedding alike.
    z = torch.ones(16, 8)
    assert losses.info_nce(z, z, 0.5, mask_self=False, positive="self").item() == pytest.approx(SEED_LOSS, abs=1e-6)


@pytest.mark.parametrize("n", [2, 16, 256, 4096])
def test_identical_embeddings_read_as_chance_at_every_batch_size(n):
    z = torch.ones(n, 4)
    r = read_loss(losses.info_nce(z, z, 0.2).item(), n, temperature=0.2)
    assert r.kind == "exactly_degenerate" and f"ln {2 * n - 1}" in r.text() and "not chance" not in r.text()
    # ln(2N) at the same N is told apart, although at N = 4096 the two differ by 1.2e-4 only
    assert "ln(2N)" in read_loss(math.log(2 * n), n).text()
    # a run that keeps the anchor among its candidates has ln(2N) as its own chance level
    unmasked = read_loss(losses.info_nce(z, z, mask_self=False).item(), n, mask_self=False)
    assert unmasked.kind == "exactly_degenerate" and unmasked.chance == pytest.approx(math.log(2 * n))


def test_the_floor_and_the_minimum_are_the_losses_of_their_geometries():
    n, t = 8, 0.2
    eye = torch.eye(n, 16)  # positives aligned, negatives orthogonal
    floor = losses.info_nce(eye, eye, t).item()
    r = read_loss(floor, n, temperature=t)
    assert r.floor == pytest.approx(floor, rel=1e-5) and r.kind == "near_floor"
    simplex = F.normalize(torch.eye(n) - 1 / n, dim=1)  # the n images at cos -1/(n-1) of each other
    least = losses.info_nce(simplex, simplex, t).item()
    r = read_loss(least, n, temperature=t)
    assert r.minimum == pytest.approx(least, rel=1e-5) and r.kind == "near_floor"
    assert read_loss(least * 0.95, n, temperature=t).kind == "impossible"


def test_no_loss_cl_core_computes_reads_as_impossible():
    # 300 random cases: any N, D (also D < N - 1, where the simplex is out of reach), temperature and alignment.
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, d, t = int(rng.integers(2, 64)), int(rng.integers(1, 32)), float(rng.uniform(0.03, 2.0))
        z1 = torch.tensor(rng.normal(size=(n, d)), dtype=torch.float64)
        z2 = z1 + float(rng.uniform(0, 2)) * torch.tensor(rng.normal(size=(n, d)), dtype=torch.float64)
        loss = losses.info_nce(z1, z2, t).item()
        assert read_loss(loss, n, temperature=t).kind != "impossible", (n, d, t, loss)
        k = int(rng.integers(0, 200))  # MoCo with a queue of k past keys (0: the batch's other keys)
        queue = F.normalize(torch.tensor(rng.normal(size=(k, d)), dtype=torch.float64), dim=1) if k else None
        moco = losses.moco_info_nce(z1, z2, queue, t).item()
        assert read_loss(moco, n, "moco", temperature=t, queue_size=k).kind != "impossible", (n, d, t, k, moco)


def test_readings_between_chance_and_the_floor():
    chance = math.log(255)
    assert read_loss(chance * 1.05, 128).kind == "above_chance"
    assert read_loss(chance * 0.99, 128).kind == "at_chance"  # within 2%: the app's stuck_at_chance
    mid = read_loss(2.0, 128, temperature=0.1)  # floor 0.0115; at T = 0.5 it is 3.57 and 2.0 impossible
    assert read_loss(2.0, 128, temperature=0.5).kind == "impossible"
    assert mid.kind == "learning" and 0 < mid.progress < 1 and "of the way from chance" in mid.text()
    assert read_loss(float("nan"), 128).kind == "not_finite"
    assert read_loss(0.01, 128, "byol").kind == "no_chance_level"
    assert read_loss(math.log(4097), 256, "moco", queue_size=4096).kind == "exactly_degenerate"
    assert read_loss(math.log(3000), 256, "swav", prototypes=3000).chance == pytest.approx(math.log(3000))


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: read_loss(1.0, 16, "nope"), "method"),
        (lambda: read_loss(1.0, 1), "batch_size"),
        (lambda: read_loss(1.0, 16, temperature=0), "temperature"),
        (lambda: diagnose(np.ones(5)), "z1"),
        (lambda: diagnose(np.ones((5, 3)), np.ones((4, 3))), "z2"),
        (lambda: diagnose(np.full((5, 3), np.nan)), "z1"),
        (lambda: diagnose(np.ones((5, 3)), labels=[0, 1]), "labels"),
        (lambda: diagnose(np.ones((5, 3)), features=np.ones((4, 2))), "features"),
    ],
)
def test_bad_input_names_its_argument(call, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        call()


def test_known_embeddings_get_their_known_verdicts():
    rng = np.random.default_rng(0)
    same = np.ones((64, 32))
    assert diagnose(same, same).verdict == "complete_collapse"
    iso = rng.normal(size=(256, 64))  # healthy with two views and with one, over seeds 0-9
    assert diagnose(iso, iso + 0.1 * rng.normal(size=iso.shape)).verdict == "healthy"
    assert diagnose(iso).verdict == "healthy"  # one view is enough for the spread
    for k in (2, 4):
        # k equal directions: effective rank 1.996-2.000 (k = 2) and 3.977-3.995 (k = 4) over seeds 0-9; 10% spare
        basis = np.linalg.qr(rng.normal(size=(64, k)))[0].T  # (k, 64) orthonormal
        sub = rng.normal(size=(256, k)) @ basis
        d = diagnose(torch.tensor(sub), torch.tensor(sub), labels=np.arange(256) % 3)
        assert d.verdict == "dimensional_collapse" and d.metrics["effective_rank"] == pytest.approx(k, rel=0.1)
        assert 0 <= d.metrics["knn_loo"] <= 1


def test_labels_that_follow_the_clusters_separate_and_random_ones_do_not():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 16)) * 3
    labels = np.arange(200) % 4
    z = centres[labels] + rng.normal(size=(200, 16))
    # measured over seeds 0-9: 1.0 every time for the true labels, 0.17-0.31 for shuffled ones (chance 0.25)
    assert diagnose(z, labels=labels).metrics["knn_loo"] > 0.95
    named = np.array(["cat", "dog", "owl", "yak"])[labels]
    assert diagnose(z, labels=named).metrics["knn_loo"] == diagnose(z, labels=labels).metrics["knn_loo"]
    assert diagnose(z, labels=rng.permutation(labels)).metrics["knn_loo"] < 0.5


def test_the_public_api_exports_them():
    assert cl_core.diagnose is diagnose and cl_core.read_loss is read_loss


@pytest.mark.parametrize(
    "method, settings", [("simclr", {}), ("moco", {}), ("byol", {"method.options.predictor": False, "train.lr": 0.01})]
)
def test_diagnose_gives_the_apps_verdict_for_a_runs_own_snapshots(tmp_path, tiny, method, settings):
    cfg = tiny(method, steps=40 if settings else 6, snapshots=3, **settings)
    train(cfg, tmp_path / "run")
    run = load_run(tmp_path / "run")
    rows = [r for r in run.metrics if r.get("verdict")]
    assert rows
    o = build_method(cfg).opts  # the options with their defaults filled in
    for row in rows:
        snap = run.snapshot(row["step"])
        d = diagnose(
            snap["z1"],
            snap["z2"],
            loss=row.get("loss"),
            batch_size=cfg.train.batch_size,
            temperature=cfg.method.temperature,
            method=method,
            queue_size=o.get("queue_size", 0),
        )
        assert d.verdict == row["verdict"] and d.reasons == row["verdict_reasons"]
        for key in ("std", "effective_rank", "alignment", "uniformity", "pos_sim_mean", "neg_sim_mean"):
            assert d.metrics[key] == pytest.approx(row[key], rel=1e-4, abs=1e-6), key
