"""Per-method default configs: the settings that learn well in a short CPU run (chosen by measuring).

``preset_config("byol")`` is the starting point of the CLI and the app; explicit settings override it.
"""

from __future__ import annotations

from typing import Any

from cl_core.augment import AUG_PRESETS, apply_preset
from cl_core.config import Config, ConfigError
from cl_core.methods import get_method_class

# Per data set, applied over every method's preset. digits carry 8x8 of information, so 16x16 loses nothing
# and trains 4x faster than 32x32. shapes at 16x16: crops under 40% of the image cut the shape away, and only
# a full hue range hides the colour, a nuisance that otherwise decides the clusters (benchmarks/README.md).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"data.image_size": 16},
    "shapes": {
        "data.image_size": 16,
        "augment.crop_scale_min": 0.4,
        "augment.jitter_strength": 1.0,
        "augment.hue": 0.5,
    },
}


def preset_config(method: str = "simclr", dataset: str = "digits") -> Config:
    """The method's preset (augmentation recipe, temperature, learning rate, heads) on ``dataset``."""
    cls = get_method_class(method)
    cfg = Config()
    cfg.method.name = method
    cfg.data.name = dataset
    preset: dict[str, Any] = dict(cls.PRESET)
    aug = preset.pop("augment", method if method in AUG_PRESETS else "simclr")
    cfg.augment = apply_preset(cfg.augment, aug)
    for name, value in [*preset.items(), *DATASET_DEFAULTS.get(dataset, {}).items()]:
        cfg.set(name, value)
    return cfg


def augment_preset_names() -> list[str]:
    return list(AUG_PRESETS)


def set_augment_preset(cfg: Config, name: str) -> None:
    if name not in AUG_PRESETS:
        raise ConfigError("augment.preset", f"unknown preset {name!r}; known: {', '.join(AUG_PRESETS)}")
    cfg.augment = apply_preset(cfg.augment, name)
