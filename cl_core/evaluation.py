"""What a training run is measured on and how: its probe set, snapshots, kNN and linear probes, and the verdict.

``setup`` loads the data set, puts it on the device and fixes the probe set (test images and two augmented views of
some of them); ``snapshot``, ``knn`` and ``summary_scores`` measure a method on it for the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cl_core import metrics
from cl_core.augment import Augmenter, to_float
from cl_core.config import Config
from cl_core.data import ImageData, load_data, nchw, view_source
from cl_core.methods import Method


@dataclass
class Setup:
    data: ImageData
    device: torch.device
    train_images: Tensor  # (N, 3, H, W) uint8 on the device, or in host memory when streamed
    view_images: Tensor  # what the training views are cut from: train_images, or them shrunk to data.view_size
    probe_images: Tensor  # (P, 3, H, W) uint8
    probe_labels: np.ndarray
    probe_index: np.ndarray
    probe_views: tuple[Tensor, Tensor]  # fixed augmented views of the probe batch, (M, 3, S, S) each
    augmenter: Augmenter
    size: int


def setup(cfg: Config, device: torch.device) -> Setup:
    """The data set of ``cfg`` on ``device`` (train images streamed when they would take over a quarter of the
    free GPU memory), the seeded probe set and its fixed views."""
    d = cfg.data
    data = load_data(d.name, root=d.root, image_size=d.image_size, max_train=d.max_train, seed=cfg.train.seed)
    host = lambda a: nchw(a).contiguous()  # noqa: E731
    to_dev = lambda a: host(a).to(device)  # noqa: E731
    rng = np.random.default_rng(cfg.train.seed + 1)
    n_probe = min(d.probe_size, len(data.test_images))
    probe_index = np.sort(rng.choice(len(data.test_images), n_probe, replace=False))
    labels = data.test_labels if data.test_labels is not None else np.zeros(len(data.test_images), np.int64)
    size = data.train_images.shape[1]
    view = d.view_size or size
    # Views smaller than the images are cut from the images shrunk (antialiased) to the view size: a crop straight
    # from the full image aliases, and learned less (benchmarks/README.md, "Learning more per second").
    shrunk = view < size  # else the views are cut from train_images itself, which is not copied twice
    train_images = host(data.train_images)
    view_images = host(view_source(data.train_images, view)) if shrunk else train_images
    free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else float("inf")
    nbytes = train_images.nbytes + (view_images.nbytes if shrunk else 0)
    if not (cfg.train.stream_data or nbytes > 0.25 * free):  # else streamed: see cl_core.batches
        train_images = train_images.to(device)
        view_images = view_images.to(device) if shrunk else train_images
    augmenter = Augmenter(cfg.augment, view)
    probe_images = to_dev(data.test_images[probe_index])
    gen = torch.Generator(device=device).manual_seed(cfg.train.seed + 2)
    m = min(cfg.train.probe_pairs, n_probe)
    probe_views = augmenter.two_views(to_dev(view_source(data.test_images[probe_index[:m]], view)), gen)
    return Setup(
        data,
        device,
        train_images,
        view_images,
        probe_images,
        labels[probe_index],
        probe_index,
        probe_views,
        augmenter,
        size,
    )


@torch.no_grad()
def embed(method: Method, images: Tensor, size: int, batch: int = 512) -> tuple[Tensor, Tensor]:
    """Backbone features (N, F) and projections (N, D) of un-augmented uint8 images, in eval mode."""
    feats, projs = [], []
    device = next(method.parameters()).device
    for i in range(0, len(images), batch):
        x = to_float(images[i : i + batch].to(device, non_blocking=True), size)
        f = method.embed(x)
        feats.append(f.float())
        projs.append(method.head(f).float())
    return torch.cat(feats), torch.cat(projs)


def _train_subset(s: Setup, max_train: int, seed: int) -> np.ndarray:
    """The seeded training images both probes use as their memory / training set."""
    return np.random.default_rng(seed).permutation(len(s.train_images))[:max_train]


def _memory(method: Method, s: Setup, max_train: int, seed: int) -> tuple[Tensor, Tensor]:
    """Backbone features (on the device) and labels (CPU) of the seeded training subset."""
    idx = _train_subset(s, max_train, seed)
    bank, _ = embed(method, s.train_images[torch.from_numpy(idx).to(s.train_images.device)], s.size)
    return bank, torch.from_numpy(s.data.train_labels[idx])


def knn(
    method: Method, s: Setup, max_train: int, queries: Tensor, query_labels: np.ndarray, seed: int
) -> tuple[float | None, int]:
    """kNN top-1 of ``queries`` against up to ``max_train`` training images (None without labels)."""
    if s.data.train_labels is None or query_labels is None:
        return None, 0
    bank, bank_labels = _memory(method, s, max_train, seed)
    q, _ = embed(method, queries, s.size)
    query_labels = torch.from_numpy(np.asarray(query_labels)).to(q.device)
    return metrics.knn_top1(bank, bank_labels.to(bank.device), q, query_labels), len(bank)


def snapshot(method: Method, cfg: Config, s: Setup, step: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Probe-set embeddings, the probe batch's similarity matrix and the cheap diagnostics at ``step``."""
    was_training = method.training
    method.eval()
    with torch.no_grad():
        feats, projs = embed(method, s.probe_images, s.size)
        z1, z2 = (method.head(method.embed(v)).float() for v in s.probe_views)
    method.train(was_training)
    zn = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    diag = metrics.cheap_diagnostics(z1, z2, cfg.method.temperature)
    diag["effective_rank_features"] = metrics.effective_rank(feats)
    arrays = {
        "step": np.array(step),
        "features": feats.cpu().numpy(),
        "projections": projs.cpu().numpy(),
        "labels": s.probe_labels,
        "probe_index": s.probe_index,
        "z1": z1.cpu().numpy(),
        "z2": z2.cpu().numpy(),
        "similarity": (zn @ zn.T).cpu().numpy(),
        "singular_values_features": metrics.singular_values(feats).cpu().numpy(),
        "singular_values_projections": metrics.singular_values(projs).cpu().numpy(),
    }
    return arrays, diag


def verdict(method: Method, cfg: Config, diag: dict[str, float], recent_loss: float | None) -> metrics.Verdict:
    """The collapse / temperature verdict of a snapshot's diagnostics."""
    return metrics.diagnose(
        diag,
        dim=cfg.method.proj_dim if method.has_projector else method.backbone.out_dim,
        loss=recent_loss,
        chance=method.chance_level(cfg.train.batch_size),
        temperature=cfg.method.temperature,
        uses_temperature=method.USES_TEMPERATURE,
    )


def summary_scores(method: Method, cfg: Config, s: Setup, step: int, failed: bool) -> dict[str, Any]:
    """The summary's kNN top-1 with its protocol, and the linear probe's test accuracy, on the whole test set.

    Both read the backbone features of the same seeded ``train.knn_max_train`` training images (embedded once):
    kNN as its memory, the probe as its training set. A diverged run (``failed``) gets no scores: its weights
    may be NaN, and the probes would crash on its features; without labels there are none either.
    """
    t = cfg.train
    scores: dict[str, Any] = {"knn_top1": None}
    n_mem = 0
    if not failed and s.data.train_labels is not None and s.data.test_labels is not None:
        test_images = nchw(s.data.test_images).to(s.device)
        bank, bank_labels = _memory(method, s, t.knn_max_train, t.seed)
        queries, _ = embed(method, test_images, s.size)
        query_labels = torch.from_numpy(s.data.test_labels)
        scores["knn_top1"] = metrics.knn_top1(bank, bank_labels.to(bank.device), queries, query_labels.to(s.device))
        scores["linear_probe"] = metrics.linear_probe(bank, bank_labels, queries, query_labels)
        n_mem = len(bank)
    protocol = f"weighted kNN, k=20, T=0.1, memory {n_mem} train images, "
    scores["knn_protocol"] = protocol + f"queries {len(s.data.test_images)} test images, step {step}"
    return scores
