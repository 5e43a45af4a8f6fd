"""Backbones (a small CNN that is quick on CPU, torchvision's ResNet-18 at any width) and MLP heads.

Every backbone takes (B, 3, H, W) floats in [0, 1], normalises them itself, and returns (B, F)
features with ``F = backbone.out_dim``. Library backbones (``torchvision:ARCH``, ``timm:NAME``, and
``resnet18``) live in cl_core.backbones, their state-dict keys the library's.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from cl_core.backbones import library_backbone, torchvision_resnet


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


BACKBONES: dict[str, Callable[[int, bool], nn.Module]] = {
    "small_cnn": lambda width, cifar_stem: SmallCNN(width),
    "resnet18": lambda width, cifar_stem: torchvision_resnet("resnet18", cifar_stem, width, own_normalisation=True),
}


def build_backbone(name: str, width: int, cifar_stem: bool = True) -> nn.Module:
    """A backbone by name (see ``cl_core.backbones.check_backbone``); its ``out_dim`` attribute is the feature size.

    ``width`` sizes small_cnn and resnet18; ``torchvision:ARCH`` and ``timm:NAME`` are the library's own network.
    """
    return library_backbone(name, cifar_stem) if ":" in name else BACKBONES[name](width, cifar_stem)


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
