"""Optimisers (AdamW, SGD with momentum, LARS) and the warm-up + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

from cl_core.config import TrainConfig


class LARS(torch.optim.SGD):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al. 2017, https://arxiv.org/abs/1708.03888).

    Biases and norm parameters (1-D tensors) are neither decayed nor adapted, as in SimCLR and BYOL.
    """

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, eta: float = 0.02):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=0.0)
        self.eta, self.lars_weight_decay = eta, weight_decay

    @torch.no_grad()
    def step(self, closure=None):  # noqa: D102
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None or p.ndim == 1:
                    continue
                g = p.grad.add(p, alpha=self.lars_weight_decay)
                w_norm, g_norm = p.norm(), g.norm()
                trust = torch.where((w_norm > 0) & (g_norm > 0), self.eta * w_norm / g_norm, torch.ones_like(w_norm))
                p.grad.copy_(g.mul(trust))
        return super().step(closure)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Decay weights, not biases or norm scales (the usual practice for self-supervised training)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, t: TrainConfig) -> torch.optim.Optimizer:
    if t.optimizer == "sgd":
        return torch.optim.SGD(_param_groups(model, t.weight_decay), lr=t.lr, momentum=t.momentum)
    if t.optimizer == "lars":
        return LARS(
            [p for p in model.parameters() if p.requires_grad],
            lr=t.lr,
            momentum=t.momentum,
            weight_decay=t.weight_decay,
        )
    return torch.optim.AdamW(_param_groups(model, t.weight_decay), lr=t.lr)


def lr_at(progress: float, t: TrainConfig) -> float:
    """Linear warm-up over the first ``t.warmup`` of the run, then cosine decay to 0. progress in [0, 1]."""
    if t.warmup > 0 and progress < t.warmup:
        return t.lr * max(progress / t.warmup, 0.01)
    rest = (progress - t.warmup) / max(1.0 - t.warmup, 1e-9)
    return t.lr * 0.5 * (1.0 + math.cos(math.pi * min(max(rest, 0.0), 1.0)))
