"""Process-wide resources: classroom settings, job managers, the background torch import, the device."""

from __future__ import annotations

import atexit
import os
import sys
import threading

import streamlit as st

from cl_core.jobs import JobManager
from cl_core.settings import Settings
from ui import private, session


def _owner_alive(session_id: str) -> bool:
    return private.session_alive(session_id)


@st.cache_resource(max_entries=4)
def _server_settings(path: str) -> tuple[Settings, str]:
    from cl_core.settings import load_settings

    limits, problem = load_settings(path) if path else (Settings(), "")
    if problem:  # reported once, at start-up, in the server's terminal (and in the sidebar)
        print(f"Contrastive Learning Explorer: {problem}", file=sys.stderr, flush=True)
    return limits, problem


def server_settings() -> Settings:
    """The classroom settings file (cl_core.settings), read once; a bad file is reported and the defaults used."""
    from cl_core.settings import settings_path

    return _server_settings(str(settings_path() or ""))[0]


def settings_problem() -> str:
    from cl_core.settings import settings_path

    return _server_settings(str(settings_path() or ""))[1]


_MANAGERS: dict[str, JobManager] = {}  # not a cache: a forgotten manager would orphan its running children


_MANAGERS_LOCK = threading.Lock()


def job_manager(folder: str) -> JobManager:
    """The process-wide job manager of a runs folder, kept for the app's life (stops its children at exit).

    On a shared server the folder cannot be changed from the page, so there is one; on a laptop, one per
    folder its user picked.
    """
    with _MANAGERS_LOCK:
        jm = _MANAGERS.get(folder)
        if jm is None:
            s = server_settings()
            jm = JobManager(
                folder,
                max_concurrent=s.concurrent_runs or None,
                owner_alive=_owner_alive,
                drop_after=s.session_grace_seconds,
                limits=s,
            )
            atexit.register(jm.shutdown)
            _MANAGERS[folder] = jm
        return jm


def jobs() -> JobManager:
    return job_manager(str(session.runs_dir()))


@st.cache_resource
def umap_warm_up() -> threading.Timer | None:
    """Once per process: compile UMAP in the background, a few seconds after the first page is drawn.

    CL_UMAP_WARMUP=0 turns it off (tests, which use PCA and need the cores for training).
    """
    from cl_core.projection import warm_up_umap_in_background

    if os.environ.get("CL_UMAP_WARMUP", "1") == "0":
        return None
    timer = threading.Timer(3.0, warm_up_umap_in_background)
    timer.daemon = True
    timer.start()
    return timer


@st.cache_resource
def _torch_imported() -> threading.Event:
    """Once per process: import torch in a background thread (unless it is imported already); set when done."""
    done = threading.Event()
    if "torch" in sys.modules:  # a test process, or another session's page imported it (or is importing it)
        done.set()
        return done

    def run() -> None:
        try:
            import pandas  # noqa: F401 - first: the Start page's runs table (st.dataframe) waits for it

            from cl_core import augment, presets, trainer  # noqa: F401 - torch, for the picture, config and device
        finally:
            done.set()

    threading.Thread(target=run, name="torch-import", daemon=True).start()
    return done


def torch_ready() -> bool:
    """Whether torch is imported in this server process, starting its import in the background if not.

    The first import takes a second or more. The Start page, a fresh server's first page, draws its text,
    tasks and runs without it, then waits for it to draw its picture (benchmarks/app_speed.py, first page).
    """
    return _torch_imported().is_set()


def wait_for_torch(timeout: float = 120.0) -> None:
    """Until the background import of torch_ready is done (at once when it is)."""
    _torch_imported().wait(timeout)


@st.cache_resource
def device_label() -> str:
    """What ``device=auto`` trains on: the GPU's name, or the CPU."""
    import torch

    from cl_core.runtime import resolve_device

    dev = resolve_device("auto")
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "GPU: Apple MPS"
    return f"CPU ({os.cpu_count()} cores; no GPU found)"


@st.cache_resource
def device_options() -> list[str]:
    import torch

    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = ["mps"] if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else []
    return ["auto", "cpu", *cuda, *mps]
