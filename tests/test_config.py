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
