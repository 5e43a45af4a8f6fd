"""The claim grammar: comparisons of numbers measured on a lesson's runs, e.g. ``knn_top1[a] > knn_top1[b]``.

A claim is parsed with :mod:`ast` and only a tiny subset is accepted (numbers, ``+ - * /``, parentheses,
``metric[run]`` and ``< <= > >=``); it is evaluated by walking that tree, never with ``eval``.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass, field

# Names a claim may use: the numeric fields of summary.json, the last logged value of per-step method logs,
# colour_knn (derived in measures: kNN of the probe images' background hue from their backbone features) and
# loss_floor (the loss's temperature floor for the run's batch size and temperature, as doctor.read_loss gives it).
SUMMARY_METRICS = (
    "knn_top1", "linear_probe", "std", "std_healthy", "effective_rank", "effective_rank_features", "alignment",
    "uniformity", "pos_sim_mean", "pos_sim_std", "neg_sim_mean", "neg_sim_std", "contrast_acc", "contrast_entropy",
    "top_neg_share", "final_loss", "chance_level", "views_per_second", "steps", "epochs", "seconds", "batch_size",
)  # fmt: skip
LOG_METRICS = ("prototypes_used", "pos_dist", "neg_dist", "simsiam_loss", "invariance", "variance", "covariance")
METRICS = (*SUMMARY_METRICS, *LOG_METRICS, "colour_knn", "loss_floor")
MAX_CLAIM = 300
_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_SYMBOLS = {ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥"}


class ClaimError(ValueError):
    """A claim outside the grammar, or naming an unknown metric or run."""


@dataclass(frozen=True)
class ClaimResult:
    """held: True / False, or None when a number is missing (a failed run, no labels)."""

    claim: str
    held: bool | None
    text: str  # the claim with its numbers, e.g. "knn_top1[a] = 0.41 > knn_top1[b] = 0.30"
    values: dict[str, float] = field(default_factory=dict)  # "metric[run]" -> value


def parse_claim(claim: str) -> ast.Compare:
    """Parse a claim; only comparisons (< <= > >=) of terms built from numbers, + - * / and metric[run]."""
    if not isinstance(claim, str) or len(claim) > MAX_CLAIM:
        raise ClaimError(f"a claim is a string of at most {MAX_CLAIM} characters")
    try:
        tree = ast.parse(claim.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError) as e:
        raise ClaimError(f"not a valid claim {claim!r}: {getattr(e, 'msg', e)}") from None
    if not isinstance(tree, ast.Compare) or not all(type(op) in _OPS for op in tree.ops):
        raise ClaimError(f"a claim must compare two terms with <, <=, > or >=: {claim!r}")
    for term in (tree.left, *tree.comparators):
        _check_term(term, claim)
    return tree


def _check_term(node: ast.expr, claim: str) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check_term(node.left, claim)
        _check_term(node.right, claim)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_term(node.operand, claim)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        pass
    elif not (
        isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and isinstance(node.slice, ast.Name)
    ):
        raise ClaimError(f"only numbers, + - * / and metric[run] are allowed; {ast.unparse(node)!r} in {claim!r}")


def claim_refs(claim: str) -> list[tuple[str, str]]:
    """The (metric, run) pairs a claim reads, in order."""
    return [(n.value.id, n.slice.id) for n in _refs(parse_claim(claim))]


def check_claim(claim: str, runs: list[str]) -> None:
    """Raise ClaimError unless the claim parses and names known metrics and the lesson's runs."""
    for metric, run in claim_refs(claim):
        if metric not in METRICS:
            raise ClaimError(f"unknown metric {metric!r} in {claim!r}; known: {', '.join(METRICS)}")
        if run not in runs:
            raise ClaimError(f"unknown run {run!r} in {claim!r}; this lesson's runs: {', '.join(runs)}")


def _value(node: ast.expr, values: dict[str, dict[str, float]]) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.UnaryOp):
        return -_value(node.operand, values)
    if isinstance(node, ast.Subscript):
        v = values.get(node.slice.id, {}).get(node.value.id)
        if v is None or not math.isfinite(v):
            raise LookupError(ast.unparse(node))
        return float(v)
    return _BINOPS[type(node.op)](_value(node.left, values), _value(node.right, values))


def _refs(node: ast.expr) -> list[ast.Subscript]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Subscript)]


def evaluate_claim(claim: str, values: dict[str, dict[str, float]]) -> ClaimResult:
    """Check a claim against ``values[run][metric]``."""
    tree = parse_claim(claim)
    terms = [tree.left, *tree.comparators]
    try:
        nums = [_value(t, values) for t in terms]
    except LookupError as e:
        return ClaimResult(claim, None, f"{claim}: cannot be checked, {e.args[0]} is missing")
    except ZeroDivisionError:
        return ClaimResult(claim, None, f"{claim}: cannot be checked, division by zero")
    held = all(_OPS[type(op)](a, b) for op, a, b in zip(tree.ops, nums, nums[1:]))
    refs = {ast.unparse(n): _value(n, values) for t in terms for n in _refs(t)}
    parts = [f"{ast.unparse(t)} = {n:.4g}" if _refs(t) else f"{n:.4g}" for t, n in zip(terms, nums)]
    text = parts[0] + "".join(f" {_SYMBOLS[type(op)]} {p}" for op, p in zip(tree.ops, parts[1:]))
    inner = [f"{k} = {v:.4g}" for k, v in refs.items() if not any(p.startswith(f"{k} =") for p in parts)]
    return ClaimResult(claim, held, text + (f" ({', '.join(inner)})" if inner else ""), refs)
