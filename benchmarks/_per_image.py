"""The reference input pipeline: a per-image torchvision transform through a DataLoader.

This is how lightly and solo-learn feed a model: a ``Dataset`` whose ``__getitem__`` opens one PIL
image and applies a ``transforms.v2.Compose`` twice (two views), collated by a ``DataLoader``.
The recipe mirrors an ``AugmentConfig`` so both pipelines do the same work.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from cl_core.config import AugmentConfig


def per_image_transform(cfg: AugmentConfig, size: int) -> v2.Compose:
    s = cfg.jitter_strength
    steps = [
        v2.RandomResizedCrop(
            size,
            scale=(cfg.crop_scale_min, cfg.crop_scale_max),
            ratio=(cfg.crop_ratio_min, cfg.crop_ratio_max),
            antialias=True,
        ),
        v2.RandomHorizontalFlip(p=cfg.flip_p),
        v2.RandomApply(
            [v2.ColorJitter(s * cfg.brightness, s * cfg.contrast, s * cfg.saturation, min(0.5, s * cfg.hue))],
            p=cfg.jitter_p,
        ),
        v2.RandomGrayscale(p=cfg.grey_p),
    ]
    if cfg.blur_p > 0:
        k = max(3, int(0.1 * size) // 2 * 2 + 1)
        steps.append(v2.RandomApply([v2.GaussianBlur(k, (cfg.blur_sigma_min, cfg.blur_sigma_max))], p=cfg.blur_p))
    if cfg.solarize_p > 0:
        steps.append(v2.RandomSolarize(cfg.solarize_threshold * 255, p=cfg.solarize_p))
    return v2.Compose([*steps, v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True)])


class TwoViews(Dataset):
    """PIL images -> (view1, view2, label), each view (3, size, size) float in [0, 1]."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: v2.Compose):
        self.images = [Image.fromarray(im) for im in images]
        self.labels, self.transform = labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        im = self.images[i]
        return self.transform(im), self.transform(im), int(self.labels[i])


def per_image_loader(
    images: np.ndarray, labels: np.ndarray, cfg: AugmentConfig, size: int, batch: int, workers: int, seed: int = 0
) -> DataLoader:
    return DataLoader(
        TwoViews(images, labels, per_image_transform(cfg, size)),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )
