"""The lesson file: its dataclasses, the parser that checks every field, and finding lessons in a folder.

A lesson is a TOML file (format in ``cl_core/lessons/README.md``). Every text is a table of language
code -> Markdown; English (``en``) is required, any other language (``zh``, ``fr``, ``pt-BR``, ...) is
optional and ``text`` falls back to English where one is missing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cl_core.config import Config, ConfigError
from cl_core.lessons.claims import METRICS, ClaimError, check_claim

LESSONS_DIR = Path(__file__).resolve().parent / "library"
LANG_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)?")  # en, zh, fr, pt-BR, zh-Hant: the keys of a text table
MODES = ("full", "fast", "test")  # budget keys: steps, fast_steps, test_steps
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


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the file and the problem."""


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
    page: str  # train | compare | doctor
    run: str | None = None  # train: start from this run's settings; doctor: read this run's loss
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
    """A text field in ``lang``, falling back to English (a lesson need not have every language)."""
    return t.get(lang) or t.get("en", "")


_DEFAULT_PROMPT = {"en": "What do you expect?", "zh": "你预计会看到什么？"}  # other languages: English
_TOP = {"title", "question", "prompt", "choices", "expected", "explanation", "order", "budget", "settings",
        "test_settings", "runs", "claims", "figures", "try_next"}  # fmt: skip


def _texts(d: dict, key: str, where: str, required: bool = True) -> Text:
    """A text table: non-empty English, and non-empty text for any other language code given."""
    t = d.get(key)
    if t is None and not required:
        return {}
    if not isinstance(t, dict) or not isinstance(t.get("en"), str) or not t["en"].strip():
        raise LessonError(f"{where}{key}: expected a table of language = text with non-empty English (en)")
    for lang, value in t.items():
        if not LANG_CODE.fullmatch(lang):
            raise LessonError(f"{where}{key}: {lang!r} is not a language code such as en, zh, fr or pt-BR")
        if not isinstance(value, str) or not value.strip():
            raise LessonError(f"{where}{key}.{lang}: expected non-empty text")
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
        label = _texts(r, "label", where, required=False) or {"en": name}
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
        raise LessonError("choices: expected a list of at least two {en, zh, ...} tables")
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
        if t.get("page") not in ("train", "compare", "doctor"):
            raise LessonError(f"{where}page: expected 'train', 'compare' or 'doctor', got {t.get('page')!r}")
        run = t.get("run")
        if (t["page"] == "train" or run is not None) and run not in [r.name for r in runs]:
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
