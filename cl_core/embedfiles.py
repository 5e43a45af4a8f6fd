"""Embeddings files users already have, read safely: NumPy (.npy, .npz), PyTorch (.pt / .pth, loaded with
weights_only: no pickled code runs), safetensors, and the Embedding Projector's tensors.tsv + metadata.tsv.

One view (N, D) or two ((2, N, D), (N, 2, D), or two arrays of one shape); labels and backbone features
optional. Every problem is an ``EmbeddingsError`` naming the file and what is wrong with it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 2 * 1024**3  # a larger file is refused before it is read: 2 GiB holds 500k x 1024 float32
VIEW_KEYS = (("z1", "z2"), ("view1", "view2"), ("q", "k"), ("embeddings",), ("z",), ("projections",))
LABEL_KEYS = ("labels", "label", "y", "targets")
FEATURE_KEYS = ("features", "feats", "h", "backbone")
SUFFIXES = (".npy", ".npz", ".pt", ".pth", ".safetensors", ".tsv")


class EmbeddingsError(ValueError):
    """An embeddings file that cannot be used; the message names the file and the problem."""


@dataclass
class Embeddings:
    z1: np.ndarray  # (N, D)
    z2: np.ndarray | None = None  # (N, D), the second view of the same images
    labels: np.ndarray | None = None  # (N,) integers
    features: np.ndarray | None = None  # (N, F)
    class_names: list[str] | None = None  # labels[i] names class_names[labels[i]]
    source: str = ""

    @property
    def views(self) -> int:
        return 1 if self.z2 is None else 2


def _fail(path: Path, problem: str) -> EmbeddingsError:
    return EmbeddingsError(f"{path}: {problem}")


def load_weights_only(path: Path) -> tuple[Any, str | None]:
    """``torch.load(path, weights_only=True)`` on the CPU: (the object, None), or (None, the Python global it
    refused) for a file that pickles objects, whose code is never run. Any other unpickling error is raised
    (pickle.UnpicklingError: not a file torch.save wrote, or a damaged one). cl_core.checkpoints reads with it too.
    """
    import pickle

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before failing on garbage
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True), None
    except pickle.UnpicklingError as e:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if refused is None:
            raise
        return None, refused[1]


def _arrays_of(path: Path) -> dict[str, np.ndarray]:
    """The named arrays a file holds (one unnamed array is called "embeddings")."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return {"embeddings": np.load(path, allow_pickle=False)}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if suffix in (".pt", ".pth"):
        import pickle

        import torch

        try:
            obj, refused = load_weights_only(path)
        except pickle.UnpicklingError:
            raise _fail(path, "is not a file torch.save wrote (or it is damaged)") from None
        if refused is not None:
            raise _fail(
                path,
                "holds Python objects besides tensors, and pickled code is never run here (weights_only); "
                f"save a tensor or a dict of tensors: torch.save({{'z1': z1, 'z2': z2}}, ...) (it holds {refused})",
            )
        if isinstance(obj, torch.Tensor):
            obj = {"embeddings": obj}
        if not isinstance(obj, dict):
            raise _fail(path, f"holds a {type(obj).__name__}; expected a tensor or a dict of tensors")
        return {str(k): v.detach().cpu().numpy() for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise _fail(path, "reading .safetensors needs the safetensors package: pip install safetensors") from None
        return load_file(str(path))
    if suffix == ".tsv":
        return _projector_tsv(path)
    raise _fail(path, f"unknown kind of file {suffix or '(no suffix)'}; known: {', '.join(SUFFIXES)}")


def _projector_tsv(path: Path) -> dict[str, Any]:
    """tensors.tsv (one tab-separated vector a line, no header) and, beside it, metadata.tsv: one column without
    a header, or a header row and columns (the label is the column named label / class, else the first)."""
    try:
        vectors = np.loadtxt(path, delimiter="\t", dtype=np.float32, ndmin=2)
    except ValueError as e:
        raise _fail(path, f"is not a table of numbers separated by tabs ({e})") from None
    out: dict[str, Any] = {"embeddings": vectors}
    meta = path.with_name("metadata.tsv")
    if meta.is_file() and meta != path:
        rows = [line.split("\t") for line in meta.read_text(encoding="utf-8").splitlines() if line.strip()]
        if rows and len(rows) == len(vectors) + 1 and len(rows[0]) > 1:  # a header row
            header, rows = [h.strip().lower() for h in rows[0]], rows[1:]
            col = next((header.index(n) for n in ("label", "class", "labels") if n in header), 0)
        else:
            col = 0
        if len(rows) != len(vectors):
            raise _fail(meta, f"has {len(rows)} rows for {len(vectors)} vectors in {path.name}")
        out["labels"] = np.array([r[col].strip() if col < len(r) else "" for r in rows])
    return out


def _pick(arrays: dict[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray | None:
    lower = {k.lower(): v for k, v in arrays.items()}
    return next((lower[k] for k in keys if k in lower), None)


def _labels(path: Path, raw: np.ndarray, n: int) -> tuple[np.ndarray, list[str] | None]:
    raw = np.asarray(raw).reshape(-1)
    if len(raw) != n:
        raise _fail(path, f"holds {len(raw)} labels for {n} embeddings")
    if raw.dtype.kind in "iub":
        return raw.astype(np.int64), None
    if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
        return raw.astype(np.int64), None
    names, index = np.unique(raw.astype(str), return_inverse=True)
    return index.astype(np.int64), [str(x) for x in names]


def _label_file(path: Path, n: int) -> np.ndarray:
    """N labels from a text file (.txt / .csv / .tsv: the first field of each line, a header line allowed) or
    from an array file (.npy, or the labels array of .npz / .pt / .safetensors)."""
    if not path.is_file():
        raise _fail(path, "no such file" if not path.exists() else "is not a file")
    try:
        if path.suffix.lower() in (".txt", ".csv", ".tsv"):
            lines = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
            lines = lines[1:] if len(lines) == n + 1 else lines  # a header row
            return np.array([x.split("\t")[0].split(",")[0].strip() for x in lines])
        raw = _pick(_arrays_of(path), (*LABEL_KEYS, "embeddings"))
    except EmbeddingsError:
        raise
    except Exception as e:  # noqa: BLE001 - say which file and why, no traceback
        raise _fail(path, f"could not be read as labels ({type(e).__name__}: {e})") from None
    if raw is None:
        raise _fail(path, f"holds no array named {' or '.join(LABEL_KEYS)}")
    return raw


def load_embeddings(path: str | Path, labels: str | Path | None = None) -> Embeddings:
    """Read an embeddings file (see the module's docstring); ``labels`` is an optional file of N labels."""
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "no such file" if not path.exists() else "is not a file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise _fail(path, f"is {size / 1024**3:.1f} GiB; at most {MAX_BYTES / 1024**3:.0f} GiB is read (subsample it)")
    try:
        arrays = _arrays_of(path)
    except EmbeddingsError:
        raise
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file: say which and why, no traceback
        raise _fail(path, f"could not be read as {path.suffix} ({type(e).__name__}: {e})") from None
    present = {a.lower() for a in arrays}
    views = next((keys for keys in VIEW_KEYS if all(k in present for k in keys)), None)
    if views is not None:
        z = [_pick(arrays, (k,)) for k in views]
    else:  # no known names: the two arrays of one shape, or the only 2-D / 3-D one
        shaped = [a for a in arrays.values() if np.asarray(a).ndim in (2, 3) and np.asarray(a).dtype.kind == "f"]
        if len(shaped) == 2 and shaped[0].shape == shaped[1].shape and shaped[0].ndim == 2:
            z = shaped
        elif len(shaped) == 1:
            z = [shaped[0]]
        else:
            names = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in arrays.items()) or "nothing"
            raise _fail(path, f"holds {names}; name the embeddings z1 (and z2), or save just one (N, D) array")
    z = [np.asarray(a, dtype=np.float32) for a in z]
    if len(z) == 1 and z[0].ndim == 3:  # (2, N, D) or (N, 2, D)
        a = z[0]
        if a.shape[0] == 2:
            z = [a[0], a[1]]
        elif a.shape[1] == 2:
            z = [a[:, 0], a[:, 1]]
        else:
            raise _fail(path, f"holds an array of shape {a.shape}; two views are (2, N, D) or (N, 2, D)")
    for i, a in enumerate(z, 1):
        if a.ndim != 2 or len(a) < 2 or a.shape[1] < 1:
            raise _fail(path, f"view {i} has shape {a.shape}; expected (N, D) with N >= 2")
        bad = int((~np.isfinite(a)).any(1).sum())
        if bad:
            raise _fail(path, f"view {i}: {bad} of {len(a)} rows hold NaN or Inf")
    if len(z) == 2 and z[0].shape != z[1].shape:
        raise _fail(path, f"its two views differ in shape: {z[0].shape} and {z[1].shape}")
    out = Embeddings(z[0], z[1] if len(z) == 2 else None, source=str(path))
    feats = _pick(arrays, FEATURE_KEYS)
    if feats is not None:
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or len(feats) != len(out.z1):
            raise _fail(path, f"features have shape {feats.shape}; expected ({len(out.z1)}, F)")
        out.features = feats
    raw = _pick(arrays, LABEL_KEYS)
    if labels is not None:
        path = Path(labels)
        raw = _label_file(path, len(out.z1))
    if raw is not None:
        out.labels, out.class_names = _labels(path, raw, len(out.z1))
    return out
