"""Running a lesson headless: train its runs one after another, check its claims, write its report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cl_core.lessons.claims import ClaimResult
from cl_core.lessons.measures import evaluate_lesson
from cl_core.lessons.report import lesson_report
from cl_core.lessons.schema import Lesson, lesson_config
from cl_core.runs import Run, load_run


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
