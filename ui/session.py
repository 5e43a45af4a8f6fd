"""The session's working config, runs folder and identity, and the config edits pages share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from cl_core.config import Config
from cl_core.runs import FINISHED, Run
from ui import private, server
from ui.keys import K

PAGES = {  # page file -> (title, icon); app.py builds the navigation from it, pages link with it
    "app_pages/start.py": ("Start", "🏠"),
    "app_pages/data.py": ("Data & augmentations", "🖼️"),
    "app_pages/train.py": ("Train", "🏋️"),
    "app_pages/embeddings.py": ("Embeddings", "🌌"),
    "app_pages/diagnostics.py": ("Diagnostics", "🩺"),
    "app_pages/compare.py": ("Compare", "⚖️"),
    "app_pages/sweeps.py": ("Sweeps", "🧹"),
    "app_pages/lessons.py": ("Lessons", "🎓"),
    "app_pages/playground.py": ("Loss Playground", "🛝"),
    "app_pages/doctor.py": ("Loss doctor", "💊"),
}


def runs_dir() -> Path:
    return Path(st.session_state.get(K.RUNS_DIR) or os.environ.get("CL_RUNS_DIR", "runs"))


def data_root() -> str:
    return os.environ.get("CL_DATA_ROOT", "data")


def default_config(method: str = "simclr", dataset: str = "digits") -> Config:
    """The method's preset with a budget that suits a laptop demo (60 s)."""
    from cl_core.presets import preset_config

    cfg = preset_config(method, dataset)
    cfg.data.root = data_root()
    limits = server.server_settings()
    cfg.train.seconds, cfg.train.steps, cfg.train.epochs = min(60.0, limits.max_seconds_per_run), 0, 0.0
    cfg.train.batch_size = min(cfg.train.batch_size, limits.max_batch_size)
    return cfg


def cfg() -> Config:
    """The working config of this session (made on first use: the method presets need torch, see torch_ready)."""
    if K.CFG not in st.session_state:
        st.session_state[K.CFG] = default_config()
    return st.session_state[K.CFG]


def owner() -> str:
    """This browser session's id: the owner of the runs it starts."""
    return private.session_id() or "local"


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


KEPT_ON_SWITCH = ("seconds", "steps", "epochs", "seed", "device", "batch_size", "backbone", "width", "cifar_stem")
KEPT_ON_SWITCH += ("init_from", "snapshots")  # train settings a method switch keeps


def with_method(old: Config, name: str) -> Config:
    """``old`` switched to method ``name``: its preset, keeping data, augmentations and budget."""
    new = default_config(name, old.data.name)
    new.data, new.augment = old.data, old.augment
    for f in KEPT_ON_SWITCH:
        setattr(new.train, f, getattr(old.train, f))
    return new


def set_method(name: str) -> None:
    """Switch the working config to method ``name`` (see ``with_method``)."""
    st.session_state[K.CFG] = with_method(cfg(), name)
    forget_widgets("method.")
    forget_widgets("train.")


def use_run_settings(run: Run) -> None:
    """Make a run's config the working config (the form then shows it)."""
    c = Config.from_dict(run.config)
    if not server.server_settings().local_folders:  # a checkpoint on this server that the page cannot show or clear
        c.train.init_from = ""
    st.session_state[K.CFG] = c
    forget_widgets()


def is_finished(state: str) -> bool:
    return state in FINISHED
