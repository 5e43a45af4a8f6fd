"""Backbones (a small CNN that is quick on CPU, a CIFAR-style ResNet-18) and MLP heads.

Every backbone takes (B, 3, H, W) floats in [0, 1], normalises them itself, and returns (B, F)
features with ``F = backbone.out_dim``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class _Normalise(nn.Module):
    """[0, 1] pixels to roughly zero mean, unit variance (fixed, so any data set works unchanged)."""

    def forward(self, x: Tensor) -> Tensor:
        return (x - 0.5) / 0.25


def _conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Sequential):
    """Four 3x3 conv blocks (w, 2w, 4w, 8w channels), three stride-2 downsamplings, global average pool."""

    def __init__(self, width: int = 32):
        w = width
        super().__init__(
            _Normalise(),
            *_conv_bn(3, w),
            *_conv_bn(w, 2 * w, stride=2),
            *_conv_bn(2 * w, 4 * w, stride=2),
            *_conv_bn(4 * w, 8 * w, stride=2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.out_dim = 8 * w


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_bn(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        )
        self.skip = nn.Identity()
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.skip(x))


class ResNet18(nn.Module):
    """CIFAR-style ResNet-18 (He et al. 2016): 3x3 stem, no max-pool, stages of w, 2w, 4w, 8w channels."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = width
        layers: list[nn.Module] = [_Normalise(), *_conv_bn(3, w)]
        cin = w
        for i, cout in enumerate((w, 2 * w, 4 * w, 8 * w)):
            stride = 1 if i == 0 else 2
            layers += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_dim = 8 * w

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)  # (B, 8w)


BACKBONES: dict[str, Callable[[int], nn.Module]] = {"small_cnn": SmallCNN, "resnet18": ResNet18}


def build_backbone(name: str, width: int) -> nn.Module:
    """A backbone by name; its ``out_dim`` attribute is the feature size."""
    return BACKBONES[name](width)


def mlp(in_dim: int, hidden: int, out_dim: int, layers: int = 2, last_bn: bool = False) -> nn.Sequential:
    """Projection / prediction head: (Linear, BN, ReLU) x (layers-1), then Linear (optionally BN, no affine).

    ``layers=1`` is a single linear map; ``last_bn`` follows SimSiam's and Barlow Twins' projectors.
    """
    mods: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers - 1):
        mods += [nn.Linear(dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)]
        dim = hidden
    mods.append(nn.Linear(dim, out_dim, bias=not last_bn))
    if last_bn:
        mods.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*mods)
