"""Streamlit glue shared by app.py and the pages: strings, session-state keys, caches and a few widgets.

Everything cached lives here (``st.cache_resource`` for shared read-only objects, ``st.cache_data`` for
serialisable results, all bounded), and so does every session-state key (class ``K``). Pages stay thin.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import html
import math
import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cl_core.config import Config, ConfigError
from cl_core.data import DataError, ImageData
from cl_core.jobs import JobError, JobManager
from cl_core.runs import FINISHED, Run, RunError

ACTIVE = ("queued", "running")
PAGES = {  # page file -> (title, icon); app.py builds the navigation from it, pages link with it
    "pages/start.py": ("Start", "🏠"),
    "pages/data.py": ("Data & augmentations", "🖼️"),
    "pages/train.py": ("Train", "🏋️"),
    "pages/embeddings.py": ("Embeddings", "🌌"),
    "pages/diagnostics.py": ("Diagnostics", "🩺"),
    "pages/lessons.py": ("Lessons", "🎓"),
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
    """A user-facing string: a TEXTS key or the English text itself, formatted with ``fmt`` (identity for now)."""
    out = TEXTS.get(text, text)
    return out.format(**fmt) if fmt else out


class K:
    """Session-state keys. Widget keys bound to config fields are ``WIDGET + dotted name``."""

    CFG = "cfg"  # the working Config, edited on Data and Train, used by Start
    RUN = "run_id"  # the current run, picked in the sidebar
    RUNS_DIR = "runs_dir"
    AUG_SEED = "aug_seed"  # generator seed of the augmentation gallery ("Re-draw" bumps it)
    AUG_PRESET = "aug_preset"
    LIVE_STATE = "live_state"  # last state the live panel saw, to refresh the page once a run ends
    WIDGET = "w."
    REROUTED = "rerouted"  # this session was sent back through app.py once (see _leave_mpa_v1)


_PICKER = "run_picker."  # the sidebar's widget; K.RUN is the truth, so that pages may set it any time


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
    cfg.train.seconds, cfg.train.steps, cfg.train.epochs = 60.0, 0, 0.0
    return cfg


def init_session() -> None:
    """Session defaults; called first by app.py and by every page."""
    _leave_mpa_v1()
    st.session_state.setdefault(K.RUNS_DIR, os.environ.get("CL_RUNS_DIR", "runs"))
    if K.CFG not in st.session_state:
        st.session_state[K.CFG] = default_config()
    st.session_state.setdefault(K.AUG_SEED, 0)


_routing = threading.local()  # .active: app.py is running this script run (each run has its own thread)


@contextlib.contextmanager
def router() -> Iterator[None]:
    """Wraps app.py's body: pages run inside it know that the navigation and sidebar are there."""
    _routing.active = True
    try:
        yield
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
    """The working config of this session."""
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


def get_field(c: Config, name: str) -> Any:
    section, _, key = name.partition(".")
    if section == "method" and key.startswith("options."):
        from cl_core.methods import get_method_class

        opt = key.removeprefix("options.")
        return c.method.options.get(opt, get_method_class(c.method.name).OPTIONS[opt].default)
    return getattr(getattr(c, section), key)


def set_field(c: Config, name: str, value: Any) -> None:
    section, _, key = name.partition(".")
    if section == "method" and key.startswith("options."):
        c.method.options[key.removeprefix("options.")] = value
    else:
        setattr(getattr(c, section), key, value)


def bound(widget: Callable[..., Any], label: str, name: str, **kw: Any) -> Any:
    """Draw ``widget`` showing the working config's field ``name`` (dotted) and write its value back."""
    key = K.WIDGET + name
    if key not in st.session_state:
        st.session_state[key] = get_field(cfg(), name)
    value = widget(t(label), key=key, **kw)
    set_field(cfg(), name, value)
    return value


def bound_range(label: str, low: str, high: str, **kw: Any) -> tuple[Any, Any]:
    """A range slider showing two config fields (``low`` <= ``high``) and writing both back."""
    key = K.WIDGET + low + ".." + high
    if key not in st.session_state:
        st.session_state[key] = (get_field(cfg(), low), get_field(cfg(), high))
    lo, hi = st.slider(t(label), key=key, **kw)
    set_field(cfg(), low, lo)
    set_field(cfg(), high, hi)
    return lo, hi


def set_method(name: str) -> None:
    """Switch the working config to method ``name``: its preset, keeping data, augmentations and budget."""
    old = cfg()
    new = default_config(name, old.data.name)
    new.data, new.augment = old.data, old.augment
    for f in ("seconds", "steps", "epochs", "seed", "device", "batch_size", "backbone", "width", "snapshots"):
        setattr(new.train, f, getattr(old.train, f))
    st.session_state[K.CFG] = new
    forget_widgets("method.")
    forget_widgets("train.")


# --------------------------------------------------------------------------------------------------- resources


def _owner_alive(session_id: str) -> bool:
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)


@st.cache_resource(max_entries=4)
def job_manager(folder: str) -> JobManager:
    """The process-wide job manager of a runs folder (stops its children when the app exits)."""
    jm = JobManager(folder, owner_alive=_owner_alive, drop_after=float(os.environ.get("CL_SESSION_GRACE", 120)))
    atexit.register(jm.shutdown)
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


@st.cache_resource(max_entries=4, show_spinner="Loading the data set…")
def _dataset(name: str, root: str, image_size: int, seed: int) -> tuple[ImageData, str]:
    from cl_core.data import load_data, load_folder

    if name.startswith("folder:"):
        data, report = load_folder(name.removeprefix("folder:"), image_size=image_size, seed=seed)
        return data, report.message()
    return load_data(name, root=root, image_size=image_size, download=False, seed=seed), ""


def dataset(name: str, root: str, image_size: int = 0, seed: int = 0) -> ImageData:
    """A loaded data set, shared by all sessions; never downloads (the app works offline)."""
    return _dataset(name, "" if name.startswith("folder:") else root, image_size, seed)[0]


def folder_report(name: str, image_size: int = 0, seed: int = 0) -> str:
    """What loading a folder or zip kept and skipped ('' for the named sets)."""
    return _dataset(name, "", image_size, seed)[1] if name.startswith("folder:") else ""


def run_dataset(run: Run) -> ImageData | None:
    """The data set a run trained on (for its images and class names), or None with a note if it is gone."""
    d = run.config.get("data", {})
    try:
        return dataset(
            d.get("name", "digits"),
            d.get("root", data_root()),
            d.get("image_size", 0),
            run.config.get("train", {}).get("seed", 0),
        )
    except DataError as e:
        st.caption(t("The run's data set cannot be loaded here, so images and class names are not shown: {e}", e=e))
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


@st.cache_data(max_entries=8, show_spinner=False)
def _list_runs(folder: str, stamp: tuple) -> list[Run]:
    from cl_core.runs import list_runs

    return list_runs(folder)


def all_runs() -> list[Run]:
    """Every run in the runs folder, newest first; re-read only when a run changed."""
    root = runs_dir()
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return _list_runs(str(root), tuple((p.name, stamp(p)) for p in dirs))


def current_run() -> Run | None:
    """The run picked in the sidebar (or None)."""
    from cl_core.runs import resolve_run

    run_id = st.session_state.get(K.RUN)
    if not run_id:
        return None
    path = resolve_run(runs_dir(), run_id)
    return load(path) if (path / "config.json").is_file() else None


@st.cache_data(max_entries=64, show_spinner=False)
def snapshot(path: str, step: int) -> dict[str, np.ndarray]:
    from cl_core.runs import load_run

    return load_run(path).snapshot(step)


@st.cache_data(max_entries=16, show_spinner="Projecting the embeddings…")
def projections(path: str, steps: tuple[int, ...], space: str, method: str, dim: int) -> list[np.ndarray]:
    """Layouts of the probe set at ``steps``, aligned from one step to the next."""
    from cl_core.projection import project_snapshots

    return project_snapshots([snapshot(path, s)[space] for s in steps], method, dim)


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


def pair_similarities(sim: np.ndarray, cross_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative cosines of a [view 1; view 2] similarity matrix (2M, 2M) -> (M,), (K,).

    Negatives: view-1 / view-2 pairs of different images, plus (unless ``cross_only``) same-view pairs.
    """
    m = len(sim) // 2
    pos = np.diagonal(sim, offset=m)
    neg = sim[:m, m:][~np.eye(m, dtype=bool)]
    if cross_only:
        return pos, neg
    within = np.concatenate([sim[:m, :m][np.triu_indices(m, 1)], sim[m:, m:][np.triu_indices(m, 1)]])
    return pos, np.concatenate([neg, within])


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
    """Store an uploaded zip under the data folder by content hash; returns its path."""
    folder = Path(data_root()) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(content).hexdigest()[:16]}.zip"
    if not path.exists():
        path.write_bytes(content)
    return path


# ----------------------------------------------------------------------------------------------------- figures


def still(fig: Any) -> Any:
    """A figure built for several steps, shown at one: no frames, slider or play button."""
    fig.frames, fig.layout.sliders, fig.layout.updatemenus = (), (), ()
    return fig


def _wrap(text: str, width: int) -> str:
    """Wrap a plotly label at spaces with <br>s (plotly never wraps by itself)."""
    return "<br>".join(textwrap.wrap(text, width)) if text and "<br>" not in text else text


def chart(fig: Any, key: str, height: int | None = None, legend: str = "top", **kw: Any) -> Any:
    """Show a plotly figure with projector-sized text, fitted to a (possibly half-width) column.

    The title is drawn as page text above the chart (it wraps at any width); long axis and subplot titles
    wrap; the legend goes ``top`` (above the plot), ``bottom`` or ``right``.
    """
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
    fig.update_layout(title=None, font_size=15, legend=place, margin={"l": 70, "r": 20, "t": top, "b": bottom})
    if height:
        fig.update_layout(height=height)
    return st.plotly_chart(fig, key=key, theme=None, config={"displaylogo": False}, **kw)


def _rows(run: Run, snapshots: bool) -> list[dict[str, Any]]:
    return [m for m in run.metrics if bool(m.get("snapshot")) == snapshots]


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
            annotation_text=t("temperature floor {v:.2f}", v=floor),
            annotation_position="bottom right",
        )
    return fig.update_layout(height=height)


@st.cache_data(max_entries=16, show_spinner=False)
def rank_std_figure(path: str, stamp: tuple[float, ...], height: int = 520) -> Any:
    """Effective rank and std over the snapshot rows of metrics.jsonl, with their references."""
    from cl_core import figures

    snaps = _rows(load(Path(path)), snapshots=True)
    healthy = snaps[-1].get("std_healthy", 0.0)
    dim = round(1 / healthy**2) if healthy else None
    rank_max = min(int(snaps[-1].get("n", dim or 0)), dim) if dim else None
    fig = figures.rank_and_std(
        [r["step"] for r in snaps], [r["effective_rank"] for r in snaps], [r["std"] for r in snaps], healthy, rank_max
    )
    return fig.update_layout(height=height)


@st.cache_data(max_entries=32, show_spinner=False)
def similarity_figure(path: str, step: int) -> Any:
    """The probe batch's similarity matrix at one snapshot, square and without empty margins."""
    from cl_core import figures

    fig = still(figures.similarity_matrix([snapshot(path, step)["similarity"]], [step]))
    return fig.update_xaxes(constrain="domain").update_yaxes(constrain="domain")


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
        eta = f"{secs * (1 - p) / p:.0f} s" if p > 0 else "…"
        text = t(
            "{p:.0%} · step {step} · {secs:.0f} s elapsed · ETA {eta}", p=p, step=s.get("step") or 0, secs=secs, eta=eta
        )
        st.progress(min(max(p, 0.0), 1.0), text=text if s.get("message") != "Loading data" else t("Loading data…"))
    elif state == "failed":
        st.error(t("**This run failed.** {msg} Change the settings and start a new run.", msg=s.get("message", "")))
    elif state in ("stopped", "interrupted"):
        st.warning(
            t("**{state}.** {msg} Continue trains it further.", state=t(state.capitalize()), msg=s.get("message", ""))
        )
    summary = run.summary
    if summary and state not in ACTIVE:
        cols = st.columns(5)
        knn, probe = summary.get("knn_top1"), summary.get("linear_probe")
        cols[0].metric(t("Final loss"), "–" if summary.get("final_loss") is None else f"{summary['final_loss']:.3f}")
        cols[1].metric(t("kNN top-1"), "–" if knn is None else f"{knn:.1%}", help=summary.get("knn_protocol"))
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
        msg = e.message.rstrip(".")
        st.error(t("**Setting `{field}`**: {message}. Change it and try again.", field=e.field, message=msg))
    except DataError as e:
        st.error(t("**The data set could not be loaded**: {e}", e=e))
    except (RunError, JobError) as e:
        st.error(t("**{e}**. Pick another run in the sidebar, or start a new one on Train.", e=e))


def verdict_banner(kind: str | None, reasons: list[str]) -> None:
    """The collapse / temperature verdict as a coloured banner with its reasons."""
    if not kind:
        return
    title = kind.replace("_", " ").capitalize()
    text = f"**{t('Verdict')}: {t(title)}** — " + " ".join(reasons)
    (st.success if kind == "healthy" else st.error if "collapse" in kind else st.warning)(text)


def run_label(run: Run) -> str:
    """``18:15 SimCLR · digits · completed`` (with the date when it is not today's)."""
    from cl_core.methods import METHODS

    m = run.config.get("method", {}).get("name", "?")
    d = run.config.get("data", {}).get("name", "?").split("/")[-1]
    created = time.localtime(run.status.get("created") or run.path.stat().st_mtime)
    when = time.strftime("%H:%M" if created[:3] == time.localtime()[:3] else "%d %b %H:%M", created)
    return f"{when} {METHODS[m].TITLE if m in METHODS else m} · {d} · {t(run.state)}"


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
        st.stop()
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
    st.stop()


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


def sidebar() -> None:
    """Runs folder, device and the current-run picker (shared by every page)."""
    with st.sidebar:
        st.caption(t("Training device: **{d}**", d=device_label()))
        runs = all_runs()
        ids = [r.id for r in runs]
        if st.session_state.get(K.RUN) not in ids:
            st.session_state[K.RUN] = ids[0] if ids else None
        labels = {r.id: run_label(r) for r in runs}
        # the key changes with the labels: a keyed selectbox would keep showing a run's old state
        key = _PICKER + hashlib.blake2b(repr(labels).encode(), digest_size=6).hexdigest()
        current = st.session_state[K.RUN]
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
        with st.expander(t("Runs folder")):
            st.text_input(t("Folder"), key=K.RUNS_DIR, help=t("Where runs are written and read."))
            st.caption(t("{n} runs", n=len(runs)))


def is_finished(state: str) -> bool:
    return state in FINISHED
