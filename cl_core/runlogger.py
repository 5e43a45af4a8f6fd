"""RunLogger: your own training loop writes the run directory the explorer reads, live.

A few lines in any PyTorch loop (yours, one built on a third-party SSL library, or Lightning through
``cl_core.integrations.lightning``)::

    log = RunLogger("runs/my-simclr", method="simclr", batch_size=256, temperature=0.5, labels=probe_labels)
    for step, (x1, x2) in enumerate(loader):
        loss = criterion(model(x1), model(x2)); ...
        log.log(step, loss.item(), lr=opt.param_groups[0]["lr"])
        if log.due(step):
            log.snapshot_of(step, model, probe1, probe2)  # the fixed probe batch's two views, in eval mode
    log.close()

Scalars go to metrics.jsonl every call; a snapshot stores the probe batch's two views' embeddings (and features,
labels, thumbnails when given) with the app's diagnostics and verdict. config.json says the run is external: there
is no config to replay and no checkpoint to continue from, and the app says so instead of offering them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cl_core.doctor import CONTRASTIVE, NO_CHANCE, _tensor, diagnose
from cl_core.runs import RunError, RunWriter

MISSING_CONFIG = "no config to replay: it was trained outside the explorer"
MISSING_CHECKPOINT = "no checkpoint to continue from"


def _array(x: Any, name: str) -> np.ndarray | None:
    """(N, D) float32 NumPy from torch or NumPy, checked as diagnose checks it (shape, NaN/Inf)."""
    return None if x is None else _tensor(x, name).numpy()


def _thumbnails(images: Any, n: int) -> np.ndarray:
    """(N, H, W, 3) uint8 thumbnails from uint8 NHWC or float [0, 1] NCHW / NHWC images (torch or NumPy)."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    a = np.asarray(images)
    if a.ndim != 4 or len(a) != n:
        raise ValueError(f"images: expected {n} images (N, C, H, W) or (N, H, W, C), got shape {a.shape}")
    if a.shape[1] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(0, 2, 3, 1)
    if a.dtype != np.uint8:
        a = (np.clip(a, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(a, 3, axis=3) if a.shape[-1] == 1 else a


class RunLogger:
    """Writes ``run_dir`` as the explorer's trainer does, from your own loop.

    Args:
        run_dir: a new folder (its name is the run's id), usually inside the app's runs folder.
        method: the loss you train with, one of cl_core's names (it sets the chance level and the temperature
            floor the app draws); take the closest: "byol" for any loss without negatives.
        batch_size: images per step N (the chance level depends on it); temperature: your loss's T.
        queue_size, prototypes: MoCo's queue length K, SwAV's prototype count.
        labels: (M,) class of each probe image; class_names: their names; images: (M, ...) thumbnails of the
            probe images, uint8 NHWC or float NCHW in [0, 1].
        snapshot_every: ``due(step)`` is true every this many steps.
        total_steps: the planned length, for the progress bar; source: what wrote the run ("lightly", ...).
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        method: str = "simclr",
        batch_size: int | None = None,
        temperature: float | None = None,
        queue_size: int = 0,
        prototypes: int = 0,
        labels: Any = None,
        class_names: list[str] | None = None,
        images: Any = None,
        snapshot_every: int = 100,
        total_steps: int | None = None,
        data_name: str = "your data",
        source: str = "cl_core.RunLogger",
    ):
        if method not in CONTRASTIVE + NO_CHANCE:
            raise ValueError(f"method: unknown {method!r}; known: {', '.join(CONTRASTIVE + NO_CHANCE)}")
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every: must be >= 1, got {snapshot_every}")
        path = Path(run_dir)
        if (path / "config.json").exists():
            raise RunError(f"{path} already holds a run; give each run a new folder (nothing was overwritten)")
        self.method, self.batch_size, self.temperature = method, batch_size, temperature
        self.queue_size, self.prototypes = queue_size, prototypes
        self.every, self.total_steps = snapshot_every, total_steps
        self.labels, names = None, class_names
        if labels is not None:
            y = np.asarray(labels).reshape(-1)
            if y.dtype.kind not in "iu":  # names or floats: classes in sorted order
                uniq, y = np.unique(y, return_inverse=True)
                names = names or [str(u) for u in uniq]
            self.labels = y.astype(np.int64)
        self.class_names = [str(c) for c in names or []]
        self.images = images
        self.missing = [MISSING_CONFIG, MISSING_CHECKPOINT]
        if self.labels is None:
            self.missing.append("no labels: points are not coloured by class and there is no kNN accuracy")
        if batch_size is None:
            self.missing.append("no batch size: the chance level is the probe batch's")
        self.t0, self.last_step, self.rows_logged, self.recent = time.time(), 0, 0, []
        from cl_core.metrics import chance_level  # torch: imported when a run starts, not with cl_core

        self.closed, self.last = False, None  # last: the latest snapshot's Diagnosis
        self.chance = chance_level(method, batch_size, queue_size, prototypes) if batch_size else None
        method_cfg = {"name": method, "queue_size": queue_size, "prototypes": prototypes}
        if temperature is not None:
            method_cfg["temperature"] = temperature
        config = {
            "external": {"source": source, "missing": self.missing},
            "method": method_cfg,
            "train": {"batch_size": batch_size, "seed": None},
            "data": {"name": data_name},
        }
        self.writer = RunWriter(path, config)
        self._status("running", "Training (your own loop)", started=self.t0)

    @property
    def path(self) -> Path:
        return self.writer.path

    def _status(self, state: str, message: str, **extra: Any) -> None:
        self.writer.set_status(
            state,
            message,
            external=True,
            batch_size=self.batch_size,
            chance_level=self.chance,
            class_names=self.class_names,
            **extra,
        )

    def due(self, step: int) -> bool:
        """Whether ``step`` is a snapshot step (every ``snapshot_every`` steps, step 0 included)."""
        return step % self.every == 0

    def log(self, step: int, loss: float, *, epoch: float | None = None, lr: float | None = None, **scalars: float):
        """One row of metrics.jsonl: the step's loss (a float or a 0-d tensor) and any other scalars."""
        loss = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        row: dict[str, Any] = {"step": int(step), "seconds": round(time.time() - self.t0, 3), "loss": loss}
        if epoch is not None:
            row["epoch"] = float(epoch)
        if lr is not None:
            row["lr"] = float(lr)
        if self.total_steps:
            row["progress"] = min(1.0, (step + 1) / self.total_steps)
        row.update({k: float(v.detach()) if hasattr(v, "detach") else float(v) for k, v in scalars.items()})
        self.writer.log(row)
        self.last_step, self.rows_logged = int(step), self.rows_logged + 1
        if math.isfinite(loss):
            self.recent = [*self.recent[-19:], loss]
        self._status(
            "running", "Training (your own loop)", step=int(step), seconds=row["seconds"], progress=row.get("progress")
        )

    def snapshot(self, step: int, z1: Any, z2: Any, *, features: Any = None) -> Any:
        """Store the probe batch's two views' embeddings z1, z2 (M, D) (and backbone features (M, F)) with the app's
        diagnostics and verdict; returns the ``cl_core.Diagnosis``. Use the same probe images every time."""
        a, b, f = _array(z1, "z1"), _array(z2, "z2"), _array(features, "features")
        if b is None or b.shape != a.shape:
            raise ValueError(f"z2: needs the shape of z1 {a.shape} (the second view of the same probe images)")
        m = len(a)
        labels = self.labels if self.labels is not None else np.zeros(m, np.int64)
        if len(labels) != m:
            raise ValueError(f"labels: {len(labels)} given to RunLogger, but the snapshot has {m} probe images")
        loss = float(np.mean(self.recent)) if self.recent else None
        d = diagnose(
            a,
            b,
            features=f,
            labels=self.labels,
            loss=loss,
            batch_size=self.batch_size or m,
            temperature=self.temperature,
            method=self.method,
            queue_size=self.queue_size,
            prototypes=self.prototypes,
        )
        self.writer.snapshot(int(step), self._arrays(int(step), a, b, f, labels))
        row = {"step": int(step), "snapshot": True, **d.metrics, "verdict": d.verdict, "verdict_reasons": d.reasons}
        if loss is not None:
            row["loss"] = loss
        self.writer.log(row)
        self.last = d
        return d

    def _arrays(self, step: int, a: np.ndarray, b: np.ndarray, f: np.ndarray | None, labels: np.ndarray) -> dict:
        import torch

        from cl_core.metrics import singular_values

        z = np.concatenate([a, b])
        zn = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
        feats = f if f is not None else a
        arrays = {
            "step": np.array(step),
            "features": feats,
            "projections": a,
            "labels": labels,
            "probe_index": np.arange(len(a)),
            "z1": a,
            "z2": b,
            "similarity": (zn @ zn.T).astype(np.float32),
            "singular_values_features": singular_values(torch.from_numpy(feats)).numpy(),
            "singular_values_projections": singular_values(torch.from_numpy(a)).numpy(),
        }
        if self.images is not None:
            arrays["images"] = _thumbnails(self.images, len(a))
        return arrays

    def snapshot_of(self, step: int, embed: Callable, view1: Any, view2: Any, module: Any = None) -> Any:
        """Embed the probe's two views with ``embed`` (a model, or a function returning z or (features, z)) under
        no_grad and in eval mode (``module``'s, or ``embed``'s when it is a module; restored after), then snapshot."""
        import torch

        mod = module if module is not None else (embed if isinstance(embed, torch.nn.Module) else None)
        was = mod.training if mod is not None else False
        if mod is not None:
            mod.eval()
        try:
            with torch.no_grad():
                out1, out2 = embed(view1), embed(view2)
        finally:
            if mod is not None:
                mod.train(was)
        f1, z1 = out1 if isinstance(out1, tuple) else (None, out1)
        z2 = out2[1] if isinstance(out2, tuple) else out2
        return self.snapshot(step, z1, z2, features=f1)

    def close(self, state: str = "completed", message: str = "") -> None:
        """Write summary.json and the final status (completed, stopped or failed); later calls do nothing."""
        if self.closed:
            return
        self.closed = True
        summary: dict[str, Any] = {
            "state": state,
            "steps": self.last_step + 1 if self.rows_logged else 0,  # steps taken, as the trainer counts them
            "seconds": round(time.time() - self.t0, 3),
            "final_loss": float(np.mean(self.recent)) if self.recent else None,
            "batch_size": self.batch_size,
            "chance_level": self.chance,
            "knn_top1": None,
            "external": True,
        }
        if self.last is not None:
            summary.update(self.last.metrics, verdict=self.last.verdict, verdict_reasons=self.last.reasons)
        self.writer.summary(summary)
        done = {"completed": "Finished (your own loop)", "stopped": "Stopped", "failed": "Failed"}
        self._status(state, message or done.get(state, state), finished=time.time(), step=self.last_step)

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> None:
        if kind is None:
            self.close()
        elif issubclass(kind, KeyboardInterrupt):
            self.close("stopped", "Stopped by Ctrl-C; everything logged is kept.")
        else:
            self.close("failed", f"Your loop raised {kind.__name__}: {exc}; everything logged before is kept.")
