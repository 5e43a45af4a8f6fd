"""Self-supervised losses as pure functions of tensors, one per formula.

Shapes: ``N`` (or ``B``) is the batch, ``D`` the embedding size, ``K`` a queue length or a number of
prototypes. Nothing here holds state; queues, prototypes and momentum encoders belong to the methods.
The optional ``all_reduce`` hooks take a function that sums a tensor over processes (with gradient where
the loss needs one, e.g. ``torch.distributed.nn.functional.all_reduce``), so that every process computes
the loss of the global batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

AllReduce = Callable[[Tensor], Tensor]


def _reduce(x: Tensor, all_reduce: AllReduce | None) -> Tensor:
    return x if all_reduce is None else all_reduce(x)


def info_nce(
    z1: Tensor,
    z2: Tensor,
    temperature: float = 0.5,
    mask_self: bool = True,
    positive: str = "other",
    *,
    z1_all: Tensor | None = None,
    z2_all: Tensor | None = None,
    offset: int = 0,
    reduction: str = "mean",
) -> Tensor:
    """NT-Xent loss of SimCLR over the 2N embeddings of N positive pairs (https://arxiv.org/abs/2002.05709).

    Each of the 2N anchors has its other view as positive (row i of z1 <-> row i of z2) and the other
    2N - 2 embeddings as negatives, with cosine similarity over ``temperature``; mean over anchors.
    All embeddings equal gives ln(2N - 1).

    Args:
        z1, z2: (N, D) the two views' embeddings; normalised here.
        temperature: divides the cosine similarities.
        mask_self: exclude each anchor's similarity with itself (always 1) from the softmax.
        positive: "other" (correct) or "self", the bug of the widely copied example that concatenates
            both views and uses ``labels = arange(2N)``: each anchor's target is itself. Needs
            ``mask_self=False``; all embeddings equal then give ln(2N).
        z1_all, z2_all: (M, D) optional global batches gathered from all processes (with gradient) to
            use as candidates; the anchors stay the local 2N, whose rows sit at ``offset:offset + N``.
            The mean of the per-process losses then equals the loss of the global batch.
        reduction: "mean", or "none" for each anchor's loss (view-1 anchors first, then view 2).
    Returns:
        () the mean loss over the local 2N anchors, or (2N,) with ``reduction="none"``.
    """
    if positive not in ("other", "self"):
        raise ValueError(f"positive must be 'other' or 'self', got {positive!r}")
    if mask_self and positive == "self":
        raise ValueError(
            "positive='self' targets the anchor itself, so its entry cannot be masked: pass mask_self=False"
        )
    if (z1_all is None) != (z2_all is None):
        raise ValueError("pass both z1_all and z2_all, or neither")
    if z1_all is None:
        z1_all, z2_all, offset = z1, z2, 0
    n, m = z1.shape[0], z1_all.shape[0]
    anchors = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
    candidates = F.normalize(torch.cat([z1_all, z2_all]), dim=1)  # (2M, D)
    logits = anchors @ candidates.T / temperature  # (2N, 2M)
    local = torch.arange(offset, offset + n, device=z1.device)
    self_idx = torch.cat([local, local + m])  # (2N,) column of each anchor itself
    other_idx = torch.cat([local + m, local])  # (2N,) column of its other view
    if mask_self:
        mask = torch.zeros_like(logits, dtype=torch.bool)
        mask[torch.arange(2 * n, device=z1.device), self_idx] = True
        logits = logits.masked_fill(mask, float("-inf"))
    return F.cross_entropy(logits, self_idx if positive == "self" else other_idx, reduction=reduction)


def contrastive_loss(z1: Tensor, z2: Tensor, is_positive: Tensor, margin: float = 1.0) -> Tensor:
    """Pairwise margin loss of Hadsell, Chopra & LeCun 2006: pull positives together, push negatives past a margin.

    Paper: http://yann.lecun.com/exdb/publis/pdf/hadsell-chopra-lecun-06.pdf. Per pair,
    ``y d^2 + (1 - y) max(0, margin - d)^2`` with d the Euclidean distance between z1[i] and z2[i]
    as given (no normalisation). The positive term uses d^2 directly; the hinge keeps zero distances out
    of the square root, so an identical pair costs exactly margin^2 with a zero (not NaN) gradient.

    Args:
        z1, z2: (N, D) the embeddings of each pair.
        is_positive: (N,) bool or 0/1 float, 1 where the pair is similar.
        margin: distance beyond which a negative pair costs nothing.
    Returns:
        () the mean over pairs.
    """
    d2 = (z1 - z2).pow(2).sum(dim=-1)  # (N,)
    nonzero = d2 > 0
    d = torch.where(nonzero, torch.where(nonzero, d2, 1.0).sqrt(), 0.0)  # sqrt'(0) is infinite: keep 0 off it
    y = is_positive.to(d2.dtype)
    return (y * d2 + (1 - y) * F.relu(margin - d).pow(2)).mean()


def moco_info_nce(q: Tensor, k: Tensor, queue: Tensor | None, temperature: float = 0.2) -> Tensor:
    """InfoNCE of MoCo: each query against its key and a queue of past keys (https://arxiv.org/abs/1911.05722).

    Logits ``[q_i . k_i, q_i . queue^T] / temperature`` with the positive at index 0, cross-entropy,
    mean over N (MoCo v2, https://arxiv.org/abs/2003.04297, uses temperature 0.2). With no queue
    (None or K = 0) the other keys of the batch are the negatives: logits ``q k^T / temperature``
    with target i, as in MoCo v3. The caller decides whether k carries gradient (detach it outside).

    Args:
        q: (N, D) queries; normalised here.
        k: (N, D) keys of the other view; normalised here.
        queue: (K, D) stored normalised keys, used as given, or None.
        temperature: divides the dot products.
    Returns:
        () the mean loss over queries.
    """
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    if queue is None or queue.shape[0] == 0:
        logits = q @ k.T / temperature  # (N, N)
        return F.cross_entropy(logits, torch.arange(q.shape[0], device=q.device))
    pos = (q * k).sum(dim=1, keepdim=True)  # (N, 1)
    logits = torch.cat([pos, q @ queue.T], dim=1) / temperature  # (N, 1 + K)
    return F.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


def negative_cosine(p: Tensor, z: Tensor) -> Tensor:
    """BYOL's regression loss ``2 - 2 cos(p, z)``, mean over the batch (https://arxiv.org/abs/2006.07733).

    Equals the squared distance of the normalised vectors. SimSiam's ``-cos(p, z)`` is the same up to
    the affine map ``(loss - 2) / 2``, so it gives the same gradients up to a factor of 2. z is used as
    given: detach it outside for the stop-gradient (leave it attached to watch the collapse).

    Args:
        p: (N, D) predictions.
        z: (N, D) targets.
    Returns:
        () in [0, 4].
    """
    return 2 - 2 * F.cosine_similarity(p, z, dim=-1).mean()


def _logsumexp_over_samples(log_q: Tensor, all_reduce: AllReduce | None, world_size: int) -> Tensor:
    """(K, B) -> (K, 1) log of each prototype's total mass over the (global) batch."""
    shift = log_q.amax(dim=1, keepdim=True)
    if all_reduce is not None:
        # Every process must subtract the same shift: the mean of the per-process maxima.
        shift = all_reduce(shift) / world_size
    return shift + _reduce((log_q - shift).exp().sum(dim=1, keepdim=True), all_reduce).log()


@torch.no_grad()
def sinkhorn(
    scores: Tensor,
    epsilon: float = 0.05,
    iterations: int = 3,
    *,
    all_reduce: AllReduce | None = None,
    world_size: int = 1,
) -> Tensor:
    """Sinkhorn-Knopp codes of SwAV: soft assignments that spread the batch evenly over prototypes.

    Paper: https://arxiv.org/abs/2006.09882 (Algorithm 1 and its code). ``Q = exp(scores / epsilon)^T``,
    then ``iterations`` rounds of: give each prototype equal mass (rows), give each sample equal mass
    (columns); returned as codes whose rows sum to 1 and whose columns sum to about B / K.
    Computed in the log domain, so scores / epsilon beyond float range are safe; the paper's constant
    factors (1/K, 1/B, the global sum) cancel there. With ``iterations=0`` there is no equipartition:
    the codes are ``softmax(scores / epsilon)`` per sample.

    Args:
        scores: (B, K) sample-prototype scores, usually cosine similarities.
        epsilon: entropy regularisation; smaller gives harder codes.
        iterations: rounds of row and column normalisation.
        all_reduce: sums a tensor over processes; when given, the prototype masses are over the global
            batch of ``B * world_size`` samples. Each process passes its own (B, K) scores. The shift
            that keeps exp in range is then the mean of the processes' maxima: exact, and overflow-free
            unless their maxima of scores / epsilon differ by ~80 (never for cosine scores).
        world_size: number of processes.
    Returns:
        (B, K) codes, rows summing to 1.
    """
    log_q = scores.to(torch.promote_types(scores.dtype, torch.float32)).T / epsilon  # (K, B)
    for _ in range(iterations):
        log_q = log_q - _logsumexp_over_samples(log_q, all_reduce, world_size)  # prototypes: equal mass
        log_q = log_q.log_softmax(dim=0)  # samples: equal mass
    # A no-op after the loop; with iterations=0 it is the per-sample softmax.
    return log_q.softmax(dim=0).T


def _swapped_prediction(codes: Tensor, scores: Tensor, temperature: float) -> Tensor:
    """H(codes, softmax(scores / T)) = -mean_b sum_k codes_bk log p_bk."""
    return -(codes * F.log_softmax(scores / temperature, dim=1)).sum(dim=1).mean()


def swav_loss(
    scores1: Tensor, scores2: Tensor, temperature: float = 0.1, epsilon: float = 0.05, iterations: int = 3
) -> Tensor:
    """SwAV's swapped prediction: each view's codes are predicted from the other's scores.

    Paper: https://arxiv.org/abs/2006.09882. Codes ``q = sinkhorn(scores)`` carry no gradient;
    loss = 1/2 [H(q1, softmax(scores2 / T)) + H(q2, softmax(scores1 / T))].

    Args:
        scores1, scores2: (B, K) prototype scores of the two views.
        temperature: of the predicted distribution.
        epsilon, iterations: of :func:`sinkhorn`.
    Returns:
        () the loss.
    """
    q1 = sinkhorn(scores1.detach(), epsilon, iterations)
    q2 = sinkhorn(scores2.detach(), epsilon, iterations)
    return (_swapped_prediction(q1, scores2, temperature) + _swapped_prediction(q2, scores1, temperature)) / 2


def swav_multicrop_loss(
    scores: list[Tensor],
    n_large: int = 2,
    temperature: float = 0.1,
    epsilon: float = 0.05,
    iterations: int = 3,
    codes: list[Tensor] | None = None,
) -> Tensor:
    """SwAV with multi-crop: the codes of each large crop are predicted by every other crop.

    Paper: https://arxiv.org/abs/2006.09882. Averaged over all (code, prediction) pairs; with two
    crops this is :func:`swav_loss`.

    Args:
        scores: list of (B, K) prototype scores, the ``n_large`` large crops first.
        n_large: number of crops whose codes are targets.
        temperature: of the predicted distributions.
        epsilon, iterations: of :func:`sinkhorn`, when the codes are computed here.
        codes: optional list of ``n_large`` (B, K) precomputed codes (e.g. with a queue by the caller).
    Returns:
        () the loss.
    """
    if not 1 <= n_large <= len(scores) or len(scores) < 2:
        raise ValueError(f"need at least 2 crops and 1 <= n_large <= {len(scores)}, got n_large={n_large}")
    if codes is None:
        codes = [sinkhorn(s.detach(), epsilon, iterations) for s in scores[:n_large]]
    if len(codes) != n_large:
        raise ValueError(f"expected {n_large} codes, got {len(codes)}")
    terms = [
        _swapped_prediction(codes[i], scores[j], temperature)
        for i in range(n_large)
        for j in range(len(scores))
        if j != i
    ]
    return torch.stack(terms).mean()


def barlow_twins_loss(
    z1: Tensor,
    z2: Tensor,
    lambda_offdiag: float = 5e-3,
    *,
    all_reduce: AllReduce | None = None,
    world_size: int = 1,
) -> Tensor:
    """Barlow Twins: drive the cross-correlation of the two views to the identity (https://arxiv.org/abs/2103.03230).

    Algorithm 1: standardise each dimension over the batch (unbiased std), ``c = z1n^T z2n / N``,
    loss = sum_i (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2. Because of the unbiased std, perfectly
    decorrelated identical views give c_ii = (N - 1) / N, so the floor is D / N^2, not 0.

    Args:
        z1, z2: (N, D) the two views' embeddings.
        lambda_offdiag: weight of the redundancy-reduction term.
        all_reduce: sums a tensor over processes, with gradient; when given, the statistics and c are
            over the global batch of ``N * world_size`` and every process gets the global loss.
        world_size: number of processes.
    Returns:
        () the loss.
    """
    n = z1.shape[0] * world_size

    def standardise(z: Tensor) -> Tensor:
        mean = _reduce(z.sum(dim=0), all_reduce) / n
        var = _reduce((z - mean).pow(2).sum(dim=0), all_reduce) / (n - 1)
        return (z - mean) / var.sqrt()

    c = _reduce(standardise(z1).T @ standardise(z2), all_reduce) / n  # (D, D)
    diag = c.diagonal()
    return (1 - diag).pow(2).sum() + lambda_offdiag * (c.pow(2).sum() - diag.pow(2).sum())


def vicreg_terms(z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """VICReg's unweighted (invariance, variance, covariance) terms (https://arxiv.org/abs/2105.04906).

    Algorithm 1: invariance = mse(z1, z2); variance = sum over branches of mean(relu(1 - std)) / 2 with
    std = sqrt(var + 1e-4) per dimension (unbiased); covariance = sum over branches of the squared
    off-diagonal entries of the covariance matrix (divided by N - 1), over D.

    Args:
        z1, z2: (N, D) the two views' embeddings.
    Returns:
        three () tensors.
    """
    n, d = z1.shape
    variance = z1.new_zeros(())
    covariance = z1.new_zeros(())
    for z in (z1, z2):
        variance = variance + F.relu(1 - (z.var(dim=0) + 1e-4).sqrt()).mean() / 2
        z = z - z.mean(dim=0)
        cov = z.T @ z / (n - 1)  # (D, D)
        covariance = covariance + (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d
    return F.mse_loss(z1, z2), variance, covariance


def vicreg_loss(
    z1: Tensor, z2: Tensor, sim_weight: float = 25.0, var_weight: float = 25.0, cov_weight: float = 1.0
) -> Tensor:
    """VICReg: weighted sum of invariance, variance and covariance terms (https://arxiv.org/abs/2105.04906).

    Args:
        z1, z2: (N, D) the two views' embeddings.
        sim_weight, var_weight, cov_weight: weights of the terms of :func:`vicreg_terms`.
    Returns:
        () the loss.
    """
    invariance, variance, covariance = vicreg_terms(z1, z2)
    return sim_weight * invariance + var_weight * variance + cov_weight * covariance
