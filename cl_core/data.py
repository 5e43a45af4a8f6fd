"""Image data sets by name as one uint8 NHWC bundle: digits, shapes, torchvision's sets, image folders and zips.

Data loading's public API is here: ``load_data``, ``DATASETS``, and ``ImageData`` and ``DataError`` (defined in
cl_core.imagedata). torchvision's sets are read by cl_core.torchvision_sets, folders and zips by cl_core.folders.
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cl_core import torchvision_sets
from cl_core.folders import load_folder
from cl_core.imagedata import TEST_FRACTION, DataError, ImageData
from cl_core.shapes import SHAPE_CLASSES, make_shapes

if TYPE_CHECKING:
    import torch

__all__ = [
    "DATASETS",
    "DataError",
    "ImageData",
    "available_datasets",
    "load_data",
    "nchw",
    "resize_images",
    "view_source",
]


def nchw(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) numpy ``images`` as an (N, 3, H, W) torch tensor of the same dtype: a view of their memory (copied
    first only where the array is not contiguous); ``.contiguous()`` makes it NCHW in memory too."""
    import torch  # here: the app imports this module for its first page, which must not wait for torch (ui/)

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)


def resize_images(images: np.ndarray, size: int, chunk: int = 2048) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 to (N, size, size, 3) uint8: bilinear, antialiased when shrinking."""
    import torch
    import torch.nn.functional as F

    out = np.empty((len(images), size, size, 3), np.uint8)
    for i in range(0, len(images), chunk):
        x = nchw(images[i : i + chunk]).float()  # (B, 3, H, W)
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def view_source(images: np.ndarray, view_size: int) -> np.ndarray:
    """What training cuts its views from: (N, H, W, 3) uint8 ``images``, or them shrunk (antialiased) to
    ``view_size`` when that is smaller (``data.view_size``; 0 = the images' own size)."""
    return resize_images(images, view_size) if 0 < view_size < images.shape[1] else images


def _subset(images: np.ndarray, labels: np.ndarray | None, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    idx = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    return images[idx], None if labels is None else labels[idx]


# ---------------------------------------------------------------------------------------------- built-in sets


def _load_digits(root: Path, download: bool, seed: int, image_size: int) -> ImageData:
    # Read scikit-learn's bundled CSV directly: importing sklearn costs about a second, which the app's first page
    # (digits is the default set) should not pay. The split is scikit-learn's, reproduced by _stratified_split.
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    csv = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if csv is None or not csv.is_file():
        raise DataError("the digits set comes with scikit-learn, which is not installed: `pip install scikit-learn`")
    with gzip.open(csv, "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    small = np.rint(table[:, :-1].reshape(-1, 8, 8) * (255 / 16)).astype(np.uint8)  # values 0..16 -> 0..255
    images = resize_images(np.repeat(small[..., None], 3, axis=-1), 32)
    labels = table[:, -1].astype(np.int64)
    train, test = _stratified_split(labels, TEST_FRACTION, random_state=0)
    return ImageData("digits", images[train], labels[train], images[test], labels[test], [str(d) for d in range(10)])


def _stratified_split(labels: np.ndarray, test_fraction: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices ``sklearn.model_selection.train_test_split(..., stratify=labels, random_state=...)`` picks.

    The same draws from the same legacy RandomState, so digits keeps the split every earlier run used
    (tests/test_data.py compares it with scikit-learn's own).
    """
    rng = np.random.RandomState(random_state)
    n_test = math.ceil(test_fraction * len(labels))
    n_train = len(labels) - n_test
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])

    def approximate_mode(class_counts: np.ndarray, n_draws: int) -> np.ndarray:
        continuous = class_counts / class_counts.sum() * n_draws
        floored = np.floor(continuous)
        need = int(n_draws - floored.sum())
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            if need <= 0:
                break
            (tied,) = np.where(remainder == value)
            add = min(len(tied), need)
            floored[rng.choice(tied, size=add, replace=False)] += 1
            need -= add
        return floored.astype(int)

    n_i = approximate_mode(counts, n_train)
    t_i = approximate_mode(counts - n_i, n_test)
    train, test = [], []
    for c, idx in enumerate(by_class):
        perm = idx.take(rng.permutation(counts[c]), mode="clip")
        train.extend(perm[: n_i[c]])
        test.extend(perm[n_i[c] : n_i[c] + t_i[c]])
    return rng.permutation(train), rng.permutation(test)


def _load_shapes(root: Path, download: bool, seed: int, image_size: int) -> ImageData:
    size = image_size or 32
    xtr, ytr = make_shapes(10_000, size, seed=2 * seed)
    xte, yte = make_shapes(2_000, size, seed=2 * seed + 1)
    return ImageData("shapes", xtr, ytr, xte, yte, list(SHAPE_CLASSES))


# ----------------------------------------------------------------------------------------------------- registry


DATASETS: dict[str, Callable[..., ImageData]] = {
    "digits": _load_digits,
    "shapes": _load_shapes,
    **torchvision_sets.LOADERS,
}


def available_datasets(root: str | Path = "data") -> dict[str, bool]:
    """Which named sets load without the network: digits and shapes always, the others if their files are present."""
    return {
        name: name not in torchvision_sets.LOADERS or torchvision_sets.files_present(name, Path(root))
        for name in DATASETS
    }


def load_data(
    name: str, root: str | Path = "data", image_size: int = 0, max_train: int = 0, download: bool = True, seed: int = 0
) -> ImageData:
    """Load a named set or `folder:PATH`, optionally subsample the train split and resize both splits.

    Args:
        name: a key of DATASETS, or `folder:PATH` for a folder or .zip of class sub-folders.
        root: where the torchvision sets live (and are downloaded to when `download` and the network allow).
        image_size: 0 keeps the set's own size (folders: 32); else every image is resized to this square size.
        max_train: 0 keeps all; else a seeded random subset of this many train images.
        seed: seeds the subset, the folder split and the shapes generator.
    """
    if image_size < 0 or max_train < 0:
        raise DataError(f"image_size and max_train must be >= 0, got {image_size} and {max_train}")
    if name.startswith("folder:"):
        data, _ = load_folder(name.removeprefix("folder:"), image_size=image_size, seed=seed)
    elif name in DATASETS:
        data = DATASETS[name](Path(root), download, seed, image_size)
    else:
        raise DataError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}, or folder:PATH")
    if 0 < max_train < len(data.train_images):
        data.train_images, data.train_labels = _subset(data.train_images, data.train_labels, max_train, seed)
    if image_size and image_size != data.image_size:
        data.train_images = resize_images(data.train_images, image_size)
        data.test_images = resize_images(data.test_images, image_size)
    return data
