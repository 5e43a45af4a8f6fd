"""SwAV (Caron et al. 2020, https://arxiv.org/abs/2006.09882): swap cluster assignments between views.

Each view's L2-normalised projection is scored against K prototypes (a bias-free linear layer whose rows
are re-normalised after every optimiser step, in ``on_step_end``). Sinkhorn-Knopp turns one view's scores
into codes that spread the batch evenly over the prototypes; the other view predicts them. The
prototypes stay fixed for the first steps (paper: first epoch). An optional queue of past projections
takes part in computing the codes once it is full (paper, for small batches).

Multi-crop: the trainer hands over two views, so the ``small_crops`` extra views are cut from them here:
random resized crops (area 5-30%, as in the paper) of view 1 and view 2 in turn, resampled to half the
size with ``affine_grid``; they inherit their source view's colour augmentation. Only the two large views'
codes are targets.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core import distributed
from cl_core.config import Config, ConfigError, Option
from cl_core.losses import sinkhorn, swav_multicrop_loss
from cl_core.methods.base import Method, register


def random_resized_crops(x: Tensor, size: int, scale: tuple[float, float] = (0.05, 0.3)) -> Tensor:
    """A random crop of each image (area share in ``scale``, aspect ratio in [3/4, 4/3]) resized to ``size``.

    x: (B, C, H, W) -> (B, C, size, size). Uses torch's global generator; under torchrun every process draws
    for the global batch (same seed) and keeps its own rows, so the crops are those of one process.
    """
    b, r = len(x), distributed.rank()
    n, rows = b * distributed.world(), slice(r * b, (r + 1) * b)
    area = torch.empty(n, device=x.device).uniform_(*scale)[rows]
    ratio = torch.empty(n, device=x.device).uniform_(math.log(3 / 4), math.log(4 / 3)).exp()[rows]
    w, h = (area * ratio).sqrt().clamp(max=1), (area / ratio).sqrt().clamp(max=1)  # shares of the side
    cx, cy = (
        (1 - w) * (2 * torch.rand(n, device=x.device)[rows] - 1),
        (1 - h) * (2 * torch.rand(n, device=x.device)[rows] - 1),
    )
    theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = w, cx, h, cy
    grid = F.affine_grid(theta, [b, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@register
class SwAV(Method):
    NAME = "swav"
    TITLE = "SwAV"
    DESCRIPTION = (
        "Assign each view to learned prototypes with equal use of every prototype across the batch "
        "(Sinkhorn-Knopp), then predict one view's assignment from the other."
    )
    PAPER = "https://arxiv.org/abs/2006.09882"
    USES_TEMPERATURE = True
    SKIPS_PARAMETERS = True  # the prototypes get no gradient while frozen (DDP must look for unused parameters)
    OPTIONS = {
        "prototypes": Option(30, "Number of prototypes (clusters)", low=2, high=65536),
        "epsilon": Option(0.05, "Sinkhorn entropy regularisation: smaller gives harder codes", low=1e-3, high=10.0),
        "sinkhorn_iterations": Option(
            3,
            "Sinkhorn-Knopp rounds (0: no equipartition, codes are a plain softmax, "
            "and everything can fall into one prototype)",
            low=0,
            high=100,
        ),
        "freeze_prototypes_steps": Option(
            20, "Steps at the start during which the prototypes do not move", low=0, high=10**9
        ),
        "queue_size": Option(
            0,
            "Past projections per view used with the batch to compute the codes, once the "
            "queue is full (helps small batches)",
            low=0,
            high=65536,
        ),
        "small_crops": Option(
            0, "Extra small crops per image (multi-crop); each predicts both large views' codes", low=0, high=8
        ),
    }
    # Temperature 0.5, not the paper's 0.1: at 0.1 the small CNN falls into the uniform solution (every score
    # equal, loss stuck at ln K) within ~30 steps whatever the lr, optimiser, epsilon or K; 0.5 escapes it
    # (as reported for CIFAR-10 in facebookresearch/swav#23).
    PRESET = {"augment": "swav", "method.temperature": 0.5, "train.lr": 2e-3, "train.batch_size": 128}

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        d = cfg.method.proj_dim
        self.prototypes = nn.Linear(d, self.opts["prototypes"], bias=False)
        self.normalize_prototypes()
        self.register_buffer("queue", torch.zeros(2, self.opts["queue_size"], d))  # (2, Q, D), newest first
        self.register_buffer("queue_filled", torch.zeros((), dtype=torch.long))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))
        self._last: Tensor | None = None

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        o = cls.option_values(cfg)
        if o["prototypes"] > cfg.train.batch_size + o["queue_size"]:
            raise ConfigError(
                "method.options.prototypes",
                f"{o['prototypes']} prototypes is more than the batch ({cfg.train.batch_size}) plus "
                f"the queue ({o['queue_size']}) can spread over; use fewer or a queue",
            )

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def codes(self, scores: Tensor, view: int) -> Tensor:
        """Sinkhorn codes (B, K) of one large view's scores (B, K), spread over the global batch of all
        processes and, once it is full, the queue."""
        o, b = self.opts, len(scores)
        scores = distributed.gather(scores.detach())  # (W * B, K)
        q = self.queue.shape[1]
        if q and int(self.queue_filled) >= q:
            scores = torch.cat([self.queue[view] @ self.prototypes.weight.detach().T, scores])  # (Q + W * B, K)
        start = len(scores) - b * (distributed.world() - distributed.rank())  # this process's rows
        return sinkhorn(scores, o["epsilon"], o["sinkhorn_iterations"])[start : start + b]

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        small = [
            random_resized_crops((view1, view2)[i % 2], max(view1.shape[-1] // 2, 8))
            for i in range(self.opts["small_crops"])
        ]
        z = [F.normalize(self.project(v), dim=1) for v in (view1, view2, *small)]  # (B, D) each
        frozen = int(self.steps_done) < self.opts["freeze_prototypes_steps"]
        c = self.prototypes.weight.detach() if frozen else self.prototypes.weight  # (K, D); no grad when frozen
        scores = [zi @ c.T for zi in z]  # (B, K) cosine similarities
        codes = [self.codes(scores[i], i) for i in range(2)]
        loss = swav_multicrop_loss(scores, 2, self.cfg.method.temperature, codes=codes)
        self._last = distributed.gather(torch.stack(z[:2], dim=1).detach()).transpose(0, 1)  # (2, W * B, D)
        hits = torch.cat(codes).argmax(dim=1)  # a tensor, not a float: no host sync until the trainer logs it
        used = scores[0].new_zeros(scores[0].shape[1]).index_fill_(0, hits, 1).sum()
        return loss, {"prototypes_used": used}

    @torch.no_grad()
    def on_step_end(self, step: int, total_steps: int) -> None:
        self.steps_done.fill_(step)
        self.normalize_prototypes()
        q = self.queue.shape[1]
        if q and self._last is not None:
            self.queue.copy_(torch.cat([self._last.to(self.queue.dtype), self.queue], dim=1)[:, :q])
            self.queue_filled.fill_(min(int(self.queue_filled) + self._last.shape[1], q))
        self._last = None
