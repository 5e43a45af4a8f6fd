"""BYOL (Grill et al. 2020, https://arxiv.org/abs/2006.07733): predict a moving-average target's projection.

No negatives: an online network (backbone, projector, predictor) regresses the projection of the other
view computed by a target network whose weights are an exponential moving average of the online ones.
The loss is the mean of both directions of ``2 - 2 cos(p, z')``, in [0, 4].
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from cl_core.config import Config, Option
from cl_core.encoders import mlp
from cl_core.losses import negative_cosine
from cl_core.methods.base import Method, register


def ema_momentum(base: float, step: int, total_steps: int) -> float:
    """BYOL's schedule tau = 1 - (1 - base) (cos(pi k / K) + 1) / 2: base at the start, 1 at the end."""
    progress = min(max(step / max(total_steps, 1), 0.0), 1.0)
    return 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """target = momentum * target + (1 - momentum) * online, parameter by parameter."""
    for pt, po in zip(target.parameters(), online.parameters(), strict=True):
        pt.lerp_(po, 1 - momentum)


@register
class BYOL(Method):
    NAME = "byol"
    TITLE = "BYOL"
    DESCRIPTION = (
        "Predict, from one view, the projection of the other view computed by a slowly moving "
        "average of the network. No negatives: the predictor and the stop-gradient prevent collapse."
    )
    PAPER = "https://arxiv.org/abs/2006.07733"
    OPTIONS = {
        "predictor": Option(
            True,
            "MLP predictor on the online branch (off: the online projection regresses the "
            "target's directly, and the representation collapses)",
        ),
        "stop_gradient": Option(
            True,
            "No gradient through the target branch (off: the target is the online "
            "network itself, trained from both sides; it collapses)",
        ),
        "ema": Option(
            True,
            "Target weights are a moving average of the online weights (off: the target is a "
            "detached copy of the current online weights, i.e. momentum 0)",
        ),
        "momentum": Option(
            0.99, "Base momentum of the moving average; it rises to 1 on a cosine schedule", low=0.0, high=1.0
        ),
    }
    # Base momentum 0.9, not the option's 0.99: a 60 s CPU run has ~100-200 steps, over which a 0.99 target
    # hardly leaves its random initialisation (digits, 80 steps: kNN 0.931 at 0.9, 0.919 at 0.96, 0.897 at 0.99).
    PRESET = {"augment": "byol", "method.options.momentum": 0.9, "train.lr": 2e-3, "train.batch_size": 128}

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        m = cfg.method
        self.predictor = mlp(m.proj_dim, m.proj_hidden, m.proj_dim) if self.opts["predictor"] else nn.Identity()
        self.target = nn.Sequential(copy.deepcopy(self.backbone), copy.deepcopy(self.projector))
        self.target.requires_grad_(False)

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        z1, z2 = self.project(view1), self.project(view2)  # (B, D) online projections
        p1, p2 = self.predictor(z1), self.predictor(z2)  # (B, D)
        if self.opts["stop_gradient"]:
            with torch.no_grad():
                z1, z2 = self.target(view1), self.target(view2)
        # else: the targets are the online projections themselves, with gradient
        loss = (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2
        return loss, {}

    def on_step_end(self, step: int, total_steps: int) -> None:
        tau = ema_momentum(self.opts["momentum"], step, total_steps) if self.opts["ema"] else 0.0
        ema_update(self.target, nn.Sequential(self.backbone, self.projector), tau)
