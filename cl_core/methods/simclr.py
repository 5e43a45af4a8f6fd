"""SimCLR (Chen et al. 2020, https://arxiv.org/abs/2002.05709): NT-Xent between two views of each image."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cl_core.config import Config, ConfigError, Option
from cl_core.distributed import gather_with_grad
from cl_core.losses import info_nce
from cl_core.methods.base import Method, register


@register
class SimCLR(Method):
    NAME = "simclr"
    TITLE = "SimCLR"
    DESCRIPTION = (
        "Pull the two views of an image together and push them away from the other 2N-2 views "
        "in the batch (NT-Xent / InfoNCE with temperature)."
    )
    PAPER = "https://arxiv.org/abs/2002.05709"
    USES_TEMPERATURE = True
    OPTIONS = {
        "projection_head": Option(
            True,
            "MLP projection head between the backbone and the loss (off: the loss "
            "sees backbone features; kNN usually drops)",
        ),
        "mask_self": Option(
            True,
            "Exclude each embedding's similarity with itself from its softmax "
            "(off: the self-similarity 1/T dominates every row)",
        ),
        "positive": Option(
            "other",
            "Which candidate is the positive: the other view (correct) or the anchor "
            "itself, the bug of the widely copied example with labels = range(2N)",
            choices=("other", "self"),
        ),
    }

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        o = cls.option_values(cfg)
        if o["positive"] == "self" and o["mask_self"]:
            raise ConfigError(
                "method.options.mask_self",
                "must be false when positive=self (the anchor cannot be its own masked positive)",
            )

    def build_projector(self) -> nn.Module:
        return super().build_projector() if self.opts["projection_head"] else nn.Identity()

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        z1, z2 = self.project(view1), self.project(view2)  # (B, D) each
        z, offset = gather_with_grad(torch.stack([z1, z2], dim=1))  # (W * B, 2, D): every process's pairs
        t, o = self.cfg.method.temperature, self.opts
        # The anchors are this process's 2B; the candidates, the global batch's (with gradient).
        loss = info_nce(
            z1, z2, t, mask_self=o["mask_self"], positive=o["positive"], z1_all=z[:, 0], z2_all=z[:, 1], offset=offset
        )
        return loss, {}
