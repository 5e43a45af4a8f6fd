"""MoCo v2 (Chen et al. 2020, https://arxiv.org/abs/2003.04297): a momentum key encoder and a queue of negatives.

Both views act as queries (the symmetrised loss of MoCo v3, https://arxiv.org/abs/2104.02057): the loss
is the mean of InfoNCE(q1, k2) and InfoNCE(q2, k1) against the same queue. Each step enqueues the B keys
of view 2 (one key per image, as in the original), so the queue holds the last K / B batches.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cl_core import distributed
from cl_core.config import Config, ConfigError, Option
from cl_core.losses import moco_info_nce
from cl_core.methods.base import Method, register


@register
class MoCo(Method):
    NAME = "moco"
    TITLE = "MoCo v2"
    DESCRIPTION = (
        "Match each query to the key of its other view, computed by a slowly moving copy of the "
        "encoder, against a long queue of keys from past batches as negatives."
    )
    PAPER = "https://arxiv.org/abs/2003.04297"
    USES_TEMPERATURE = True
    OPTIONS = {
        "queue_size": Option(
            1024,
            "Keys of past batches kept as negatives; a multiple of the batch size "
            "(0: only the other images of the batch are negatives)",
            low=0,
            high=65536,
        ),
        "momentum": Option(
            0.99,
            "Momentum of the key encoder's moving average (0: the keys come from the "
            "online encoder's current weights, still without gradient)",
            low=0.0,
            high=1.0,
        ),
    }
    PRESET = {"augment": "moco_v2", "method.temperature": 0.2, "train.lr": 2e-3, "train.batch_size": 128}

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.key_encoder = nn.Sequential(copy.deepcopy(self.backbone), copy.deepcopy(self.projector))
        self.key_encoder.requires_grad_(False)
        k, d = self.opts["queue_size"], cfg.method.proj_dim
        self.register_buffer("queue", F.normalize(torch.randn(k, d), dim=1))  # (K, D) ring buffer
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))  # next slot = the oldest key
        self._last_keys: Tensor | None = None

    @classmethod
    def check_config(cls, cfg: Config) -> None:
        k = cls.option_values(cfg)["queue_size"]
        if k % cfg.train.batch_size:
            raise ConfigError(
                "method.options.queue_size",
                f"must be a multiple of the batch size {cfg.train.batch_size} (or 0); got {k}",
            )

    def training_step(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, float]]:
        q1, q2 = self.project(view1), self.project(view2)  # (B, D) queries, with gradient
        with torch.no_grad():
            k1, k2 = (F.normalize(self.key_encoder(v), dim=1) for v in (view1, view2))  # (B, D) keys
        queue = self.queue if len(self.queue) else None  # (K, D)
        if queue is None:  # the batch's other keys are the negatives: every process takes the global batch
            q, _ = distributed.gather_with_grad(torch.stack([q1, q2], dim=1))  # (W * B, 2, D)
            k = distributed.gather(torch.stack([k1, k2], dim=1))
            q1, q2, k1, k2 = q[:, 0], q[:, 1], k[:, 0], k[:, 1]
        else:
            self._last_keys = distributed.gather(k2)  # (W * B, D): every process enqueues all processes' keys
        t = self.cfg.method.temperature
        loss = (moco_info_nce(q1, k2, queue, t) + moco_info_nce(q2, k1, queue, t)) / 2
        return loss, {}

    @torch.no_grad()
    def on_step_end(self, step: int, total_steps: int) -> None:
        m = self.opts["momentum"]
        online = [*self.backbone.parameters(), *self.projector.parameters()]
        for pk, po in zip(self.key_encoder.parameters(), online, strict=True):
            pk.lerp_(po, 1 - m)  # pk = m pk + (1 - m) po
        if self._last_keys is not None and len(self.queue):
            self.enqueue(self._last_keys)
        self._last_keys = None

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Overwrite the oldest len(keys) slots with keys (N, D), wrapping around the end."""
        k, ptr = len(self.queue), int(self.queue_ptr)
        keys = keys[-k:]  # a batch longer than the queue keeps its last k keys
        self.queue[(ptr + torch.arange(len(keys), device=keys.device)) % k] = keys.to(self.queue.dtype)
        self.queue_ptr.fill_((ptr + len(keys)) % k)

    def queued_keys(self) -> Tensor:
        """The queue oldest -> newest: (K, D)."""
        ptr = int(self.queue_ptr)
        return torch.cat([self.queue[ptr:], self.queue[:ptr]])
