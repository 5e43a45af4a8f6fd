"""Library backbones by name: torchvision's ResNets (with a CIFAR stem switch) and any timm model.

``torchvision:resnet50`` is ``torchvision.models.resnet50(weights=None)``, ``timm:NAME`` is
``timm.create_model(NAME, pretrained=False, num_classes=0)``; cl_core's own ``resnet18`` is torchvision's
ResNet-18 with its stem and stages scaled to ``width``. Each is wrapped as ``LibraryBackbone.net``, so the
state-dict keys under ``net.`` are exactly the library's (``net.conv1.weight``, ``net.layer1.0.bn1.bias``):
cl_core.checkpoints loads and exports them unchanged. The classifier is an ``nn.Identity``.

The CIFAR stem (``train.cifar_stem``, default on) is the SimCLR recipe for small images: conv1 becomes a
3x3 stride-1 convolution and the max-pool goes, so a 32 px image reaches layer4 at 4x4 instead of 1x1.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor, nn

from cl_core.config import ConfigError

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
OWN_MEAN, OWN_STD = (0.5,) * 3, (0.25,) * 3  # cl_core's own backbones (small_cnn, resnet18): (x - 0.5) / 0.25
RESNETS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
)
LIBRARY_BACKBONES = ("torchvision:resnet18", "torchvision:resnet34", "torchvision:resnet50")  # the Train page's menu


class LibraryBackbone(nn.Module):
    """A library model without its classifier: (B, 3, H, W) in [0, 1] -> normalised -> ``net`` -> (B, F)."""

    def __init__(self, net: nn.Module, out_dim: int, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.net, self.out_dim = net, out_dim
        # not persistent: the state dict holds the library's keys and nothing else
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        self.register_load_state_dict_pre_hook(_rename_legacy_resnet18)

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.mean) / self.std)  # (B, F)


def _kaiming(module: nn.Module) -> None:
    """torchvision's ResNet initialisation for convolutions built after its constructor ran."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def torchvision_resnet(
    arch: str = "resnet18", cifar_stem: bool = True, width: int = 64, own_normalisation: bool = False
) -> LibraryBackbone:
    """torchvision's ``arch`` (random init), optionally with the CIFAR stem and stages of width, 2w, 4w, 8w.

    ``width`` 64 is torchvision's own network; another width keeps every key name and changes the shapes.
    Inputs are normalised with ImageNet's mean and std, or with cl_core's own (x - 0.5) / 0.25 for the built-in
    ``resnet18``, so that its runs saved before it became torchvision's network compute what they computed then.
    """
    import torchvision

    net = getattr(torchvision.models, arch)(weights=None)
    block = type(net.layer1[0])
    if width != 64:
        net.inplanes = width
        net.conv1, net.bn1 = nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width)
        for i in range(4):
            layer = getattr(net, f"layer{i + 1}")
            setattr(net, f"layer{i + 1}", net._make_layer(block, width * 2**i, len(layer), stride=min(i, 1) + 1))
        _kaiming(net)
    if cifar_stem:
        net.conv1, net.maxpool = nn.Conv2d(3, net.bn1.num_features, 3, 1, 1, bias=False), nn.Identity()
        _kaiming(net.conv1)
    net.fc = nn.Identity()
    mean, std = (OWN_MEAN, OWN_STD) if own_normalisation else (IMAGENET_MEAN, IMAGENET_STD)
    return LibraryBackbone(net, 8 * width * block.expansion, mean, std)


def timm_backbone(name: str) -> LibraryBackbone:
    """``timm.create_model(name, pretrained=False, num_classes=0)``, normalised with its own mean and std."""
    import timm

    net = timm.create_model(name, pretrained=False, num_classes=0)
    cfg = getattr(net, "pretrained_cfg", None) or {}
    out_dim = getattr(net, "head_hidden_size", None) or net.num_features  # MobileNetV3's head widens the features
    return LibraryBackbone(net, out_dim, cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD))


def library_backbone(name: str, cifar_stem: bool = True) -> LibraryBackbone:
    """``torchvision:ARCH`` or ``timm:NAME`` (checked by ``check_backbone``); ``cifar_stem`` applies to torchvision."""
    library, _, arch = name.partition(":")
    return torchvision_resnet(arch, cifar_stem) if library == "torchvision" else timm_backbone(arch)


def check_backbone(name: object, builtin: tuple[str, ...]) -> None:
    """Raise ConfigError("train.backbone", ...) unless ``name`` is builtin, ``torchvision:RESNET`` or ``timm:NAME``.

    The messages keep to the one template the app translates: "unknown backbone {b}; known: {known}".
    """
    library, _, arch = name.partition(":") if isinstance(name, str) else ("", "", "")
    known = f"{', '.join(builtin)}, torchvision:RESNET, timm:NAME"
    if name in builtin or (library == "torchvision" and arch in RESNETS):
        return
    if library == "torchvision":
        known = ", ".join(f"torchvision:{a}" for a in RESNETS)
    elif library == "timm":
        try:
            import timm
        except ImportError:
            known += " (`pip install timm`)"
        else:
            if timm.is_model(arch):
                return
            known = "timm.list_models()"
    raise ConfigError("train.backbone", f"unknown backbone {name!r}; known: {known}")


# cl_core's earlier, hand-written ResNet-18 kept its layers in one Sequential: features.1 = conv1,
# features.2 = bn1, features.4-11 = the eight blocks (body.0/1/3/4 = conv1/bn1/conv2/bn2, skip.0/1 = downsample).
_LEGACY = re.compile(r"features\.(\d+)\.(?:(body|skip)\.(\d)\.)?(\w+)")
_LEGACY_BLOCK = {"body0": "conv1", "body1": "bn1", "body3": "conv2", "body4": "bn2", "skip0": "downsample.0"}
_LEGACY_BLOCK["skip1"] = "downsample.1"


def legacy_resnet18_key(key: str) -> str | None:
    """An old ResNet-18 key (``features.4.body.0.weight``) -> torchvision's under ``net.``; None for any other."""
    m = _LEGACY.fullmatch(key)
    if m is None or not (1 <= int(m[1]) <= 11) or int(m[1]) == 3:
        return None
    i = int(m[1])
    if i < 4:
        return f"net.{'conv1' if i == 1 else 'bn1'}.{m[4]}"
    return f"net.layer{(i - 4) // 2 + 1}.{(i - 4) % 2}.{_LEGACY_BLOCK[f'{m[2]}{m[3]}']}.{m[4]}"


def _rename_legacy_resnet18(module: nn.Module, state: dict[str, Tensor], prefix: str, *_: object) -> None:
    """A pre-hook of load_state_dict: runs (model.pt, checkpoint.pt) saved by the old ResNet-18 load unchanged."""
    for key in [k for k in state if k.startswith(prefix + "features.")]:
        new = legacy_resnet18_key(key[len(prefix) :])
        if new is not None:
            state[prefix + new] = state.pop(key)
