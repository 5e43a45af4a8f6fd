"""Image folders and .zip archives of them as ImageData: class = sub-folder, unsafe and broken files skipped."""

from __future__ import annotations

import io
import os
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps

from cl_core.imagedata import TEST_FRACTION, DataError, ImageData

# limits for image folders and zips (uploads): exceeded -> DataError, or the file is skipped as unsafe
MAX_ARCHIVE_BYTES = 200 * 2**20
MAX_TOTAL_BYTES = 2**30
MAX_FILES = 50_000
MAX_IMAGE_PIXELS = 4096 * 4096
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"})
FOLDER_IMAGE_SIZE = 32  # folder images are resized to this square size unless image_size is given


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
