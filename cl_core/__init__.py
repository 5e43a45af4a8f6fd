"""cl_core: contrastive and non-contrastive self-supervised learning, small enough to read and to watch.

The public API, imported lazily so that ``import cl_core`` stays fast (torch loads on first use):
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "Config": "config",
    "ConfigError": "config",
    "Option": "config",
    "ImageData": "data",
    "DataError": "data",
    "load_data": "data",
    "DATASETS": "data",
    "Augmenter": "augment",
    "AUG_PRESETS": "augment",
    "METHODS": "methods",
    "Method": "methods",
    "build_method": "methods",
    "preset_config": "presets",
    "train": "trainer",
    "TrainResult": "trainer",
    "Callback": "callbacks",
    "Run": "runs",
    "RunError": "runs",
    "list_runs": "runs",
    "load_run": "runs",
    "diagnose": "doctor",
    "Diagnosis": "doctor",
    "read_loss": "doctor",
    "LossReading": "doctor",
    "load_loss_curve": "lossfiles",
    "LossCurve": "lossfiles",
    "LossFileError": "lossfiles",
    "RunLogger": "runlogger",
    "import_run": "importrun",
}
__all__ = list(_API)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'cl_core' has no attribute {name!r}")
    return getattr(importlib.import_module(f"cl_core.{_API[name]}"), name)
