"""ExplorerCallback: a PyTorch Lightning Trainer writes the explorer's run directory through cl_core.RunLogger.

    from cl_core.integrations.lightning import ExplorerCallback

    cb = ExplorerCallback("runs/my-lightning-run", probe=(view1, view2), method="simclr", batch_size=256,
                          temperature=0.5, labels=probe_labels, snapshot_every=50)
    Trainer(max_epochs=10, callbacks=[cb]).fit(model, loader)

The loss is the ``loss`` your training_step returns (a tensor or {"loss": ...}); every ``snapshot_every`` steps the
probe's two views are embedded with ``embed(module, x)`` (default ``module(x)``; it may return z or
(features, z)) in eval mode. Built on ``pytorch_lightning`` (or ``lightning.pytorch`` when only that is installed).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import pytorch_lightning as pl
except ImportError:  # the unified package
    try:
        import lightning.pytorch as pl
    except ImportError:
        raise ImportError(
            "cl_core.integrations.lightning needs PyTorch Lightning: pip install pytorch-lightning"
        ) from None

from cl_core.runlogger import RunLogger


class ExplorerCallback(pl.Callback):
    """Logs every training step's loss (and the first optimiser's learning rate) and snapshots the probe batch.

    Args:
        run_dir: the run's new folder; probe: the fixed two views (view1, view2) of M probe images, (M, C, H, W).
        embed: ``embed(module, x)`` -> z or (features, z); default ``module(x)``.
        **logger_args: RunLogger's (method, batch_size, temperature, labels, images, snapshot_every, ...).
    """

    def __init__(
        self,
        run_dir: str | Path,
        probe: tuple[Any, Any],
        embed: Callable[[Any, Any], Any] | None = None,
        **logger_args: Any,
    ):
        super().__init__()
        self.run_dir, self.probe, self.embed = run_dir, probe, embed
        self.logger_args = {"source": "PyTorch Lightning", **logger_args}
        self.log: RunLogger | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        args = dict(self.logger_args)
        if trainer.max_steps and trainer.max_steps > 0:
            args.setdefault("total_steps", trainer.max_steps)
        elif trainer.max_epochs and trainer.num_training_batches not in (None, float("inf")):
            args.setdefault("total_steps", int(trainer.max_epochs * trainer.num_training_batches))
        if trainer.is_global_zero:
            self.log = RunLogger(self.run_dir, **args)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.log is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is None:
            return
        step = trainer.global_step - 1  # global_step counts optimiser steps already taken
        opt = trainer.optimizers[0] if trainer.optimizers else None
        lr = opt.param_groups[0]["lr"] if opt is not None else None
        self.log.log(step, loss, epoch=trainer.current_epoch, lr=lr)
        if self.log.due(step):
            self._snapshot(step, pl_module)

    def _snapshot(self, step: int, pl_module: Any) -> None:
        v1, v2 = (v.to(pl_module.device) for v in self.probe)
        embed = (lambda x: self.embed(pl_module, x)) if self.embed else pl_module
        self.log.snapshot_of(step, embed, v1, v2, module=pl_module)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        if self.log is not None and not self.log.closed:
            if not self.log.due(self.log.last_step):
                self._snapshot(self.log.last_step, pl_module)  # the final embeddings
            self.log.close("stopped" if trainer.interrupted else "completed")

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        if self.log is not None:
            if isinstance(exception, KeyboardInterrupt):
                self.log.close("stopped", "Stopped by Ctrl-C; everything logged is kept.")
            else:
                self.log.close("failed", f"Training raised {type(exception).__name__}: {exception}")
