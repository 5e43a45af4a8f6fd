"""VICReg (Bardes et al. 2021, https://arxiv.org/abs/2105.04906): variance, invariance, covariance.

Three explicit terms on the projections: the two views agree (invariance, MSE), every dimension keeps a
standard deviation of at least 1 over the batch (variance, a hinge), and dimensions are decorrelated
(covariance). Each is logged unweighted.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cl_core import distributed
from cl_core.config import Option
from cl_core.losses import vicreg_terms
from cl_core.methods.base import Method, register


@register
class VICReg(Method):
    NAME = "vicreg"
    TITLE = "VICReg"
    DESCRIPTION = (
        "Pull the two views' projections together while keeping every dimension's spread above a "
        "floor and the dimensions decorrelated; no negatives, no moving average, no predictor."
    )
    PAPER = "https://arxiv.org/abs/2105.04906"
    OPTIONS = {
        "sim_weight": Option(25.0, "Weight of the invariance term (MSE between views)", low=0.0, high=1000.0),
        "var_weight": Option(
            25.0, "Weight of the variance hinge (0: nothing stops the collapse)", low=0.0, high=1000.0
        ),
        "cov_weight": Option(
            1.0, "Weight of the covariance term (0: dimensions may become copies of each other)", low=0.0, high=1000.0
        ),
    }
    PROJECTOR_LAYERS = 3  # batch norm and ReLU after the first two (paper, Sec. 4.2)
    PRESET = {
        "augment": "vicreg",
        "train.lr": 2e-3,
        "train.batch_size": 128,
        "method.proj_hidden": 512,
        "method.proj_dim": 512,
    }

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        z1, z2 = self.project(view1), self.project(view2)  # (B, D)
        # Every process computes the terms of the global batch (variance and covariance span all processes).
        z, _ = distributed.gather_with_grad(torch.stack([z1, z2], dim=1).float())  # (W * B, 2, D)
        inv, var, cov = vicreg_terms(z[:, 0], z[:, 1])
        o = self.opts
        loss = o["sim_weight"] * inv + o["var_weight"] * var + o["cov_weight"] * cov
        # tensors, not floats: no host sync until the trainer logs them
        return loss, {"invariance": inv.detach(), "variance": var.detach(), "covariance": cov.detach()}
