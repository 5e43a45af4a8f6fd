"""SimSiam (Chen & He 2020, https://arxiv.org/abs/2011.10566): BYOL without the moving average.

One network; a predictor on one branch and a stop-gradient on the other. The paper's loss is
``D(p1, z2) / 2 + D(p2, z1) / 2`` with ``D = -cos``, in [-1, 1]; we train on the mean of
``negative_cosine = 2 - 2 cos`` over both directions, which is ``2 (1 + paper loss)``, in [0, 4]: the
same minimiser and gradients twice as large. The paper's value is logged as ``simsiam_loss``.
"""

from __future__ import annotations

from torch import Tensor, nn

from cl_core.config import Config, Option
from cl_core.encoders import mlp
from cl_core.losses import negative_cosine
from cl_core.methods.base import Method, register


@register
class SimSiam(Method):
    NAME = "simsiam"
    TITLE = "SimSiam"
    DESCRIPTION = (
        "Predict one view's projection from the other with a small bottleneck predictor and a "
        "stop-gradient on the target side; no negatives and no moving average."
    )
    PAPER = "https://arxiv.org/abs/2011.10566"
    OPTIONS = {
        "predictor": Option(True, "Bottleneck MLP predictor (off: identity, and the representation collapses)"),
        "stop_gradient": Option(True, "No gradient through the target projection (off: it collapses at once)"),
    }
    PRESET = {"augment": "simsiam", "train.lr": 2e-3, "train.batch_size": 128}

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        d = cfg.method.proj_dim
        self.predictor = mlp(d, max(d // 4, 2), d) if self.opts["predictor"] else nn.Identity()  # bottleneck

    def build_projector(self) -> nn.Module:
        """Three layers, batch norm on the output too (paper, Sec. 4)."""
        m = self.cfg.method
        return mlp(self.backbone.out_dim, m.proj_hidden, m.proj_dim, layers=3, last_bn=True)

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        z1, z2 = self.project(view1), self.project(view2)  # (B, D)
        p1, p2 = self.predictor(z1), self.predictor(z2)  # (B, D)
        if self.opts["stop_gradient"]:
            z1, z2 = z1.detach(), z2.detach()
        loss = (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2
        return loss, {"simsiam_loss": loss.detach() / 2 - 1}  # a tensor: no host sync until it is logged
