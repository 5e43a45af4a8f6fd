"""Image data sets as one uint8 NHWC bundle: digits, shapes, torchvision's sets on disk, image folders and zips.

The torchvision sets are read here from their real on-disk formats (CIFAR python pickles, MNIST idx files, STL-10
binaries) and only downloaded through torchvision: its loaders insist on the md5 of the full release files, which
would reject a truncated or hand-made copy, and its CIFAR reader unpickles without restriction.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import math
import os
import pickle
import socket
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from cl_core.shapes import SHAPE_CLASSES, make_shapes

# limits for image folders and zips (uploads): exceeded -> DataError, or the file is skipped as unsafe
MAX_ARCHIVE_BYTES = 200 * 2**20
MAX_TOTAL_BYTES = 2**30
MAX_FILES = 50_000
MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
FOLDER_IMAGE_SIZE = 32  # folder images are resized to this square size unless image_size is given
TEST_FRACTION = 0.2
DOWNLOAD_TIMEOUT_S = 30  # per socket operation, not for the whole download


class DataError(ValueError):
    """A data set could not be loaded; the message says which file or folder and what to do."""


@dataclass(eq=False)  # arrays have no single truth value; compare fields explicitly
class ImageData:
    """Train/test images (N, H, W, 3) uint8 RGB with int64 labels (N,) or None, and the class names."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray | None
    test_images: np.ndarray
    test_labels: np.ndarray | None
    class_names: list[str]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise DataError(
                    f"{self.name}: {split} images must be (N, H, W, 3) uint8, got {images.dtype} {images.shape}"
                )
            if labels is not None and labels.shape != (len(images),):
                raise DataError(f"{self.name}: {split} labels {labels.shape} do not match {len(images)} images")

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        classes = f"{self.num_classes} classes" if self.train_labels is not None else "unlabelled"
        return (
            f"{self.name}: {len(self.train_images):,} train / {len(self.test_images):,} test, "
            f"{self.image_size}x{self.image_size} RGB, {classes}"
        )


def resize_images(images: np.ndarray, size: int, chunk: int = 2048) -> np.ndarray:
    """Resize (N, H, W, 3) uint8 to (N, size, size, 3) uint8: bilinear, antialiased when shrinking."""
    import torch  # here: the app imports this module for its first page, which must not wait for torch (ui/)
    import torch.nn.functional as F

    out = np.empty((len(images), size, size, 3), np.uint8)
    for i in range(0, len(images), chunk):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + chunk])).permute(0, 3, 1, 2).float()  # (B, 3, H, W)
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def _subset(images: np.ndarray, labels: np.ndarray | None, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    idx = np.sort(np.random.default_rng(seed).choice(len(images), size=n, replace=False))
    return images[idx], None if labels is None else labels[idx]


def _split_indices(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified TEST_FRACTION split; a class with one image stays in train."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = max(1, round(TEST_FRACTION * len(idx))) if len(idx) > 1 else 0
        test.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


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


# ------------------------------------------------------------------------------------- torchvision sets on disk


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


# ------------------------------------------------------------------------------------------- folders and zips


@dataclass
class FolderReport:
    """What load_folder kept and what it skipped, and why."""

    images: int = 0
    classes: int = 0
    skipped_non_image: int = 0
    skipped_corrupt: int = 0
    skipped_unsafe: int = 0
    skipped_unlabelled: int = 0

    def message(self) -> str:
        kept = (
            f"{self.images:,} images in {self.classes} classes"
            if self.classes
            else f"{self.images:,} unlabelled images"
        )
        skipped = [
            (self.skipped_non_image, "not images"),
            (self.skipped_corrupt, "unreadable"),
            (self.skipped_unsafe, "unsafe (links, paths leaving the folder, or over the size limit)"),
            (self.skipped_unlabelled, "outside the class folders"),
        ]
        return "; ".join([kept] + [f"skipped {n:,} {why}" for n, why in skipped if n])


_Entry = tuple[tuple[str, ...], int, Callable[[], bytes]]  # path parts, size in bytes, reader


def _dir_entries(root: Path, report: FolderReport) -> Iterator[_Entry]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        links = {d for d in dirnames if (base / d).is_symlink()}
        report.skipped_unsafe += len(links)
        dirnames[:] = [d for d in dirnames if d not in links]
        for fname in filenames:
            p = base / fname
            if p.is_symlink():  # may point anywhere on the machine
                report.skipped_unsafe += 1
                continue
            yield p.relative_to(root).parts, p.stat().st_size, p.read_bytes


def _zip_entries(zf: zipfile.ZipFile, report: FolderReport) -> Iterator[_Entry]:
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
        if is_link or not parts or name.startswith("/") or ".." in parts or ":" in parts[0]:
            report.skipped_unsafe += 1
            continue
        yield parts, info.file_size, lambda info=info: zf.read(info)


def _decode(data: bytes, size: int) -> np.ndarray:
    """Decode one image to (size, size, 3) uint8: centre square crop, then resize."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(f"{img.width}x{img.height} pixels")
            img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when the image is much larger
            img = ImageOps.exif_transpose(img).convert("RGB")
            return np.asarray(ImageOps.fit(img, (size, size), Image.Resampling.BILINEAR))


def _collect(entries: Iterator[_Entry], source: Path) -> list[_Entry]:
    """Enforce the count and size limits, drop hidden files (.DS_Store, __MACOSX), sort by path."""
    kept, count, total = [], 0, 0
    for entry in entries:
        count, total = count + 1, total + entry[1]
        if count > MAX_FILES or total > MAX_TOTAL_BYTES:
            limits = f"{MAX_FILES:,} files or {MAX_TOTAL_BYTES >> 20:,} MB"
            raise DataError(f"{source} holds more than {limits}: use a smaller set")
        if not any(p.startswith(".") or p == "__MACOSX" for p in entry[0]):
            kept.append(entry)
    return sorted(kept, key=lambda e: e[0])


def _is_image(parts: tuple[str, ...]) -> bool:
    return Path(parts[-1]).suffix.lower() in IMAGE_SUFFIXES


def _assign(parts: tuple[str, ...], split_mode: bool, flat: bool) -> tuple[str, str] | None:
    """(split, class) of a file from its path; split is '' without train/test folders, None if outside any."""
    if split_mode:
        top = parts[0].lower()
        return (top, parts[1]) if top in ("train", "test") and len(parts) >= 3 else None
    if flat:
        return "", ""
    return ("", parts[0]) if len(parts) >= 2 else None


def load_folder(path: str | Path, image_size: int = 0, seed: int = 0) -> tuple[ImageData, FolderReport]:
    """Load a folder (or .zip of one) of images; class = sub-folder, train/ and test/ give the split when present.

    Zips are read in memory, never extracted; links, absolute paths and `..` members are skipped as unsafe,
    non-image and corrupt files are skipped and counted. Without train/ and test/, a stratified 80/20 split.
    Images directly in the folder (no class sub-folders at all) make an unlabelled set.
    """
    path = Path(path).expanduser()
    size = image_size or FOLDER_IMAGE_SIZE
    report = FolderReport()
    if not path.exists():
        raise DataError(f"folder not found: {path}")
    if path.is_dir():
        return _build(_collect(_dir_entries(path, report), path), path, size, seed, report)
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is neither a folder nor a .zip archive of one")
    if path.stat().st_size > MAX_ARCHIVE_BYTES:
        raise DataError(f"{path} is larger than {MAX_ARCHIVE_BYTES >> 20} MB: use a smaller archive")
    try:
        with zipfile.ZipFile(path) as zf:
            return _build(_collect(_zip_entries(zf, report), path), path, size, seed, report)
    except zipfile.BadZipFile as err:
        raise DataError(f"{path} is not a readable zip archive ({err})") from err


def _build(
    entries: list[_Entry], source: Path, size: int, seed: int, report: FolderReport
) -> tuple[ImageData, FolderReport]:
    paths = [parts for parts, _, _ in entries if _is_image(parts)]
    depth = 0  # folders that wrap every image (a zip of one folder) are not classes
    while paths and all(len(p) > depth + 2 and p[depth] == paths[0][depth] for p in paths):
        depth += 1
    split_mode = {"train", "test"} <= {p[depth].lower() for p in paths if len(p) >= depth + 3}
    flat = not split_mode and all(len(p) == depth + 1 for p in paths)
    images, splits, classes = [], [], []
    for parts, _, read in entries:
        if not _is_image(parts):
            report.skipped_non_image += 1
        elif (where := _assign(parts[depth:], split_mode, flat)) is None:
            report.skipped_unlabelled += 1
        else:
            try:
                images.append(_decode(read(), size))
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                report.skipped_unsafe += 1
                continue
            except Exception:  # PIL raises many types for broken files
                report.skipped_corrupt += 1
                continue
            splits.append(where[0])
            classes.append(where[1])
    report.images = len(images)
    if not images:
        raise DataError(f"no usable images in {source}: {report.message()}")
    class_names = sorted(set(classes)) if not flat else []
    report.classes = len(class_names)
    x = np.stack(images)
    index = {c: i for i, c in enumerate(class_names)}
    y = np.array([index.get(c, 0) for c in classes], np.int64)
    if split_mode:
        train, test = (np.flatnonzero(np.array(splits) == s) for s in ("train", "test"))
    else:
        train, test = _split_indices(y, seed)
    if not len(train):
        raise DataError(f"no usable images under train/ in {source}: {report.message()}")
    labels = (y[train], y[test]) if class_names else (None, None)
    return ImageData(f"folder:{source}", x[train], labels[0], x[test], labels[1], class_names), report


# ----------------------------------------------------------------------------------------------------- registry


def _torchvision(loader: Callable[[str, Path, bool], ImageData], name: str) -> Callable[..., ImageData]:
    return lambda root, download, seed, image_size: loader(name, root, download)


DATASETS: dict[str, Callable[..., ImageData]] = {
    "digits": _load_digits,
    "shapes": _load_shapes,
    "cifar10": _torchvision(_load_cifar, "cifar10"),
    "cifar100": _torchvision(_load_cifar, "cifar100"),
    "mnist": _torchvision(_load_mnist, "mnist"),
    "fashion_mnist": _torchvision(_load_mnist, "fashion_mnist"),
    "stl10": _load_stl10,
}


def available_datasets(root: str | Path = "data") -> dict[str, bool]:
    """Which named sets load without the network: digits and shapes always, the others if their files are present."""
    return {name: name not in _SOURCES or not _missing(name, Path(root)) for name in DATASETS}


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
