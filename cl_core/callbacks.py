"""What the trainer reports through: the Callback hooks, and RunDirCallback, which writes the run directory.

Under torchrun only rank 0 calls them; ``cl_core.trainer.train`` adds a RunDirCallback when given a run_dir.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from cl_core.config import Config
from cl_core.runs import RunWriter


class Callback:
    """Hooks the loop calls; override what you need."""

    def on_start(self, info: dict[str, Any]) -> None: ...
    def on_log(self, row: dict[str, Any]) -> None: ...
    def on_snapshot(self, step: int, arrays: dict[str, np.ndarray], row: dict[str, Any]) -> None: ...
    def on_end(self, state: str, message: str, summary: dict[str, Any]) -> None: ...


class RunDirCallback(Callback):
    """Writes the run directory: config, status, metrics.jsonl, snapshots, summary (docs/DESIGN.md)."""

    def __init__(self, run_dir: str | Path, cfg: Config, append: bool = False):
        self.writer = RunWriter(run_dir, cfg.to_dict(), append=append)
        self.writer.set_status("running", "Loading data")

    def on_start(self, info: dict[str, Any]) -> None:
        self.writer.set_status("running", "Training", started=time.time(), **info)

    def on_log(self, row: dict[str, Any]) -> None:
        self.writer.log(row)
        self.writer.set_status(
            "running", "Training", step=row["step"], progress=row["progress"], seconds=row["seconds"]
        )

    def on_snapshot(self, step: int, arrays: dict[str, np.ndarray], row: dict[str, Any]) -> None:
        self.writer.snapshot(step, arrays)
        self.writer.log(row)

    def on_end(self, state: str, message: str, summary: dict[str, Any]) -> None:
        if summary:
            self.writer.summary(summary)
        self.writer.set_status(state, message, finished=time.time(), step=summary.get("steps"))
