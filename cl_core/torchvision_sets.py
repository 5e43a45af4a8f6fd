"""torchvision's image sets (CIFAR-10/100, MNIST, Fashion-MNIST, STL-10) read from their on-disk formats.

The files are read here from their real formats (CIFAR python pickles, MNIST idx files, STL-10 binaries) and only
downloaded through torchvision: its loaders insist on the md5 of the full release files, which would reject a
truncated or hand-made copy, and its CIFAR reader unpickles without restriction.
"""

from __future__ import annotations

import gzip
import pickle
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cl_core.imagedata import DataError, ImageData

DOWNLOAD_TIMEOUT_S = 30  # per socket operation, not for the whole download


@dataclass(frozen=True)
class _Source:
    title: str
    folder: str  # under root
    files: tuple[str, ...]
    fetch: str  # what to download by hand when the automatic download fails
    into: str = ""  # where to extract it, under root


_CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")
_IDX_FILES = tuple(f"{s}-{k}-idx{d}-ubyte" for s in ("train", "t10k") for k, d in (("images", 3), ("labels", 1)))
_STL10_FILES = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin")
_KRIZ = "https://www.cs.toronto.edu/~kriz"
_MNIST_URL = "the 4 idx .gz files from https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION_URL = "the 4 idx .gz files from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_SOURCES = {
    "cifar10": _Source("CIFAR-10", "cifar-10-batches-py", _CIFAR10_FILES, f"{_KRIZ}/cifar-10-python.tar.gz"),
    "cifar100": _Source("CIFAR-100", "cifar-100-python", ("train", "test", "meta"), f"{_KRIZ}/cifar-100-python.tar.gz"),
    "mnist": _Source("MNIST", "MNIST/raw", _IDX_FILES, _MNIST_URL, "MNIST/raw"),
    "fashion_mnist": _Source("Fashion-MNIST", "FashionMNIST/raw", _IDX_FILES, _FASHION_URL, "FashionMNIST/raw"),
    "stl10": _Source(
        "STL-10", "stl10_binary", _STL10_FILES, "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
    ),
}
_FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_STL10 = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


def _missing(name: str, root: Path) -> list[str]:
    src = _SOURCES[name]
    folder = root / src.folder
    # an idx file also counts when only its downloaded .gz is there
    found = [(folder / f).is_file() or (f.endswith("ubyte") and (folder / f"{f}.gz").is_file()) for f in src.files]
    return [f for f, ok in zip(src.files, found) if not ok]


def _download(name: str, root: Path) -> None:
    """Fetch a set with torchvision (which checks the md5 of the release files)."""
    import torchvision.datasets as tvd

    cls, kwargs = {
        "cifar10": (tvd.CIFAR10, {"train": False}),
        "cifar100": (tvd.CIFAR100, {"train": False}),
        "mnist": (tvd.MNIST, {"train": False}),
        "fashion_mnist": (tvd.FashionMNIST, {"train": False}),
        "stl10": (tvd.STL10, {"split": "test"}),
    }[name]
    root.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torchvision's urlopen has none: a firewalled host would hang
    try:
        cls(str(root), download=True, **kwargs)
    finally:
        socket.setdefaulttimeout(previous)


def _ensure_files(name: str, root: Path, download: bool) -> Path:
    src = _SOURCES[name]
    folder = root / src.folder
    missing = _missing(name, root)
    if not missing:
        return folder
    where = f"{src.title} not found under {folder} (missing {', '.join(missing)})"
    fix = f"download {src.fetch} and extract it into {root / src.into}"
    if not download:
        raise DataError(f"{where} and download is off: turn download on, or {fix}")
    try:
        _download(name, root)
    except Exception as err:  # any network or archive failure means the same to the user
        raise DataError(f"{where} and could not be downloaded ({err!r}; no network?): {fix}") from err
    if _missing(name, root):
        raise DataError(f"{where} even after downloading: {fix}")
    return folder


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only plain containers and numpy arrays: a planted pickle cannot run code."""

    _ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        *((m, n) for m in ("numpy.core.multiarray", "numpy._core.multiarray") for n in ("_reconstruct", "scalar")),
        *((m, "_frombuffer") for m in ("numpy.core.numeric", "numpy._core.numeric")),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def _read_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="latin1").load()  # the CIFAR files were written by Python 2
    except Exception as err:
        raise DataError(f"{path} is not a readable CIFAR python batch ({err}): re-download the archive") from err
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _load_cifar(name: str, root: Path, download: bool) -> ImageData:
    folder = _ensure_files(name, root, download)
    label_key, names_key = ("labels", "label_names") if name == "cifar10" else ("fine_labels", "fine_label_names")
    train_files, test_files = (_CIFAR10_FILES[:5], ["test_batch"]) if name == "cifar10" else (["train"], ["test"])

    def read(files: list[str] | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        batches = [_read_pickle(folder / f) for f in files]
        data = np.concatenate([np.asarray(b["data"], np.uint8) for b in batches])
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 3072) channel planes -> (N, 32, 32, 3)
        return np.ascontiguousarray(images), np.concatenate([np.asarray(b[label_key], np.int64) for b in batches])

    meta = _read_pickle(folder / _SOURCES[name].files[-1])
    classes = [c.decode() if isinstance(c, bytes) else str(c) for c in meta[names_key]]
    return ImageData(name, *read(train_files), *read(test_files), classes)


def _read_idx(path: Path) -> np.ndarray:
    """Read an idx ubyte file (MNIST format), gzipped or not: big-endian header, then uint8 data."""
    raw = path.read_bytes() if path.is_file() else gzip.decompress(path.with_name(path.name + ".gz").read_bytes())
    ndim = raw[3] if len(raw) >= 4 else 0
    if raw[:3] != b"\x00\x00\x08" or ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path} is not an idx ubyte file: re-download it")
    dims = np.frombuffer(raw, ">i4", count=ndim, offset=4)
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != np.prod(dims):
        raise DataError(f"{path} is truncated ({data.size} of {np.prod(dims)} bytes): re-download it")
    return data.reshape(dims)


def _load_mnist(name: str, root: Path, download: bool) -> ImageData:
    folder = _ensure_files(name, root, download)
    splits = []
    for prefix in ("train", "t10k"):
        images = _read_idx(folder / f"{prefix}-images-idx3-ubyte")  # (N, 28, 28) greyscale
        splits += [
            np.repeat(images[..., None], 3, axis=-1),
            _read_idx(folder / f"{prefix}-labels-idx1-ubyte").astype(np.int64),
        ]
    classes = [str(d) for d in range(10)] if name == "mnist" else list(_FASHION)
    return ImageData(name, *splits, classes)


def _load_stl10(root: Path, download: bool, seed: int, image_size: int) -> ImageData:
    folder = _ensure_files("stl10", root, download)
    splits = []
    for split in ("train", "test"):
        raw = np.fromfile(folder / f"{split}_X.bin", np.uint8)
        if raw.size % (3 * 96 * 96):
            raise DataError(f"{folder / f'{split}_X.bin'} is truncated: re-download the archive")
        images = raw.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1)  # stored column-major (N, C, W, H) -> (N, H, W, C)
        labels = np.fromfile(folder / f"{split}_y.bin", np.uint8).astype(np.int64) - 1  # 1-based on disk
        splits += [np.ascontiguousarray(images), labels]
    names_file = folder / "class_names.txt"
    classes = [c for c in names_file.read_text().splitlines() if c] if names_file.is_file() else list(_STL10)
    return ImageData("stl10", *splits, classes)


def _torchvision(loader: Callable[[str, Path, bool], ImageData], name: str) -> Callable[..., ImageData]:
    return lambda root, download, seed, image_size: loader(name, root, download)


# name -> loader(root, download, seed, image_size), as cl_core.data.DATASETS holds them
LOADERS: dict[str, Callable[..., ImageData]] = {
    "cifar10": _torchvision(_load_cifar, "cifar10"),
    "cifar100": _torchvision(_load_cifar, "cifar100"),
    "mnist": _torchvision(_load_mnist, "mnist"),
    "fashion_mnist": _torchvision(_load_mnist, "fashion_mnist"),
    "stl10": _load_stl10,
}


def files_present(name: str, root: Path) -> bool:
    """Whether every file of set ``name`` is under ``root``: then it loads without the network."""
    return not _missing(name, root)
