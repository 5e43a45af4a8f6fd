"""Training jobs as child processes: a small queue with a concurrency limit and per-owner stop rights.

The app submits a config; the manager writes ``runs/<id>/config.json`` and a ``queued`` status, then
starts ``python -m cl_core train --config ... --out ...`` when a slot is free. The run directory stays
the interface: the child writes it, the app reads it. One manager serves every browser session of
one app process; ``owner`` says which session submitted a run.

Rules:
- only a run's owner may stop it, or anyone once ``owner_alive(owner)`` says the owner's session has
  gone (a reloaded tab is a new session: it may stop or ``adopt`` the runs of the tab it replaced);
- a session that went away (``drop_owner``, called by the watcher once the owner has been gone for
  ``drop_after`` seconds): its queued runs are dropped (status ``stopped``, nothing trained) and its
  running run is stopped with SIGTERM, so that a closed tab never holds a training slot. The partial
  run stays in the store and ``Continue`` trains it further;
- with ``limits`` (cl_core.settings), a config over a cap is refused with a ConfigError naming the field,
  and an owner with ``max_runs_per_session`` runs queued or running cannot submit another.

A new run's owner is written to ``owner.json`` in its directory (private mode shows a session its own).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cl_core.config import Config
from cl_core.runs import FINISHED, OWNER_FILE, new_run_id, read_json, read_status, resolve_run, write_json
from cl_core.settings import Settings

POLL_SECONDS = 0.5  # how often the background watcher reaps children and starts queued jobs


class JobError(ValueError):
    """A job that cannot be submitted or stopped; the message says why."""


@dataclass
class Job:
    """One submitted run: its directory, who submitted it, and its child process once started."""

    run_id: str
    owner: str
    path: Path
    argv: list[str]
    submitted: float = field(default_factory=time.time)
    proc: subprocess.Popen | None = None
    stop_requested: bool = False

    @property
    def state(self) -> str:
        if self.proc is None:
            return "queued"
        return "running" if self.proc.poll() is None else "finished"


@dataclass(frozen=True)
class JobInfo:
    """A job as the app lists it; ``position`` is 1 for the next queued run, 0 once started."""

    run_id: str
    owner: str
    state: str
    position: int


def default_slots() -> int:
    """One job per CUDA GPU; on CPU, one job per two cores (each child uses torch's threads)."""
    try:
        import torch

        gpus = torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no usable torch means no GPUs
        gpus = 0
    return gpus or max(1, (os.cpu_count() or 1) // 2)


class JobManager:
    """Queue and run training children for one runs folder; every public method is thread-safe."""

    def __init__(
        self,
        runs_dir: str | Path,
        max_concurrent: int | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        drop_after: float = 120.0,
        python: str = sys.executable,
        limits: Settings | None = None,
    ):
        """``owner_alive(owner)`` (optional) says whether a session is still there; see the module's rules."""
        self.runs_dir = Path(runs_dir)
        self.max_concurrent = max_concurrent or default_slots()
        self.owner_alive, self.drop_after, self.python, self.limits = owner_alive, drop_after, python, limits
        self._jobs: dict[str, Job] = {}  # submission order
        self._gone_since: dict[str, float] = {}
        self._lock = threading.RLock()
        self._watcher: threading.Thread | None = None

    def submit(
        self,
        cfg: Config | None,
        owner: str,
        resume_run: str | Path | None = None,
        seconds: float | None = None,
        steps: int | None = None,
    ) -> str:
        """Queue a new run of ``cfg`` (validated here), or more training of ``resume_run``; returns the run id.

        A resumed run keeps its id and config; ``seconds`` / ``steps`` is its new budget (default 60 s).
        """
        self.check_room(owner)
        if resume_run is not None:
            path = resolve_run(self.runs_dir, Path(resume_run).name)
            if not (path / "checkpoint.pt").is_file():
                raise JobError(f"run {path.name} has no checkpoint to continue from (it never finished a step)")
            if self.limits and self.limits.private and (read_json(path / OWNER_FILE, {}) or {}).get("owner") != owner:
                raise JobError(f"run {path.name} belongs to another session; only its owner may continue it")
            seconds = 0.0 if steps else seconds or 60.0
            if self.limits:
                self.limits.check_seconds(seconds)
                seconds = seconds or self.limits.max_seconds_per_run  # steps, and this cap: the first one ends it
            argv = ["--resume", str(path)] + (["--steps", str(int(steps))] if steps else [])
            argv += ["--seconds", f"{seconds:g}"] if seconds else []
        else:
            if cfg is None:
                raise JobError("submit needs a config or a run to resume")
            cfg.validate()
            if self.limits:
                cfg = self.limits.check_config(cfg)
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            path = self.runs_dir / new_run_id(cfg.method.name)
            write_json(path / OWNER_FILE, {"owner": owner})  # before config.json: no listed run lacks its owner
            write_json(path / "config.json", cfg.to_dict())
            argv = ["--config", str(path / "config.json"), "--out", str(path)]
        with self._lock:
            job = self._jobs.get(path.name)
            if job is not None and job.state != "finished":
                raise JobError(f"run {path.name} is already {job.state}")
            self._write_status(path, "queued", "Waiting for a free training slot", pid=os.getpid())
            self._jobs[path.name] = Job(path.name, owner, path, argv)
            self._poll_locked()
            self._ensure_watcher()
        return path.name

    def poll(self) -> None:
        """Reap finished children and start queued jobs while slots are free."""
        with self._lock:
            self._poll_locked()

    def stop(self, run_id: str, owner: str) -> None:
        """Stop ``owner``'s run: SIGTERM when running (it writes ``stopped``), dropped when still queued."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                raise JobError(f"run {run_id} was not started by this app, so it cannot be stopped here")
            if job.owner != owner and self._alive(job.owner):
                raise JobError(f"run {run_id} belongs to another session; only its owner can stop it")
            self._stop_locked(job, "Stopped before it started.")

    def adopt(self, run_id: str, owner: str) -> bool:
        """Make ``owner`` the owner of ``run_id`` if its current owner's session has gone; True if it now is."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None or (job.owner != owner and self._alive(job.owner)):
                return False
            job.owner = owner
            return True

    def drop_owner(self, owner: str) -> list[str]:
        """The session ``owner`` went away: drop its queued runs and stop its running one. Returns their ids."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner and j.state != "finished"]
            for job in mine:
                self._stop_locked(job, "Dropped before it started: the browser session that queued it ended.")
            return [j.run_id for j in mine]

    def jobs(self, owner: str | None = None) -> list[JobInfo]:
        """Known jobs (of ``owner``, or all), oldest first, with their queue positions."""
        with self._lock:
            self._poll_locked()
            out, queued = [], 0
            for job in self._jobs.values():
                state = job.state
                queued += state == "queued"
                if owner is None or job.owner == owner:
                    out.append(JobInfo(job.run_id, job.owner, state, queued if state == "queued" else 0))
            return out

    def owner_of(self, run_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(run_id)
            return None if job is None else job.owner

    def shutdown(self) -> None:
        """Stop every child (SIGTERM) and forget the queue; used by tests and at interpreter exit."""
        with self._lock:
            for job in list(self._jobs.values()):
                self._stop_locked(job, "Dropped: the app shut down.")

    def check_room(self, owner: str, runs: int = 1) -> None:
        """JobError when ``runs`` more would give ``owner`` over ``max_runs_per_session`` queued or running."""
        if self.limits is None:
            return
        cap = self.limits.max_runs_per_session
        with self._lock:
            self._poll_locked()
            active = sum(j.owner == owner and j.state != "finished" for j in self._jobs.values())
        if active + runs > cap:
            raise JobError(
                f"this session already has {active} runs queued or running and asks for {runs} more; this server "
                f"allows {cap} (max_runs_per_session); wait for one to finish or stop one"
            )

    # ------------------------------------------------------------------------------------------------ internals

    def _poll_locked(self) -> None:
        running = 0
        for job in list(self._jobs.values()):
            if job.proc is not None and job.proc.poll() is not None:
                self._reap(job)
            elif job.proc is not None:
                running += 1
        for job in self._jobs.values():
            if running >= self.max_concurrent:
                break
            if job.proc is None:
                self._start(job)
                running += 1

    def _start(self, job: Job) -> None:
        log = open(job.path / "train.log", "ab")  # noqa: SIM115 - the child owns it after Popen
        try:
            job.proc = subprocess.Popen(
                [self.python, "-m", "cl_core", "train", *job.argv, "--quiet"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=os.getcwd(),
            )
        except OSError as e:
            self._write_status(job.path, "failed", f"The training process could not start: {e}")
            del self._jobs[job.run_id]
        finally:
            log.close()

    def _reap(self, job: Job) -> None:
        """A child has exited: make sure its status says so, whatever killed it, then forget it."""
        code = job.proc.returncode if job.proc else None
        status = read_status(job.path)
        if status.get("state") not in FINISHED:
            if job.stop_requested:
                self._write_status(job.path, "stopped", "Stopped before training began.")
            else:
                self._write_status(
                    job.path, "failed", f"The training process exited with code {code}: {_log_tail(job.path)}"
                )
        del self._jobs[job.run_id]

    def _stop_locked(self, job: Job, queued_message: str) -> None:
        if job.proc is None:
            self._write_status(job.path, "stopped", queued_message)
            del self._jobs[job.run_id]
        elif job.proc.poll() is None and not job.stop_requested:
            job.stop_requested = True
            job.proc.send_signal(signal.SIGTERM)

    def _write_status(self, path: Path, state: str, message: str, **extra: object) -> None:
        old = read_json(path / "status.json", {}) or {}
        now = time.time()
        write_json(
            path / "status.json",
            {**old, "created": old.get("created", now), "state": state, "message": message, "updated": now, **extra},
        )

    def _alive(self, owner: str) -> bool:
        """Whether ``owner``'s session is still there; without a check, or when the check fails, it is."""
        if self.owner_alive is None:
            return True
        try:
            return bool(self.owner_alive(owner))
        except Exception:  # noqa: BLE001 - never stop a run because the check broke
            return True

    def _ensure_watcher(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(target=self._watch, name="cl-jobs", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Poll while there are jobs, so that queued runs start even when no page is polling."""
        while True:
            time.sleep(POLL_SECONDS)
            with self._lock:
                self._poll_locked()
                now = time.time()
                for owner in {j.owner for j in self._jobs.values()}:
                    if self._alive(owner):
                        self._gone_since.pop(owner, None)
                    elif now - self._gone_since.setdefault(owner, now) >= self.drop_after:
                        self.drop_owner(owner)
                if not self._jobs:
                    self._watcher = None
                    return


def _log_tail(path: Path, lines: int = 3) -> str:
    """The last lines of a run's train.log (the CLI's one-line error), for a failed run's message."""
    try:
        text = (path / "train.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log was written."
    return " ".join(text[-lines:]) or "the log is empty."
