"""Representation diagnostics: pure functions of tensors, torch in, Python floats out.

kNN and linear probe score backbone features; the rest read the projections the loss sees.
Alignment / uniformity: Wang & Isola 2020, https://arxiv.org/abs/2005.10242.
Effective rank: RankMe, Garrido et al. 2022, https://arxiv.org/abs/2210.02885.
Relative penalty on negatives: Wang & Liu 2021, https://arxiv.org/abs/2012.09740.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from cl_core import losses

EPS = 1e-7


@torch.no_grad()
def knn_top1(
    train_feats: Tensor,
    train_labels: Tensor,
    test_feats: Tensor,
    test_labels: Tensor,
    k: int = 20,
    temperature: float = 0.1,
    chunk: int = 1024,
) -> float:
    """Weighted k-NN top-1 accuracy (InstDisc / solo-learn): votes exp(cos/T) of the k nearest train rows.

    Args: train_feats (N, F), train_labels (N,), test_feats (Q, F), test_labels (Q,).
    """
    train, test = F.normalize(train_feats.float(), dim=1), F.normalize(test_feats.float(), dim=1)
    n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    k = min(k, len(train))
    correct = 0
    for start in range(0, len(test), chunk):
        sim, idx = (test[start : start + chunk] @ train.T).topk(k, dim=1)  # (q, k)
        votes = sim.new_zeros(len(sim), n_classes).scatter_add_(1, train_labels[idx].long(), (sim / temperature).exp())
        correct += (votes.argmax(1) == test_labels[start : start + chunk]).sum().item()
    return correct / len(test)


def linear_probe(
    train_feats: Tensor, train_labels: Tensor, test_feats: Tensor, test_labels: Tensor, max_iter: int = 1000
) -> float:
    """Test accuracy of logistic regression on standardised features. Args as knn_top1.

    Fitted on one BLAS / OpenMP thread: on 5,000 x 128 features two threads took 10x as long on a 2-core machine
    (2.6 s against 0.26 s, ``benchmarks/final_scores.py``), the threads' overhead outweighing the arithmetic.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    with threadpool_limits(1):
        clf.fit(train_feats.detach().float().cpu().numpy(), train_labels.cpu().numpy())
        return float(clf.score(test_feats.detach().float().cpu().numpy(), test_labels.cpu().numpy()))


@torch.no_grad()
def alignment(z1: Tensor, z2: Tensor) -> float:
    """E ||z - z+||^2 over positive pairs (alpha=2); 0 aligned, 4 antipodal. z1, z2: (N, D)."""
    return (F.normalize(z1.float(), dim=1) - F.normalize(z2.float(), dim=1)).pow(2).sum(1).mean().item()


@torch.no_grad()
def uniformity(z: Tensor) -> float:
    """log E exp(-2 ||z_i - z_j||^2) over distinct pairs (t=2); -4 is the limit on the sphere. z: (N, D)."""
    return torch.pdist(F.normalize(z.float(), dim=1)).pow(2).mul(-2).exp().mean().log().item()


@torch.no_grad()
def singular_values(z: Tensor) -> Tensor:
    """Singular values of the (uncentred) embedding matrix, descending. z: (N, D) -> (min(N, D),)."""
    return torch.linalg.svdvals(z.float())


@torch.no_grad()
def effective_rank(z: Tensor) -> float:
    """RankMe: exp(entropy of s / sum(s)), between 1 (rank one) and min(N, D). z: (N, D)."""
    p = singular_values(z)
    p = p / p.sum().clamp_min(EPS) + EPS
    return math.exp(-(p * p.log()).sum().item())


@torch.no_grad()
def embedding_std(z: Tensor) -> float:
    """Mean per-dimension std of L2-normalised rows: ~1/sqrt(D) when spread, 0 when collapsed. z: (N, D)."""
    return F.normalize(z.float(), dim=1).std(dim=0).mean().item()


def _pair_logits(z1: Tensor, z2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Cosine matrix of [z1; z2] (2M, 2M), index of each row's positive (2M,), and the self mask (2M, 2M)."""
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    m = len(z1)
    pos = torch.arange(2 * m, device=z.device).roll(m)  # view-1 row i pairs with view-2 row i
    return z @ z.T, pos, torch.eye(2 * m, dtype=torch.bool, device=z.device)


@torch.no_grad()
def similarity_stats(z1: Tensor, z2: Tensor) -> dict[str, float]:
    """Mean / std of cosine similarity of positive pairs (other view) and of negatives. z1, z2: (M, D)."""
    sim, pos, self_mask = _pair_logits(z1, z2)
    pos_mask = torch.zeros_like(self_mask)
    pos_mask[torch.arange(len(pos), device=pos.device), pos] = True
    p, n = sim[pos_mask], sim[~(pos_mask | self_mask)]
    return {
        "pos_sim_mean": p.mean().item(),
        "pos_sim_std": p.std().item(),
        "neg_sim_mean": n.mean().item(),
        "neg_sim_std": n.std().item(),
    }


def _softmax_stats(z1: Tensor, z2: Tensor, temperature: float) -> tuple[dict[str, float], Tensor]:
    """contrast_acc, contrast_entropy, top_neg_share and the relative penalties (2M, 2M-2), hardest first."""
    sim, pos, self_mask = _pair_logits(z1, z2)
    rows = torch.arange(len(pos), device=pos.device)
    logits = (sim / temperature).masked_fill(self_mask, -math.inf)  # 2M-1 candidates per anchor
    pos_logit = logits[rows, pos]
    neg_logits = logits.clone()
    neg_logits[rows, pos] = -math.inf
    logp = logits.log_softmax(1)
    entropy = -(logp.exp() * logp.masked_fill(self_mask, 0)).sum(1)
    keep = ~self_mask
    keep[rows, pos] = False
    neg_weights = neg_logits[keep].view(len(pos), -1).softmax(1).sort(1, descending=True).values  # (2M, 2M-2)
    stats = {
        "contrast_acc": (pos_logit > neg_logits.max(1).values).float().mean().item(),  # ties count as misses
        "contrast_entropy": entropy.mean().item(),
        "top_neg_share": neg_weights[:, 0].mean().item(),
    }
    return stats, neg_weights


@torch.no_grad()
def contrast_stats(z1: Tensor, z2: Tensor, temperature: float) -> dict[str, float]:
    """How well each of the 2M anchors picks its positive among the 2M-1 others. z1, z2: (M, D).

    contrast_acc: share of anchors whose positive strictly has the top logit; contrast_entropy: mean
    entropy of the softmax over candidates (max ln(2M-1)); top_neg_share: mean share of the
    hardest negative in the push on negatives (Wang & Liu's relative penalty; 1/(2M-2) when even).
    """
    return _softmax_stats(z1, z2, temperature)[0]


def chance_level(
    method: str, batch_size: int, queue_size: int = 0, prototypes: int = 0, mask_self: bool = True
) -> float | None:
    """ln C: the loss of an encoder that cannot tell images apart, or None where the loss has no chance level.

    C is the number of candidates each anchor's softmax picks its positive from: SimCLR's 2N - 1 other views
    (2N when ``mask_self`` is off and an anchor may pick itself), MoCo's queue + 1 (the batch's N keys without
    a queue), SwAV's prototypes. The one definition: every ``Method.chance_level`` calls it.
    """
    if method == "simclr":
        return math.log(2 * batch_size - (1 if mask_self else 0))
    if method == "moco":
        return math.log(queue_size + 1 if queue_size > 0 else batch_size)
    if method == "swav":
        return math.log(prototypes) if prototypes > 0 else None
    if method in ("contrastive", "byol", "simsiam", "barlow", "vicreg"):
        return None
    raise ValueError(f"unknown method {method!r}")


def temperature_floor(batch_size: int, temperature: float) -> float:
    """NT-Xent with positives aligned (cos 1) and all 2N-2 negatives orthogonal (cos 0): ln(1 + (2N-2) e^(-1/T))."""
    return math.log1p((2 * batch_size - 2) * math.exp(-1.0 / temperature))


def normalised_loss(loss: float, chance: float | None) -> float | None:
    """loss / ln C: 1 at chance, near 0 when solved; None without a chance level."""
    return None if not chance else loss / chance


@torch.no_grad()
def cheap_diagnostics(z1: Tensor, z2: Tensor, temperature: float) -> dict[str, float]:
    """Everything the live panel shows, from the projections of two views of the probe batch. z1, z2: (M, D).

    std and effective_rank are measured on z1 (M rows); n = M, so the rank can reach at most min(M, D).
    """
    m, d = z1.shape
    out = {
        "std": embedding_std(z1),
        "std_healthy": 1 / math.sqrt(d),
        "effective_rank": effective_rank(z1),
        "alignment": alignment(z1, z2),
        "uniformity": (uniformity(z1) + uniformity(z2)) / 2,  # per view, as Wang & Isola's training code
        "n": float(m),
    }
    return out | similarity_stats(z1, z2) | contrast_stats(z1, z2, temperature)


@torch.no_grad()
def what_if(z1: Tensor, z2: Tensor, temperature: float, margin: float) -> dict:
    """Recompute the losses of a frozen probe batch for any temperature and margin. z1, z2: (M, D).

    Returns loss (NT-Xent), negative_weights (2M-2,) mean relative penalty per negative, hardest first,
    contrast_acc, contrast_entropy, top_neg_share, margin_loss (Hadsell et al. on all M x M pairs,
    positives on the diagonal) and inside_margin (share of negative pairs closer than the margin).
    """
    stats, weights = _softmax_stats(z1, z2, temperature)
    n1, n2 = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    negatives = ~torch.eye(len(z1), dtype=torch.bool, device=z1.device)  # pairs (i, j), i != j
    return {
        "loss": losses.info_nce(z1.float(), z2.float(), temperature=temperature).item(),
        "negative_weights": weights.mean(0).cpu().numpy(),
        **stats,
        "margin_loss": _all_pairs_margin_loss(n1, n2, margin),
        "inside_margin": (torch.cdist(n1, n2)[negatives] < margin).float().mean().item(),
    }


def _all_pairs_margin_loss(n1: Tensor, n2: Tensor, margin: float, rows: int = 64) -> float:
    """losses.contrastive_loss over all M x M pairs (n1[i], n2[j]), positive iff i == j; `rows` anchors at a time."""
    m, total = len(n1), 0.0
    cols = torch.arange(m, device=n1.device)
    for s in range(0, m, rows):
        a = n1[s : s + rows]  # (r, D) -> r * M pairs
        is_pos = (cols[s : s + rows, None] == cols[None]).flatten()
        total += losses.contrastive_loss(a.repeat_interleave(m, 0), n2.repeat(len(a), 1), is_pos, margin).item() * len(
            a
        )
    return total / m


@dataclass
class Verdict:
    """kind: healthy | complete_collapse | dimensional_collapse | stuck_at_chance | temperature_too_low |
    temperature_too_high; reasons: plain-language sentences saying what is seen and what to try."""

    kind: str
    reasons: list[str] = field(default_factory=list)


# Thresholds of diagnose(); see its docstring for the reasoning.
COMPLETE_STD = 0.1  # share of the healthy std 1/sqrt(D)
COMPLETE_RANK = 1.5
COMPLETE_COS = 0.9  # mean cosine of different images
STUCK_TOL = 0.02  # stuck while loss > (1 - STUCK_TOL) ln C
DIMENSIONAL_RANK = 0.2  # share of min(M, D)
LOW_T, LOW_T_SHARE = 0.1, 0.5
HIGH_T = 0.5


def diagnose(
    diag: dict[str, float],
    dim: int,
    loss: float | None = None,
    chance: float | None = None,
    temperature: float | None = None,
    uses_temperature: bool = True,
) -> Verdict:
    """Name the most serious problem visible in cheap_diagnostics() output, in priority order.

    complete_collapse: std < 10% of 1/sqrt(D), and either effective rank < 1.5 or different images at
      mean cosine > 0.9 (that mean is ~||E z||^2 = 1 - total variance: all rows in a small cap). A point
      plus isotropic noise has an uncentred rank of 2-6, not 1, hence the cosine clause. std alone is not
      enough: a circle in the first 2 axes of D = 1024 has 4% of the healthy std but is dimensional collapse.
    stuck_at_chance: the recent mean loss not yet 2% below ln C (early on it can sit above it).
    dimensional_collapse: effective rank < 20% of min(M, D). An isotropic embedding of the same shape
      scores 0.8-0.97 of it; short healthy SimCLR runs on digits (M = 32, D = 64) scored 0.26-0.35 while
      learning, since class structure alone keeps the rank low; below 0.2 four fifths of the directions
      the batch could span carry (almost) nothing.
    temperature_too_low / _too_high: see _temperature_verdict.
    """
    d_max = min(dim, int(diag.get("n", dim)))
    std, healthy, rank = diag["std"], diag.get("std_healthy", 1 / math.sqrt(dim)), diag["effective_rank"]
    if std < COMPLETE_STD * healthy and (rank < COMPLETE_RANK or diag.get("neg_sim_mean", 0.0) > COMPLETE_COS):
        return _verdict(
            "complete_collapse",
            f"Per-dimension std {std:.3g} is {std / healthy:.0%} of the healthy {healthy:.3g} and the effective "
            f"rank is {rank:.1f}: every image maps to nearly the same point.",
            "Try: turn the predictor / stop-gradient back on, lower the learning rate, or use negatives.",
        )
    if loss is not None and chance and loss > (1 - STUCK_TOL) * chance:
        return _verdict(
            "stuck_at_chance",
            f"The loss {loss:.3f} is not below the chance level ln C = {chance:.3f}: the encoder cannot yet tell "
            "an image's other view from the other images.",
            "Try: train longer, raise the learning rate, or weaken the augmentations.",
        )
    if rank < DIMENSIONAL_RANK * d_max:
        return _verdict(
            "dimensional_collapse",
            f"Effective rank {rank:.1f} of a possible {d_max}: the embeddings fill only a few directions.",
            "Try: a larger batch or more negatives, weaker augmentations, a higher temperature, or a "
            "decorrelating loss (Barlow Twins, VICReg).",
        )
    verdict = _temperature_verdict(diag, temperature) if uses_temperature and temperature is not None else None
    if verdict is not None:
        return verdict
    if "pos_sim_mean" not in diag:  # one view only (cl_core.diagnose): no positives to compare with
        return _verdict(
            "healthy",
            f"Per-dimension std {std:.3g} ({std / healthy:.0%} of healthy), effective rank {rank:.1f} of {d_max}, "
            f"different images at cos {diag['neg_sim_mean']:.2f}.",
        )
    return _verdict(
        "healthy",
        f"Per-dimension std {std:.3g} ({std / healthy:.0%} of healthy), effective rank {rank:.1f} of {d_max}, "
        f"positives at cos {diag['pos_sim_mean']:.2f} vs negatives at {diag['neg_sim_mean']:.2f}.",
    )


def _temperature_verdict(diag: dict[str, float], t: float) -> Verdict | None:
    """too low: T < 0.1 and the hardest negative takes > 50% of the push on negatives on average (Wang & Liu:
    small T concentrates the penalty on the hardest negatives, often same-class images);
    too high: T > 0.5 and the positive and negative cosine bands (mean +- std) overlap."""
    share = diag.get("top_neg_share")
    if t < LOW_T and share is not None and share > LOW_T_SHARE:
        return _verdict(
            "temperature_too_low",
            f"At T = {t:g} the single hardest negative takes {share:.0%} of the push on average: "
            "the loss is dominated by a few negatives, often images of the same class.",
            "Try: raise the temperature towards 0.1-0.5.",
        )
    pos, neg = (diag["pos_sim_mean"], diag["pos_sim_std"]), (diag["neg_sim_mean"], diag["neg_sim_std"])
    if t > HIGH_T and pos[0] - pos[1] < neg[0] + neg[1]:
        return _verdict(
            "temperature_too_high",
            f"At T = {t:g} the logits span only ±{1 / t:.1f}: positives (cos {pos[0]:.2f} ± {pos[1]:.2f}) "
            f"overlap negatives (cos {neg[0]:.2f} ± {neg[1]:.2f}) and every negative is pushed alike.",
            "Try: lower the temperature towards 0.1-0.5.",
        )
    return None


def _verdict(kind: str, *reasons: str) -> Verdict:
    return Verdict(kind, list(reasons))
