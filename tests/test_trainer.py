import math
import threading

import pytest
import torch

from cl_core.callbacks import Callback
from cl_core.methods.simclr import SimCLR
from cl_core.runs import load_run
from cl_core.trainer import train

SUMMARY_KEYS = {"knn_top1", "views_per_second", "steps", "epochs", "seconds", "final_loss", "linear_probe"}


def test_a_short_run_leaves_a_complete_run_directory(tiny, tmp_path):
    result = train(tiny(), tmp_path / "run")
    run = load_run(tmp_path / "run")
    assert result.state == run.state == "completed"
    assert set(run.summary) >= SUMMARY_KEYS
    assert run.summary["steps"] == 6 and 0.0 <= run.summary["knn_top1"] <= 1.0
    assert [r["step"] for r in run.metrics if "snapshot" not in r] == [1, 2, 3, 4, 5, 6]
    assert run.snapshot_steps() == [0, 3, 6]
    snap = run.snapshot(6)
    assert snap["similarity"].shape == (32, 32) and snap["features"].shape[0] == 64
    assert (tmp_path / "run" / "model.pt").is_file()
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=True)
    assert any(k.startswith("backbone.") for k in state)


def test_budgets_in_epochs_and_steps_stop_at_the_first_exhausted(tiny):
    cfg = tiny(**{"train.steps": 1000, "train.epochs": 1.0, "snapshots": 0})  # 512 images / 32 = 16 steps per epoch
    assert train(cfg).summary["steps"] == 16


def test_a_stop_request_ends_the_run_as_stopped_and_keeps_what_was_logged(tiny, tmp_path):
    stop = threading.Event()

    class StopAt3(Callback):
        def on_log(self, row):
            if row["step"] == 3:
                stop.set()

    result = train(tiny(**{"train.steps": 100}), tmp_path / "r", callbacks=[StopAt3()], stop=stop)
    run = load_run(tmp_path / "r")
    assert result.state == run.state == "stopped"
    assert run.summary["steps"] == 3 and "step 3" in run.status["message"]


def test_a_nan_loss_fails_the_run_with_a_message_that_names_the_knob(tiny, tmp_path, monkeypatch):
    real = SimCLR.training_step
    calls = {"n": 0}

    def step(self, v1, v2):
        calls["n"] += 1
        loss, logs = real(self, v1, v2)
        return (loss * float("nan") if calls["n"] >= 4 else loss), logs

    monkeypatch.setattr(SimCLR, "training_step", step)
    result = train(tiny(**{"train.steps": 10}), tmp_path / "r")
    run = load_run(tmp_path / "r")
    assert result.state == run.state == "failed"
    assert "step 4" in run.status["message"] and "learning rate" in run.status["message"]
    assert [r["step"] for r in run.metrics if "snapshot" not in r] == [1, 2, 3]


def test_a_loss_stuck_at_ln_2n_minus_1_is_flagged_as_complete_collapse(tiny, monkeypatch):
    # every image maps to the same point: InfoNCE is exactly ln(2N-1) and the verdict must say so
    monkeypatch.setattr(SimCLR, "head", lambda self, f: f.sum(dim=1, keepdim=True) * 0 + torch.ones(1, 16))
    result = train(tiny(**{"train.steps": 6}))
    assert result.summary["final_loss"] == pytest.approx(math.log(2 * 32 - 1), abs=1e-4)
    assert result.summary["verdict"] == "complete_collapse"


def test_resume_continues_the_step_count_and_appends_metrics(tiny, tmp_path):
    train(tiny(**{"train.steps": 4}), tmp_path / "r")
    cfg = tiny(**{"train.steps": 3})
    result = train(cfg, tmp_path / "r", resume=True)
    run = load_run(tmp_path / "r")
    assert result.summary["steps"] == 7
    assert [r["step"] for r in run.metrics if "snapshot" not in r] == [1, 2, 3, 4, 5, 6, 7]


def test_a_short_healthy_simclr_run_gets_the_healthy_verdict(tiny):
    s = train(tiny(**{"train.steps": 60, "train.batch_size": 64})).summary
    # measured over seeds 0-4, threads 1 and 2: healthy in all 10, std share 0.43-0.58 (0.3 leaves >0.13), final
    # loss 0.950-0.963 of chance (ln 127 = 4.84: >0.17 nats below it)
    assert s["verdict"] == "healthy", s["verdict_reasons"]
    assert s["std"] > 0.3 * s["std_healthy"] and s["final_loss"] < s["chance_level"]


def test_views_smaller_than_the_images_are_cut_from_the_shrunk_images_and_scored_at_full_size(tiny, monkeypatch):
    """data.view_size 8 on 16x16 digits: every training step sees 8x8 views made from the images shrunk (antialiased)
    to 8x8; the kNN monitor and the summary embed the 16x16 images; the run's info records both sizes."""
    import torch.nn.functional as F

    from cl_core import evaluation

    cfg = tiny(**{"data.image_size": 16, "data.view_size": 8, "train.steps": 3, "snapshots": 1})
    s = evaluation.setup(cfg, torch.device("cpu"))
    assert tuple(s.train_images.shape[1:]) == (3, 16, 16) and tuple(s.view_images.shape[1:]) == (3, 8, 8)
    shrunk = F.interpolate(s.train_images[:64].float(), size=(8, 8), mode="bilinear", antialias=True)
    assert (s.view_images[:64].float() - shrunk.round()).abs().max() <= 1  # rounding of the uint8 copy
    assert s.augmenter.out_size == 8 and tuple(s.probe_views[0].shape[1:]) == (3, 8, 8)

    step_sizes, embed_sizes, info = [], set(), {}
    step, embed = SimCLR.training_step, evaluation.embed

    def recording_step(self, v1, v2):
        step_sizes.append(tuple(v1.shape[-2:]))
        return step(self, v1, v2)

    def recording_embed(method, images, size, *args, **kwargs):
        embed_sizes.add((tuple(images.shape[-2:]), size))
        return embed(method, images, size, *args, **kwargs)

    monkeypatch.setattr(SimCLR, "training_step", recording_step)
    monkeypatch.setattr(evaluation, "embed", recording_embed)

    class Info(Callback):
        def on_start(self, i):
            info.update(i)

    result = train(cfg, callbacks=[Info()])
    assert result.state == "completed" and 0.0 <= result.summary["knn_top1"] <= 1.0
    assert step_sizes == [(8, 8)] * 3
    assert embed_sizes == {((16, 16), 16)}  # the kNN monitor, the snapshot and the summary: the full images
    assert info["image_size"] == 16 and info["view_size"] == 8
