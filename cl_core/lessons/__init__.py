"""Lessons: guided classroom experiments written as data (``library/*.toml``, format in README.md here).

A lesson asks a question, names the runs that answer it, the figures to look at, and claims over the
runs' results in a tiny checked grammar, e.g. ``knn_top1[jitter_on] > knn_top1[jitter_off]``.
``run_lesson`` trains the runs, checks the claims and writes a self-contained HTML report; the app's
Lessons page launches the same runs as jobs and shows the same verdicts.

Modules: ``schema`` (the file format, parsing, finding lessons, each run's config), ``claims`` (the claim
grammar), ``measures`` (the numbers claims read from runs), ``figures``, ``report`` (the HTML page) and
``runner`` (``run_lesson``).
"""

from cl_core.lessons.claims import ClaimError, evaluate_claim, parse_claim
from cl_core.lessons.figures import figure_rows, lesson_figures
from cl_core.lessons.measures import background_hue_bins, evaluate_lesson
from cl_core.lessons.report import lesson_bundle, lesson_report
from cl_core.lessons.runner import run_lesson
from cl_core.lessons.schema import (
    LESSONS_DIR,
    Lesson,
    LessonError,
    find_lesson,
    lesson_config,
    load_lesson,
    load_lessons,
    text,
)

__all__ = [
    "LESSONS_DIR",
    "ClaimError",
    "Lesson",
    "LessonError",
    "background_hue_bins",
    "evaluate_claim",
    "evaluate_lesson",
    "figure_rows",
    "find_lesson",
    "lesson_bundle",
    "lesson_config",
    "lesson_figures",
    "lesson_report",
    "load_lesson",
    "load_lessons",
    "parse_claim",
    "run_lesson",
    "text",
]
