"""The one interface every method shares, and the registry that the CLI and the app read."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from torch import Tensor, nn

from cl_core import metrics
from cl_core.config import Config, ConfigError, Option
from cl_core.encoders import build_backbone, mlp

METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method reachable by its NAME."""
    METHODS[cls.NAME] = cls
    return cls


def get_method_class(name: str) -> type[Method]:
    if name not in METHODS:
        raise ConfigError("method.name", f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def temperature_of(method: dict[str, Any]) -> float | None:
    """A run's method settings (config.json's "method") -> the temperature its loss uses, or None for a method
    without one (BYOL, SimSiam, Barlow Twins, VICReg, the margin loss: their settings still carry the field)."""
    cls = METHODS.get(method.get("name"))
    return method.get("temperature") if cls is not None and cls.USES_TEMPERATURE else None


def build_method(cfg: Config) -> Method:
    """Build the configured method (backbone, heads and state) from a validated config."""
    return get_method_class(cfg.method.name)(cfg)


class Method(nn.Module, abc.ABC):
    """Base of all methods: a backbone, a projection head, and the hooks the trainer calls.

    Subclasses set NAME, TITLE, DESCRIPTION, PAPER, OPTIONS (their teaching switches), PRESET
    (config overrides that learn well in a short CPU run) and implement ``training_step``.
    """

    NAME: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    DESCRIPTION: ClassVar[str] = ""
    PAPER: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {}
    PRESET: ClassVar[dict[str, Any]] = {}  # dotted name -> value, applied by cl_core.presets
    USES_TEMPERATURE: ClassVar[bool] = False
    USES_MARGIN: ClassVar[bool] = False
    PROJECTOR_LAYERS: ClassVar[int] = 2  # linear layers in the default projector (BN + ReLU between them)

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.opts = self.option_values(cfg)
        self.backbone = build_backbone(cfg.train.backbone, cfg.train.width, cfg.train.cifar_stem)
        self.projector = self.build_projector()

    def build_projector(self) -> nn.Module:
        m = self.cfg.method
        return mlp(self.backbone.out_dim, m.proj_hidden, m.proj_dim, layers=self.PROJECTOR_LAYERS)

    @property
    def has_projector(self) -> bool:
        return not isinstance(self.projector, nn.Identity)

    @classmethod
    def option_values(cls, cfg: Config) -> dict[str, Any]:
        """Every OPTION's value in ``cfg``: the one set there, else its default."""
        return {k: cfg.method.options.get(k, o.default) for k, o in cls.OPTIONS.items()}

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        """Method-specific validation beyond OPTIONS' ranges; raise ConfigError naming the field."""

    @abc.abstractmethod
    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Loss of one batch of pairs. view1, view2: (B, C, H, W) augmented views of the same images."""

    def on_step_end(self, step: int, total_steps: int) -> None:
        """State updates after the optimiser step (EMA, queue, prototype normalisation)."""

    def embed(self, images: Tensor) -> Tensor:
        """Backbone features used for evaluation. images: (B, C, H, W) -> (B, F)."""
        return self.backbone(images)

    def head(self, features: Tensor) -> Tensor:
        """Backbone features to the space the loss sees. (B, F) -> (B, D)."""
        return self.projector(features)

    def project(self, images: Tensor) -> Tensor:
        """The space the loss sees. images: (B, C, H, W) -> (B, D)."""
        return self.head(self.backbone(images))

    def chance_level(self, batch_size: int) -> float | None:
        """ln C: the loss of an encoder that cannot tell images apart, or None where undefined (see
        ``cl_core.metrics.chance_level``, which this reads this method's options into)."""
        o = self.opts
        return metrics.chance_level(
            self.NAME,
            batch_size,
            queue_size=o.get("queue_size", 0),
            prototypes=o.get("prototypes", 0),
            mask_self=o.get("mask_self", True),
        )
