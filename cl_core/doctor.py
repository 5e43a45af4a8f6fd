"""Diagnose any run: embeddings from the user's own model, or a loss value alone, read the way the app reads them.

``read_loss`` says what a printed loss means from numbers alone (the loss, the batch size, the temperature, the
method): its chance level ln C, its temperature floor, and the known degenerate values, e.g. the copied
example's ln(2N). ``diagnose`` takes two views' embeddings (torch or NumPy) and returns the metrics and the
same verdict the app shows for a run's probe batch. Neither needs training, a run directory or Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cl_core.config import MethodConfig  # torch-free: the CLI imports this module before torch

CONTRASTIVE = ("simclr", "moco", "swav")  # the methods whose loss has a chance level
NO_CHANCE = ("contrastive", "byol", "simsiam", "barlow", "vicreg")
DEFAULT_TEMPERATURE = MethodConfig.temperature  # used where a caller gives none, as a run's config would
EXACT = 1e-3  # a loss within this of a degenerate value (and closer than a quarter of the gap) is that value


@dataclass
class LossReading:
    """What a loss value means. kind: not_finite | impossible | exactly_degenerate | above_chance | at_chance |
    learning | near_floor | no_chance_level. ``reasons`` say what is seen, ``causes`` what to check."""

    kind: str
    loss: float
    chance: float | None = None
    floor: float | None = None  # positives aligned, negatives orthogonal: ln(1 + K e^(-1/T))
    minimum: float | None = None  # a lower bound no value of this loss (mean over anchors) can go below
    progress: float | None = None  # 0 at chance, 1 at the floor
    reasons: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [*self.reasons, *(f"Check: {c}" for c in self.causes)]
        return "\n".join(lines)


def _check_method(method: str) -> None:
    if method not in CONTRASTIVE + NO_CHANCE:
        raise ValueError(f"method: unknown {method!r}; known: {', '.join(CONTRASTIVE + NO_CHANCE)}")


def _negatives(method: str, batch_size: int, queue_size: int) -> int:
    """Negatives each anchor is compared with: SimCLR's 2N - 2 other views, MoCo's queue (or N - 1 in-batch keys)."""
    if method == "moco":
        return queue_size if queue_size > 0 else batch_size - 1
    return 2 * batch_size - 2


def _degenerate_values(method: str, n: int, queue_size: int, x: float) -> list[tuple[float, str, list[str]]]:
    """(value, reason, causes) of the losses an encoder gives when its embeddings are all alike; ``x`` is the
    loss being read, quoted in the reason."""
    constant = (
        "the encoder's output is constant or zero (a ReLU at the end of the head that is always off, or a model "
        "that never updates: optimizer.step() missing, or the encoder's parameters not given to the optimizer)"
    )
    if method == "moco":
        c = queue_size + 1 if queue_size > 0 else n
        reason = f"The loss {x:.6g} is ln {c}, the chance level: every embedding is the same (or zero)."
        return [(math.log(c), reason, [constant])]
    if method != "simclr":
        return []
    return [
        (
            math.log(2 * n - 1),
            f"The loss {x:.6g} is ln(2N - 1) = ln {2 * n - 1}, the chance level: every embedding is the same "
            "(or zero), no candidate is preferred.",
            [constant, "the learning rate is too small to move off chance in this many steps"],
        ),
        (
            math.log(2 * n),
            f"The loss {x:.6g} is ln(2N) = ln {2 * n}: all 2N candidates equally likely, the anchor itself among them.",
            [
                "the copied-example bug: the positive is the anchor itself (labels pointing at the diagonal) or "
                "the anchor's own similarity is not masked out, so the loss counts 2N candidates, not 2N - 1",
                "embeddings that are all the same or all zero: with 2N candidates their loss is exactly ln(2N)",
                "the last batch may be smaller than the batch size: N is the number of images in it",
            ],
        ),
        (
            math.log(n),
            f"The loss {x:.6g} is ln N = ln {n}: N candidates equally likely, as when only the other view's "
            "images are compared.",
            ["a loss over cross-view logits only (N x N, CLIP-style) with identical or zero embeddings"],
        ),
    ]


def read_loss(
    loss: float,
    batch_size: int,
    method: str = "simclr",
    temperature: float | None = None,
    queue_size: int = 0,
    prototypes: int = 0,
    mask_self: bool = True,
) -> LossReading:
    """What ``loss`` means for a batch of ``batch_size`` images (N; 2N views) under ``method``'s loss.

    SimCLR (NT-Xent): chance ln(2N - 1); floor ln(1 + (2N - 2) e^(-1/T)) with positives aligned and negatives
    orthogonal; minimum ln(1 + (2N - 2) e^(-(1 + 1/(N - 1))/T)): by Jensen's inequality the mean loss is at least
    ln(1 + (2N - 2) e^((c - 1)/T)) for c the mean negative cosine, and |sum of the 2N unit vectors|^2 >= 0 keeps
    c >= -1/(N - 1) (the N images at the corners of a simplex reach it). MoCo: chance ln(K + 1) with K queued
    negatives (ln N in-batch); its queue may sit opposite a batch, so its minimum is ln(1 + K e^(-2/T)).
    SwAV: ln(prototypes). Others have no chance level: their loss alone cannot say collapsed (diagnose the
    embeddings instead).
    """
    from cl_core import metrics

    _check_method(method)
    if batch_size < 2:
        raise ValueError(f"batch_size: {batch_size} is too small; a contrastive batch has at least 2 images")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature: {temperature} must be > 0")
    loss = float(loss)
    if not math.isfinite(loss):
        return LossReading(
            "not_finite",
            loss,
            reasons=[f"The loss is {loss}: training diverged or a division by zero crept in."],
            causes=[
                "lower the learning rate",
                "normalise the embeddings before the dot product (F.normalize)",
                "a temperature far below 0.05 overflows exp() in half precision",
            ],
        )
    chance = metrics.chance_level(method, batch_size, queue_size, prototypes, mask_self)
    if chance is None:
        return LossReading(
            "no_chance_level",
            loss,
            reasons=[
                f"A {method} loss has no chance level: an encoder that maps every image to one point can score "
                "well on it, so the value alone cannot say whether the run is healthy or collapsed."
            ],
            causes=["the embeddings' per-dimension std and effective rank (cl_core.diagnose)"],
        )
    r = LossReading("learning", loss, chance)
    if method in ("simclr", "moco") and temperature is not None:
        k = _negatives(method, batch_size, queue_size)
        r.floor = math.log1p(k * math.exp(-1.0 / temperature))
        spread = 1.0 + 1.0 / (batch_size - 1) if method == "simclr" else 2.0
        r.minimum = math.log1p(k * math.exp(-spread / temperature))
    values = _degenerate_values(method, batch_size, queue_size, loss)
    gaps = [abs(a - b) for i, (a, _, _) in enumerate(values) for b, _, _ in values[i + 1 :]]
    tol = min([EXACT, *(g / 4 for g in gaps)])
    for value, reason, causes in values:
        if abs(loss - value) < tol:
            r.kind, r.causes, r.reasons = "exactly_degenerate", causes, [reason]
            if abs(value - chance) >= tol:
                r.reasons.append(f"This loss's own chance level is ln C = {chance:.4f}, so the value is not chance.")
            return r
    if r.minimum is not None and loss < r.minimum - 1e-6:
        r.kind = "impossible"
        r.reasons = [
            f"The loss {loss:.4f} is below the least value this loss can take at N = {batch_size}, "
            f"T = {temperature:g} ({r.minimum:.4f}): it is not the loss as described."
        ]
        r.causes = [
            "the copied-example bug (positive = the anchor itself): its loss falls below what this loss can reach, "
            "since every other view, the positive too, is pushed away",
            "the temperature and the batch size given here",
            "a sum where a mean was meant (`reduction`)",
            "a loss computed over one view's anchors only, or with a different temperature",
        ]
        return r
    low = (1 - metrics.STUCK_TOL) * chance
    if loss > chance / (1 - metrics.STUCK_TOL):
        r.kind = "above_chance"
        r.reasons = [
            f"The loss {loss:.4f} is above the chance level ln C = {chance:.4f}: the positives score worse "
            "than a random candidate would."
        ]
        r.causes = [
            "the positive is the wrong index (the anchor itself, or views paired with other images)",
            "the first steps of a run from random weights can sit slightly above chance",
        ]
        return r
    if loss > low:
        r.kind = "at_chance"
        r.reasons = [
            f"The loss {loss:.4f} is at the chance level ln C = {chance:.4f}: no candidate is preferred, "
            "the encoder is untrained or collapsed."
        ]
        r.causes = [
            "that the optimizer steps and the gradients reach the encoder",
            "a higher learning rate or more steps",
            "the embeddings' std and rank (cl_core.diagnose)",
        ]
        return r
    if r.floor is not None:
        r.progress = (chance - loss) / (chance - r.floor) if chance > r.floor else None
        if loss <= r.floor * 1.02 + 1e-6:
            r.kind = "near_floor"
            r.reasons = [
                f"The loss {loss:.4f} is at or below the temperature floor {r.floor:.4f} (T = {temperature:g}): "
                f"positives are aligned and negatives pushed to orthogonal or beyond; no lower than {r.minimum:.4f}."
            ]
            r.causes = [
                "a lower temperature lowers the floor; a loss that cannot fall further says nothing "
                "more about the features: read kNN accuracy instead"
            ]
            return r
    if r.progress is not None:
        r.reasons = [
            f"The loss {loss:.4f} is below the chance level ln C = {chance:.4f}, {r.progress:.0%} of the way from "
            f"chance to the floor {r.floor:.4f}: the encoder tells an image's other view from the other images."
        ]
    else:
        r.reasons = [
            f"The loss {loss:.4f} is below the chance level ln C = {chance:.4f}: the encoder tells an image's "
            "other view from the other images."
        ]
    return r


@dataclass
class Diagnosis:
    """metrics: the app's diagnostics of the probe batch (std, effective rank, alignment, uniformity, contrast
    statistics, ...); verdict and reasons: as on the app's Diagnostics page; loss: the reading of a given loss."""

    metrics: dict[str, float]
    verdict: str
    reasons: list[str]
    loss: LossReading | None = None

    def text(self) -> str:
        out = [f"verdict: {self.verdict}", *self.reasons]
        if self.loss is not None:
            out += ["", f"loss: {self.loss.kind}", self.loss.text()]
        return "\n".join(out)


def _tensor(x: Any, name: str):
    import torch

    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().float().cpu()
    if t.ndim != 2 or t.shape[0] < 2 or t.shape[1] < 1:
        raise ValueError(f"{name}: expected an (N, D) array with N >= 2 rows, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        bad = int((~torch.isfinite(t)).any(1).sum())
        raise ValueError(f"{name}: {bad} of {len(t)} rows hold NaN or Inf (the model diverged?)")
    return t


def loo_knn(z, labels: np.ndarray, k: int = 20, temperature: float = 0.1) -> float:
    """Leave-one-out weighted kNN top-1 of rows z (N, D) against each other: how well classes separate."""
    import torch
    import torch.nn.functional as F

    n = F.normalize(z, dim=1)
    sim = n @ n.T
    sim.fill_diagonal_(-math.inf)
    y = torch.as_tensor(np.asarray(labels)).long()
    s, idx = sim.topk(min(k, len(z) - 1), dim=1)
    votes = s.new_zeros(len(z), int(y.max()) + 1).scatter_add_(1, y[idx], (s / temperature).exp())
    return (votes.argmax(1) == y).float().mean().item()


def diagnose(
    z1: Any,
    z2: Any = None,
    *,
    features: Any = None,
    labels: Any = None,
    loss: float | None = None,
    batch_size: int | None = None,
    temperature: float | None = None,
    method: str = "simclr",
    queue_size: int = 0,
    prototypes: int = 0,
) -> Diagnosis:
    """The app's diagnosis of your own embeddings: z1, z2 (N, D) are two views' embeddings of the same N images
    (torch or NumPy; z2 may be left out). ``features`` (N, F) adds the backbone's effective rank, ``labels``
    (N,) a leave-one-out kNN accuracy, ``loss`` (with ``batch_size``, default N) a reading of the loss.
    """
    from cl_core import metrics
    from cl_core.methods import METHODS

    _check_method(method)
    a = _tensor(z1, "z1")
    b = _tensor(z2, "z2") if z2 is not None else None
    if b is not None and b.shape != a.shape:
        raise ValueError(f"z2: shape {tuple(b.shape)} does not match z1's {tuple(a.shape)} (the same images, twice)")
    t = temperature if temperature is not None else DEFAULT_TEMPERATURE
    if b is not None:
        diag = metrics.cheap_diagnostics(a, b, t)
    else:  # one view: no positives; the similarity statistics of different images stay meaningful
        one = metrics.cheap_diagnostics(a, a, t)
        diag = {k: v for k, v in one.items() if not k.startswith(("pos_", "contrast_", "top_neg")) and k != "alignment"}
    if features is not None:
        f = _tensor(features, "features")
        if len(f) != len(a):
            raise ValueError(f"features: {len(f)} rows, but z1 has {len(a)}")
        diag["effective_rank_features"] = metrics.effective_rank(f)
    if labels is not None:
        y = np.asarray(labels).reshape(-1)
        if len(y) != len(a):
            raise ValueError(f"labels: {len(y)} labels, but z1 has {len(a)} rows")
        diag["knn_loo"] = loo_knn(a, np.unique(y, return_inverse=True)[1])  # any labels: ints, names
    n = batch_size or len(a)
    reading = read_loss(loss, n, method, temperature, queue_size, prototypes) if loss is not None else None
    chance = metrics.chance_level(method, n, queue_size, prototypes)
    uses_t = b is not None and METHODS[method].USES_TEMPERATURE  # as evaluation.verdict; needs the positives
    v = metrics.diagnose(diag, dim=a.shape[1], loss=loss, chance=chance, temperature=t, uses_temperature=uses_t)
    return Diagnosis(diag, v.kind, v.reasons, reading)
