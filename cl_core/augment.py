"""Batched SimCLR-style augmentations: a whole batch at once, every image with its own random parameters.

Crop and flip are one ``affine_grid`` + ``grid_sample`` that writes ``out_size`` directly; colour jitter is a
per-image blend step for brightness, contrast and saturation plus an exact HSV hue shift, in a random order per
image; greyscale, blur and solarize are masked tensor ops. All randomness comes from the caller's
``torch.Generator``, created on the images' device (``torch.Generator(device=images.device)``): the same seed gives
the same views, on CPU or GPU. Semantics follow torchvision's ``RandomResizedCrop``, ``ColorJitter``,
``RandomGrayscale`` and ``GaussianBlur``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_core.config import AugmentConfig

GREY_WEIGHTS = (0.2989, 0.587, 0.114)  # ITU-R 601 luma, as torchvision's rgb_to_grayscale


@dataclass
class AugParams:
    """The random parameters of one call, one row per image (B images)."""

    box: Tensor  # (B, 4) crop x0, y0, w, h as fractions of the input width / height
    flip: Tensor  # (B,) bool
    jitter: Tensor  # (B,) bool: colour jitter applied
    factors: Tensor  # (B, 4) brightness, contrast, saturation factors and hue shift (turns)
    order: Tensor  # (B, 4) per-image order of the jitter ops (0 brightness, 1 contrast, 2 saturation, 3 hue)
    grey: Tensor  # (B,) bool
    blur: Tensor  # (B,) bool
    sigma: Tensor  # (B,) blur sigma in output pixels
    solarize: Tensor  # (B,) bool


class Augmenter:
    """Batched SimCLR-style augmentation: every image gets its own random parameters."""

    def __init__(self, cfg: AugmentConfig, out_size: int):
        cfg.validate()
        if out_size < 2:
            raise ValueError(f"out_size must be >= 2, got {out_size}")
        self.cfg, self.out_size = cfg, out_size

    def __call__(self, images: Tensor, generator: torch.Generator) -> Tensor:
        """images: (B, C, H, W) uint8 (0..255) or float in [0,1], any device -> (B, C, out_size, out_size) float32
        in [0,1] on the same device. ``generator`` must live on the images' device."""
        if generator.device.type != images.device.type:
            raise ValueError(
                f"generator on {generator.device}, images on {images.device}: create it with "
                "torch.Generator(device=images.device)"
            )
        B, C, H, W = images.shape
        return self.apply(images, self.params(B, H, W, generator))

    def two_views(self, images: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Two independently augmented views of (B, C, H, W) images, each (B, C, out_size, out_size)."""
        v1, v2 = self(torch.cat([images, images]), generator).chunk(2)
        return v1, v2

    def params(self, batch: int, height: int, width: int, generator: torch.Generator) -> AugParams:
        """Draw every image's parameters for inputs of size (height, width); the draws do not depend on the cfg's
        probabilities being zero, so one seed gives one stream of parameters."""
        c, n = self.cfg, batch

        def u(*shape: int, lo: float = 0.0, hi: float = 1.0) -> Tensor:
            return lo + (hi - lo) * torch.rand(*shape, generator=generator, device=generator.device)

        # RandomResizedCrop: 10 tries of (area fraction, log-uniform w/h ratio); the first that fits wins, as in
        # torchvision, but in continuous coordinates (no rounding to whole pixels).
        area = u(n, 10, lo=c.crop_scale_min, hi=c.crop_scale_max)
        ratio = torch.exp(u(n, 10, lo=math.log(c.crop_ratio_min), hi=math.log(c.crop_ratio_max)))
        w, h = torch.sqrt(area * ratio * height / width), torch.sqrt(area / ratio * width / height)
        fits = (w <= 1 + 1e-6) & (h <= 1 + 1e-6)
        first = fits.int().argmax(1, keepdim=True)
        w, h = w.gather(1, first).squeeze(1).clamp(max=1), h.gather(1, first).squeeze(1).clamp(max=1)
        # torchvision's fallback when no try fits: the largest centred crop with the ratio clamped to range
        in_ratio = width / height
        fw, fh = (1.0, in_ratio / c.crop_ratio_min) if in_ratio < c.crop_ratio_min else (1.0, 1.0)
        if in_ratio > c.crop_ratio_max:
            fw, fh = c.crop_ratio_max / in_ratio, 1.0
        missed = ~fits.any(1)
        w, h = torch.where(missed, fw, w), torch.where(missed, fh, h)
        pos = torch.where(missed[:, None], 0.5, u(n, 2))
        box = torch.stack([pos[:, 0] * (1 - w), pos[:, 1] * (1 - h), w, h], 1)

        s = c.jitter_strength
        b, ct, sat, hue = s * c.brightness, s * c.contrast, s * c.saturation, min(0.5, s * c.hue)
        lo = torch.tensor([max(0.0, 1 - b), max(0.0, 1 - ct), max(0.0, 1 - sat), -hue], device=generator.device)
        hi = torch.tensor([1 + b, 1 + ct, 1 + sat, hue], device=generator.device)
        factors = lo + (hi - lo) * u(n, 4)
        coins = u(n, 5)
        return AugParams(
            box=box,
            flip=coins[:, 0] < c.flip_p,
            jitter=coins[:, 1] < c.jitter_p,
            factors=factors,
            order=u(n, 4).argsort(1),
            grey=coins[:, 2] < c.grey_p,
            blur=coins[:, 3] < c.blur_p,
            sigma=u(n, lo=c.blur_sigma_min, hi=c.blur_sigma_max),
            solarize=coins[:, 4] < c.solarize_p,
        )

    @torch.no_grad()
    def apply(self, images: Tensor, p: AugParams) -> Tensor:
        """Augment (B, 3, H, W) images with the given parameters -> (B, 3, out_size, out_size) float32 in [0,1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) RGB images, got shape {tuple(images.shape)}")
        x = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
        x = crop_flip(x, p.box, p.flip, self.out_size)
        c = self.cfg
        if c.jitter_p > 0:
            x = colour_jitter(x, p.factors, p.order, p.jitter)
        if c.grey_p > 0:
            x = torch.where(p.grey[:, None, None, None], greyscale(x).expand_as(x), x)
        if c.blur_p > 0:
            x = gaussian_blur(x, p.sigma, p.blur)
        if c.solarize_p > 0:
            x = torch.where(p.solarize[:, None, None, None] & (x >= c.solarize_threshold), 1 - x, x)
        return x


def crop_flip(x: Tensor, box: Tensor, flip: Tensor, out_size: int) -> Tensor:
    """Resized crop of each image's box (B, 4: x0, y0, w, h fractions), mirrored where flip (B,) is set.

    One bilinear grid_sample (align_corners=False, border padding) from (B, C, H, W) to (B, C, out, out).
    No antialiasing: crops that shrink much below their size alias (SimCLR's crops mostly enlarge).
    """
    x0, y0, w, h = box.unbind(1)
    zero = torch.zeros_like(w)
    theta = torch.stack(  # (B, 2, 3): output [-1, 1] -> the box in input coordinates
        [torch.stack([torch.where(flip, -w, w), zero, 2 * x0 + w - 1], 1), torch.stack([zero, h, 2 * y0 + h - 1], 1)],
        1,
    )
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], out_size, out_size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def greyscale(x: Tensor) -> Tensor:
    """ITU-R 601 luma of (B, 3, H, W) RGB -> (B, 1, H, W)."""
    r, g, b = x.unbind(1)
    return (GREY_WEIGHTS[0] * r + GREY_WEIGHTS[1] * g + GREY_WEIGHTS[2] * b).unsqueeze(1)


def colour_jitter(x: Tensor, factors: Tensor, order: Tensor, on: Tensor) -> Tensor:
    """torchvision's ColorJitter per image, the four ops in each image's own order, clamped to [0,1] after each.

    Brightness, contrast and saturation are blends ``a*x + b*grey(x) + c``: each step is one per-image 3x3 matrix
    and offset, applied to the whole batch with one baddbmm. Hue is an exact RGB->HSV->RGB shift (not a YIQ
    rotation, which differs visibly on saturated colours) on the images whose step it is.
    x: (B, 3, H, W); factors: (B, 4) as AugParams.factors; order: (B, 4) permutations of 0..3; on: (B,) bool.
    """
    B = x.shape[0]
    eye, luma = torch.eye(3, dtype=x.dtype, device=x.device), x.new_tensor(GREY_WEIGHTS)
    for k in range(4):
        op = torch.where(on, order[:, k], 3)  # (B,) this step's op; images with jitter off take "hue" ...
        f = factors.gather(1, op[:, None]).squeeze(1)
        hue = (op == 3) & on & (f != 0)  # ... and skip it
        a = torch.where(op < 3, f, 1.0)[:, None, None]
        b = torch.where(op == 2, 1 - f, 0.0)[:, None, None]
        c = torch.where(op == 1, (1 - f) * (x.mean((2, 3)) @ luma), 0.0)  # contrast: towards the mean grey
        m = a * eye + b * luma.expand(3, 3)  # (B, 3, 3); every row of luma.expand(3, 3) is the grey weights
        x = torch.baddbmm(c[:, None, None].expand(B, 3, 1), m, x.flatten(2)).view_as(x).clamp_(0, 1)
        idx = hue.nonzero().squeeze(1)
        if idx.numel():
            x.index_copy_(0, idx, adjust_hue(x.index_select(0, idx), f[idx]))
    return x


def adjust_hue(x: Tensor, shift: Tensor) -> Tensor:
    """Rotate the HSV hue of (B, 3, H, W) RGB in [0,1] by shift (B,) turns; matches torchvision's adjust_hue.

    With h the hue in sixths of a turn, each channel is min + (max - min) * clamp(t, 0, 1) where
    t = |h - 3| - 1 (R), 2 - |h - 2| (G), 2 - |h - 4| (B).
    """
    r, g, b = x[:, :1], x[:, 1:2], x[:, 2:]
    mx, mn = x.amax(1, keepdim=True), x.amin(1, keepdim=True)
    d = mx - mn  # (B, 1, H, W) chroma
    h = torch.where(mx == r, g - b, torch.where(mx == g, b - r + 2 * d, r - g + 4 * d))
    h = h / d.clamp_min(1e-12) + 6 * shift[:, None, None, None]
    h = h - 6 * torch.floor(h * (1 / 6))  # in [0, 6)
    centre, sign, offset = (x.new_tensor(v).view(1, 3, 1, 1) for v in ((3, 2, 4), (1, -1, -1), (-1, 2, 2)))
    return torch.addcmul(mn, d, torch.addcmul(offset, sign, (h - centre).abs_()).clamp_(0, 1))


def gaussian_blur(x: Tensor, sigma: Tensor, on: Tensor) -> Tensor:
    """Separable Gaussian blur with a per-image sigma (B,) where on (B,) is set; kernel ~10% of the side (odd, >= 3)
    as in SimCLR, reflect padding as torchvision. One depthwise conv2d per axis over all B*C channels."""
    B, C, H, W = x.shape
    k = max(3, int(0.1 * min(H, W)) // 2 * 2 + 1)
    r = torch.arange(k, device=x.device, dtype=x.dtype) - k // 2
    ker = torch.exp(-(r**2) / (2 * sigma[:, None] ** 2))
    ker = torch.where(on[:, None], ker / ker.sum(1, keepdim=True), (r == 0).to(x.dtype))  # off: identity kernel
    ker = ker.repeat_interleave(C, 0)  # (B*C, k)
    y = F.pad(x.reshape(1, B * C, H, W), (k // 2,) * 4, mode="reflect")
    y = F.conv2d(y, ker[:, None, None, :], groups=B * C)
    y = F.conv2d(y, ker[:, None, :, None], groups=B * C)
    # a weighted mean of values in [0, 1] is in [0, 1], but its float rounding is not: an all-white image came out
    # at 1 + 2.4e-7 (found by tests/test_augment.py's hypothesis test); clamping removes only that rounding
    return y.view(B, C, H, W).clamp_(0, 1)


def to_float(images: Tensor, out_size: int | None = None) -> Tensor:
    """Evaluation transform: uint8 (B, C, H, W) -> float [0,1], resized to out_size (bilinear, antialias) if given
    and different."""
    x = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
    if out_size is not None and tuple(x.shape[-2:]) != (out_size, out_size):
        x = F.interpolate(x, size=(out_size, out_size), mode="bilinear", align_corners=False, antialias=True)
        x = x.clamp(0, 1)
    return x


@dataclass(frozen=True)
class AugPreset:
    name: str
    title: str
    source: str
    settings: dict[str, float]  # AugmentConfig field -> value; every field is named


# fmt: off
def _preset(name: str, title: str, source: str, **changes: float) -> AugPreset:
    """The base recipe (crop 0.08-1, ratio 3/4-4/3, flip 0.5, jitter (0.4, 0.4, 0.4, 0.1) p=0.8, grey 0.2, no blur,
    no solarize) with ``changes``; every AugmentConfig field is set, so a preset never depends on the defaults."""
    base = dict(crop_scale_min=0.08, crop_scale_max=1.0, crop_ratio_min=3 / 4, crop_ratio_max=4 / 3, flip_p=0.5,
                jitter_p=0.8, jitter_strength=1.0, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, grey_p=0.2,
                blur_p=0.0, blur_sigma_min=0.1, blur_sigma_max=2.0, solarize_p=0.0, solarize_threshold=0.5)
    return AugPreset(name, title, source, {**base, **changes})


_SOLO = "following solo-learn's CIFAR config, scripts/pretrain/cifar/"
_SIMCLR = dict(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, jitter_strength=0.5)  # s=0.5: (.4, .4, .4, .1)
AUG_PRESETS: dict[str, AugPreset] = {p.name: p for p in [
    _preset("simclr", "SimCLR", "SimCLR (Chen et al. 2020, arXiv:2002.05709), CIFAR-10 recipe, Appendix B.9 and the "
            "google-research/simclr CIFAR command: colour strength 0.5 on (0.8, 0.8, 0.8, 0.2), no blur", **_SIMCLR),
    _preset("moco_v2", "MoCo v2", "MoCo v2 (Chen et al. 2020, arXiv:2003.04297), the moco repo's --aug-plus recipe "
            "(ImageNet; there is no CIFAR one): crop 0.2-1, blur p=0.5. solo-learn's CIFAR mocov2plus uses crop "
            "0.08-1", crop_scale_min=0.2, blur_p=0.5),
    _preset("byol", "BYOL", f"BYOL (Grill et al. 2020, arXiv:2006.07733) {_SOLO}byol.yaml (asymmetric.yaml): "
            "solarize p=0 / 0.2 on the two views, here p=0.1 on both; no blur at 32x32", saturation=0.2,
            solarize_p=0.1),
    _preset("swav", "SwAV", f"SwAV (Caron et al. 2020, arXiv:2006.09882) {_SOLO}swav.yaml (symmetric.yaml): "
            "two 32x32 crops, no multi-crop", brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, blur_p=0.5),
    _preset("barlow", "Barlow Twins", f"Barlow Twins (Zbontar et al. 2021, arXiv:2103.03230) {_SOLO}barlow.yaml "
            "(asymmetric.yaml): solarize p=0 / 0.2 on the two views, here p=0.1 on both", saturation=0.2,
            solarize_p=0.1),
    _preset("vicreg", "VICReg", f"VICReg (Bardes et al. 2022, arXiv:2105.04906) {_SOLO}vicreg.yaml",
            crop_scale_min=0.2, saturation=0.2, solarize_p=0.1),
    _preset("simsiam", "SimSiam", f"SimSiam (Chen & He 2021, arXiv:2011.10566) {_SOLO}simsiam.yaml "
            "(symmetric_weak.yaml)", blur_p=0.5),
    _preset("crop_only", "Crop + flip only", "Teaching preset: SimCLR's crop and flip, no colour (SimCLR Sec. 3: "
            "crops of one image share a colour histogram, a shortcut)", **_SIMCLR, jitter_p=0.0, grey_p=0.0),
    _preset("no_colour_jitter", "SimCLR without colour", "Teaching preset: the simclr preset with jitter_p=0 and "
            "grey_p=0", **_SIMCLR, jitter_p=0.0, grey_p=0.0),
    _preset("none", "None (identity)", "Teaching preset: the whole image, no flip, no colour: the two views are "
            "equal", crop_scale_min=1.0, flip_p=0.0, jitter_p=0.0, grey_p=0.0),
]}
# fmt: on


def apply_preset(cfg: AugmentConfig, name: str) -> AugmentConfig:
    """A new AugmentConfig with preset ``name``'s settings (fields the preset does not name take their defaults;
    ``cfg`` itself is left unchanged)."""
    if name not in AUG_PRESETS:
        raise KeyError(f"unknown augmentation preset {name!r}; known: {', '.join(AUG_PRESETS)}")
    return dataclasses.replace(type(cfg)(), **AUG_PRESETS[name].settings)
