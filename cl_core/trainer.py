"""The training loop: budget, optimiser and schedule, NaN guard, stop signal, snapshots, summary.

``train(cfg, run_dir)`` trains one method on one data set until the first of its budgets (steps,
epochs, seconds) runs out, a stop is requested, or the loss stops being finite. Everything it
reports goes through callbacks (cl_core.callbacks; ``RunDirCallback`` writes the run directory of
docs/DESIGN.md). What it measures is in cl_core.evaluation, its device and budget in cl_core.runtime.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cl_core import distributed, evaluation
from cl_core.batches import Batches, shard_views
from cl_core.callbacks import Callback, RunDirCallback
from cl_core.checkpoints import init_backbone
from cl_core.config import Config, ConfigError
from cl_core.evaluation import Setup
from cl_core.methods import Method, build_method
from cl_core.optim import build_optimizer, lr_at
from cl_core.runtime import Budget, PhaseTimer, autocast_dtype, precision_name, resolve_device


@dataclass
class TrainResult:
    state: str  # completed | stopped | failed
    message: str
    summary: dict[str, Any]
    method: Method | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def _nan_message(step: int, last_loss: float | None, cfg: Config, dtype: torch.dtype | None) -> str:
    t, m = cfg.train, cfg.method
    causes = [f"the learning rate {t.lr:g} is too high (try {t.lr / 10:g})"]
    if cfg.method.name in ("simclr", "moco", "swav") and m.temperature < 0.05:
        causes.insert(0, f"the temperature {m.temperature:g} is too low: exp(1/T) overflows (try 0.1 or more)")
    if dtype == torch.float16:
        causes.insert(0, "fp16 overflowed (try precision bf16 or fp32)")
    last = "none yet" if last_loss is None else f"{last_loss:.4g}"
    return (
        f"The loss became NaN or infinite at step {step} (last finite loss: {last}). "
        f"Likely cause: {'; or '.join(causes)}. Everything logged before it is kept."
    )


def train(
    cfg: Config,
    run_dir: str | Path | None = None,
    callbacks: list[Callback] | tuple = (),
    stop: threading.Event | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train ``cfg`` (validated here) and return the final state, message and summary.

    With ``run_dir`` the run directory is written (``resume`` continues the run saved there:
    model, optimiser and step counter come back and metrics append). ``stop`` ends it cleanly.

    Under torchrun (``WORLD_SIZE`` > 1) every process calls this: ``batch_size`` is the global batch, each
    process trains on its shard with DDP, and rank 0 alone writes ``run_dir`` and calls ``callbacks``.
    """
    cfg.validate()
    t = cfg.train
    device = distributed.init(resolve_device(t.device))
    world = distributed.world()
    if t.batch_size % world:
        raise ConfigError("train.batch_size", f"the global batch {t.batch_size} must be divisible by {world} processes")
    if t.sync_bn and world > 1 and device.type != "cuda":
        raise ConfigError("train.sync_bn", "SyncBatchNorm needs CUDA devices; set it to false on the CPU")
    callbacks = list(callbacks) if distributed.is_main() else []
    if run_dir is not None and distributed.is_main():
        callbacks.insert(0, RunDirCallback(run_dir, cfg, append=resume))
    stop = stop or threading.Event()
    if t.threads:
        torch.set_num_threads(t.threads)
    torch.manual_seed(t.seed)
    try:
        with distributed.main_first():  # rank 0 reads (or downloads) the data before the others
            s = evaluation.setup(cfg, device)
        loop = _Loop(cfg, s, callbacks, stop, run_dir if resume else None)
    except Exception as e:  # a data set or an init_from checkpoint that cannot be read: a failed run, not a crash
        for cb in callbacks:
            cb.on_end("failed", str(e), {})
        raise
    return loop.run()


class _Loop:
    """One training run's state; ``run()`` is the loop itself."""

    def __init__(
        self, cfg: Config, s: Setup, callbacks: list[Callback], stop: threading.Event, resume_from: str | Path | None
    ):
        self.cfg, self.s, self.callbacks, self.stop = cfg, s, callbacks, stop
        t = cfg.train
        self.world, self.rank, self.stop_all = distributed.world(), distributed.rank(), False
        if s.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick the fastest kernels
        self.method = build_method(cfg)
        self.init_note = init_backbone(self.method, t.init_from) if t.init_from and resume_from is None else ""
        self.method = self.method.to(s.device)
        if t.sync_bn and self.world > 1:
            self.method = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.method)
        if t.channels_last:
            self.method = self.method.to(memory_format=torch.channels_last)
        self.opt = build_optimizer(self.method, t)
        self.dtype = autocast_dtype(t.precision, s.device)
        self.scaler = torch.amp.GradScaler(s.device.type, enabled=self.dtype == torch.float16)
        self.step, self.offset_seconds, self.history = 0, 0.0, []
        if resume_from is not None:
            self._load_checkpoint(Path(resume_from))
        step = distributed.ddp(self.method, s.device) if self.world > 1 else self.method.training_step
        self.forward = torch.compile(step) if t.compile else step
        n = len(s.train_images)
        self.batch = min(t.batch_size, n // self.world * self.world)
        self.steps_per_epoch = n / self.batch
        self.gen = torch.Generator(device=s.device).manual_seed(t.seed + 3 + self.step)
        stream = t.stream_data or s.view_images.device != s.device
        seed = t.seed + 4 + self.step
        self.batches = Batches(s.view_images, self.batch, s.device, seed, self.rank, self.world, stream)
        self.timer = PhaseTimer(s.device) if t.profile else None
        snaps = t.snapshots
        self.snapshot_marks = [k / snaps for k in range(1, snaps)] if snaps > 1 else []
        self.snapshot_count = 0

    def _load_checkpoint(self, run_dir: Path) -> None:
        ck = torch.load(run_dir / "checkpoint.pt", map_location=self.s.device, weights_only=True)
        self.method.load_state_dict(ck["model"])
        self.opt.load_state_dict(ck["optimizer"])
        self.step, self.offset_seconds = int(ck["step"]), float(ck["seconds"])

    def _phase(self, name: str) -> contextlib.AbstractContextManager:
        return self.timer(name) if self.timer else contextlib.nullcontext()

    def _views(self) -> tuple[Tensor, Tensor]:
        """This process's two augmented views of its shard of the next global batch, each (B / W, 3, S, S)."""
        with torch.no_grad():
            return shard_views(self.s.augmenter, next(self.batches), self.gen, self.rank, self.world)

    def _sync(self, loss: Tensor, budget: Budget) -> float:
        """The loss as a float: the one host sync of a step. Under torchrun, the mean over processes, and
        the stop flag (set on any process) and rank 0's clock are shared, so that all end at the same step."""
        if self.world == 1:
            return float(loss.detach())
        shared = [float(self.stop.is_set()), budget.clock() if self.rank == 0 else 0.0]
        x = torch.cat([loss.detach().double().view(1), torch.tensor(shared, dtype=torch.double, device=loss.device)])
        total, stops, budget.synced_seconds = distributed.all_reduce_sum(x).tolist()
        self.stop_all = stops > 0
        return total / self.world

    def _train_step(self, budget: Budget) -> tuple[float, dict[str, Tensor | float]]:
        with self._phase("augment"):
            v1, v2 = self._views()
            if self.cfg.train.channels_last:
                v1, v2 = (v.contiguous(memory_format=torch.channels_last) for v in (v1, v2))
        lr = lr_at(budget.progress(self.step), self.cfg.train)
        for group in self.opt.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        with (
            self._phase("forward"),
            torch.autocast(self.s.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None),
        ):
            loss, logs = self.forward(v1, v2)
        value = self._sync(loss, budget)
        if not math.isfinite(value):
            raise FloatingPointError
        with self._phase("backward"):
            self.opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        with self._phase("optimizer"):
            self.scaler.step(self.opt)
            self.scaler.update()
            self.step += 1
            self.method.on_step_end(self.step, budget.total_steps(self.step))
        return value, {"lr": lr, **logs}

    def run(self) -> TrainResult:
        cfg, t = self.cfg, self.cfg.train
        self.budget = budget = Budget(
            t.steps, t.epochs, t.seconds, self.steps_per_epoch, start_step=self.step, synced=self.world > 1
        )
        info = {
            "device": str(self.s.device),
            "precision": precision_name(self.dtype),  # what "auto" became on this machine
            "train_size": len(self.s.train_images),
            "batch_size": self.batch,
            "image_size": self.s.size,
            "view_size": self.s.augmenter.out_size,
            "chance_level": self.method.chance_level(self.batch),
            "start_step": self.step,
            "world_size": self.world,
            "class_names": list(self.s.data.class_names),  # for reports and the projector's metadata
        }
        if self.init_note:
            info["init_from"] = self.init_note
        for cb in self.callbacks:
            cb.on_start(info)
        self.method.train()
        train_seconds, diag_seconds, last_loss, recent = 0.0, 0.0, None, []
        state, message = "completed", ""
        if self.step == 0 and t.snapshots:
            diag_seconds += self._take_snapshot(None)
        while budget.progress(self.step) < 1.0:
            if self.stop_all or (self.world == 1 and self.stop.is_set()):
                state, message = "stopped", f"Stopped by request at step {self.step}."
                break
            t0 = time.perf_counter()
            try:
                loss, logs = self._train_step(budget)
            except FloatingPointError:
                state, message = "failed", _nan_message(self.step + 1, last_loss, cfg, self.dtype)
                break
            train_seconds += time.perf_counter() - t0
            last_loss = loss
            recent = (recent + [loss])[-20:]
            if self.step % t.log_every == 0 or budget.progress(self.step) >= 1.0:
                self._log(loss, logs, budget)
            p = budget.progress(self.step)
            if self.snapshot_marks and p >= self.snapshot_marks[0] and p < 1.0:
                while self.snapshot_marks and p >= self.snapshot_marks[0]:
                    self.snapshot_marks.pop(0)
                diag_seconds += self._take_snapshot(float(np.mean(recent)))
        if t.snapshots and state != "failed" and self.step > 0:
            diag_seconds += self._take_snapshot(float(np.mean(recent)) if recent else None)
        summary = self._summary(state, budget, train_seconds, diag_seconds, recent) if distributed.is_main() else {}
        if state != "failed":  # a diverged model is not worth continuing: no Continue offered for it
            self._save()
        for cb in self.callbacks:
            cb.on_end(state, message, summary)
        distributed.barrier()  # the others wait for rank 0's summary and files
        return TrainResult(state, message, summary, self.method, self.history)

    def _row(self, budget: Budget) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "seconds": round(self.offset_seconds + budget.elapsed(), 3),
            "progress": round(budget.progress(self.step), 4),
        }

    def _log(self, loss: float, logs: dict[str, float], budget: Budget) -> None:
        row = {**self._row(budget), "loss": loss, **{k: float(v) for k, v in logs.items()}}
        self.history.append(row)
        for cb in self.callbacks:
            cb.on_log(row)

    def _take_snapshot(self, recent_loss: float | None) -> float:
        """Snapshot + cheap diagnostics (+ kNN every other snapshot) on rank 0; returns the seconds it took."""
        if not distributed.is_main():
            return 0.0
        t0 = time.perf_counter()
        arrays, diag = evaluation.snapshot(self.method, self.cfg, self.s, self.step)
        if self.snapshot_count % 2 == 0:
            s = self.s
            knn, n = evaluation.knn(self.method, s, 1000, s.probe_images, s.probe_labels, self.cfg.train.seed)
            if knn is not None:
                diag.update(knn_top1=knn, knn_memory=n, knn_queries=len(s.probe_images))
        self.snapshot_count += 1
        row = {"step": self.step, "snapshot": True, **diag}
        verdict = None
        if self.step > 0:  # a random initialisation maps every image to nearly one point: no verdict before training
            verdict = evaluation.verdict(self.method, self.cfg, diag, recent_loss)
            row.update(verdict=verdict.kind, verdict_reasons=verdict.reasons)
        if recent_loss is not None:
            row["loss"] = recent_loss
        for cb in self.callbacks:
            cb.on_snapshot(self.step, arrays, row)
        if verdict is not None:
            self.last_diag, self.last_verdict = diag, verdict
        return time.perf_counter() - t0

    def _summary(
        self, state: str, budget: Budget, train_seconds: float, diag_seconds: float, recent: list[float]
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        m = self.method
        m.eval()
        scores = evaluation.summary_scores(m, self.cfg, self.s, self.step, failed=state == "failed")
        summary: dict[str, Any] = {
            "state": state,
            "steps": self.step,
            "epochs": round(self.step / self.steps_per_epoch, 4),
            "seconds": round(self.offset_seconds + budget.clock(), 3),
            "train_seconds": round(train_seconds, 3),
            "diagnostics_seconds": round(diag_seconds, 3),
            "views_per_second": round(2 * self.batch * (self.step - budget.start_step) / max(train_seconds, 1e-9), 1),
            "final_loss": float(np.mean(recent)) if recent else None,
            "batch_size": self.batch,
            "world_size": self.world,
            "precision": precision_name(self.dtype),
            "chance_level": m.chance_level(self.batch),
            **scores,  # knn_top1, knn_protocol and (with a score) linear_probe
        }
        if self.timer:
            summary["profile"] = self.timer.shares()
        diag = getattr(self, "last_diag", None)
        if diag is not None:
            summary.update({k: v for k, v in diag.items() if k not in ("knn_top1", "knn_memory", "knn_queries")})
            summary["verdict"] = self.last_verdict.kind
            summary["verdict_reasons"] = self.last_verdict.reasons
        summary["summary_seconds"] = round(time.perf_counter() - t0, 3)
        m.train()
        return summary

    def _save(self) -> None:
        state = {
            "model": self.method.state_dict(),
            "optimizer": self.opt.state_dict(),
            "step": self.step,
            "seconds": self.offset_seconds + self.budget.clock(),
        }
        for cb in self.callbacks:
            if isinstance(cb, RunDirCallback):
                cb.writer.save_state("model.pt", state["model"])
                cb.writer.save_state("checkpoint.pt", state)
