"""The pairwise margin loss (Hadsell, Chopra & LeCun 2006,
http://yann.lecun.com/exdb/publis/pdf/hadsell-chopra-lecun-06.pdf) on augmented views.

Positive pairs are the two views of one image; negative pairs are views of different images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_core.config import Config, Option
from cl_core.distributed import gather_with_grad
from cl_core.losses import contrastive_loss
from cl_core.methods.base import Method, register


@register
class Contrastive(Method):
    NAME = "contrastive"
    TITLE = "Margin contrastive loss"
    DESCRIPTION = (
        "Pull positive pairs (two views of one image) together; push negative pairs (views of "
        "different images) apart until they are at least the margin away."
    )
    PAPER = "http://yann.lecun.com/exdb/publis/pdf/hadsell-chopra-lecun-06.pdf"
    USES_MARGIN = True
    OPTIONS = {
        "negative_ratio": Option(1.0, "Negative pairs per positive pair in each batch", low=0.0, high=64.0),
        "normalize": Option(
            True,
            "L2-normalise embeddings before measuring distances (then distances lie in "
            "[0, 2], so a margin of 2 or more can never be met)",
        ),
    }

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self._generator: torch.Generator | None = None

    def generator(self, device: torch.device) -> torch.Generator:
        """The negative pairs' draws: seeded by the config, so the same on every process."""
        if self._generator is None or self._generator.device != device:
            self._generator = torch.Generator(device).manual_seed(self.cfg.train.seed)
        return self._generator

    def pairs(self, z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Positive pairs (i, i) and ``negative_ratio * B`` negative pairs (i, j != i). -> (P, D), (P, D), (P,)."""
        b, g = len(z1), self.generator(z1.device)
        n_neg = round(self.opts["negative_ratio"] * b)
        i = torch.randint(0, b, (n_neg,), device=z1.device, generator=g)
        j = (i + torch.randint(1, b, (n_neg,), device=z1.device, generator=g)) % b  # any image but i
        a = torch.cat([z1, z1[i]])
        p = torch.cat([z2, z2[j]])
        y = torch.cat([torch.ones(b, device=z1.device), torch.zeros(n_neg, device=z1.device)])
        return a, p, y

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        z1, z2 = self.project(view1), self.project(view2)
        if self.opts["normalize"]:
            z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        # Every process computes the loss of the global batch, pairs drawn over all of it (see cl_core.distributed).
        z, _ = gather_with_grad(torch.stack([z1, z2], dim=1))  # (W * B, 2, D)
        a, p, y = self.pairs(z[:, 0], z[:, 1])
        loss = contrastive_loss(a, p, y, self.cfg.method.margin)
        with torch.no_grad():  # tensors, not floats: no host sync until the trainer logs them
            d = (a - p).norm(dim=1)
            logs = {"pos_dist": (d * y).sum() / y.sum(), "neg_dist": (d * (1 - y)).sum() / (1 - y).sum()}
        return loss, logs
