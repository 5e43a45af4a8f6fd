"""Barlow Twins (Zbontar et al. 2021, https://arxiv.org/abs/2103.03230): decorrelate, don't contrast.

The cross-correlation matrix of the two views' standardised projections is pushed towards the identity:
its diagonal to 1 (invariance), its off-diagonal to 0 (redundancy reduction), weighted by lambda.
"""

from __future__ import annotations

from torch import Tensor

from cl_core import distributed
from cl_core.config import Option
from cl_core.losses import barlow_twins_loss
from cl_core.methods.base import Method, register


@register
class BarlowTwins(Method):
    NAME = "barlow"
    TITLE = "Barlow Twins"
    DESCRIPTION = (
        "Make the cross-correlation matrix between the two views' projections the identity: each "
        "dimension agrees across views and carries information no other dimension carries."
    )
    PAPER = "https://arxiv.org/abs/2103.03230"
    OPTIONS = {
        # The paper's 5e-3 is for D = 8192; lightly and solo-learn keep it for smaller heads.
        "lambda_offdiag": Option(
            5e-3,
            "Weight of the off-diagonal (redundancy-reduction) term (0: only "
            "invariance, and the dimensions become copies of each other)",
            low=0.0,
            high=10.0,
        ),
    }
    PROJECTOR_LAYERS = 3  # batch norm and ReLU after the first two (paper, Sec. 3)
    PRESET = {
        "augment": "barlow",
        "train.lr": 2e-3,
        "train.batch_size": 128,
        "method.proj_hidden": 512,
        "method.proj_dim": 512,
    }

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        z1, z2 = self.project(view1), self.project(view2)  # (B, D)
        # The statistics and the cross-correlation are sums over all processes: the global batch's loss.
        lam, reduce, world = self.opts["lambda_offdiag"], distributed.all_reduce_with_grad, distributed.world()
        return barlow_twins_loss(z1.float(), z2.float(), lam, all_reduce=reduce, world_size=world), {}
