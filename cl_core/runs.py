"""The run store: one directory per run, written atomically, read by the CLI and the app.

```
runs/<run-id>/config.json  status.json  metrics.jsonl  snapshots/step_0000100.npz  summary.json  model.pt
```
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

STATES = ("queued", "running", "completed", "stopped", "failed", "interrupted")
FINISHED = ("completed", "stopped", "failed", "interrupted")
OWNER_FILE = "owner.json"  # {"owner": session id} of a run started from the app; absent for CLI runs


class RunError(ValueError):
    """A run directory that cannot be read or a path outside the runs folder."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path`` and rename it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_jsonable) + "\n").encode())


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as e:
        raise RunError(f"cannot read {path}: {e}") from None


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def new_run_id(prefix: str = "") -> str:
    """A fresh, sortable, unguessable run id: ``20261129-174501-simclr-3fa9c2``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c for c in prefix.lower() if c.isalnum() or c in "_")[:24]
    return "-".join(p for p in (stamp, safe, secrets.token_hex(3)) if p)


def resolve_run(runs_dir: str | Path, run_id: str) -> Path:
    """The directory of ``run_id`` inside ``runs_dir``; a RunError for any id that would leave it."""
    root = Path(runs_dir).resolve()
    if not run_id or "/" in run_id or "\\" in run_id or run_id in (".", "..") or "\0" in run_id:
        raise RunError(f"not a run id: {run_id!r}")
    path = (root / run_id).resolve()
    if path.parent != root:
        raise RunError(f"run {run_id!r} is outside {root}")
    return path


def append_jsonl(path: Path, row: dict[str, Any]) -> None:
    """Append one JSON line; one write call, so a crash leaves at most one torn last line."""
    with path.open("a") as f:
        f.write(json.dumps(row, default=_jsonable) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All complete rows of a JSON-lines file; a torn or corrupt line is skipped, not fatal."""
    rows = []
    try:
        text = path.read_text()
    except FileNotFoundError:
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is gone for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def read_status(run_dir: Path) -> dict[str, Any]:
    """status.json, with ``running``/``queued`` runs whose process is gone reported as ``interrupted``."""
    status = read_json(run_dir / "status.json", default={}) or {}
    if status.get("state") in ("running", "queued") and not pid_alive(status.get("pid")):
        if status["state"] == "running" and status.get("external"):
            what = (
                "The training process ended without calling RunLogger.close() (killed, crashed or still in a "
                "notebook cell that failed); everything it logged is kept."
            )
        elif status["state"] == "running":
            what = "The training process ended without finishing (killed or crashed); everything it logged is kept."
            if not (run_dir / "checkpoint.pt").is_file():  # written only when a run ends
                what += " It saved no checkpoint to continue from: start it again from Train."
        else:
            what = "The app that queued this run ended before the run could start; start it again from Train."
        status = {**status, "state": "interrupted", "message": what}
    return status


@dataclass
class Run:
    """A run directory as plain data."""

    path: Path
    config: dict[str, Any]
    status: dict[str, Any]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None  # the app session that started it (OWNER_FILE); None for CLI runs

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")

    def snapshot_steps(self) -> list[int]:
        return sorted(int(p.stem.split("_")[1]) for p in (self.path / "snapshots").glob("step_*.npz"))

    def snapshot(self, step: int) -> dict[str, np.ndarray]:
        """One snapshot's arrays (probe embeddings, projections, labels, similarity matrix, ...)."""
        path = self.path / "snapshots" / f"step_{step:07d}.npz"
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise RunError(f"cannot read snapshot {path}: {e}") from None


def load_run(run_dir: str | Path) -> Run:
    path = Path(run_dir)
    if not (path / "config.json").is_file():
        raise RunError(f"{path} is not a run directory (no config.json)")
    return Run(
        path=path,
        config=read_json(path / "config.json", {}),
        status=read_status(path),
        metrics=read_jsonl(path / "metrics.jsonl"),
        summary=read_json(path / "summary.json", {}) or {},
        owner=(read_json(path / OWNER_FILE, {}) or {}).get("owner"),
    )


def list_runs(runs_dir: str | Path = "runs") -> list[Run]:
    """Every readable run under ``runs_dir``, newest first; unreadable ones are skipped."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for p in root.iterdir():
        if p.is_dir() and not p.is_symlink() and (p / "config.json").is_file():
            try:
                runs.append(load_run(p))
            except RunError:
                continue
    return sorted(runs, key=lambda r: (r.status.get("created", 0), r.id), reverse=True)


class RunWriter:
    """Writes one run directory: config, status, metric rows, snapshots, summary and weights."""

    def __init__(self, run_dir: str | Path, config: dict[str, Any], append: bool = False):
        self.path = Path(run_dir)
        (self.path / "snapshots").mkdir(parents=True, exist_ok=True)
        write_json(self.path / "config.json", config)
        old = read_json(self.path / "status.json", {}) if append else {}
        self.status: dict[str, Any] = {"created": old.get("created", time.time())}
        if not append:
            (self.path / "metrics.jsonl").unlink(missing_ok=True)

    def set_status(self, state: str, message: str = "", **extra: Any) -> None:
        self.status.update(state=state, message=message, pid=os.getpid(), updated=time.time(), **extra)
        write_json(self.path / "status.json", self.status)

    def log(self, row: dict[str, Any]) -> None:
        append_jsonl(self.path / "metrics.jsonl", row)

    def snapshot(self, step: int, arrays: dict[str, np.ndarray]) -> None:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(self.path / "snapshots" / f"step_{step:07d}.npz", buf.getvalue())

    def summary(self, summary: dict[str, Any]) -> None:
        write_json(self.path / "summary.json", summary)

    def save_state(self, name: str, state: dict[str, Any]) -> None:
        import io

        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.path / name, buf.getvalue())
