"""Projections: shapes, determinism, alignment across snapshots, the cache; one slow UMAP test."""

import numpy as np
import pytest

from cl_core import projection


@pytest.fixture(autouse=True)
def empty_cache():
    projection._cache.clear()
    yield
    projection._cache.clear()


def blobs(n: int = 90, f: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(3, f)) * 4)[np.arange(n) % 3] + rng.normal(size=(n, f))


def test_pca_shapes_and_dtype():
    x = blobs()
    assert projection.project_2d(x).shape == (90, 2)
    y3 = projection.project_2d(x, dim=3)
    assert y3.shape == (90, 3) and y3.dtype == np.float32


def test_pca_pads_when_fewer_components_than_asked():
    y = projection.project_2d(blobs(f=2), dim=3)
    assert y.shape == (90, 3) and np.all(y[:, 2] == 0)


def test_pca_is_deterministic_and_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA

    x = blobs()
    y = projection.project_2d(x)
    projection._cache.clear()
    assert np.array_equal(projection.project_2d(x), y)
    ref = PCA(2).fit_transform(x)
    for j in range(2):
        assert min(np.abs(y[:, j] - ref[:, j]).max(), np.abs(y[:, j] + ref[:, j]).max()) < 1e-3


def test_cache_hit_returns_the_same_read_only_array():
    x = blobs()
    y = projection.project_2d(x)
    assert projection.project_2d(x.copy()) is y
    assert projection.project_2d(x, dim=3) is not y
    with pytest.raises(ValueError):
        y[0, 0] = 1.0


def test_cache_is_bounded():
    for seed in range(projection.CACHE_SIZE + 5):
        projection.project_2d(blobs(n=10, seed=seed))
    assert len(projection._cache) == projection.CACHE_SIZE


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown projection"):
        projection.project_2d(blobs(), method="mds")


def test_sign_flipped_snapshot_comes_back_aligned():
    x = blobs()
    a, b = projection.project_snapshots([x, -x], method="pca")
    assert np.allclose(a, b, atol=1e-4)
    assert not np.allclose(projection.project_2d(-x), a, atol=1e-2)  # unaligned PCA of -x is flipped


def test_rotated_snapshot_comes_back_aligned():
    x = blobs()
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(12, 12)))
    a, b = projection.project_snapshots([x, x @ q], method="pca")
    assert np.allclose(a, b, atol=1e-3)


def test_tsne_snapshots_are_procrustes_aligned():
    x = blobs(n=30)
    a, b = projection.project_snapshots([x, x], method="tsne")
    assert np.allclose(a, b, atol=1e-4)


def test_procrustes_recovers_a_rotation_and_reflection():
    y = np.random.default_rng(0).normal(size=(50, 2))
    r = np.array([[0.0, 1.0], [1.0, 0.0]]) @ np.array([[0.6, -0.8], [0.8, 0.6]])
    assert np.allclose(projection.procrustes_align(y @ r, y), y, atol=1e-5)


def test_tsne_shape():
    y = projection.project_2d(blobs(n=30), method="tsne")
    assert y.shape == (30, 2) and np.isfinite(y).all()


@pytest.mark.slow
def test_umap_seeded_aligned_and_warmed_up():
    projection.warm_up_umap_in_background().join()
    assert projection.umap_ready()
    x = blobs(n=60)
    a = projection.project_2d(x, method="umap")
    projection._cache.clear()
    assert np.allclose(projection.project_2d(x, method="umap"), a)  # random_state makes it reproducible
    snaps = projection.project_snapshots([x, x + 0.01], method="umap")
    assert [s.shape for s in snaps] == [(60, 2), (60, 2)]


def test_thread_limits_hold_until_the_last_of_concurrent_projections_ends(monkeypatch):
    """The app projects in its script thread (PCA) and a background worker (UMAP) at once; the limits are
    process-wide, so the first to finish must not lift them under the other."""
    import threading

    calls = []

    class Limits:
        def __init__(self, n):
            calls.append(("limit", n))

        def restore_original_limits(self):
            calls.append("restore")

    monkeypatch.setattr(projection, "threadpool_limits", Limits)
    inside, leave = threading.Event(), threading.Event()

    def umap_in_the_worker():
        with projection._few_threads():
            inside.set()
            leave.wait(10)

    worker = threading.Thread(target=umap_in_the_worker)
    worker.start()
    assert inside.wait(10)
    with projection._few_threads():  # a PCA in the script thread, begun and ended while the UMAP runs
        pass
    assert calls == [("limit", projection.THREADS)]
    leave.set()
    worker.join(10)
    assert calls == [("limit", projection.THREADS), "restore"]
