"""A lesson's report: one self-contained HTML page with its question, verdicts, tables and figures."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from cl_core.lessons.claims import ClaimResult, claim_refs
from cl_core.lessons.figures import lesson_figures
from cl_core.lessons.measures import run_values
from cl_core.lessons.schema import Lesson, text
from cl_core.runs import Run

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


def lesson_bundle(
    lesson: Lesson, runs: dict[str, Run], claims: list[ClaimResult], mode: str, lang: str = "en"
) -> bytes:
    """A zip of report.html and each run's metrics.csv and config.json (``python -m cl_core train --config``
    replays it): what the Lessons page offers to download."""
    from cl_core.report import metrics_csv

    files = io.BytesIO()
    with zipfile.ZipFile(files, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("report.html", lesson_report(lesson, runs, claims, mode, lang))
        for name, run in runs.items():
            z.writestr(f"{name}/metrics.csv", metrics_csv(run, snapshots=True))
            z.writestr(f"{name}/config.json", (run.path / "config.json").read_text())
    return files.getvalue()
