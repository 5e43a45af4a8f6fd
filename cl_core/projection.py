"""2-D / 3-D projections of embeddings (PCA, UMAP, t-SNE): seeded, cached, aligned across snapshots.

UMAP: McInnes et al. 2018, https://arxiv.org/abs/1802.03426. Its first fit in a process spends ~10 s
compiling with numba: warm_up_umap_in_background() hides that, umap_ready() says when it is done.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_limits

METHODS = ("pca", "umap", "tsne")
CACHE_SIZE = 64
THREADS = max(1, (os.cpu_count() or 2) // 2)  # leave half the cores to a training process
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()
_umap_ready = threading.Event()


def project_2d(
    x: np.ndarray, method: str = "pca", dim: int = 2, seed: int = 0, init: np.ndarray | None = None
) -> np.ndarray:
    """Project rows to `dim` coordinates. x: (N, F) -> (N, dim) float32, read-only (it is shared by the cache).

    init: (N, dim) starting layout for UMAP / t-SNE (ignored by PCA).
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection {method!r}; known: {', '.join(METHODS)}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    init = None if init is None or method == "pca" else np.ascontiguousarray(init, dtype=np.float32)
    key = _key(x, method, dim, seed, init)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    # BLAS / OpenMP threads spin-wait: beside a training process on 2 cores, a PCA of 2000 x 128 took 4 s
    # with 2 threads and 0.15 s with 1, a t-SNE of 30 points 30 s instead of 0.3 s.
    with _few_threads():
        out = {"pca": _pca, "umap": _umap, "tsne": _tsne}[method](x, dim, seed, init).astype(np.float32)
    out.flags.writeable = False
    with _cache_lock:
        _cache[key] = out
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return out


_limits_lock = threading.Lock()
_limits: list = []  # [threadpool_limits] while any projection runs; its users, counted in _limits_users
_limits_users = 0


@contextlib.contextmanager
def _few_threads() -> Iterator[None]:
    """BLAS / OpenMP at THREADS while any projection runs, in any thread.

    The limits are process-wide: with a plain ``threadpool_limits`` per call, a PCA finishing in the app's
    script thread would lift them under a UMAP still running in its background worker.
    """
    global _limits_users
    with _limits_lock:
        if _limits_users == 0:
            _limits.append(threadpool_limits(THREADS))
        _limits_users += 1
    try:
        yield
    finally:
        with _limits_lock:
            _limits_users -= 1
            if _limits_users == 0:
                _limits.pop().restore_original_limits()


def project_snapshots(snaps: list[np.ndarray], method: str = "umap", dim: int = 2, seed: int = 0) -> list[np.ndarray]:
    """Project a sequence of embeddings of the same points so that clusters do not jump between frames.

    UMAP starts each layout from the previous one; PCA flips each component's sign to agree with the
    previous layout (axes stay principal components); t-SNE is rotated / reflected onto it (Procrustes).
    snaps: list of (N, F) -> list of (N, dim) float32.
    """
    out: list[np.ndarray] = []
    for x in snaps:
        prev = out[-1] if out and len(out[-1]) == len(x) else None
        if method == "umap":
            out.append(project_2d(x, method, dim, seed, init=prev))
        else:
            y = project_2d(x, method, dim, seed)
            align = sign_align if method == "pca" else procrustes_align
            out.append(y if prev is None else align(y, prev))
    return out


def sign_align(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Flip the sign of each column of y that points against the same column of ref. y, ref: (N, d)."""
    return y * np.where(((y - y.mean(0)) * (ref - ref.mean(0))).sum(0) < 0, -1, 1).astype(np.float32)


def procrustes_align(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rotate / reflect and shift y to best match ref (least squares, no scaling). y, ref: (N, d) -> (N, d)."""
    mu = y.mean(0)
    u, _, vt = np.linalg.svd((y - mu).T @ (ref - ref.mean(0)))
    return ((y - mu) @ (u @ vt) + ref.mean(0)).astype(np.float32)


def umap_ready() -> bool:
    """True once a UMAP fit has finished in this process (numba's compilation is then done)."""
    return _umap_ready.is_set()


def warm_up_umap_in_background() -> threading.Thread:
    """Start a tiny UMAP fit in a daemon thread so that the user's first projection is fast."""
    thread = threading.Thread(target=_warm_up, name="umap-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up() -> None:
    if not umap_ready():
        _umap(np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32), 2, 0, None)


def _key(x: np.ndarray, method: str, dim: int, seed: int, init: np.ndarray | None) -> str:
    h = hashlib.blake2b(x.tobytes(), digest_size=16)
    h.update(repr((x.shape, method, dim, seed)).encode())
    if init is not None:
        h.update(init.tobytes())
    return h.hexdigest()


def _pca(x: np.ndarray, dim: int, seed: int, init: np.ndarray | None) -> np.ndarray:
    """Top principal components, sign fixed so that each component's largest loading is positive."""
    xc = x.astype(np.float64) - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)  # (min(N, F), F)
    vt = vt[:dim] * np.sign(vt[np.arange(min(dim, len(vt))), np.abs(vt[:dim]).argmax(1)])[:, None]
    y = xc @ vt.T
    return np.pad(y, ((0, 0), (0, dim - y.shape[1])))  # fewer components than asked: zero columns


UMAP_EPOCHS = 200  # umap-learn's own choice for large data; its 500 for N < 10,000 cost 2x the time for 2,000 points


def _umap(x: np.ndarray, dim: int, seed: int, init: np.ndarray | None) -> np.ndarray:
    import umap  # slow import (numba): only when asked

    reducer = umap.UMAP(
        n_components=dim,
        n_neighbors=max(2, min(15, len(x) - 1)),
        min_dist=0.1,
        random_state=seed,
        n_jobs=1,  # random_state forces one job; saying so silences UMAP's warning
        init="spectral" if init is None else init,
        n_epochs=UMAP_EPOCHS,
    )
    out = reducer.fit_transform(x)
    _umap_ready.set()
    return out


def _tsne(x: np.ndarray, dim: int, seed: int, init: np.ndarray | None) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = max(1.0, min(30.0, (len(x) - 1) / 3))
    tsne = TSNE(n_components=dim, perplexity=perplexity, init="pca" if init is None else init, random_state=seed)
    return tsne.fit_transform(x)
