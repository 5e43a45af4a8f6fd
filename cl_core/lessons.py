"""Lessons: guided classroom experiments written as data (``lessons/*.toml``, format in lessons/README.md).

A lesson asks a question, names the runs that answer it, the figures to look at, and claims over the
runs' results in a tiny checked grammar, e.g. ``knn_top1[jitter_on] > knn_top1[jitter_off]``.
``run_lesson`` trains the runs, checks the claims and writes a self-contained HTML report; the app's
Lessons page launches the same runs as jobs and shows the same verdicts.
"""

from __future__ import annotations

import ast
import math
import operator
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cl_core.config import Config, ConfigError
from cl_core.runs import Run, load_run

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
LANGS = ("en", "zh")
MODES = ("full", "fast", "test")  # budget keys: steps, fast_steps, test_steps
# Names a claim may use: the numeric fields of summary.json, the last logged value of per-step method logs,
# and colour_knn (derived here: kNN of the probe images' background hue from their backbone features).
SUMMARY_METRICS = (
    "knn_top1", "linear_probe", "std", "std_healthy", "effective_rank", "effective_rank_features", "alignment",
    "uniformity", "pos_sim_mean", "pos_sim_std", "neg_sim_mean", "neg_sim_std", "contrast_acc", "contrast_entropy",
    "top_neg_share", "final_loss", "chance_level", "views_per_second", "steps", "epochs", "seconds", "batch_size",
)  # fmt: skip
LOG_METRICS = ("prototypes_used", "pos_dist", "neg_dist", "simsiam_loss", "invariance", "variance", "covariance")
METRICS = (*SUMMARY_METRICS, *LOG_METRICS, "colour_knn")
PER_RUN_FIGURES = (
    "projection",
    "projection_colour",
    "similarity_hist",
    "distance_hist",
    "similarity_matrix",
    "rank_std",
    "spectrum",
)
FIGURES = ("loss", "knn", "align_uniform", *PER_RUN_FIGURES)  # plus "metric:NAME", a bar per run
MAX_CLAIM = 300
_OPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_SYMBOLS = {ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥"}


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the problem."""


class ClaimError(ValueError):
    """A claim outside the grammar, or naming an unknown metric or run."""


# ------------------------------------------------------------------------------------------------------ claims


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


@dataclass(frozen=True)
class ClaimResult:
    """held: True / False, or None when a number is missing (a failed run, no labels)."""

    claim: str
    held: bool | None
    text: str  # the claim with its numbers, e.g. "knn_top1[a] = 0.41 > knn_top1[b] = 0.30"
    values: dict[str, float] = field(default_factory=dict)  # "metric[run]" -> value


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


# ------------------------------------------------------------------------------------------------------ schema

Text = dict[str, str]  # language -> text (markdown)


@dataclass
class LessonRun:
    name: str  # an identifier, used in claims: knn_top1[name]
    method: str
    dataset: str
    label: Text
    settings: dict[str, Any]  # dotted name or method option -> value, applied with Config.set


@dataclass
class TryNext:
    label: Text
    page: str  # train | compare
    run: str | None = None  # train: start from this run's settings
    settings: dict[str, Any] = field(default_factory=dict)  # train: then change these


@dataclass
class Lesson:
    id: str  # the file name without .toml
    path: Path
    order: int
    title: Text
    question: Text
    prompt: Text
    choices: list[Text]
    expected: int | None  # the choice the runs bear out (0-based), revealed after the runs
    explanation: Text
    runs: list[LessonRun]
    steps: dict[str, int]  # mode -> training steps of every run
    settings: dict[str, Any]  # applied to every run before its own settings
    test_settings: dict[str, Any]  # then, in test mode only
    claims: list[str]
    figures: list[str]
    try_next: list[TryNext]

    def run(self, name: str) -> LessonRun:
        return next(r for r in self.runs if r.name == name)


def text(t: Text, lang: str = "en") -> str:
    """A text field in ``lang``, falling back to English."""
    return t.get(lang) or t.get("en", "")


_DEFAULT_PROMPT = {"en": "What do you expect?", "zh": "你预计会看到什么？"}
_TOP = {"title", "question", "prompt", "choices", "expected", "explanation", "order", "budget", "settings",
        "test_settings", "runs", "claims", "figures", "try_next"}  # fmt: skip


def _texts(d: dict, key: str, where: str, required: bool = True) -> Text:
    t = d.get(key)
    if t is None and not required:
        return {}
    if (
        not isinstance(t, dict)
        or set(t) - set(LANGS)
        or not all(isinstance(t.get(k), str) and t[k].strip() for k in LANGS)
    ):
        raise LessonError(f"{where}{key}: expected a table with non-empty text for each of {', '.join(LANGS)}")
    return t


def _table(d: dict, key: str, where: str) -> dict[str, Any]:
    t = d.get(key, {})
    if not isinstance(t, dict) or any(isinstance(v, dict | list) for v in t.values()):
        raise LessonError(f"{where}{key}: expected a table of setting = value")
    return t


def _unknown(d: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise LessonError(f"{where}unknown key {extra[0]!r}; known: {', '.join(sorted(allowed))}")


def _int(d: dict, key: str, where: str, low: int, default: int | None = None) -> int:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise LessonError(f"{where}{key}: expected an integer >= {low}, got {v!r}")
    return v


def parse_lesson(data: dict[str, Any], path: Path) -> Lesson:
    """Build and check a lesson from parsed TOML: every field, every run's config in every mode, every claim."""
    _unknown(data, _TOP, "")
    runs = []
    for i, r in enumerate(data.get("runs") or []):
        where = f"runs[{i}]."
        if not isinstance(r, dict):
            raise LessonError(f"runs[{i}]: expected a table")
        _unknown(r, {"name", "method", "dataset", "label", "set"}, where)
        name = r.get("name")
        if not isinstance(name, str) or not name.isidentifier() or name in {x.name for x in runs}:
            raise LessonError(f"{where}name: expected a unique identifier (letters, digits, _), got {name!r}")
        label = _texts(r, "label", where, required=False) or {lang: name for lang in LANGS}
        if not isinstance(r.get("method"), str) or not isinstance(r.get("dataset", "shapes"), str):
            raise LessonError(f"{where}method and dataset: expected names")
        runs.append(LessonRun(name, r["method"], r.get("dataset", "shapes"), label, _table(r, "set", where)))
    if not runs:
        raise LessonError("runs: a lesson needs at least one [[runs]] table")
    budget = data.get("budget")
    if not isinstance(budget, dict):
        raise LessonError("budget: expected a table with steps, fast_steps and test_steps")
    _unknown(budget, {"steps", "fast_steps", "test_steps"}, "budget.")
    steps = {m: _int(budget, k, "budget.", 1) for m, k in zip(MODES, ("steps", "fast_steps", "test_steps"))}
    choices = data.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise LessonError("choices: expected a list of at least two {en, zh} tables")
    choices = [_texts({"choice": c}, "choice", f"choices[{i}].") for i, c in enumerate(choices)]
    expected = data.get("expected")
    if expected is not None and (isinstance(expected, bool) or expected not in range(len(choices))):
        raise LessonError(f"expected: the index of one of the {len(choices)} choices (from 0), got {expected!r}")
    lesson = Lesson(
        id=path.stem, path=path, order=_int(data, "order", "", 0, 100), title=_texts(data, "title", ""),
        question=_texts(data, "question", ""), prompt=_texts(data, "prompt", "", required=False) or _DEFAULT_PROMPT,
        choices=choices, expected=expected, explanation=_texts(data, "explanation", ""), runs=runs, steps=steps,
        settings=_table(data, "settings", ""), test_settings=_table(data, "test_settings", ""),
        claims=_strings(data, "claims"), figures=_strings(data, "figures"), try_next=_try_next(data, runs),
    )  # fmt: skip
    names = [r.name for r in runs]
    for claim in lesson.claims:
        try:
            check_claim(claim, names)
        except ClaimError as e:
            raise LessonError(f"claims: {e}") from None
    for fig in lesson.figures:
        kind, _, metric = fig.partition(":")
        if fig not in FIGURES and not (kind == "metric" and metric in METRICS):
            raise LessonError(f"figures: unknown figure {fig!r}; known: {', '.join(FIGURES)}, metric:NAME")
    for run in runs:
        for mode in MODES:
            try:
                lesson_config(lesson, run.name, mode)
            except ConfigError as e:
                raise LessonError(f"runs.{run.name} ({mode} mode): {e}") from None
    return lesson


def _strings(data: dict, key: str) -> list[str]:
    v = data.get(key)
    if not isinstance(v, list) or not v or not all(isinstance(s, str) for s in v):
        raise LessonError(f"{key}: expected a non-empty list of strings")
    return v


def _try_next(data: dict, runs: list[LessonRun]) -> list[TryNext]:
    out = []
    for i, t in enumerate(data.get("try_next") or []):
        where = f"try_next[{i}]."
        if not isinstance(t, dict):
            raise LessonError(f"try_next[{i}]: expected a table")
        _unknown(t, {"label", "page", "run", "set"}, where)
        if t.get("page") not in ("train", "compare"):
            raise LessonError(f"{where}page: expected 'train' or 'compare', got {t.get('page')!r}")
        run = t.get("run")
        if t["page"] == "train" and run not in [r.name for r in runs]:
            raise LessonError(f"{where}run: expected the name of one of this lesson's runs, got {run!r}")
        out.append(TryNext(_texts(t, "label", where), t["page"], run, _table(t, "set", where)))
    return out


def load_lesson(path: str | Path) -> Lesson:
    """Read and check one lesson file; LessonError (naming the file) when it cannot be used."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise LessonError(f"{path.name}: cannot read it: {e}") from None
    try:
        return parse_lesson(data, path)
    except LessonError as e:
        raise LessonError(f"{path.name}: {e}") from None
    except Exception as e:  # noqa: BLE001 - a lesson file never crashes the app; it is reported and skipped
        raise LessonError(f"{path.name}: {type(e).__name__}: {e}") from None


def load_lessons(folder: str | Path = LESSONS_DIR) -> tuple[list[Lesson], list[str]]:
    """Every usable lesson in ``folder`` (by order, then name) and one message per file that is skipped."""
    lessons, errors = [], []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            lessons.append(load_lesson(path))
        except LessonError as e:
            errors.append(str(e))
    return sorted(lessons, key=lambda x: (x.order, x.id)), errors


def find_lesson(name: str, folder: str | Path = LESSONS_DIR) -> Lesson:
    """A lesson by file name (``augmentations``), order number (``1``) or path to a .toml file."""
    if name.endswith(".toml"):
        return load_lesson(name)
    path = Path(folder) / f"{name}.toml"
    if path.is_file():
        return load_lesson(path)
    lessons, _ = load_lessons(folder)
    match = [x for x in lessons if str(x.order) == name]
    if len(match) == 1:
        return match[0]
    raise LessonError(f"no lesson {name!r}; known: {', '.join(x.id for x in lessons) or 'none'}")


def lesson_config(lesson: Lesson, run: str, mode: str = "fast") -> Config:
    """A run's validated config: preset, lesson settings, (test settings,) run settings, then the mode's steps."""
    from cl_core.presets import preset_config

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    r = lesson.run(run)
    cfg = preset_config(r.method, r.dataset)
    sets = {**lesson.settings, **(lesson.test_settings if mode == "test" else {}), **r.settings}
    for name, value in sets.items():
        cfg.set(name, value)
    cfg.train.steps, cfg.train.seconds, cfg.train.epochs = lesson.steps[mode], 0.0, 0.0
    return cfg.validate()


# ----------------------------------------------------------------------------------------------------- results


def run_values(run: Run) -> dict[str, float]:
    """The numbers a claim can read from one run: summary fields, last per-step method logs, colour_knn."""
    out = {k: float(v) for k, v in run.summary.items()
           if k in SUMMARY_METRICS and isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
    rows = [r for r in run.metrics if not r.get("snapshot")]
    for key in LOG_METRICS:
        last = [r[key] for r in rows if isinstance(r.get(key), int | float)][-3:]
        if last:
            out[key] = float(np.mean(last))
    colour = colour_knn(run)
    if colour is not None:
        out["colour_knn"] = colour
    return out


def background_hue_bins(images: np.ndarray, bins: int = 6) -> np.ndarray:
    """Hue bin of each image's top-left pixel (the shapes' background: shapes never reach the corners). (N, H, W, 3)."""
    rgb = images[:, 0, 0, :].astype(float) / 255  # (N, 3)
    mx, mn = rgb.max(1), rgb.min(1)
    d = np.where(mx > mn, mx - mn, 1.0)
    r, g, b = rgb.T
    hue = np.select([mx == r, mx == g], [((g - b) / d) % 6, (b - r) / d + 2], (r - g) / d + 4) / 6  # in [0, 1)
    return np.minimum((hue * bins).astype(np.int64), bins - 1)


@lru_cache(maxsize=8)
def _test_colours(root: str, image_size: int, seed: int) -> np.ndarray:
    from cl_core.data import load_data

    return background_hue_bins(load_data("shapes", root=root, image_size=image_size, seed=seed).test_images)


def colour_knn(run: Run) -> float | None:
    """How well the backbone features of the last snapshot tell the probe images' background colour apart.

    kNN top-1 (the summary's protocol) over 6 hue bins, half of the probe set as memory and half as
    queries; chance is about 1/6. None for data sets other than shapes or without a snapshot.
    """
    import torch

    from cl_core.metrics import knn_top1

    d = run.config.get("data", {})
    steps = run.snapshot_steps()
    if d.get("name") != "shapes" or not steps:
        return None
    snap = run.snapshot(steps[-1])
    colours = _test_colours(d.get("root", "data"), d.get("image_size", 0), run.config["train"]["seed"])
    y = torch.from_numpy(colours[snap["probe_index"]])
    x = torch.from_numpy(snap["features"])
    return knn_top1(x[::2], y[::2], x[1::2], y[1::2])


def evaluate_lesson(lesson: Lesson, runs: dict[str, Run]) -> tuple[dict[str, dict[str, float]], list[ClaimResult]]:
    """Every run's numbers and every claim's verdict."""
    values = {name: run_values(run) for name, run in runs.items()}
    return values, [evaluate_claim(c, values) for c in lesson.claims]


# ----------------------------------------------------------------------------------------------------- figures

METRIC_TITLES = {  # short: the bar charts often stand three in a row
    "knn_top1": "kNN accuracy: class",
    "colour_knn": "kNN accuracy: background colour",
    "linear_probe": "Linear probe: class",
    "std": "Spread: std per dimension",
    "effective_rank": "Effective rank",
    "uniformity": "Uniformity (lower: more even)",
    "alignment": "Alignment (lower: views closer)",
    "pos_sim_mean": "Positive pairs: mean cosine",
    "neg_sim_mean": "Negative pairs: mean cosine",
    "final_loss": "Final loss",
    "prototypes_used": "Prototypes in use",
    "pos_dist": "Positive pairs: mean distance",
    "neg_dist": "Negative pairs: mean distance",
}
COLOUR_NAMES = ("red", "yellow", "green", "cyan", "blue", "magenta")  # the 6 hue bins of background_hue_bins


def _still(fig: Any, title: str) -> Any:
    """One frame, no slider or play button, titled with the run."""
    fig.frames = []
    fig.layout.sliders, fig.layout.updatemenus = (), ()
    return fig.update_layout(title_text=title)


def _run_figure(kind: str, run: Run, title: str) -> Any | None:
    from cl_core import figures
    from cl_core.methods import temperature_of
    from cl_core.projection import project_2d

    steps = run.snapshot_steps()
    if not steps:
        return None
    snap, m = run.snapshot(steps[-1]), run.config["method"]
    if kind in ("projection", "projection_colour"):
        if kind == "projection":
            labels, names = snap["labels"], _class_names(run)
        elif run.config["data"]["name"] == "shapes":
            d = run.config["data"]
            labels = _test_colours(d["root"], d["image_size"], run.config["train"]["seed"])[snap["probe_index"]]
            names = list(COLOUR_NAMES)
        else:
            return None
        points = [project_2d(snap["features"], "pca")]
        fig = figures.projection_scatter(points, labels, names, [steps[-1]], method="pca")
        return _still(fig, f"{title}: {'shape' if kind == 'projection' else 'background colour'} (PCA)")
    if kind in ("similarity_hist", "distance_hist"):
        pos, neg = figures.pair_similarities(snap["similarity"])
        if kind == "distance_hist":
            dist = lambda c: np.sqrt(np.clip(2 - 2 * c, 0, None))  # noqa: E731 - unit vectors: |a-b|^2 = 2 - 2cos
            return _still(figures.distance_histograms(dist(pos), dist(neg), m["margin"]), f"{title}: distances")
        fig = figures.similarity_histograms(pos, neg, temperature_of(m))
        return _still(fig, f"{title}: pair similarities")
    if kind == "similarity_matrix":
        return _still(figures.similarity_matrix([snap["similarity"]], [steps[-1]]), f"{title}: similarity matrix")
    rows = [r for r in run.metrics if r.get("snapshot")]
    if kind == "rank_std" and rows:
        healthy = rows[-1].get("std_healthy", 0.0)
        fig = figures.rank_and_std(
            [r["step"] for r in rows], [r["effective_rank"] for r in rows], [r["std"] for r in rows], healthy
        )
        return _still(fig, f"{title}: effective rank and std")
    if kind == "spectrum":
        svs = [run.snapshot(s)["singular_values_projections"] for s in steps]
        return _still(figures.spectrum(svs, steps), f"{title}: singular values")
    return None


def _class_names(run: Run) -> list[str] | None:
    if run.config["data"]["name"] == "shapes":
        from cl_core.shapes import SHAPE_CLASSES

        return list(SHAPE_CLASSES)
    return None


def _cross_figure(kind: str, runs: dict[str, Run], labels: dict[str, str]) -> Any | None:
    from cl_core import figures
    from cl_core.report import overlay_figure

    if kind in ("loss", "knn", "align_uniform"):
        return overlay_figure(kind, {labels[name]: run for name, run in runs.items()})
    metric = kind.removeprefix("metric:")
    vals = {labels[n]: v for n, r in runs.items() if (v := run_values(r).get(metric)) is not None}
    if not vals:
        return None
    fig = figures.sweep_chart(list(vals), list(vals.values()), "run", metric)  # its layout, with bars instead
    fig.data = ()
    fig.add_bar(
        x=list(vals),
        y=list(vals.values()),
        text=[f"{v:.3g}" for v in vals.values()],
        textposition="auto",
        marker_color=figures.OKABE_ITO[0],
        name=metric,
    )
    return fig.update_layout(title_text=METRIC_TITLES.get(metric, metric), xaxis_title=None, yaxis_title=metric)


def lesson_figures(lesson: Lesson, runs: dict[str, Run], lang: str = "en") -> list[tuple[str, list[Any]]]:
    """(kind, figures) per figure kind of the lesson: one figure for all runs, or one per run (side by side)."""
    labels = {r.name: text(r.label, lang) for r in lesson.runs}
    out = []
    for kind in lesson.figures:
        if kind in PER_RUN_FIGURES:
            figs = [_run_figure(kind, runs[r.name], labels[r.name]) for r in lesson.runs if r.name in runs]
        else:
            figs = [_cross_figure(kind, {n: r for n, r in runs.items()}, labels)]
        figs = [f for f in figs if f is not None]
        if figs:
            out.append((kind, figs))
    return out


# ------------------------------------------------------------------------------------------------------ report

VERDICT_WORDS = {True: "held", False: "did not hold", None: "could not be checked"}
REPORT_METRICS = (
    "final_loss",
    "chance_level",
    "knn_top1",
    "linear_probe",
    "std",
    "std_healthy",
    "effective_rank",
    "alignment",
    "uniformity",
    "steps",
    "views_per_second",
)


def _plain(s: str) -> str:
    return s.replace("**", "").replace("`", "")


def lesson_report(
    lesson: Lesson, runs: dict[str, Run], claims: list[ClaimResult], mode: str = "fast", lang: str = "en"
) -> str:
    """The lesson as one self-contained HTML page: question, verdicts, summary and config tables, figures."""
    from cl_core.figures import report_html
    from cl_core.report import flat_config

    labels = {r.name: text(r.label, lang) for r in lesson.runs}
    used = list(dict.fromkeys(m for c in lesson.claims for m, _ in claim_refs(c)))
    lesson_rows = [
        {"": "question", "text": _plain(text(lesson.question, lang))},
        *({"": f"choice {i}", "text": _plain(text(c, lang))} for i, c in enumerate(lesson.choices)),
        {"": "explanation", "text": _plain(text(lesson.explanation, lang))},
        {"": "mode", "text": f"{mode}: {lesson.steps[mode]} steps per run"},
    ]
    summary_rows = []
    for name, run in runs.items():
        v = run_values(run)
        summary_rows.append(
            {
                "run": name,
                "label": labels[name],
                "state": run.state,
                **{m: v.get(m) for m in dict.fromkeys([*used, *REPORT_METRICS])},
                "verdict": run.summary.get("verdict"),
            }
        )
    flat = {name: flat_config(run.config) for name, run in runs.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    config_rows = [{"setting": k, **{n: _cell_value(f.get(k)) for n, f in flat.items()}} for k in keys]
    tables = {
        "Lesson": lesson_rows,
        "Claims": [{"claim": c.text, "verdict": VERDICT_WORDS[c.held]} for c in claims],
        "Run summaries": summary_rows,
        "Run configs (each run's config.json replays it: python -m cl_core train --config config.json)": config_rows,
    }
    figs = [f for _, group in lesson_figures(lesson, runs, lang) for f in group]
    return report_html(figs, f"{text(lesson.title, lang)} ({mode} mode)", tables)


def _cell_value(v: Any) -> Any:
    return str(v) if isinstance(v, bool | list | dict) else v


# ------------------------------------------------------------------------------------------------------ runner


@dataclass
class LessonResult:
    lesson: Lesson
    mode: str
    runs: dict[str, Run]
    values: dict[str, dict[str, float]]
    claims: list[ClaimResult]
    report: Path | None = None


def run_lesson(
    lesson: Lesson,
    out_dir: str | Path,
    mode: str = "fast",
    threads: int = 0,
    lang: str = "en",
    log: Callable[[str], None] = print,
) -> LessonResult:
    """Train the lesson's runs one after another in this process, check its claims, write its report.

    Writes ``out_dir/runs/<run name>/`` (run directories; config.json replays each run),
    ``out_dir/runs/<run name>/metrics.csv``, ``out_dir/claims.json`` and ``out_dir/report.html``.
    """
    import time

    import torch

    from cl_core.report import metrics_csv
    from cl_core.runs import write_json
    from cl_core.trainer import train

    out = Path(out_dir)
    threads_before = torch.get_num_threads()
    try:
        for i, r in enumerate(lesson.runs, 1):
            cfg = lesson_config(lesson, r.name, mode)
            cfg.train.threads = threads or cfg.train.threads
            log(f"[{i}/{len(lesson.runs)}] {r.name}: {r.method} on {r.dataset}, {cfg.train.steps} steps")
            t0 = time.perf_counter()
            try:
                res = train(cfg, out / "runs" / r.name)
                s = res.summary
                log(
                    f"    {res.state} in {time.perf_counter() - t0:.0f} s: final loss {s.get('final_loss', 0):.3f}, "
                    f"kNN {s.get('knn_top1') or 0:.3f}, std {s.get('std', 0):.3f}, verdict {s.get('verdict')}"
                )
            except Exception as e:  # noqa: BLE001 - one broken run is reported, the lesson goes on
                log(f"    failed: {type(e).__name__}: {e}")
    finally:
        torch.set_num_threads(threads_before)
    runs = {}
    for r in lesson.runs:
        try:
            runs[r.name] = load_run(out / "runs" / r.name)
        except Exception:  # noqa: BLE001 - a run that left no directory: its claims cannot be checked
            continue
    values, claims = evaluate_lesson(lesson, runs)
    for run in runs.values():
        (run.path / "metrics.csv").write_text(metrics_csv(run, snapshots=True))
    write_json(
        out / "claims.json", [{"claim": c.claim, "held": c.held, "text": c.text, "values": c.values} for c in claims]
    )
    report = out / "report.html"
    report.write_text(lesson_report(lesson, runs, claims, mode, lang), encoding="utf-8")
    return LessonResult(lesson, mode, runs, values, claims, report)
