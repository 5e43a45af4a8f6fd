"""Typed run configuration: data, augmentation, method and training, with one validate().

A config is plain data. ``Config.from_dict(d)`` reads a saved ``config.json``, ``to_dict()`` writes
one, and ``validate()`` raises :class:`ConfigError` naming the first bad field and its allowed range.
The CLI and the app both go through ``validate()``; nothing else checks user input.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A bad setting: ``field`` is its dotted name, the message says what is allowed."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Option:
    """A method's named switch or knob, as shown in the app and set by ``--opt NAME=VALUE``."""

    default: bool | int | float | str
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def parse(self, name: str, value: Any) -> bool | int | float | str:
        """Coerce ``value`` (a string from the CLI or a JSON value) to this option's type and check it."""
        kind = type(self.default)
        try:
            if kind is bool:
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                        raise ValueError
                    value = low in ("true", "1", "yes", "on")
                elif not isinstance(value, bool | int) or value not in (0, 1):
                    raise ValueError
                return bool(value)
            if kind is int:
                if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                    raise ValueError
                value = int(value)
            elif kind is float:
                if isinstance(value, bool):
                    raise ValueError
                value = float(value)
            else:
                value = str(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(name, f"expected {kind.__name__}, got {value!r}") from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(name, f"must be one of {', '.join(self.choices)}; got {value!r}")
        if kind in (int, float):
            check_range(name, value, self.low, self.high)
        return value


def check_range(
    name: str, value: float, low: float | None = None, high: float | None = None, low_open: bool = False
) -> None:
    """Raise ConfigError unless ``low (<|<=) value <= high`` and value is finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(name, f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(name, f"must be a finite number, got {value!r}")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and value > high
    if bad_low or bad_high:
        lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
        hi = "" if high is None else f"<= {high:g}"
        raise ConfigError(name, f"must be {' and '.join(s for s in (lo, hi) if s)}; got {value!r}")


@dataclass
class DataConfig:
    name: str = "digits"  # digits | shapes | cifar10 | cifar100 | mnist | fashion_mnist | stl10 | folder:PATH
    root: str = "data"  # where torchvision sets live (downloaded there when the network allows)
    image_size: int = 0  # 0 = the data set's own size; else images are resized to this square size
    view_size: int = 0  # 0 = the image size; else training views this size, cut from the images shrunk to it
    max_train: int = 0  # 0 = all; else a fixed-seed subset of the training split
    probe_size: int = 512  # test images embedded at each snapshot (UMAP, diagnostics)


@dataclass
class AugmentConfig:
    crop_scale_min: float = 0.2
    crop_scale_max: float = 1.0
    crop_ratio_min: float = 3 / 4
    crop_ratio_max: float = 4 / 3
    flip_p: float = 0.5
    jitter_p: float = 0.8
    jitter_strength: float = 1.0  # multiplies brightness, contrast, saturation and hue
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1
    grey_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma_min: float = 0.1
    blur_sigma_max: float = 2.0
    solarize_p: float = 0.0
    solarize_threshold: float = 0.5

    def validate(self) -> None:
        for name in ("flip_p", "jitter_p", "grey_p", "blur_p", "solarize_p", "solarize_threshold"):
            check_range(f"augment.{name}", getattr(self, name), 0.0, 1.0)
        check_range("augment.crop_scale_min", self.crop_scale_min, 0.0, 1.0, low_open=True)
        check_range("augment.crop_scale_max", self.crop_scale_max, self.crop_scale_min, 1.0)
        check_range("augment.crop_ratio_min", self.crop_ratio_min, 0.0, 10.0, low_open=True)
        check_range("augment.crop_ratio_max", self.crop_ratio_max, self.crop_ratio_min, 10.0)
        check_range("augment.jitter_strength", self.jitter_strength, 0.0, 4.0)
        for name in ("brightness", "contrast", "saturation"):
            check_range(f"augment.{name}", getattr(self, name), 0.0, 1.0)
        check_range("augment.hue", self.hue, 0.0, 0.5)
        check_range("augment.blur_sigma_min", self.blur_sigma_min, 0.0, 10.0, low_open=True)
        check_range("augment.blur_sigma_max", self.blur_sigma_max, self.blur_sigma_min, 10.0)


@dataclass
class MethodConfig:
    name: str = "simclr"
    temperature: float = 0.2
    margin: float = 1.0
    proj_hidden: int = 256
    proj_dim: int = 64
    options: dict[str, Any] = field(default_factory=dict)  # the method's own switches (see its OPTIONS)


@dataclass
class TrainConfig:
    backbone: str = "small_cnn"  # small_cnn | resnet18 | torchvision:RESNET (resnet50, ...) | timm:NAME
    width: int = 16  # channels of small_cnn's and resnet18's first stage (later ones double it); 64 = torchvision's
    cifar_stem: bool = True  # ResNets: 3x3 stride-1 conv1 and no max-pool, for small images; false = ImageNet's stem
    init_from: str = ""  # a checkpoint to start the backbone from (torchvision, lightly, solo-learn, a cl_core run)
    batch_size: int = 128
    optimizer: str = "adamw"  # adamw | sgd | lars
    lr: float = 2e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9  # SGD / LARS
    warmup: float = 0.05  # share of the run spent warming the learning rate up
    seconds: float = 60.0  # wall-clock budget; 0 = none
    steps: int = 0  # 0 = none
    epochs: float = 0.0  # 0 = none
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    channels_last: bool = True  # convolutions in NHWC: 0.8x the CPU step time of NCHW (oneDNN), faster under AMP
    compile: bool = False
    profile: bool = False  # time augmentation, forward, backward, optimiser (syncs the device around each)
    sync_bn: bool = False  # SyncBatchNorm across processes under torchrun (CUDA only)
    stream_data: bool = False  # keep images in host memory and copy each batch (auto when > 25% of free GPU memory)
    log_every: int = 10  # steps between metrics.jsonl rows
    snapshots: int = 8  # snapshots taken at evenly spaced points of the run (plus the last step)
    probe_pairs: int = 32  # images in the fixed probe batch whose 2N x 2N similarity matrix is saved
    knn_max_train: int = 5000  # memory-bank size cap for the kNN monitor
    threads: int = 0  # torch CPU threads; 0 = torch's default


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """Build a config from plain data (a saved config.json); unknown keys are a ConfigError."""
        if not isinstance(d, dict):
            raise ConfigError("config", f"expected a JSON object, got {type(d).__name__}")
        parts = {}
        for f in dataclasses.fields(cls):
            sub = d.get(f.name, {})
            if not isinstance(sub, dict):
                raise ConfigError(f.name, f"expected an object, got {type(sub).__name__}")
            sub_cls = f.default_factory  # type: ignore[misc]
            names = {g.name for g in dataclasses.fields(sub_cls)}
            unknown = sorted(set(sub) - names)
            if unknown:
                raise ConfigError(f"{f.name}.{unknown[0]}", f"unknown setting; known: {', '.join(sorted(names))}")
            parts[f.name] = sub_cls(**sub)
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(unknown[0], "unknown section; known: data, augment, method, train")
        return cls(**parts)

    def resolve(self, name: str) -> str:
        """The full dotted name of a setting: ``lr`` -> ``train.lr``, ``predictor`` -> ``method.options.predictor``.

        ``NAME`` is a dotted path (``train.lr``, ``augment.hue``, ``method.temperature``), a method
        option (``predictor``), or a bare augmentation / method / training field (``hue``, ``lr``).
        """
        section, _, key = name.rpartition(".")
        if section in ("", "method.options", "options") and key in self._options():
            return f"method.options.{key}"
        for sec in [section] if section else ["augment", "method", "train", "data"]:
            obj = getattr(self, sec, None)
            if dataclasses.is_dataclass(obj) and key in {f.name for f in dataclasses.fields(obj)} and key != "options":
                return f"{sec}.{key}"
        known = sorted(self._options()) + ["augment.*", "data.*", "method.*", "train.*"]
        raise ConfigError(name, f"unknown option for method {self.method.name!r}; known: {', '.join(known)}")

    def get(self, name: str) -> Any:
        """A setting's value by any name ``set`` takes; a method option not set yet has its default."""
        sec, _, key = self.resolve(name).rpartition(".")
        if sec == "method.options":
            return self.method.options.get(key, self._options()[key].default)
        return getattr(getattr(self, sec), key)

    def set(self, name: str, value: Any) -> None:
        """Set a setting by name (see ``resolve``), as ``--opt NAME=VALUE`` does, parsed to the field's type."""
        full = self.resolve(name)
        sec, _, key = full.rpartition(".")
        if sec == "method.options":
            self.method.options[key] = self._options()[key].parse(full, value)
        else:
            obj = getattr(self, sec)
            setattr(obj, key, _coerce(full, getattr(obj, key), value))

    def _options(self) -> dict[str, Option]:
        from cl_core.methods import get_method_class

        return get_method_class(self.method.name).OPTIONS if self.method.name in _method_names() else {}

    def validate(self) -> Config:
        """Check every field; raise ConfigError for the first bad one. Returns self."""
        from cl_core.backbones import check_backbone
        from cl_core.data import DATASETS
        from cl_core.encoders import BACKBONES
        from cl_core.methods import get_method_class

        d, m, t = self.data, self.method, self.train
        if not isinstance(d.name, str) or not (d.name in DATASETS or d.name.startswith("folder:")):
            raise ConfigError("data.name", f"unknown data set {d.name!r}; known: {', '.join(DATASETS)}, folder:PATH")
        for name in ("image_size", "view_size"):  # 0: the data set's own size / the image size
            size = getattr(d, name)
            check_range(f"data.{name}", size, 0, 512)
            if 0 < size < 8:
                raise ConfigError(f"data.{name}", f"must be 0 (native) or between 8 and 512; got {size}")
            if not isinstance(size, int) or isinstance(size, bool):
                raise ConfigError(f"data.{name}", f"expected an integer, got {size!r}")
        check_range("data.max_train", d.max_train, 0)
        check_range("data.probe_size", d.probe_size, 2, 20000)
        self.augment.validate()
        if m.name not in _method_names():
            raise ConfigError("method.name", f"unknown method {m.name!r}; known: {', '.join(_method_names())}")
        check_range("method.temperature", m.temperature, 0.0, 100.0, low_open=True)
        check_range("method.margin", m.margin, 0.0, 100.0)
        check_range("method.proj_hidden", m.proj_hidden, 2, 16384)
        check_range("method.proj_dim", m.proj_dim, 2, 16384)
        cls = get_method_class(m.name)
        if not isinstance(m.options, dict):
            raise ConfigError("method.options", "expected an object of NAME: VALUE")
        for key, value in m.options.items():
            if key not in cls.OPTIONS:
                known = ", ".join(cls.OPTIONS) or "none"
                raise ConfigError(f"method.options.{key}", f"unknown option for {m.name}; known: {known}")
            m.options[key] = cls.OPTIONS[key].parse(f"method.options.{key}", value)
        check_backbone(t.backbone, tuple(BACKBONES))
        for name, kind in (("cifar_stem", bool), ("init_from", str)):
            if not isinstance(getattr(t, name), kind):
                raise ConfigError(f"train.{name}", f"expected {kind.__name__}, got {getattr(t, name)!r}")
        check_range("train.width", t.width, 4, 512)
        check_range("train.batch_size", t.batch_size, 2, 65536)
        if t.optimizer not in ("adamw", "sgd", "lars"):
            raise ConfigError("train.optimizer", f"must be one of adamw, sgd, lars; got {t.optimizer!r}")
        check_range("train.lr", t.lr, 0.0, 100.0, low_open=True)
        check_range("train.weight_decay", t.weight_decay, 0.0, 10.0)
        check_range("train.momentum", t.momentum, 0.0, 1.0)
        check_range("train.warmup", t.warmup, 0.0, 1.0)
        check_range("train.seconds", t.seconds, 0.0, 7 * 24 * 3600)
        check_range("train.steps", t.steps, 0, 10**9)
        check_range("train.epochs", t.epochs, 0.0, 10**6)
        if not (t.seconds or t.steps or t.epochs):
            raise ConfigError("train.seconds", "set a budget: seconds, steps or epochs must be > 0")
        check_range("train.seed", t.seed, 0, 2**63 - 1)
        if not isinstance(t.device, str) or not (
            t.device in ("auto", "cpu", "cuda", "mps") or t.device.startswith("cuda:")
        ):
            raise ConfigError("train.device", f"must be auto, cpu, cuda, cuda:N or mps; got {t.device!r}")
        if t.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError("train.precision", f"must be one of auto, fp32, bf16, fp16; got {t.precision!r}")
        check_range("train.log_every", t.log_every, 1, 10**6)
        check_range("train.snapshots", t.snapshots, 0, 1000)
        check_range("train.probe_pairs", t.probe_pairs, 2, 1024)
        check_range("train.knn_max_train", t.knn_max_train, 1, 10**7)
        check_range("train.threads", t.threads, 0, 1024)
        for name in ("width", "batch_size", "steps", "seed", "log_every", "snapshots", "probe_pairs", "threads"):
            if not isinstance(getattr(t, name), int) or isinstance(getattr(t, name), bool):
                raise ConfigError(f"train.{name}", f"expected an integer, got {getattr(t, name)!r}")
        cls.check_config(self)
        return self


def _check_device_present(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device[5:]) if device[5:].isdigit() else 0
        if device[5:] and not device[5:].isdigit():
            raise ConfigError("train.device", f"expected cuda:N with N a number; got {device!r}")
        if index >= count:
            found = f"{count} CUDA device(s)" if count else "no CUDA GPU"
            raise ConfigError("train.device", f"{device} is not available ({found} here); use auto or cpu")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("train.device", "Apple's MPS is not available here; use auto or cpu")


def _method_names() -> list[str]:
    from cl_core.methods import METHODS

    return list(METHODS)


def _coerce(name: str, current: Any, value: Any) -> Any:
    """Parse ``value`` to the type of ``current`` (bool, int, float or str)."""
    if isinstance(current, bool | int | float) and not isinstance(current, str):
        return Option(current, "").parse(name, value)
    return str(value)
