"""Tests for cl_core.augment: shapes and ranges for any config, determinism, per-image independence, each op's
invariant, and oracle comparisons with torchvision's per-image functions."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core.augment import (
    AUG_PRESETS,
    Augmenter,
    AugPreset,
    apply_preset,
    colour_jitter,
    crop_flip,
    gaussian_blur,
    to_float,
)
from cl_core.config import AugmentConfig

FAST = settings(max_examples=20, deadline=None)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(b: int = 8, h: int = 16, w: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (b, 3, h, w), dtype=torch.uint8, generator=gen(seed))


def smooth(h: int = 32, w: int = 32) -> torch.Tensor:
    """(1, 3, H, W) smooth colour image: low-frequency sinusoids in [0.1, 0.9]."""
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    rgb = [torch.sin(3 * x + 1), torch.cos(2 * y + 2 * x), torch.sin(4 * y - x)]
    return (0.5 + 0.4 * torch.stack(rgb)).unsqueeze(0)


def only(**kw) -> AugmentConfig:
    """A config with every random op off (full-image crop, no flip), then ``kw``."""
    off = dict(crop_scale_min=1.0, crop_ratio_min=1.0, crop_ratio_max=1.0, flip_p=0.0, jitter_p=0.0, grey_p=0.0)
    return AugmentConfig(**{**off, **kw})


@st.composite
def configs(draw) -> AugmentConfig:
    p = st.floats(0.0, 1.0)
    smin = draw(st.floats(0.01, 1.0))
    rmin = draw(st.floats(0.1, 5.0))
    sig = draw(st.floats(0.05, 5.0))
    cfg = AugmentConfig(
        crop_scale_min=smin,
        crop_scale_max=draw(st.floats(smin, 1.0)),
        crop_ratio_min=rmin,
        crop_ratio_max=draw(st.floats(rmin, 10.0)),
        flip_p=draw(p),
        jitter_p=draw(p),
        jitter_strength=draw(st.floats(0.0, 4.0)),
        brightness=draw(p),
        contrast=draw(p),
        saturation=draw(p),
        hue=draw(st.floats(0.0, 0.5)),
        grey_p=draw(p),
        blur_p=draw(p),
        blur_sigma_min=sig,
        blur_sigma_max=draw(st.floats(sig, 10.0)),
        solarize_p=draw(p),
        solarize_threshold=draw(p),
    )
    cfg.validate()
    return cfg


@FAST
@given(
    cfg=configs(),
    b=st.integers(1, 4),
    h=st.integers(8, 40),
    w=st.integers(8, 40),
    out=st.integers(8, 40),
    as_uint8=st.booleans(),
)
def test_any_valid_config_gives_float_views_of_out_size_in_unit_range(cfg, b, h, w, out, as_uint8):
    x = images(b, h, w)
    y = Augmenter(cfg, out)(x if as_uint8 else x.float() / 255, gen())
    assert y.shape == (b, 3, out, out) and y.dtype == torch.float32
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_same_seed_gives_same_views_and_another_seed_differs():
    aug, x = Augmenter(AugmentConfig(blur_p=0.5, solarize_p=0.5), 16), images().float() / 255
    before = x.clone()
    assert torch.equal(aug(x, gen(1)), aug(x, gen(1)))
    assert torch.equal(x, before)  # the input is never modified
    assert not torch.allclose(aug(x, gen(1)), aug(x, gen(2)))


def test_identical_images_get_different_views():
    x = images(1, 24, 24).expand(16, -1, -1, -1)
    y = Augmenter(AugmentConfig(), 24)(x, gen()).flatten(1)
    dist = torch.cdist(y, y) + torch.eye(16) * 1e3
    assert dist.min() > 1e-3  # seeds 0-4, threads 1 and 2: min distance 4.4-6.5


@FAST
@given(b=st.integers(1, 4), size=st.integers(8, 40), seed=st.integers(0, 2**31))
def test_none_preset_is_the_identity(b, size, seed):
    x = images(b, size, size, seed).float() / 255
    y = Augmenter(apply_preset(AugmentConfig(), "none"), size)(x, gen(seed))
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_two_views_differ():
    v1, v2 = Augmenter(AugmentConfig(), 16).two_views(images(), gen())
    assert v1.shape == v2.shape == (8, 3, 16, 16)
    assert (v1 - v2).flatten(1).abs().amax(1).min() > 1e-3  # seeds 0-4, threads 1 and 2: 0.30-0.61


def test_greyscale_with_p1_makes_channels_equal():
    y = Augmenter(AugmentConfig(grey_p=1.0), 16)(images(), gen())
    torch.testing.assert_close(y[:, 0], y[:, 1])
    torch.testing.assert_close(y[:, 1], y[:, 2])


def test_solarize_with_p1_and_threshold_0_inverts():
    x = images().float() / 255
    y = Augmenter(only(solarize_p=1.0, solarize_threshold=0.0), 16)(x, gen())
    torch.testing.assert_close(y, 1 - x, atol=1e-5, rtol=0)


def test_flip_only_is_an_exact_horizontal_mirror():
    x = images(4, 16, 16).float() / 255
    y = Augmenter(only(flip_p=1.0), 16)(x, gen())
    torch.testing.assert_close(y, x.flip(-1), atol=1e-5, rtol=0)


def test_brightness_only_scales_each_image_by_a_factor_in_range():
    x = 0.1 + 0.5 * torch.rand(64, 3, 8, 8, generator=gen())  # <= 0.6 * 1.4: never clipped
    aug = Augmenter(only(jitter_p=1.0, brightness=0.4, contrast=0.0, saturation=0.0, hue=0.0), 8)
    y, p = aug(x, gen(3)), aug.params(64, 8, 8, gen(3))
    ratio = (y / x).flatten(1)
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))
    torch.testing.assert_close(ratio[:, 0], p.factors[:, 0])
    assert ratio.min() >= 0.6 - 1e-5 and ratio.max() <= 1.4 + 1e-5
    # a factor per image, not one per batch: std 0.208-0.238 over seeds 3-7, threads 1 and 2 (one per batch: 0)
    assert ratio[:, 0].std() > 0.1


def test_jitter_strength_multiplies_the_ranges():
    aug = Augmenter(AugmentConfig(jitter_strength=0.5, brightness=0.8, hue=0.4), 8)
    f = aug.params(512, 8, 8, gen()).factors
    # the largest of 512 draws, over seeds 0-4, threads 1 and 2: brightness 1.399-1.400, |hue| 0.1996-0.2000;
    # 1.35 and 0.19 leave >0.049 and >0.0096
    assert f[:, 0].min() >= 0.6 and f[:, 0].max() <= 1.4 and f[:, 0].max() > 1.35
    assert f[:, 3].abs().max() <= 0.2 and f[:, 3].abs().max() > 0.19


def test_colour_jitter_matches_torchvision_applied_per_image_in_its_order():
    x = torch.rand(12, 3, 10, 10, generator=gen())
    factors = torch.rand(12, 4, generator=gen(1)) * torch.tensor([1.2, 1.2, 1.8, 1.0]) + torch.tensor(
        [0.4, 0.4, 0.0, -0.5]
    )
    order = torch.rand(12, 4, generator=gen(2)).argsort(1)
    on = torch.arange(12) % 4 != 0
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    ref = x.clone()
    for i in range(12):
        for k in order[i].tolist() if on[i] else []:
            ref[i] = ops[k](ref[i], factors[i, k].item())
    torch.testing.assert_close(colour_jitter(x, factors, order, on), ref, atol=1e-5, rtol=0)


def test_hue_shift_keeps_grey_images_unchanged():
    x = torch.rand(8, 1, 12, 12, generator=gen()).expand(-1, 3, -1, -1)
    y = Augmenter(only(jitter_p=1.0, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.5), 12)(x, gen())
    torch.testing.assert_close(y, x, atol=1e-5, rtol=0)


def test_blur_reduces_total_variation_and_p0_images_stay_sharp():
    def tv(t: torch.Tensor) -> torch.Tensor:
        return (t.diff(dim=-1).abs().sum((1, 2, 3)) + t.diff(dim=-2).abs().sum((1, 2, 3))) / t[0].numel()

    x = torch.rand(16, 3, 20, 20, generator=gen())
    aug = Augmenter(only(blur_p=0.5, blur_sigma_min=0.5, blur_sigma_max=2.0), 20)
    y, blurred = aug(x, gen(5)), aug.params(16, 20, 20, gen(5)).blur
    # over seeds (s, s + 5) for s = 0-4, threads 1 and 2: 5-11 of 16 blurred, their total variation at most
    # 0.33-0.53 of the original; 0.8 leaves >0.27
    assert 0 < blurred.sum() < 16
    assert (tv(y[blurred]) < 0.8 * tv(x[blurred])).all()
    torch.testing.assert_close(y[~blurred], x[~blurred], atol=1e-5, rtol=0)


@pytest.mark.parametrize("side", [8, 32, 50])  # kernels of 3, 3 and 5 taps
@pytest.mark.parametrize("value", [0.0, 1.0, 0.37])
def test_blur_of_a_flat_image_is_the_same_flat_image_within_unit_range(side, value):
    sigma = torch.linspace(0.1, 10.0, 100)
    x = torch.full((100, 3, side, side), value)
    y = gaussian_blur(x, sigma, torch.ones(100, dtype=torch.bool))
    # unclamped, 4 of these 100 all-white images came out at up to 1 + 2.4e-7 (threads 1 and 2, every side here)
    assert y.min() >= 0 and y.max() <= 1
    torch.testing.assert_close(y, x, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("i", "j", "h", "w", "out"), [(0, 0, 32, 32, 32), (4, 6, 16, 20, 32), (10, 0, 22, 12, 24)])
def test_crop_matches_torchvision_resized_crop_of_the_same_box(i, j, h, w, out):
    x = smooth(32, 32)
    box = torch.tensor([[j / 32, i / 32, w / 32, h / 32]])
    ours = crop_flip(x, box, torch.tensor([False]), out)
    ref = TF.resized_crop(x, i, j, h, w, [out, out], antialias=True)
    assert (ours - ref).abs().mean() < 0.01 and (ours - ref).abs().max() < 0.05


def test_crop_falls_back_to_the_centred_crop_when_no_try_fits():
    x = images(2, 16, 32).float() / 255  # ratio 2 > crop_ratio_max 1: no box of area 1 fits
    y = Augmenter(only(), 16)(x, gen())
    torch.testing.assert_close(y, x[..., 8:24], atol=1e-5, rtol=0)


def test_presets_validate_name_every_field_and_apply_preset_returns_a_new_config():
    fields = {f.name for f in dataclasses.fields(AugmentConfig)}
    for name, preset in AUG_PRESETS.items():
        assert isinstance(preset, AugPreset) and preset.name == name and preset.source
        assert set(preset.settings) == fields
        cfg = AugmentConfig(hue=0.3)
        new = apply_preset(cfg, name)
        new.validate()
        assert new is not cfg and cfg.hue == 0.3
        assert all(getattr(new, k) == v for k, v in preset.settings.items())
    simclr = apply_preset(AugmentConfig(), "simclr")
    assert (simclr.jitter_strength * simclr.brightness, simclr.jitter_strength * simclr.hue) == (0.4, 0.1)
    with pytest.raises(KeyError):
        apply_preset(AugmentConfig(), "nope")


def test_to_float_scales_to_unit_range_and_resizes_only_when_asked():
    x = images(2, 12, 12)
    torch.testing.assert_close(to_float(x), x.float() / 255)
    assert torch.equal(to_float(x, 12), to_float(x))
    y = to_float(x, 20)
    assert y.shape == (2, 3, 20, 20) and y.min() >= 0 and y.max() <= 1


def test_rejects_non_rgb_input_and_a_generator_on_another_device():
    with pytest.raises(ValueError, match="RGB"):
        Augmenter(AugmentConfig(), 8)(torch.zeros(2, 1, 8, 8), gen())
    with pytest.raises(ValueError, match="Generator"):
        Augmenter(AugmentConfig(), 8)(torch.zeros(2, 3, 8, 8, device="meta"), gen())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_views_stay_on_the_device_and_are_seeded():
    x = images().cuda()
    aug = Augmenter(AugmentConfig(blur_p=0.5, solarize_p=0.5), 16)
    y = aug(x, torch.Generator(device="cuda").manual_seed(0))
    assert y.device == x.device and y.min() >= 0 and y.max() <= 1
    assert torch.equal(y, aug(x, torch.Generator(device="cuda").manual_seed(0)))
