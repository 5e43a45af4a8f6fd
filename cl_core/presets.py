"""Per-method default configs: the settings that learn well in a short CPU run (chosen by measuring).

``preset_config("byol")`` is the starting point of the CLI and the app; explicit settings override it.
"""

from __future__ import annotations

from typing import Any

from cl_core.augment import AUG_PRESETS, apply_preset
from cl_core.config import Config, ConfigError
from cl_core.methods import get_method_class

# Per data set, applied over every method's preset. digits carry 8x8 of information, so 16x16 loses nothing
# and trains 4x faster than 32x32. shapes' 16x16 views: crops under 40% of the image cut the shape away, and only
# a full hue range hides the colour, a nuisance that otherwise decides the clusters (benchmarks/README.md).
# A folder of photographs ("folder"): colour is what tells one scene from another, so the views keep it -- crops,
# flips, brightness and contrast, but no hue or saturation jitter and no greyscale (60 s of SimCLR on a photo
# folder: weighted kNN 0.86 against 0.78 with SimCLR's colour jitter, and 0.865 against 0.810 with the 16x16 views
# over four seeds; benchmarks/README.md, "Learning more per second"). Folders and shapes train on 16x16 views of
# their 32x32 images and are measured at 32x32: about 2.6x the steps of a short budget, and a network trained on
# smaller views reads the full images better (FixRes, Touvron et al. 2019); digits measure best at 16x16 (kNN
# 0.96-0.97 at 32 against 0.98 at 16), so they stay there.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "folder": {"augment.hue": 0.0, "augment.saturation": 0.0, "augment.grey_p": 0.0, "data.view_size": 16},
    "digits": {"data.image_size": 16},
    "shapes": {
        "data.view_size": 16,
        "augment.crop_scale_min": 0.4,
        "augment.jitter_strength": 1.0,
        "augment.hue": 0.5,
    },
}


def preset_config(method: str = "simclr", dataset: str = "digits") -> Config:
    """The method's preset (augmentation recipe, temperature, learning rate, heads) on ``dataset``."""
    cfg = _method_preset(method)
    cfg.data.name = dataset
    for name, value in dataset_defaults(dataset).items():
        cfg.set(name, value)
    return cfg


def _method_preset(method: str) -> Config:
    cls = get_method_class(method)
    cfg = Config()
    cfg.method.name = method
    preset: dict[str, Any] = dict(cls.PRESET)
    aug = preset.pop("augment", method if method in AUG_PRESETS else "simclr")
    cfg.augment = apply_preset(cfg.augment, aug)
    for name, value in preset.items():
        cfg.set(name, value)
    return cfg


def dataset_defaults(dataset: str) -> dict[str, Any]:
    """The settings ``dataset`` starts from, over a method's preset (folders and uploads share one recipe)."""
    return DATASET_DEFAULTS.get("folder" if dataset.startswith("folder:") else dataset, {})


def switch_dataset(cfg: Config, dataset: str) -> Config:
    """``cfg`` on ``dataset``: the old set's defaults go back to the method's preset, the new set's are set.

    Settings neither set names keep their values (the app's data-set menu calls this)."""
    if cfg.data.name == dataset:
        return cfg
    base = _method_preset(cfg.method.name)
    for name in dataset_defaults(cfg.data.name):
        cfg.set(name, base.get(name))
    cfg.data.name = dataset
    for name, value in dataset_defaults(dataset).items():
        cfg.set(name, value)
    return cfg


def augment_preset_names() -> list[str]:
    return list(AUG_PRESETS)


def set_augment_preset(cfg: Config, name: str) -> None:
    if name not in AUG_PRESETS:
        raise ConfigError("augment.preset", f"unknown preset {name!r}; known: {', '.join(AUG_PRESETS)}")
    cfg.augment = apply_preset(cfg.augment, name)
