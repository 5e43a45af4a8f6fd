"""The run store as pages see it: runs and snapshots re-read only when their files change."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cl_core.config import Config
from cl_core.runs import Run, RunError
from ui import links, server, session
from ui.keys import K

ACTIVE = ("queued", "running")


def stamp(path: Path) -> tuple[float, ...]:
    """Modification times of a run's files: the cache key that changes whenever the run does."""
    return tuple(
        p.stat().st_mtime if p.exists() else 0.0
        for p in (path / "status.json", path / "metrics.jsonl", path / "summary.json")
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _load_run(path: str, stamp: tuple[float, ...]) -> Run:
    from cl_core.runs import load_run

    return load_run(path)


def load(path: Path) -> Run:
    """A run, re-read only when its files changed."""
    return _load_run(str(path), stamp(path))


def with_status(run: Run) -> Run:
    """``run`` with its status.json read again: what a progress line needs each second.

    Cheaper than load(), which re-reads metrics.jsonl: it grows all run long and changes with every log row.
    """
    from cl_core.runs import read_status

    return dataclasses.replace(run, status=read_status(run.path))


@st.cache_data(max_entries=8, show_spinner=False)
def _list_runs(folder: str, stamp: tuple) -> list[Run]:
    from cl_core.runs import list_runs

    return list_runs(folder)


def all_runs() -> list[Run]:
    """Every run in the runs folder this session may see, newest first; re-read only when a run changed."""
    root = session.runs_dir()
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [r for r in _list_runs(str(root), tuple((p.name, stamp(p)) for p in dirs)) if visible(r)]


def visible(run: Run) -> bool:
    """Whether this session may see ``run``: any run, or in private mode only the runs it started."""
    return not server.server_settings().private or run.owner == session.owner()


def find_run(run_id: str | None) -> Run | None:
    """The run ``run_id`` of the runs folder, or None (no such run, an id that leaves the folder, or not visible)."""
    from cl_core.runs import resolve_run

    try:
        path = resolve_run(session.runs_dir(), run_id) if run_id else None
    except RunError:
        return None
    run = load(path) if path is not None and (path / "config.json").is_file() else None
    return run if run is not None and visible(run) else None


def found_runs(ids: dict[str, str]) -> dict[str, Run]:
    """{key: run} for each of ``ids``' run ids that names a run this session may see (one deleted or not yet
    written is left out): a lesson's runs by name, a sweep's by id."""
    return {key: run for key, run_id in ids.items() if (run := find_run(run_id)) is not None}


def current_run() -> Run | None:
    """The run picked in the sidebar (or None; also for a run this session may not see). It is in the page's link."""
    run = find_run(st.session_state.get(K.RUN))
    links.in_link("run", run.id if run else None, None)
    return run


@st.cache_data(max_entries=64, show_spinner=False)
def snapshot(path: str, step: int) -> dict[str, np.ndarray]:
    from cl_core.runs import load_run

    return load_run(path).snapshot(step)


@st.cache_data(max_entries=128, show_spinner=False)
def what_if(path: str, step: int, temperature: float, margin: float) -> dict[str, Any]:
    import torch

    from cl_core.metrics import what_if as _what_if

    s = snapshot(path, step)
    return _what_if(torch.from_numpy(s["z1"]), torch.from_numpy(s["z2"]), temperature, margin)


@st.cache_data(max_entries=64, show_spinner=False)
def chance_and_floor(config: dict[str, Any]) -> tuple[float | None, float | None]:
    """The loss's chance level ln C and (for temperature losses) its floor, for a config."""
    from cl_core.methods import build_method
    from cl_core.metrics import temperature_floor

    c = Config.from_dict(config)
    method = build_method(c)
    n = c.train.batch_size
    floor = temperature_floor(n, c.method.temperature) if method.USES_TEMPERATURE else None
    return method.chance_level(n), floor
