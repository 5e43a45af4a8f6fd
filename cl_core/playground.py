"""The Loss Playground: toy embeddings on the circle or sphere, and what the losses of cl_core.losses make of them.

No training and no network: ``n`` images, two views each, as unit vectors in 2-D or 3-D. For one anchor we
read off each candidate's softmax weight, the InfoNCE loss and its gradient (autograd through the very
``losses.info_nce`` the trainer uses), the margin loss of every pair, and the same for the copied-example
bug (``positive="self"``, ``mask_self=False``: each embedding's target is itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cl_core import losses
from cl_core.config import ConfigError

MAX_N = 16
VIEW_NOISE = 1.0  # std of the view noise around an image's point at closeness 0


@dataclass
class Toy:
    """The playground's settings: ``n`` images x 2 views = 2n unit vectors of dimension ``dim``."""

    n: int = 6
    dim: int = 2  # 2: the unit circle, 3: the unit sphere
    seed: int = 0
    closeness: float = 0.8  # 0..1: 1 puts both views of an image on the same point
    spread: float = 1.0  # 0..1: 0 clusters all images at one point, 1 scatters them over the circle/sphere
    anchor: int = 0  # 0..2n-1: the view-1 embeddings first, then view 2 (the order of losses.info_nce)
    temperature: float = 0.5
    margin: float = 1.0

    def validate(self) -> Toy:
        """Raise ConfigError naming the first bad field and its allowed range; return self."""
        checks = [
            ("n", 2 <= self.n <= MAX_N, f"must be an integer from 2 to {MAX_N}"),
            ("dim", self.dim in (2, 3), "must be 2 (circle) or 3 (sphere)"),
            ("seed", 0 <= self.seed < 2**32, "must be an integer from 0 to 2^32 - 1"),
            ("closeness", 0 <= self.closeness <= 1, "must be between 0 and 1"),
            ("spread", 0 <= self.spread <= 1, "must be between 0 and 1"),
            ("anchor", 0 <= self.anchor < 2 * self.n, f"must be an embedding index from 0 to {2 * self.n - 1}"),
            ("temperature", 0.001 <= self.temperature <= 10, "must be between 0.001 and 10"),
            ("margin", 0 < self.margin <= 4, "must be above 0 and at most 4"),
        ]
        for name, ok, message in checks:
            if not ok:
                raise ConfigError(f"playground.{name}", message)
        return self


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def toy_embeddings(toy: Toy) -> tuple[np.ndarray, np.ndarray]:
    """The two views' unit vectors, (n, dim) each, float64; the same for the same seed, n and dim.

    Image i sits at ``unit((1 - spread) h + spread s_i)`` for a common point h and a random point s_i;
    each view adds Gaussian noise of std ``(1 - closeness) * VIEW_NOISE`` and is normalised back.
    """
    rng = np.random.default_rng(toy.seed)
    home = _unit(rng.normal(size=toy.dim))
    scatter = _unit(rng.normal(size=(toy.n, toy.dim)))
    noise = rng.normal(size=(2, toy.n, toy.dim))
    centres = _unit((1 - toy.spread) * home + toy.spread * scatter)
    z1, z2 = _unit(centres + (1 - toy.closeness) * VIEW_NOISE * noise)
    return z1, z2


@dataclass
class AnchorView:
    """One anchor under InfoNCE (or the copied bug). Embeddings are indexed 0..2N-1 as [view 1; view 2]."""

    anchor: int
    positive: int  # the anchor's other view (the bug's target is the anchor itself)
    weights: np.ndarray  # (2N,) the anchor's softmax over its candidates; 0 where masked
    loss: float  # the anchor's loss
    batch_loss: float  # mean over the 2N anchors: what the trainer logs
    grad: np.ndarray  # (2N, D) gradient of the anchor's loss with respect to each embedding
    chance: float  # the loss when all embeddings are equal: ln(2N - 1), the bug's ln(2N)
    top_negative_share: float  # the largest negative's share of the weight on negatives
    effective_negatives: float  # exp(entropy) of those shares: 1 (one negative) .. 2N - 2 (all alike)


def anchor_view(z1: np.ndarray, z2: np.ndarray, anchor: int, temperature: float, bug: bool = False) -> AnchorView:
    """Weights, losses and gradients of ``losses.info_nce`` for one anchor. z1, z2: (N, D).

    With ``bug`` the loss is the copied example's: ``positive="self", mask_self=False``.
    """
    n = len(z1)
    kw = {"positive": "self", "mask_self": False} if bug else {}
    t1, t2 = (torch.tensor(z, dtype=torch.float64, requires_grad=True) for z in (z1, z2))
    per_anchor = losses.info_nce(t1, t2, temperature, reduction="none", **kw)  # (2N,)
    per_anchor[anchor].backward()
    with torch.no_grad():
        z = F.normalize(torch.cat([t1, t2]), dim=1)  # (2N, D)
        logits = z @ z[anchor] / temperature  # (2N,)
        if not bug:
            logits[anchor] = -math.inf
        weights = logits.softmax(0).numpy()
    positive = (anchor + n) % (2 * n)
    neg = np.delete(weights, [anchor, positive])
    share = neg / neg.sum() if neg.sum() > 0 else np.full(len(neg), 1 / len(neg))
    entropy = -(share * np.log(np.where(share > 0, share, 1))).sum()
    return AnchorView(
        anchor=anchor,
        positive=positive,
        weights=weights,
        loss=per_anchor[anchor].item(),
        batch_loss=per_anchor.mean().item(),
        grad=torch.cat([t1.grad, t2.grad]).numpy(),
        chance=math.log(2 * n if bug else 2 * n - 1),
        top_negative_share=float(share.max()),
        effective_negatives=float(math.exp(entropy)),
    )


@dataclass
class MarginView:
    """The margin loss of the N x N pairs (view 1 of image i, view 2 of image j), positive iff i == j."""

    distance: np.ndarray  # (N*N,) Euclidean distance of each pair
    is_positive: np.ndarray  # (N*N,) bool
    pair_loss: np.ndarray  # (N*N,) each pair's loss, by losses.contrastive_loss
    loss: float  # the mean over pairs


def margin_view(z1: np.ndarray, z2: np.ndarray, margin: float) -> MarginView:
    """``losses.contrastive_loss`` on every cross-view pair, one pair at a time and all together. z1, z2: (N, D)."""
    n = len(z1)
    a = torch.from_numpy(z1).repeat_interleave(n, 0)  # (N*N, D): pair k = (i, j) with k = i * N + j
    b = torch.from_numpy(z2).repeat(n, 1)
    y = torch.eye(n, dtype=torch.bool).flatten()
    pair_loss = [losses.contrastive_loss(a[k : k + 1], b[k : k + 1], y[k : k + 1], margin) for k in range(n * n)]
    return MarginView(
        distance=(a - b).norm(dim=1).numpy(),
        is_positive=y.numpy(),
        pair_loss=torch.stack(pair_loss).numpy(),
        loss=losses.contrastive_loss(a, b, y, margin).item(),
    )


def margin_curve(distance: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The margin loss as a function of distance d: positive pairs d^2, negative pairs max(0, m - d)^2."""
    d = np.asarray(distance, dtype=float)
    return d**2, np.maximum(margin - d, 0) ** 2
