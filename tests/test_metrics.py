"""Diagnostics against analytic values, slow loop references and constructed embeddings."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cl_core import losses, metrics


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def clusters(n_per: int, n_classes: int, dim: int, noise: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    centres = torch.randn(n_classes, dim, generator=gen(seed)) * 5
    labels = torch.arange(n_classes).repeat_interleave(n_per)
    return centres[labels] + noise * torch.randn(len(labels), dim, generator=gen(seed + 1)), labels


def knn_reference(train, train_labels, test, test_labels, k, t):
    """One query at a time, straight from the InstDisc description."""
    train, test = F.normalize(train, dim=1), F.normalize(test, dim=1)
    correct = 0
    for q, y in zip(test, test_labels):
        sims = [(float(q @ x), int(c)) for x, c in zip(train, train_labels)]
        votes: dict[int, float] = {}
        for s, c in sorted(sims, reverse=True)[:k]:
            votes[c] = votes.get(c, 0.0) + math.exp(s / t)
        correct += max(votes, key=votes.get) == int(y)
    return correct / len(test)


def test_knn_is_perfect_on_separated_clusters():
    train, ytr = clusters(30, 4, 16, 0.1)
    test, yte = clusters(10, 4, 16, 0.1, seed=0)
    assert metrics.knn_top1(train, ytr, test, yte) == 1.0


def test_knn_is_near_chance_on_random_labels():
    x = torch.randn(1000, 32, generator=gen())
    y = torch.randint(0, 4, (1000,), generator=gen(1))
    # measured over seeds 0-4 (gen(s), gen(s + 1)), threads 1 and 2: |kNN - 0.25| 0.008-0.028; 0.08 leaves >0.05
    assert abs(metrics.knn_top1(x[:600], y[:600], x[600:], y[600:]) - 0.25) < 0.08


def test_knn_matches_slow_reference_for_any_chunk():
    x = torch.randn(60, 8, generator=gen())
    y = torch.randint(0, 3, (60,), generator=gen(1))
    ref = knn_reference(x[:40], y[:40], x[40:], y[40:], k=5, t=0.1)
    for chunk in (1, 7, 1024):
        assert metrics.knn_top1(x[:40], y[:40], x[40:], y[40:], k=5, chunk=chunk) == pytest.approx(ref)


def test_knn_with_k_larger_than_memory_uses_all_rows():
    x, y = clusters(2, 2, 4, 0.01)
    assert metrics.knn_top1(x, y, x, y, k=20) == 1.0


def test_linear_probe_separates_clusters_and_is_chance_on_noise():
    x, y = clusters(40, 3, 8, 0.5)
    assert metrics.linear_probe(x, y, x, y) == 1.0
    noise = torch.randn(400, 8, generator=gen(2))
    labels = torch.randint(0, 2, (400,), generator=gen(3))
    # measured over seeds 0-4 (gen(s + 2), gen(s + 3)), threads 1 and 2: |accuracy - 0.5| 0.005-0.08 (0.08 on
    # this seed; the binomial std on 200 is 0.035); 0.15 leaves >0.07 and still fails a probe that learns noise
    assert abs(metrics.linear_probe(noise[:200], labels[:200], noise[200:], labels[200:]) - 0.5) < 0.15


def test_alignment_is_zero_for_identical_and_four_for_antipodal_pairs():
    z = torch.randn(16, 8, generator=gen())
    assert metrics.alignment(z, 3 * z) == pytest.approx(0.0, abs=1e-6)
    assert metrics.alignment(z, -z) == pytest.approx(4.0, abs=1e-5)


def test_uniformity_of_two_antipodal_points_is_minus_eight_and_of_one_point_zero():
    e = torch.eye(3)[:1]
    assert metrics.uniformity(torch.cat([e, -e])) == pytest.approx(-8.0, abs=1e-5)
    assert metrics.uniformity(torch.ones(5, 3)) == pytest.approx(0.0, abs=1e-6)


def test_uniformity_matches_pairwise_loop():
    z = F.normalize(torch.randn(7, 3, generator=gen()), dim=1)
    terms = [math.exp(-2 * float((z[i] - z[j]).pow(2).sum())) for i in range(7) for j in range(i + 1, 7)]
    assert metrics.uniformity(z) == pytest.approx(math.log(sum(terms) / len(terms)), rel=1e-5)


def test_effective_rank_of_identity_is_d_and_of_rank_one_is_one():
    assert metrics.effective_rank(torch.eye(16)) == pytest.approx(16.0, rel=1e-3)
    rank1 = torch.randn(50, 1, generator=gen()) @ torch.randn(1, 16, generator=gen(1))
    assert metrics.effective_rank(rank1) == pytest.approx(1.0, abs=1e-3)


def test_singular_values_are_descending():
    s = metrics.singular_values(torch.randn(20, 6, generator=gen()))
    assert s.shape == (6,) and torch.all(s[:-1] >= s[1:])


def test_std_is_zero_for_identical_rows_and_near_inverse_sqrt_d_for_gaussian():
    assert metrics.embedding_std(torch.ones(10, 32)) == pytest.approx(0.0, abs=1e-7)
    # measured over seeds 0-4, threads 1 and 2: relative error 5e-5 to 1e-4; rel=0.03 leaves >0.029
    assert metrics.embedding_std(torch.randn(4000, 64, generator=gen())) == pytest.approx(1 / 8, rel=0.03)


def loop_pairs(z1, z2, t):
    """Per-anchor positive / negative cosines and softmax over the 2M-1 others, by loops."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n, m = len(z), len(z1)
    pos, neg, acc, ent = [], [], 0, 0.0
    for i in range(n):
        j_pos = (i + m) % n
        others = [j for j in range(n) if j != i]
        logits = torch.tensor([float(z[i] @ z[j]) / t for j in others])
        p = logits.softmax(0)
        ent += float(-(p * p.log()).sum())
        s_pos = float(z[i] @ z[j_pos])
        negs = [float(z[i] @ z[j]) for j in others if j != j_pos]
        pos.append(s_pos)
        neg += negs
        acc += s_pos / t > max(negs) / t
    return torch.tensor(pos), torch.tensor(neg), acc / n, ent / n


def test_similarity_stats_match_loops():
    z1, z2 = torch.randn(5, 4, generator=gen()), torch.randn(5, 4, generator=gen(1))
    pos, neg, _, _ = loop_pairs(z1, z2, 1.0)
    s = metrics.similarity_stats(z1, z2)
    assert s["pos_sim_mean"] == pytest.approx(pos.mean().item(), abs=1e-5)
    assert s["pos_sim_std"] == pytest.approx(pos.std().item(), abs=1e-5)
    assert s["neg_sim_mean"] == pytest.approx(neg.mean().item(), abs=1e-5)
    assert s["neg_sim_std"] == pytest.approx(neg.std().item(), abs=1e-5)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 6), d=st.integers(2, 6), t=st.floats(0.05, 2.0), seed=st.integers(0, 1000))
def test_contrast_stats_match_loops(m, d, t, seed):
    z1, z2 = torch.randn(m, d, generator=gen(seed)), torch.randn(m, d, generator=gen(seed + 1))
    _, _, acc, ent = loop_pairs(z1, z2, t)
    s = metrics.contrast_stats(z1, z2, t)
    assert s["contrast_acc"] == pytest.approx(acc)
    assert s["contrast_entropy"] == pytest.approx(ent, abs=1e-4)
    assert 1 / (2 * m - 2) - 1e-6 <= s["top_neg_share"] <= 1 + 1e-6


def test_contrast_stats_of_identical_embeddings_are_chance():
    z = torch.ones(8, 4)
    s = metrics.contrast_stats(z, z, 0.5)
    assert s["contrast_acc"] == 0.0  # ties do not count as a win
    assert s["contrast_entropy"] == pytest.approx(math.log(15), rel=1e-5)
    assert s["top_neg_share"] == pytest.approx(1 / 14, rel=1e-5)


def test_chance_levels():
    assert metrics.chance_level("simclr", 128) == pytest.approx(math.log(255))
    assert metrics.chance_level("moco", 128, queue_size=4096) == pytest.approx(math.log(4097))
    assert metrics.chance_level("moco", 128) == pytest.approx(math.log(128))
    assert metrics.chance_level("swav", 128, prototypes=300) == pytest.approx(math.log(300))
    for name in ("contrastive", "byol", "simsiam", "barlow", "vicreg"):
        assert metrics.chance_level(name, 128) is None
    with pytest.raises(ValueError):
        metrics.chance_level("nope", 8)


def test_chance_level_equals_info_nce_of_identical_embeddings():
    z = torch.ones(16, 8)
    assert losses.info_nce(z, z).item() == pytest.approx(metrics.chance_level("simclr", 16), rel=1e-5)
    # An anchor that may pick itself has 2N candidates, not 2N - 1.
    unmasked = losses.info_nce(z, z, mask_self=False).item()
    assert unmasked == pytest.approx(metrics.chance_level("simclr", 16, mask_self=False), rel=1e-5)
    assert unmasked == pytest.approx(math.log(32), rel=1e-5)


def test_temperature_floor_equals_info_nce_on_aligned_orthogonal_batch():
    z = torch.eye(8, dtype=torch.float64)  # N = 8 pairs: positives identical, every other embedding orthogonal
    for t in (0.1, 0.5, 1.0):
        assert metrics.temperature_floor(8, t) == pytest.approx(losses.info_nce(z, z, temperature=t).item(), rel=1e-5)


def test_normalised_loss():
    assert metrics.normalised_loss(2.0, 4.0) == 0.5
    assert metrics.normalised_loss(2.0, None) is None


def test_cheap_diagnostics_keys_and_ranges():
    z1 = torch.randn(32, 16, generator=gen())
    d = metrics.cheap_diagnostics(z1, z1 + 0.1 * torch.randn(32, 16, generator=gen(1)), 0.2)
    keys = {"std", "std_healthy", "effective_rank", "alignment", "uniformity", "pos_sim_mean", "neg_sim_mean",
            "pos_sim_std", "neg_sim_std", "contrast_acc", "contrast_entropy", "top_neg_share", "n"}  # fmt: skip
    assert keys == set(d) and all(isinstance(v, float) for v in d.values())
    assert d["std_healthy"] == 0.25 and d["n"] == 32 and 1 <= d["effective_rank"] <= 16


def test_what_if_loss_is_info_nce_and_weights_are_sorted_shares():
    z1, z2 = torch.randn(6, 4, generator=gen()), torch.randn(6, 4, generator=gen(1))
    w = metrics.what_if(z1, z2, 0.3, 1.0)
    assert w["loss"] == pytest.approx(losses.info_nce(z1, z2, temperature=0.3).item(), rel=1e-6)
    weights = w["negative_weights"]
    assert weights.shape == (10,) and weights.sum() == pytest.approx(1.0, rel=1e-5)
    assert all(weights[:-1] >= weights[1:])
    assert w["contrast_acc"] == metrics.contrast_stats(z1, z2, 0.3)["contrast_acc"]


def test_what_if_margin_loss_and_inside_share_match_loops():
    z1, z2 = torch.randn(5, 3, generator=gen()), torch.randn(5, 3, generator=gen(1))
    n1, n2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    margin, terms, inside = 1.2, [], []
    for i in range(5):
        for j in range(5):
            d = float((n1[i] - n2[j]).norm())
            terms.append(d**2 if i == j else max(0.0, margin - d) ** 2)
            if i != j:
                inside.append(d < margin)
    w = metrics.what_if(z1, z2, 0.5, margin)
    assert w["margin_loss"] == pytest.approx(sum(terms) / 25, rel=1e-5)
    assert w["inside_margin"] == pytest.approx(sum(inside) / 20)
    assert metrics._all_pairs_margin_loss(n1, n2, margin, rows=2) == pytest.approx(sum(terms) / 25, rel=1e-5)
    assert metrics.what_if(z1, z2, 0.5, 2.01)["inside_margin"] == 1.0  # unit vectors: no negative leaves m >= 2


def test_lower_temperature_concentrates_the_push_on_the_hardest_negative():
    z1, z2 = torch.randn(16, 8, generator=gen()), torch.randn(16, 8, generator=gen(1))
    shares = [metrics.what_if(z1, z2, t, 1.0)["negative_weights"][0] for t in (1.0, 0.3, 0.05)]
    assert shares[0] < shares[1] < shares[2]  # seeds 0-4, threads 1 and 2: each step up by >= 0.10


# ----- diagnose on constructed embeddings -----

M, D = 64, 32


def healthy_pair(seed: int = 0, noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random directions; each positive is its anchor plus a little noise."""
    z1 = F.normalize(torch.randn(M, D, generator=gen(seed)), dim=1)
    return z1, z1 + noise * torch.randn(M, D, generator=gen(seed + 1)) / math.sqrt(D)


def verdict(z1, z2, t=0.2, **kw) -> metrics.Verdict:
    return metrics.diagnose(metrics.cheap_diagnostics(z1, z2, t), dim=z1.shape[1], temperature=t, **kw)


def test_diagnose_healthy():
    v = verdict(*healthy_pair())
    assert v.kind == "healthy" and v.reasons


def test_diagnose_complete_collapse_wins_over_stuck_at_chance():
    z = torch.ones(M, D) + 1e-4 * torch.randn(M, D, generator=gen())
    chance = metrics.chance_level("simclr", M)
    v = verdict(z, z.clone(), loss=chance, chance=chance)
    assert v.kind == "complete_collapse"
    assert "same point" in v.reasons[0] and v.reasons[-1].startswith("Try:")


def test_diagnose_stuck_at_chance():
    chance = metrics.chance_level("simclr", 256)
    assert verdict(*healthy_pair(), loss=chance * 1.01, chance=chance).kind == "stuck_at_chance"
    assert verdict(*healthy_pair(), loss=chance * 1.1, chance=chance).kind == "stuck_at_chance"  # above: also stuck
    assert verdict(*healthy_pair(), loss=chance * 0.9, chance=chance).kind == "healthy"


def test_diagnose_a_point_plus_isotropic_noise_is_complete_collapse_though_its_rank_exceeds_the_floor():
    # what a randomly initialised network does: every image at cos ~0.997 to every other
    z1 = F.normalize(torch.ones(32, 64) + 0.05 * torch.randn(32, 64, generator=gen()), dim=1)
    d = metrics.cheap_diagnostics(z1, z1, 0.2)
    # measured over seeds 0-4, threads 1 and 2: rank 3.24-3.34 (above the 1.5 floor), mean negative cosine
    # 0.9974-0.9976; bounds 3.0 and 0.99 leave >0.24 and >0.007
    assert d["effective_rank"] > 3.0 and d["neg_sim_mean"] > 0.99
    assert metrics.diagnose(d, dim=64).kind == "complete_collapse"


def test_diagnose_dimensional_collapse_on_a_rank_two_subspace():
    basis = torch.randn(2, 64, generator=gen())
    z1 = torch.randn(128, 2, generator=gen(1)) @ basis
    v = verdict(z1, z1 + 0.01 * torch.randn(128, 64, generator=gen(2)))
    assert v.kind == "dimensional_collapse" and "of a possible 64" in v.reasons[0]


def test_diagnose_a_circle_in_a_huge_space_is_dimensional_not_complete_collapse():
    basis = torch.eye(1024)[:2]  # axis-aligned: the mean per-dimension std is then tiny
    angles = torch.linspace(0, 2 * math.pi, 65)[:-1, None]
    z1 = torch.cat([angles.cos(), angles.sin()], 1) @ basis
    d = metrics.cheap_diagnostics(z1, z1, 0.2)
    assert d["std"] < 0.1 * d["std_healthy"]
    assert metrics.diagnose(d, dim=1024).kind == "dimensional_collapse"


def test_diagnose_temperature_too_low_when_one_negative_takes_the_push():
    # pairs of near-duplicate images (same class): at T = 0.02 each anchor's twin takes almost all the push
    base = F.normalize(torch.randn(M // 2, D, generator=gen()), dim=1).repeat_interleave(2, 0)
    z1 = base + 0.3 * torch.randn(M, D, generator=gen(1)) / math.sqrt(D)
    z2 = z1 + 0.05 * torch.randn(M, D, generator=gen(2)) / math.sqrt(D)
    assert verdict(z1, z2, t=0.02).kind == "temperature_too_low"
    assert verdict(z1, z2, t=0.02, uses_temperature=False).kind == "healthy"
    assert verdict(z1, z2, t=0.2).kind == "healthy"


def test_diagnose_temperature_too_high_when_positives_overlap_negatives():
    z1, z2 = healthy_pair(noise=8.0)  # positives barely more similar than negatives
    assert verdict(z1, z2, t=1.0).kind == "temperature_too_high"
    assert verdict(*healthy_pair(), t=1.0).kind == "healthy"
