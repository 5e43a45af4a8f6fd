import json

import pytest

from cl_core.config import Config, ConfigError
from cl_core.presets import preset_config


def test_default_config_validates_and_round_trips_through_json():
    cfg = preset_config("simclr", "digits").validate()
    again = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("method.temperature", 0, "method.temperature"),
        ("method.temperature", -1, "method.temperature"),
        ("method.margin", -0.1, "method.margin"),
        ("train.batch_size", 1, "train.batch_size"),
        ("method.name", "nope", "method.name"),
        ("data.name", "imagenet42", "data.name"),
        ("train.lr", float("nan"), "train.lr"),
        ("augment.flip_p", 1.5, "augment.flip_p"),
        ("train.backbone", "vgg", "train.backbone"),
        ("data.view_size", 4, "data.view_size"),
        ("data.view_size", 1024, "data.view_size"),
        ("data.view_size", 12.5, "data.view_size"),
        ("data.image_size", 12.5, "data.image_size"),
    ],
)
def test_bad_values_are_refused_naming_the_field(name, value, field):
    cfg = preset_config("simclr")
    section, key = name.split(".")
    setattr(getattr(cfg, section), key, value)
    with pytest.raises(ConfigError) as e:
        cfg.validate()
    assert e.value.field == field
    assert field in str(e.value)


def test_set_parses_strings_like_the_cli_and_reaches_method_options():
    cfg = preset_config("simclr")
    cfg.set("projection_head", "false")
    cfg.set("hue", "0")
    cfg.set("train.lr", "0.01")
    cfg.set("batch_size", "64")
    assert cfg.method.options["projection_head"] is False
    assert cfg.augment.hue == 0.0 and cfg.train.lr == 0.01 and cfg.train.batch_size == 64
    with pytest.raises(ConfigError, match="no_such_knob"):
        cfg.set("no_such_knob", "1")
    with pytest.raises(ConfigError, match="train.batch_size"):
        cfg.set("train.batch_size", "sixty")


def test_self_positive_bug_requires_self_similarity_unmasked():
    cfg = preset_config("simclr")
    cfg.set("positive", "self")
    with pytest.raises(ConfigError, match="mask_self"):
        cfg.validate()
    cfg.set("mask_self", "false")
    cfg.validate()


def test_unknown_keys_in_a_saved_config_are_named():
    with pytest.raises(ConfigError, match="train.learning_rate"):
        Config.from_dict({"train": {"learning_rate": 1}})
    with pytest.raises(ConfigError, match="config"):
        Config.from_dict([1, 2])


def test_a_budget_is_required():
    cfg = preset_config("simclr")
    cfg.train.seconds, cfg.train.steps, cfg.train.epochs = 0, 0, 0
    with pytest.raises(ConfigError, match="train.seconds"):
        cfg.validate()


def test_a_folder_starts_from_colour_keeping_views_and_a_data_set_switch_swaps_defaults():
    from cl_core.presets import dataset_defaults, switch_dataset

    photos = preset_config("simclr", "folder:/somewhere/photos")
    assert (photos.augment.hue, photos.augment.saturation, photos.augment.grey_p) == (0.0, 0.0, 0.0)
    digits = preset_config("simclr", "digits").augment
    assert (photos.augment.brightness, photos.augment.contrast) == (digits.brightness, digits.contrast) != (0, 0)
    assert dataset_defaults("folder:/x") == dataset_defaults("folder:/y/z.zip") != {}
    cfg = preset_config("byol", "digits")
    cfg.augment.brightness = 0.3  # a setting no data set names: kept through the switches
    for name in ("shapes", "folder:/p", "digits"):
        switch_dataset(cfg, name)
        want = preset_config("byol", name)
        want.augment.brightness = 0.3
        assert cfg.augment == want.augment and cfg.data == want.data, name
    assert switch_dataset(cfg, "digits") is cfg and cfg.augment.brightness == 0.3  # same set: nothing changes


def test_auto_precision_is_bf16_only_on_a_cpu_that_computes_it(monkeypatch):
    import torch

    from cl_core import runtime

    cpu = torch.device("cpu")
    monkeypatch.setattr(runtime, "cpu_computes_bf16", lambda: True)
    assert runtime.autocast_dtype("auto", cpu) == torch.bfloat16
    assert runtime.autocast_dtype("fp32", cpu) is None
    monkeypatch.setattr(runtime, "cpu_computes_bf16", lambda: False)
    assert runtime.autocast_dtype("auto", cpu) is None and runtime.autocast_dtype("bf16", cpu) == torch.bfloat16
    assert [runtime.precision_name(d) for d in (None, torch.bfloat16, torch.float16)] == ["fp32", "bf16", "fp16"]
