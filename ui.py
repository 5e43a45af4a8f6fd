"""Streamlit glue shared by app.py and the pages: strings, session-state keys, caches and a few widgets.

Everything cached lives here (``st.cache_resource`` for shared read-only objects, ``st.cache_data`` for
serialisable results, all bounded), and so does every session-state key (class ``K``). Pages stay thin.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import dataclasses
import functools
import hashlib
import html
import json
import math
import os
import queue
import sys
import textwrap
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import streamlit as st

import i18n
from cl_core.config import Config, ConfigError, Option
from cl_core.data import DATASETS, DataError, ImageData
from cl_core.jobs import JobError, JobManager
from cl_core.runs import FINISHED, Run, RunError
from cl_core.settings import Settings

ACTIVE = ("queued", "running")
PAGES = {  # page file -> (title, icon); app.py builds the navigation from it, pages link with it
    "pages/start.py": ("Start", "🏠"),
    "pages/data.py": ("Data & augmentations", "🖼️"),
    "pages/train.py": ("Train", "🏋️"),
    "pages/embeddings.py": ("Embeddings", "🌌"),
    "pages/diagnostics.py": ("Diagnostics", "🩺"),
    "pages/compare.py": ("Compare", "⚖️"),
    "pages/sweeps.py": ("Sweeps", "🧹"),
    "pages/lessons.py": ("Lessons", "🎓"),
    "pages/playground.py": ("Loss Playground", "🛝"),
}
DATASET_TITLES = {
    "digits": "Digits (scikit-learn 8×8, built in)",
    "shapes": "Shapes (generated, built in)",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
    "stl10": "STL-10",
}
# Longer texts, kept in one place for translation (part 2 adds a table per language).
TEXTS = {
    "intro": (
        "Contrastive learning teaches a network to recognise images **without labels**. Each image is "
        "augmented twice (cropped, flipped, re-coloured). The network learns to map the two *views* of one "
        "image to nearby points — a **positive pair**, pulled together — and the views of different images "
        "to distant points — **negatives**, pushed apart. What survives the augmentations is what the image "
        "*is*: its shape, not its crop or colour. Methods such as BYOL or VICReg keep the pull but replace "
        "the push, and then have to avoid *collapse*: every image mapped to the same point."
    ),
    "umap_note": (
        "**How not to read a UMAP.** It keeps neighbourhoods, not distances: the size of a cluster and the "
        "gaps between clusters mean little, and a class split in two may be one class in the embedding. "
        "Read which points are neighbours, and check with PCA or the kNN accuracy on Diagnostics."
    ),
    "similarity_note": (
        "**Reading the similarity matrix.** Rows and columns are the {m} images of a fixed probe batch: first "
        "their view 1, then their view 2. The two off-diagonal bands are the **positive pairs** (an image and "
        "its other view); every other cell is a **negative**. Healthy training: bright bands on a pale "
        "background. Collapse: everything the same dark red (all views alike). Low temperature or weak "
        "augmentations: bands bright, and a few negatives bright too (images of the same class)."
    ),
    "no_runs": "No training runs yet. Train one — a 20-second demo on the built-in digits is enough to see clusters.",
}


def t(text: str, **fmt: Any) -> str:
    """A user-facing string in the session's language, formatted with ``fmt``.

    ``text`` is a TEXTS key, the English text, or an English message from cl_core (see i18n.translate).
    """
    out = i18n.translate(text, lang())
    out = TEXTS.get(out, out)
    return out.format(**fmt) if fmt else out


def lang() -> str:
    """The session's language (a key of i18n.LANGS): the sidebar's switch; at first the URL's ``?lang=``."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:  # AppTest calls a widget's format_func after the script run, outside it
        return _LAST_LANG["lang"]
    if K.LANG not in st.session_state:
        asked = st.query_params.get("lang")
        st.session_state[K.LANG] = asked if asked in i18n.LANGS else "en"
    _LAST_LANG["lang"] = st.session_state[K.LANG]
    return _LAST_LANG["lang"]


_LAST_LANG = {"lang": "en"}  # the language of this process's latest script run (see lang)


class K:
    """Session-state keys. Widget keys bound to config fields are ``WIDGET + dotted name``."""

    CFG = "cfg"  # the working Config, edited on Data and Train, used by Start
    RUN = "run_id"  # the current run, picked in the sidebar
    RUNS_DIR = "runs_dir"
    AUG_SEED = "aug_seed"  # generator seed of the augmentation gallery ("Re-draw" bumps it)
    AUG_PRESET = "aug_preset"
    LIVE_STATE = "live_state"  # last state the live panel saw, to refresh the page once a run ends
    COMPARE = "compare_ids"  # run ids Compare shows; other pages set it before switching there
    SWEEP = "sweep_id"  # the sweep Sweeps shows (the last one launched in this session)
    WIDGET = "w."
    REROUTED = "rerouted"  # this session was sent back through app.py once (see _leave_mpa_v1)
    LANG = "lang"  # the session's language (see lang)
    LINK = "link.params"  # this page's URL parameters: name -> text, or None for a default (see read_link)
    LINK_READ = "link.read"  # the session's first address has been applied
    CONTROLS = "link.controls"  # the controls this page asked ``shown`` about, for a presentation link
    PRESENT = "link.present"  # presentation mode: the controls to show, or absent
    LINK_WRITTEN = "link.written"  # every parameter this session has put in the address (they are ours)


_PICKER = "run_picker."  # the sidebar's widget; K.RUN is the truth, so that pages may set it any time
_LANG_PICKER = "lang_picker"  # the sidebar's language switch; K.LANG is the truth


# ---------------------------------------------------------------------------------------------- session state


def runs_dir() -> Path:
    return Path(st.session_state.get(K.RUNS_DIR) or os.environ.get("CL_RUNS_DIR", "runs"))


def data_root() -> str:
    return os.environ.get("CL_DATA_ROOT", "data")


def default_config(method: str = "simclr", dataset: str = "digits") -> Config:
    """The method's preset with a budget that suits a laptop demo (60 s)."""
    from cl_core.presets import preset_config

    cfg = preset_config(method, dataset)
    cfg.data.root = data_root()
    limits = server_settings()
    cfg.train.seconds, cfg.train.steps, cfg.train.epochs = min(60.0, limits.max_seconds_per_run), 0, 0.0
    cfg.train.batch_size = min(cfg.train.batch_size, limits.max_batch_size)
    return cfg


def init_session() -> None:
    """Session defaults; called first by app.py and by every page."""
    _leave_mpa_v1()
    if not getattr(_routing, "active", False):  # a page run on its own (AppTest after its first run)
        new_link()
    st.session_state.setdefault(K.RUNS_DIR, os.environ.get("CL_RUNS_DIR", "runs"))
    lang()
    read_link()


_routing = threading.local()  # .active: app.py is running this script run (each run has its own thread)


@contextlib.contextmanager
def router() -> Iterator[None]:
    """Wraps app.py's body: pages run inside it know that the navigation and sidebar are there.

    After the page it writes the page's link (``end_page``); a page that stops early calls ``stop``.
    """
    _routing.active = True
    _run_state.sidebar = None  # a rerun reuses the thread: never the box of the run before
    new_link()
    try:
        yield
        end_page()
    except ImportError as e:  # torch, torchvision or umap missing or broken: the pages cannot work, say what to do
        st.error(
            t(
                "**A package the app needs could not be imported** ({e}). Install the requirements again "
                "(`pip install -r requirements.txt`) and restart the app.",
                e=e,
            )
        )
    except Exception:
        with contextlib.suppress(Exception):  # the page's error is the one to show
            fill_sidebar()  # a page that failed still offers the run picker (to leave a run it cannot show)
        raise
    finally:
        _routing.active = False


def _leave_mpa_v1() -> None:
    """Rerun through app.py when Streamlit ran a pages/ file on its own.

    Until some session has called st.navigation, Streamlit treats a pages/ folder as a v1 multipage app:
    a deep link (say /train) as the first request after the server starts would run that page alone,
    without app.py's navigation and sidebar. Leaving that mode and rerunning fixes it for good.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not getattr(_routing, "active", False):
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(K.REROUTED):  # once: AppTest resets the mode before every run
            st.session_state[K.REROUTED] = True
            st.rerun()


def cfg() -> Config:
    """The working config of this session (made on first use: the method presets need torch, see torch_ready)."""
    if K.CFG not in st.session_state:
        st.session_state[K.CFG] = default_config()
    return st.session_state[K.CFG]


def owner() -> str:
    """This browser session's id: the owner of the runs it starts."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else "local"


def forget_widgets(prefix: str = "") -> None:
    """Drop bound widget values under ``prefix`` so that they show the working config again."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(K.WIDGET + prefix)]:
        del st.session_state[key]


def set_field(c: Config, name: str, value: Any) -> None:
    section, _, key = name.partition(".")
    if section == "method" and key.startswith("options."):
        c.method.options[key.removeprefix("options.")] = value
    else:
        setattr(getattr(c, section), key, value)


def bound(widget: Callable[..., Any], label: str, name: str, **kw: Any) -> Any:
    """Draw ``widget`` showing the working config's field ``name`` (dotted) and write its value back.

    The value is also in the page's link, and the widget is left out in presentation mode unless listed.
    """
    key = K.WIDGET + name
    if key not in st.session_state:
        st.session_state[key] = _fitted(name, kw)
    value = widget(t(label), key=key, **kw) if shown(url_name(name)) else st.session_state[key]
    _set_linked(name, value)
    return value


def bound_range(label: str, low: str, high: str, **kw: Any) -> tuple[Any, Any]:
    """A range slider showing two config fields (``low`` <= ``high``) and writing both back."""
    key = K.WIDGET + low + ".." + high
    if key not in st.session_state:
        st.session_state[key] = (_fitted(low, kw), _fitted(high, kw))
    lo, hi = st.slider(t(label), key=key, **kw) if shown(url_name(low)) else st.session_state[key]
    _set_linked(low, lo)
    _set_linked(high, hi)
    return lo, hi


def with_method(old: Config, name: str) -> Config:
    """``old`` switched to method ``name``: its preset, keeping data, augmentations and budget."""
    new = default_config(name, old.data.name)
    new.data, new.augment = old.data, old.augment
    for f in ("seconds", "steps", "epochs", "seed", "device", "batch_size", "backbone", "width", "snapshots"):
        setattr(new.train, f, getattr(old.train, f))
    return new


def set_method(name: str) -> None:
    """Switch the working config to method ``name`` (see ``with_method``)."""
    st.session_state[K.CFG] = with_method(cfg(), name)
    forget_widgets("method.")
    forget_widgets("train.")


# --------------------------------------------------------------------------------------------------- resources


def _owner_alive(session_id: str) -> bool:
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)


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
    return job_manager(str(runs_dir()))


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

    from cl_core.trainer import resolve_device

    dev = resolve_device("auto")
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)}"
    if dev.type == "mps":
        return "GPU: Apple MPS"
    return f"CPU ({os.cpu_count()} cores; no GPU found)"


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset(name: str, root: str, image_size: int, seed: int) -> tuple[ImageData, str]:
    from cl_core.data import load_data, load_folder

    if name.startswith("folder:"):
        data, report = load_folder(name.removeprefix("folder:"), image_size=image_size, seed=seed)
        return data, report.message()
    return load_data(name, root=root, image_size=image_size, download=False, seed=seed), ""


def dataset(name: str, root: str, image_size: int = 0, seed: int = 0) -> ImageData:
    """A loaded data set, shared by all sessions; never downloads (the app works offline)."""
    with st.spinner(t("Loading the data set…")):
        return _dataset(name, "" if name.startswith("folder:") else root, image_size, seed)[0]


def folder_report(name: str, image_size: int = 0, seed: int = 0) -> str:
    """What loading a folder or zip kept and skipped ('' for the named sets)."""
    return _dataset(name, "", image_size, seed)[1] if name.startswith("folder:") else ""


def run_dataset(run: Run) -> ImageData | None:
    """The data set a run trained on (for its images), or None with a note if it cannot be loaded here."""
    d = run.config.get("data", {})
    try:
        return dataset(
            d.get("name", "digits"),
            d.get("root", data_root()),
            d.get("image_size", 0),
            run.config.get("train", {}).get("seed", 0),
        )
    except DataError as e:
        st.caption(t("The run's data set cannot be loaded here, so its images are not shown: {e}", e=e))
        return None


# -------------------------------------------------------------------------------------------------------- runs


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
    root = runs_dir()
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return [r for r in _list_runs(str(root), tuple((p.name, stamp(p)) for p in dirs)) if visible(r)]


def visible(run: Run) -> bool:
    """Whether this session may see ``run``: any run, or in private mode only the runs it started."""
    return not server_settings().private or run.owner == owner()


def find_run(run_id: str | None) -> Run | None:
    """The run ``run_id`` of the runs folder, or None (no such run, an id that leaves the folder, or not visible)."""
    from cl_core.runs import resolve_run

    try:
        path = resolve_run(runs_dir(), run_id) if run_id else None
    except RunError:
        return None
    run = load(path) if path is not None and (path / "config.json").is_file() else None
    return run if run is not None and visible(run) else None


def current_run() -> Run | None:
    """The run picked in the sidebar (or None; also for a run this session may not see). It is in the page's link."""
    run = find_run(st.session_state.get(K.RUN))
    in_link("run", run.id if run else None, None)
    return run


@st.cache_data(max_entries=64, show_spinner=False)
def snapshot(path: str, step: int) -> dict[str, np.ndarray]:
    from cl_core.runs import load_run

    return load_run(path).snapshot(step)


@st.cache_data(max_entries=16, show_spinner=False)
def _projections(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> list[np.ndarray]:
    from cl_core.projection import project_snapshots

    return project_snapshots([snapshot(path, s)[space] for s in steps], method, dim)


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
    key, session = (path, steps, space, method, dim), owner()
    with _projecting_lock:
        job = _projecting.get(key, (None, ""))[0]
        if job is None:
            superseded = [k for k, (f, by) in _projecting.items() if by == session and f.cancel()]
            for old in superseded:  # queued, never started (a page still waiting for one asks again)
                del _projecting[old]
            job = Future()
            _projecting[key] = (job, session)
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


@st.cache_resource
def device_options() -> list[str]:
    import torch

    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = ["mps"] if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else []
    return ["auto", "cpu", *cuda, *mps]


def use_run_settings(run: Run) -> None:
    """Make a run's config the working config (the form then shows it)."""
    st.session_state[K.CFG] = Config.from_dict(run.config)
    forget_widgets()


# ------------------------------------------------------------------------------------------------------ images


def image_grid(images: np.ndarray, cols: int, scale: int | None = None, gap: int = 4, cell: int = 64) -> np.ndarray:
    """Tile (N, H, W, 3) uint8 images into one picture, upscaled crisply (nearest) by ``scale``.

    Without ``scale``, small images are enlarged to about ``cell`` pixels.
    """
    n, h, w, _ = images.shape
    scale = scale or max(1, round(cell / h))
    big = images.repeat(scale, 1).repeat(scale, 2)
    rows = math.ceil(n / cols)
    hh, ww = h * scale + gap, w * scale + gap
    out = np.full((rows * hh - gap, cols * ww - gap, 3), 255, np.uint8)
    for i, img in enumerate(big):
        r, c = divmod(i, cols)
        out[r * hh : r * hh + h * scale, c * ww : c * ww + w * scale] = img
    return out


@st.cache_data(max_entries=16, show_spinner=False)
def augmented_views(
    name: str, root: str, image_size: int, aug: dict[str, Any], seed: int, n: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` training images and two augmented views of each, by the trainer's batched Augmenter. (n, H, W, 3) x3."""
    import torch

    from cl_core.augment import Augmenter
    from cl_core.config import AugmentConfig

    data = dataset(name, root, image_size)
    idx = np.random.default_rng(0).choice(len(data.train_images), min(n, len(data.train_images)), replace=False)
    x = torch.from_numpy(np.ascontiguousarray(data.train_images[idx])).permute(0, 3, 1, 2)  # (n, 3, H, W)
    v1, v2 = Augmenter(AugmentConfig(**aug), data.image_size).two_views(x, torch.Generator().manual_seed(seed))
    to_u8 = lambda v: (v.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # noqa: E731
    return data.train_images[idx], to_u8(v1), to_u8(v2)


def gallery(c: Config, seed: int, n: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Originals and two augmented views under the working config's data set and augmentations."""
    return augmented_views(c.data.name, c.data.root, c.data.image_size, dataclasses.asdict(c.augment), seed, n)


def save_upload(name: str, content: bytes) -> Path:
    """Store an uploaded zip under the data folder by content hash; returns its path.

    A DataError when it is over the server's ``max_upload_mb``.
    """
    from cl_core.runs import atomic_write_bytes

    server_settings().check_upload(name, len(content))
    folder = Path(data_root()) / "uploads"
    path = folder / f"{hashlib.sha256(content).hexdigest()[:16]}.zip"
    if not path.exists():
        atomic_write_bytes(path, content)  # two sessions uploading the same file never read half of it
    return path


# ----------------------------------------------------------------------------------------------------- figures


def _wrap(text: str, width: int) -> str:
    """Wrap a plotly label at spaces with <br>s (plotly never wraps by itself)."""
    return "<br>".join(textwrap.wrap(text, width)) if text and "<br>" not in text else text


def translated(fig: Any) -> Any:
    """A plotly figure's texts in the session's language: a copy, unless English (see i18n.translate_figure)."""
    return i18n.translate_figure(fig, lang())


def _laid_out(fig: Any, height: int | None, legend: str) -> Any:
    """The figure translated and laid out for a chart, its title written as page text above it (see chart)."""
    fig = translated(fig)
    title = fig.layout.title.text
    if title:
        st.markdown(f"<div class='cl-chart-title'>{html.escape(title)}</div>", unsafe_allow_html=True)
    x_lines = 1
    for axis in [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))]:
        text = _wrap(fig.layout[axis].title.text or "", 40)
        fig.layout[axis].title.text = text or None
        x_lines = max(x_lines, text.count("<br>") + 1) if axis.startswith("x") else x_lines
    subplot_titles = [a for a in fig.layout.annotations if a.yref == "paper" and (a.y or 0) >= 1 and a.text]
    for ann in subplot_titles:
        ann.text = _wrap(ann.text, 32)
    legend = "bottom" if legend == "top" and subplot_titles else legend
    names = [tr.name for tr in fig.data if tr.showlegend is not False and tr.name]
    rows = math.ceil(sum(45 + 8 * len(n) for n in names) / 440) if len(names) > 1 and legend != "right" else 0
    place = {
        "top": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        "bottom": {"orientation": "h", "yanchor": "bottom", "y": 0, "yref": "container", "x": 0},
        "right": {"orientation": "v"},
    }[legend]
    top = 16 + (28 * rows if legend == "top" else 0) + 44 * bool(subplot_titles)
    bottom = 40 + 22 * x_lines + (28 * rows if legend == "bottom" else 0)
    margin = {"l": 70, "r": 20, "t": top, "b": bottom}
    fig.update_layout(title=None, font_size=20 if presenting() else 15, legend=place, margin=margin)
    if height:
        fig.update_layout(height=height)
    return fig


PLOTLY_CONFIG = {"displaylogo": False}


def chart(fig: Any, key: str, height: int | None = None, legend: str = "top", **kw: Any) -> Any:
    """Show a plotly figure with projector-sized text, fitted to a (possibly half-width) column.

    The title is drawn as page text above the chart (it wraps at any width); long axis and subplot titles
    wrap; the legend goes ``top`` (above the plot), ``bottom`` or ``right``. Its texts are translated into the
    session's language on a copy (cl_core.figures builds English figures, and cached ones must not change).
    """
    fig = _laid_out(fig, height, legend)
    return st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, **kw)


@st.cache_resource(show_spinner=False)
def plotly_js_url() -> str | None:
    """Where the browser loads plotly.js for in-place charts, or None when the app does not serve it.

    The app's static/ folder is served at app/static/ (server.enableStaticServing in .streamlit/config.toml);
    the file is a copy of the installed plotly package's plotly.min.js, named by its version (a browser never
    keeps an old one), made once per server. None (and st.plotly_chart instead) when static serving is off,
    e.g. a server started outside the app's folder, or when the copy cannot be written.
    """
    import plotly

    from cl_core.runs import atomic_write_bytes

    if not st.get_option("server.enableStaticServing"):
        return None
    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    served = Path(__file__).parent / "static" / f"plotly-{plotly.__version__}.min.js"
    try:
        if not served.exists() or served.stat().st_size != source.stat().st_size:
            atomic_write_bytes(served, source.read_bytes())
        if served.stat().st_mode & 0o444 != 0o444:
            served.chmod(0o644)  # a temporary file's 0600 would hide it from a server run by another user
    except OSError:
        return None
    return f"app/static/{served.name}"  # relative to the page: right under any server.baseUrlPath or proxy prefix


@functools.cache
def _in_place_component() -> Callable[..., Any]:
    js = (Path(__file__).parent / "static" / "in_place_chart.js").read_text()
    return st.components.v2.component("cl_in_place_chart", js=js, isolate_styles=False)


def in_place_chart(fig: Any, key: str, height: int | None = None, legend: str = "top", selectable: bool = False):
    """Like chart, but one chart that stays mounted while the script reruns: a new figure is redrawn into it.

    st.plotly_chart replaces its chart whenever the figure changes and then draws every point twice; for 2,000
    points that was most of a slider step (benchmarks/README.md). Here static/in_place_chart.js redraws the same
    chart (Plotly.react; Plotly.animate when only the points moved), keeping zoom across figures. With
    ``selectable`` (lasso by default, box and click too) it returns the selected points' customdata, which stay
    selected and highlighted in the next figures (the same probe images at another step); else []. Falls back to
    st.plotly_chart, whose selection ends with its figure, when the app does not serve plotly.js (plotly_js_url).
    """
    fig = _laid_out(fig, height, legend)
    if selectable:
        fig.update_layout(dragmode="lasso", clickmode="event+select")
    src = plotly_js_url()
    if src is None:
        modes = {"on_select": "rerun", "selection_mode": ("points", "box", "lasso")} if selectable else {}
        event = st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, **modes)
        points = event.selection.points if selectable else []
        return [int(_first(p["customdata"])) for p in points if p.get("customdata") is not None]
    chosen = _ids((st.session_state.get(key) or {}).get("selection")) if selectable else []
    for trace in fig.data if chosen else ():  # the selection stays highlighted in the next figure
        if trace.customdata is not None:
            ids = [_first(v) for v in trace.customdata]
            # a plain list: plotly.py would send an array as base64, which plotly.js decodes only for data arrays
            trace.selectedpoints = np.flatnonzero(np.isin(ids, chosen)).tolist()
    fig.update_layout(uirevision=key)  # zoom, pan and legend clicks survive a new figure
    state = _in_place_component()(
        key=key,
        data={"figure": json.loads(fig.to_json()), "config": PLOTLY_CONFIG, "src": src, "selectable": selectable},
        default={"selection": []},
        on_selection_change=lambda: None,
    )
    return _ids(state.selection) if selectable else []


def _ids(values: Any) -> list[int]:
    """The whole numbers in what the browser sent as a selection (anything else is dropped)."""
    numbers = [v for v in values or [] if isinstance(v, int | float) and not isinstance(v, bool)]
    return [int(v) for v in numbers if math.isfinite(v) and v == int(v)]


def _first(value: Any) -> Any:
    """A point's customdata: plotly gives a list when the trace's customdata has a column per point."""
    return value[0] if isinstance(value, list | tuple | np.ndarray) else value


def _rows(run: Run, snapshots: bool) -> list[dict[str, Any]]:
    return [m for m in run.metrics if bool(m.get("snapshot")) == snapshots]


def _as_cached(fig: Any) -> Any:
    """The figure as a cache hit returns it: rebuilt from its dict (what unpickling does).

    A freshly built figure orders its JSON keys differently, and the browser redraws a chart whose JSON
    changed; without this, each new figure of a live page is drawn twice (on the miss, then on the first hit).
    """
    return type(fig)(fig.to_dict())


@st.cache_data(max_entries=16, show_spinner=False)
def loss_figure(path: str, stamp: tuple[float, ...], height: int = 430) -> Any:
    """The run's loss with its chance level ln C and, for temperature losses, the temperature floor.

    Cached on the run's ``stamp()``: a live page rebuilds it only when the run wrote something new.
    """
    from cl_core import figures
    from cl_core.methods import METHODS

    run = load(Path(path))
    rows = _rows(run, snapshots=False)
    m = run.config.get("method", {})
    cls = METHODS.get(m.get("name"))
    chance = run.summary.get("chance_level") or run.status.get("chance_level")
    fig = figures.loss_curves(
        [
            {
                "name": cls.TITLE if cls else m.get("name", "loss"),
                "chance": chance,
                "chance_label": "chance ln C",
                "steps": [r["step"] for r in rows],
                "loss": [r["loss"] for r in rows],
            }
        ]
    )
    n = run.status.get("batch_size") or run.config.get("train", {}).get("batch_size")
    if cls is not None and cls.USES_TEMPERATURE and n:
        from cl_core.metrics import temperature_floor

        floor = temperature_floor(n, m["temperature"])
        fig.add_hline(
            y=floor,
            line={"dash": "dot", "color": "#555"},
            annotation_text=f"temperature floor {floor:.2f}",  # English: cached for every language; see chart()
            annotation_position="bottom right",
        )
    return _as_cached(fig.update_layout(height=height))


@st.cache_data(max_entries=16, show_spinner=False)
def rank_std_figure(path: str, stamp: tuple[float, ...], height: int = 520) -> Any:
    """Effective rank and std over the snapshot rows of metrics.jsonl, with their references."""
    from cl_core import figures

    snaps = _rows(load(Path(path)), snapshots=True)
    healthy = snaps[-1].get("std_healthy", 0.0)
    dim = round(1 / healthy**2) if healthy else None
    rank_max = min(int(snaps[-1].get("n", dim or 0)), dim) if dim else None
    fig = figures.rank_and_std(
        [r["step"] for r in snaps],
        [r.get("effective_rank") for r in snaps],
        [r.get("std") for r in snaps],
        healthy,
        rank_max,
    )
    return _as_cached(fig.update_layout(height=height))


@st.cache_data(max_entries=32, show_spinner=False)
def similarity_figure(path: str, step: int) -> Any:
    """The probe batch's similarity matrix at one snapshot, square and without empty margins."""
    from cl_core import figures

    fig = figures.similarity_matrix([snapshot(path, step)["similarity"]], [step])
    return _as_cached(fig.update_xaxes(constrain="domain").update_yaxes(constrain="domain"))


@st.cache_data(max_entries=32, show_spinner=False)
def histogram_figure(path: str, step: int) -> Any:
    """Positive vs negative pair similarities of the probe batch at one snapshot; with the method's temperature,
    where the softmax weight goes."""
    from cl_core import figures
    from cl_core.methods import temperature_of
    from cl_core.runs import load_run

    temperature = temperature_of(load_run(path).config.get("method", {}))
    pos, neg = figures.pair_similarities(snapshot(path, step)["similarity"])
    return _as_cached(figures.similarity_histograms(pos, neg, temperature))


def run_header(run: Run) -> None:
    """State, progress with elapsed time and ETA, the status message and, once finished, the summary."""
    s, state = run.status, run.state
    st.subheader(f"{run_label(run)}")
    st.caption(run.id)
    job = next((j for j in jobs().jobs() if j.run_id == run.id), None)
    if state == "queued" and job is not None and job.state == "running":
        st.progress(0.0, text=t("Starting the training process…"))
    elif state == "queued":
        ahead = max((job.position if job else 1) - 1, 0)
        st.info(t("Waiting for a free training slot ({n} in the queue before it).", n=ahead))
    elif state == "running":
        p, secs = float(s.get("progress") or 0.0), float(s.get("seconds") or 0.0)
        eta = t("{s:.0f} s", s=secs * (1 - p) / p) if p > 0 else "…"
        text = t(
            "{p:.0%} · step {step} · {secs:.0f} s elapsed · ETA {eta}", p=p, step=s.get("step") or 0, secs=secs, eta=eta
        )
        st.progress(min(max(p, 0.0), 1.0), text=text if s.get("message") != "Loading data" else t("Loading data…"))
    elif state == "failed":
        msg = t(s.get("message", ""))
        st.error(t("**This run failed.** {msg} Change the settings and start a new run.", msg=msg))
    elif state in ("stopped", "interrupted"):
        resumable = (run.path / "checkpoint.pt").is_file()  # a run killed or stopped before its end saved none
        said = {"state": t(state.capitalize()), "msg": t(s.get("message", ""))}
        st.warning(
            t("**{state}.** {msg} Continue trains it further.", **said)
            if resumable
            else t("**{state}.** {msg}", **said)
        )
    summary = run.summary
    if summary and state not in ACTIVE:
        cols = st.columns(5)
        knn, probe = summary.get("knn_top1"), summary.get("linear_probe")
        cols[0].metric(t("Final loss"), "–" if summary.get("final_loss") is None else f"{summary['final_loss']:.3f}")
        cols[1].metric(
            t("kNN top-1"), "–" if knn is None else f"{knn:.1%}", help=t(summary.get("knn_protocol", "")) or None
        )
        cols[2].metric(t("Linear probe"), "–" if probe is None else f"{probe:.1%}")
        cols[3].metric(t("Views / s"), f"{summary.get('views_per_second', 0):,.0f}")
        cols[4].metric(t("Steps"), f"{summary.get('steps', 0):,}")


# ---------------------------------------------------------------------------------------------- shared widgets


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show errors from cl_core as a plain message that says what to do, never as a traceback."""
    try:
        yield
    except ConfigError as e:
        msg = t(e.message).rstrip(".。")
        st.error(t("**Setting `{field}`**: {message}. Change it and try again.", field=e.field, message=msg))
    except DataError as e:
        st.error(t("**The data set could not be loaded**: {e}", e=t(str(e))))
    except (RunError, JobError) as e:
        st.error(t("**{e}**. Pick another run in the sidebar, or start a new one on Train.", e=t(str(e))))


def verdict_banner(kind: str | None, reasons: list[str]) -> None:
    """The collapse / temperature verdict as a coloured banner with its reasons."""
    if not kind:
        return
    text = f"**{t('Verdict')}: {verdict_title(kind)}** — " + " ".join(t(r) for r in reasons)
    (st.success if kind == "healthy" else st.error if "collapse" in kind else st.warning)(text)


def verdict_title(kind: str) -> str:
    """``dimensional_collapse`` -> ``Dimensional collapse``, in the session's language."""
    return t(kind.replace("_", " ").capitalize()) if kind else ""


def run_label(run: Run) -> str:
    """``18:15 SimCLR · digits · completed`` (with the date when it is not today's).

    The method's title lives on its class (torch): until a fresh server has imported torch, its id (``simclr``).
    """
    m = run.config.get("method", {}).get("name", "?")
    title = m
    if torch_ready():
        from cl_core.methods import METHODS

        title = t(METHODS[m].TITLE) if m in METHODS else m
    d = run.config.get("data", {}).get("name", "?").split("/")[-1]
    created = time.localtime(run.status.get("created") or run.path.stat().st_mtime)
    when = time.strftime("%H:%M" if created[:3] == time.localtime()[:3] else t("%d %b %H:%M"), created)
    return f"{when} {title} · {t(d)} · {t(run.state)}"


def run_labels(runs: list[Run]) -> dict[str, str]:
    """Run id -> label for a picker, with the id added where labels coincide (same minute, method, data, state).

    A selectbox sends back the label of the choice, not the choice: two runs with one label are one choice, and
    picking either (or a rerun) selects the last of them.
    """
    labels = {r.id: run_label(r) for r in runs}
    twins = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {i: f"{label} · {i}" if label in twins else label for i, label in labels.items()}


def start_quick_demo() -> None:
    """A 20-second SimCLR run on digits: enough for clusters to appear; opens Train."""
    demo = default_config("simclr", "digits")
    demo.train.seconds, demo.train.snapshots = 20.0, 6
    with guard():
        st.session_state[K.RUN] = jobs().submit(demo, owner())
        st.switch_page("pages/train.py")


def no_runs_prompt() -> None:
    st.info(t("no_runs"))
    c1, c2 = st.columns(2)
    c1.page_link("pages/train.py", label=t("Open Train"), icon="🏋️")
    if c2.button(t("Quick demo run (20 s)"), type="primary", key="quick_demo"):
        start_quick_demo()


def need_run() -> Run:
    """The current run, or a prompt to train one (and the page stops)."""
    run = current_run()
    if run is None:
        no_runs_prompt()
        stop()
    return run


def need_snapshots(run: Run) -> list[int]:
    """The run's snapshot steps, or a note on why there are none yet (and the page stops)."""
    steps = run.snapshot_steps()
    if steps:
        return steps
    if run.state in ACTIVE:
        st.info(t("Run {id} has no snapshot yet: the first one is written after its first steps.", id=run.id))
    else:
        msg = "Run {id} ended before its first snapshot: pick another run in the sidebar, or Continue it on Train."
        st.info(t(msg, id=run.id))
    stop()


def inject_css() -> None:
    """Roomier metrics and wrapped tabs: readable on a projector and in a narrow window."""
    st.html(
        """<style>
        [data-testid="stMetricValue"] { font-size: 1.9rem; }
        [data-testid="stCaptionContainer"] { font-size: 0.95rem; }
        .cl-chart-title { font-size: 1.15rem; font-weight: 600; margin: 0.4rem 0 0 0; line-height: 1.4; }
        .block-container { padding-top: 2.2rem; max-width: 1500px; }
        </style>"""
    )
    if presenting():
        st.html(PRESENT_CSS)


def sidebar() -> None:
    """Runs folder, device and the current-run picker (shared by every page; none in presentation mode).

    The device line and the picker are drawn after the page (``fill_sidebar``): both need torch (the device, and
    the methods' titles in the run labels), which a fresh server imports in the background (``torch_ready``).
    """
    if presenting():
        return
    with st.sidebar:
        language_switch()
        _run_state.sidebar = st.container()
        runs = all_runs()
        ids = [r.id for r in runs]
        if st.session_state.get(K.RUN) not in ids:  # before the page: the page shows the current run
            st.session_state[K.RUN] = ids[0] if ids else None
        shared = server_settings().private or not server_settings().local_folders
        if not shared:  # a shared server keeps every session in its runs folder (one queue, no other folders)
            with st.expander(t("Runs folder")):
                st.text_input(t("Folder"), key=K.RUNS_DIR, help=t("Where runs are written and read."))
                st.caption(t("{n} runs", n=len(runs)))
        if settings_problem():
            st.warning(t("Classroom settings: {e}.", e=settings_problem()))


def fill_sidebar() -> None:
    """The sidebar's device line and run picker, once the page has run (it may have started a run, or torch)."""
    box = getattr(_run_state, "sidebar", None)
    if box is None:
        return
    _run_state.sidebar = None
    wait_for_torch()  # the page is drawn already; a fresh server may still be importing torch (torch_ready)
    with box:
        st.caption(t("Training device: **{d}**", d=t(device_label())))
        runs = all_runs()
        ids = [r.id for r in runs]
        labels = run_labels(runs)
        # the key changes with the labels: a keyed selectbox would keep showing a run's old state
        key = _PICKER + hashlib.blake2b(repr(labels).encode(), digest_size=6).hexdigest()
        current = st.session_state.get(K.RUN)
        st.selectbox(
            t("Current run"),
            ids,
            key=key,
            format_func=lambda i: labels.get(i, i),
            index=ids.index(current) if current in ids else None,
            on_change=lambda: st.session_state.update({K.RUN: st.session_state[key]}),
            placeholder=t("no runs yet"),
            help=t("The run that Train, Embeddings and Diagnostics show."),
        )
        active = [r for r in runs if r.state in ACTIVE]
        if active:
            st.caption(t("Training now: {runs}", runs=", ".join(run_label(r) for r in active)))


_run_state = threading.local()  # the script run's sidebar box, drawn after the page (a session's runs share a thread)


def language_switch() -> None:
    """English / 中文 at the top of the sidebar; the choice is kept in the URL as ``lang``."""

    def pick() -> None:
        st.session_state[K.LANG] = st.session_state[_LANG_PICKER]

    st.session_state[_LANG_PICKER] = lang()
    st.segmented_control(
        t("Language"),
        list(i18n.LANGS),
        key=_LANG_PICKER,
        format_func=i18n.LANGS.get,
        required=True,
        on_change=pick,
        label_visibility="collapsed",
    )
    if st.query_params.get("lang", "en") != lang():  # en is the default: no parameter
        if lang() == "en":
            del st.query_params["lang"]
        else:
            st.query_params["lang"] = lang()


def is_finished(state: str) -> bool:
    return state in FINISHED


# --------------------------------------------------------------------------------------- links and presentation
# Every setting of a page lives in its address, like the TensorFlow Playground: config fields through ``bound``,
# view widgets through ``view`` (or ``linked``), the run through ``current_run``. A session's first run applies
# the link (``read_link``); each of them writes its value to the address when it differs from the default
# (``in_link``), and the end of the page (``end_page``, or ``stop``) takes out what the page no longer has.
# ``?present=1&show=temperature,start`` presents: no sidebar or toolbar, large type, only the listed controls.

LINK_DEFAULTS = {"method": "simclr", "dataset": "digits"}  # what default_config() starts from
NOT_IN_LINKS = {
    "data.root": "a folder cannot come from a link",
    "data.name": "use dataset=",
    "method.name": "use method=",
}
PRESENT, SHOW = "present", "show"
PRESENT_CSS = """<style>
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] { display: none; }
[data-testid="stExpander"]:not(:has(input, textarea, [role="slider"], [data-testid="stButtonGroup"])) { display: none; }
.block-container { padding-top: 1.2rem; max-width: 100%; }
</style>"""


@functools.lru_cache(maxsize=16)
def _base(method: str, dataset: str, root: str, limits: Settings) -> Config:
    """The config a link names changes from (shared: never mutate it)."""
    c = default_config()
    c.data.name = dataset
    return with_method(c, method)


def link_base(c: Config) -> Config:
    """The defaults of ``c``'s link: default_config() with ``c``'s method and named data set."""
    dataset = c.data.name if c.data.name in DATASETS else LINK_DEFAULTS["dataset"]
    return _base(c.method.name, dataset, data_root(), server_settings())


def url_name(field: str) -> str:
    """A config field's name in links: the bare key where it means that field (``temperature``), else dotted."""
    key = field.rpartition(".")[2]
    with contextlib.suppress(ConfigError):
        if cfg().resolve(key) == field:
            return key
    return field


def new_link() -> None:
    """A new script run: the page registers its link parameters and controls again."""
    st.session_state[K.LINK], st.session_state[K.CONTROLS] = {}, []


def in_link(name: str, value: Any, default: Any) -> None:
    """Put ``name=value`` in this page's link and the address, unless ``value`` is the default (links stay short)."""
    text = None if value == default else str(value).lower() if isinstance(value, bool) else str(value)
    st.session_state.setdefault(K.LINK, {})[name] = text
    _put(name, text)


def _put(name: str, text: str | None) -> None:
    """One parameter into the address (None: out of it), only if it changes: writing sends a message."""
    if text is not None:
        st.session_state.setdefault(K.LINK_WRITTEN, set()).add(name)
    if st.query_params.get(name) == text:
        return
    if text is None:
        del st.query_params[name]
    else:
        st.query_params[name] = text


def _ignored(name: str, why: str) -> None:
    """A link value that cannot be used: say so, and drop it from the address."""
    st.warning(t("The link's `{name}` was ignored: {why}.", name=name[:60], why=t(why).rstrip(".。")))
    in_link(name, None, None)


def _checked(name: str, raw: Any, default: Any, kw: dict[str, Any]) -> Any:
    """``raw`` parsed like ``default`` and within a widget's ``options`` or range; else a warning and ``default``."""
    try:
        value = Option(default, "", low=kw.get("min_value"), high=kw.get("max_value")).parse(name, raw)
        options = kw.get("options")
        if options is not None and value not in list(options):
            raise ConfigError(name, f"must be one of {', '.join(map(str, options))}; got {raw!r}")
        return value
    except ConfigError as e:
        _ignored(name, e.message)
        return default


def _fitted(field: str, kw: dict[str, Any]) -> Any:
    """The working config's ``field`` for a bound widget, or its default where the widget cannot show it."""
    default = link_base(cfg()).get(field)
    return _checked(url_name(field), cfg().get(field), default, kw)


def _set_linked(field: str, value: Any) -> None:
    """A bound widget's value into the working config and the page's link (with the method and data set)."""
    c = cfg()
    set_field(c, field, value)
    base = link_base(c)
    in_link(url_name(field), value, base.get(field))
    in_link("method", c.method.name, LINK_DEFAULTS["method"])
    in_link("dataset", base.data.name, LINK_DEFAULTS["dataset"])


def linked(key: str, default: Any, name: str | None = None, **kw: Any) -> Any:
    """Session-state ``key``, kept in the page's link as ``name`` (default: ``key``) and taken from it while unset.

    ``kw`` may hold the widget's ``options`` or ``min_value`` / ``max_value``: a link value outside is ignored.
    """
    name = name or key
    if key not in st.session_state:
        raw = st.query_params.get(name)
        st.session_state[key] = default if raw is None else _checked(name, raw, default, kw)
    in_link(name, st.session_state[key], default)
    return st.session_state[key]


def view(widget: Callable[..., Any], label: str, key: str, default: Any, name: str | None = None, **kw: Any) -> Any:
    """A view widget (not a config field) whose value is in the page's link as ``name`` (default: ``key``).

    Give the widget's default as ``default``, not as ``value=``: the value is in session state before the widget.
    """
    name = name or key
    linked(key, default, name, **kw)
    value = widget(t(label), key=key, **kw) if shown(name) else st.session_state[key]
    in_link(name, value, default)
    return value


def presenting() -> bool:
    return K.PRESENT in st.session_state


def shown(name: str) -> bool:
    """Whether to draw control ``name`` (its link name): always, but in presentation mode only when listed."""
    controls = st.session_state.setdefault(K.CONTROLS, [])
    if name not in controls:
        controls.append(name)
    return not presenting() or name in st.session_state[K.PRESENT]


def read_link() -> None:
    """Apply the address of the session's first run: the config, the run and presentation mode.

    View widgets read theirs when drawn (``linked``). Parameters that are not settings are left alone (``lang``
    belongs to the translations); a bad value is ignored with a warning that names the allowed range.
    """
    if st.session_state.get(K.LINK_READ):
        return
    st.session_state[K.LINK_READ] = True
    qp = st.query_params.to_dict()
    if qp.get(PRESENT, "").lower() in ("1", "true", "yes", "on"):
        st.session_state[K.PRESENT] = [s.strip() for s in qp.get(SHOW, "").split(",") if s.strip()]
    _read_config(qp)
    if "run" in qp:
        run = find_run(qp["run"])
        if run is None:
            _ignored("run", "there is no such run in this runs folder")
        st.session_state[K.RUN] = run.id if run else None
    if presenting() and not st.session_state.get(K.RUN):  # no sidebar to pick one: the newest
        st.session_state[K.RUN] = next((r.id for r in all_runs()), None)


def _read_config(qp: dict[str, str]) -> None:
    """The link's method and data set, then its settings, each kept only if the config stays valid."""
    if not set(qp) - {"lang", "run", PRESENT, SHOW}:  # the usual first visit: nothing to set (and no torch)
        return
    from cl_core.methods import METHODS

    picked = {}
    for name, known in (("method", list(METHODS)), ("dataset", list(DATASETS))):
        picked[name] = qp.get(name, LINK_DEFAULTS[name])
        if picked[name] not in known:
            _ignored(name, f"must be one of {', '.join(known)}; got {picked[name][:40]!r}")
            picked[name] = LINK_DEFAULTS[name]
    c = copy.deepcopy(_base(picked["method"], picked["dataset"], data_root(), server_settings()))
    pending = []
    for name in qp:
        with contextlib.suppress(ConfigError):  # not a setting: someone else's parameter, or a view's
            field = c.resolve(name)
            if field in NOT_IN_LINKS:
                _ignored(name, NOT_IN_LINKS[field])
            else:
                pending.append(name)
    if not pending and picked == LINK_DEFAULTS:
        return
    while True:  # in rounds: a range's ends may only fit once the other end is in (crop_ratio_min=2&..max=3)
        errors = {}
        for name in pending:
            trial = copy.deepcopy(c)
            try:
                trial.set(name, qp[name])
                c = trial.validate()
            except ConfigError as e:
                errors[name] = e
        if len(errors) in (0, len(pending)):
            break
        pending = list(errors)
    for name, e in errors.items():
        _ignored(name, e.message if e.field == c.resolve(name) else f"{e.field} {e.message}")
    st.session_state[K.CFG] = c


def _write_link() -> None:
    """The end of a page: parameters we wrote that it no longer has leave the address; presentation mode stays."""
    link = st.session_state.get(K.LINK, {})
    for name in st.session_state.get(K.LINK_WRITTEN, set()) - set(link):
        _put(name, None)
    if presenting():
        _put(PRESENT, "1")
        _put(SHOW, ",".join(st.session_state[K.PRESENT]))


def end_page() -> None:
    """After the page: its link into the address, the sidebar's device line and its share box."""
    _write_link()
    fill_sidebar()
    if not presenting():
        share_box()


def stop() -> NoReturn:
    """``st.stop()`` for pages: writes the page's link first (nothing runs after st.stop)."""
    end_page()
    st.stop()


_COPY_HTML = """<style>
input, button { border: 1px solid #ccc; border-radius: 6px; padding: 5px 12px; background: #fff; }
input { width: 100%%; box-sizing: border-box; font: 13px monospace; }
button { margin-top: 6px; font: 14px sans-serif; }
</style>
<input id="u" readonly aria-label="link"><br><button id="b">%(label)s</button>
<script>
const extra = %(extra)s, u = document.getElementById("u"), b = document.getElementById("b");
function link() {  // the address now (a fragment may have changed it since this box was drawn), plus extra
  const loc = window.parent.location, params = new URLSearchParams(loc.search);
  Object.keys(extra).forEach((k) => params.delete(k));
  let q = params.toString();
  Object.entries(extra).forEach(([k, v]) => { q += (q ? "&" : "") + k + "=" + v; });
  return loc.origin + loc.pathname + (q ? "?" + q : "");
}
u.value = link();
setInterval(() => { if (document.activeElement !== u) u.value = link(); }, 500);
b.onclick = () => {
  u.value = link();
  u.select();
  const done = () => { b.textContent = %(copied)s; };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(u.value).then(done);
  else { document.execCommand("copy"); done(); }
};
</script>"""


def _copy_box(extra: dict[str, str], label: str) -> None:
    """The page's address (with ``extra`` parameters) as text, and a button that copies it."""
    js = lambda v: json.dumps(v).replace("<", "\\u003c")  # noqa: E731 - safe inside <script>
    st.iframe(_COPY_HTML % {"label": html.escape(label), "extra": js(extra), "copied": js(t("Copied ✓"))}, height=70)


def share_box() -> None:
    """Sidebar: copy this view's link, or a presentation link that keeps only the chosen controls."""
    with st.sidebar, st.popover(t("🔗 Share this view"), width="stretch"):
        st.caption(t("Every setting of this page is in its address: the link reopens this exact view."))
        _copy_box({}, t("Copy link"))
        controls = st.session_state.get(K.CONTROLS, [])
        help_ = t("For a projector: large type, no sidebar or toolbar, and only the controls you keep.")
        if controls and st.toggle(t("Presentation link"), key="share.present", help=help_):
            keep = st.multiselect(t("Controls to keep"), controls, default=controls)
            _copy_box({PRESENT: "1", SHOW: ",".join(keep)}, t("Copy presentation link"))
