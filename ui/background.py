"""UMAP / t-SNE layouts computed by one background worker while the page shows PCA."""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np
import streamlit as st

from ui import runs, session
from ui.strings import t


@st.cache_data(max_entries=16, show_spinner=False)
def _projections(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> list[np.ndarray]:
    from cl_core.projection import project_snapshots

    return project_snapshots([runs.snapshot(path, s)[space] for s in steps], method, dim)


def projections(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> list[np.ndarray]:
    """Layouts of the probe set at ``steps``, aligned from one step to the next: the background worker's
    (``projection_pending``) when it made them, else computed here."""
    with _projecting_lock:
        job = _projecting.get((path, steps, space, method, dim), (None, ""))[0]
    if job is not None and job.done() and not job.cancelled() and job.exception() is None:
        return job.result()
    with st.spinner(t("Projecting the embeddings…")):
        return _projections(path, steps, space, method, dim)


_projecting: OrderedDict[tuple, tuple[Future, str]] = OrderedDict()  # latest requests: job and session, bounded


_projecting_lock = threading.Lock()


def projection_pending(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> Future | None:
    """None when ``projections`` would answer at once (PCA, or done); else its background computation.

    A UMAP or t-SNE of 2,000 points takes seconds per snapshot (UMAP's first fit in a process also compiles):
    the Embeddings page shows PCA until it is done, then ``projections`` hands over the result. A failed
    computation is done too (``projections`` then raises its error). A new request from a session cancels that
    session's requests still queued (a slider dragged over ten steps computes the last one).
    """
    if method == "pca":
        return None
    key, sid = (path, steps, space, method, dim), session.owner()
    with _projecting_lock:
        job = _projecting.get(key, (None, ""))[0]
        if job is None:
            superseded = [k for k, (f, by) in _projecting.items() if by == sid and f.cancel()]
            for old in superseded:  # queued, never started (a page still waiting for one asks again)
                del _projecting[old]
            job = Future()
            _projecting[key] = (job, sid)
            _projection_worker().put((job, key))
            while len(_projecting) > 32:
                _projecting.popitem(last=False)
        _projecting.move_to_end(key)
    return None if job.done() else job


@st.cache_resource
def _projection_worker() -> queue.SimpleQueue:
    """Once per process: the queue of one background worker (layouts share the CPU with the server and
    training). A daemon: a UMAP under way never holds up the server's exit."""
    jobs: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        while True:
            job, key = jobs.get()
            if job.set_running_or_notify_cancel():
                try:
                    job.set_result(_projections_uncached(*key))
                except BaseException as e:  # noqa: BLE001 - handed to the page; the worker keeps working
                    job.set_exception(e)

    threading.Thread(target=work, name="projection", daemon=True).start()
    return jobs


def _projections_uncached(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> list[np.ndarray]:
    from cl_core.projection import project_snapshots
    from cl_core.runs import load_run

    run = load_run(path)
    return project_snapshots([run.snapshot(s)[space] for s in steps], method, dim)
