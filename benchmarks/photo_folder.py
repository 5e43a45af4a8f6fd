"""A folder data set of photographs, made offline from the photos that installed Python packages ship.

    python benchmarks/photo_folder.py OUT [--train 400] [--test 100] [--size 32] [--seed 0]

Class = the photograph a crop comes from (7 classes): scikit-learn's china.jpg and flower.jpg, matplotlib's
grace_hopper.jpg, mahotas' DepartmentStore.jpg and luispedro.jpg, PyWavelets' aero and ascent (greyscale,
stored as RGB). Each crop is a random square of 12-35% of the photo's shorter side, resized to ``--size``
pixels and written as PNG under OUT/train/<class>/ and OUT/test/<class>/ (the layout ``folder:OUT`` reads).
Training crops come from the left 70% of every photo and test crops from the right 30%, so no test pixel
was seen in training: the test asks whether an encoder recognises a scene from parts of it it has not seen.
scikit-image's bundled images are not used (they are reserved for an independent check).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_SHARE = 0.7  # columns [0, 70%) give training crops, the rest test crops
SIDE = (0.12, 0.35)  # crop side as a share of the photo's shorter side


def _file(module: str, *parts: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        root = Path(__import__(module).__file__).parent
        return np.asarray(Image.open(root.joinpath(*parts)).convert("RGB"))

    return load


def _pywt(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import pywt.data

        grey = np.asarray(getattr(pywt.data, name)(), dtype=np.float64)
        grey = np.clip(grey, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)

    return load


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "china": _file("sklearn", "datasets", "images", "china.jpg"),
    "flower": _file("sklearn", "datasets", "images", "flower.jpg"),
    "grace_hopper": _file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
    "department_store": _file("mahotas", "demos", "data", "DepartmentStore.jpg"),
    "portrait": _file("mahotas", "demos", "data", "luispedro.jpg"),
    "aerial": _pywt("aero"),
    "stairs": _pywt("ascent"),
}


def _crops(photo: np.ndarray, n: int, size: int, columns: tuple[int, int], rng: np.random.Generator) -> list:
    h, w = photo.shape[:2]
    lo, hi = columns
    out = []
    for _ in range(n):
        side = int(rng.uniform(*SIDE) * min(h, w))
        side = max(8, min(side, hi - lo, h))
        x, y = int(rng.integers(lo, hi - side + 1)), int(rng.integers(0, h - side + 1))
        crop = Image.fromarray(photo[y : y + side, x : x + side])
        out.append(crop.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None))
    return out


def write_photo_folder(out: Path, train: int = 400, test: int = 100, size: int = 32, seed: int = 0) -> Path:
    """Write the folder (train/ and test/, one sub-folder per photo) and return ``out``."""
    rng = np.random.default_rng(seed)
    for name, load in PHOTOS.items():
        photo = load()
        cut = int(photo.shape[1] * TRAIN_SHARE)
        for split, n, cols in (("train", train, (0, cut)), ("test", test, (cut, photo.shape[1]))):
            folder = out / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for k, crop in enumerate(_crops(photo, n, size, cols, rng)):
                crop.save(folder / f"{k:04d}.png")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--train", type=int, default=400, help="training crops per photo")
    ap.add_argument("--test", type=int, default=100, help="test crops per photo")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(write_photo_folder(args.out, args.train, args.test, args.size, args.seed))


if __name__ == "__main__":
    main()
