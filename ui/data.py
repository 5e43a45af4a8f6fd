"""Data sets and images for the pages: loading (shared by all sessions), galleries, uploads."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cl_core.config import Config
from cl_core.data import DataError, ImageData
from cl_core.runs import Run
from ui import server, session
from ui.strings import t

DATASET_TITLES = {
    "digits": "Digits (scikit-learn 8×8, built in)",
    "shapes": "Shapes (generated, built in)",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "mnist": "MNIST",
    "fashion_mnist": "Fashion-MNIST",
    "stl10": "STL-10",
}


@st.cache_resource(max_entries=4, show_spinner=False)
def _dataset(name: str, root: str, image_size: int, seed: int) -> tuple[ImageData, str]:
    from cl_core.data import load_data
    from cl_core.folders import load_folder

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
            d.get("root", session.data_root()),
            d.get("image_size", 0),
            run.config.get("train", {}).get("seed", 0),
        )
    except DataError as e:
        st.caption(t("The run's data set cannot be loaded here, so its images are not shown: {e}", e=e))
        return None


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
    name: str, root: str, image_size: int, aug: dict[str, Any], seed: int, n: int = 8, view_size: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` training images and two augmented views of each, made as the trainer makes them (its batched
    Augmenter, from the images shrunk to ``view_size`` if that is smaller). (n, H, W, 3) x3: views of another
    size are shown enlarged or shrunk to the images' size (nearest), so that they tile with them."""
    import torch
    import torch.nn.functional as F

    from cl_core.augment import Augmenter
    from cl_core.config import AugmentConfig
    from cl_core.data import nchw, view_source

    data = dataset(name, root, image_size)
    idx = np.random.default_rng(0).choice(len(data.train_images), min(n, len(data.train_images)), replace=False)
    size = data.image_size
    x = nchw(view_source(data.train_images[idx], view_size))  # (n, 3, V, V)
    views = Augmenter(AugmentConfig(**aug), view_size or size).two_views(x, torch.Generator().manual_seed(seed))
    shown = lambda v: F.interpolate(v, size=(size, size), mode="nearest-exact") if v.shape[-1] != size else v  # noqa: E731
    to_u8 = lambda v: (shown(v).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # noqa: E731
    return data.train_images[idx], to_u8(views[0]), to_u8(views[1])


def gallery(c: Config, seed: int, n: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Originals and two augmented views under the working config's data set and augmentations."""
    d = c.data
    return augmented_views(d.name, d.root, d.image_size, dataclasses.asdict(c.augment), seed, n, d.view_size)


def save_upload(name: str, content: bytes) -> Path:
    """Store an upload under the data folder by content hash; returns its path: ``<hash>.zip`` for a zip, else
    ``<hash>/<its file name>`` (the readers of other files go by the name: .npy, events.out.tfevents.*, ...).

    A DataError when it is over the server's ``max_upload_mb``.
    """
    from cl_core.runs import atomic_write_bytes

    server.server_settings().check_upload(name, len(content))
    folder, digest = Path(session.data_root()) / "uploads", hashlib.sha256(content).hexdigest()[:16]
    safe = re.sub(r"[^\w.-]", "_", Path(name).name).lstrip(".") or "upload"  # never a path, never hidden
    path = folder / f"{digest}.zip" if safe.lower().endswith(".zip") else folder / digest / safe
    if not path.exists():
        atomic_write_bytes(path, content)  # two sessions uploading the same file never read half of it
    return path
