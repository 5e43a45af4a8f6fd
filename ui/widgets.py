"""Shared widgets: a run's header, error guard, verdict banner, run labels and the no-run prompts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import streamlit as st

from cl_core.config import ConfigError
from cl_core.data import DataError
from cl_core.jobs import JobError
from cl_core.runs import Run, RunError
from ui import frame, runs, server, session
from ui.keys import K
from ui.strings import t


def run_header(run: Run) -> None:
    """State, progress with elapsed time and ETA, the status message and, once finished, the summary."""
    s, state = run.status, run.state
    st.subheader(f"{run_label(run)}")
    st.caption(run.id)
    external_note(run)
    job = next((j for j in server.jobs().jobs() if j.run_id == run.id), None)
    if state == "queued" and job is not None and job.state == "running":
        st.progress(0.0, text=t("Starting the training process…"))
    elif state == "queued":
        ahead = max((job.position if job else 1) - 1, 0)
        st.info(t("Waiting for a free training slot ({n} in the queue before it).", n=ahead))
    elif state == "running":
        p, secs = float(s.get("progress") or 0.0), float(s.get("seconds") or 0.0)
        eta = t("{s:.0f} s", s=secs * (1 - p) / p) if p > 0 else "…"
        text = t(
            "{p:.0%} · step {step} · {secs:.0f} s elapsed · ETA {eta}", p=p, step=s.get("step") or 0, secs=secs, eta=eta
        )
        st.progress(min(max(p, 0.0), 1.0), text=text if s.get("message") != "Loading data" else t("Loading data…"))
    elif state == "failed":
        msg = t(s.get("message", ""))
        st.error(t("**This run failed.** {msg} Change the settings and start a new run.", msg=msg))
    elif state in ("stopped", "interrupted"):
        resumable = (run.path / "checkpoint.pt").is_file()  # a run killed or stopped before its end saved none
        said = {"state": t(state.capitalize()), "msg": t(s.get("message", ""))}
        st.warning(
            t("**{state}.** {msg} Continue trains it further.", **said)
            if resumable
            else t("**{state}.** {msg}", **said)
        )
    summary = run.summary
    if summary and state not in runs.ACTIVE:
        cols = st.columns(5)
        knn, probe = summary.get("knn_top1"), summary.get("linear_probe")
        cols[0].metric(t("Final loss"), "–" if summary.get("final_loss") is None else f"{summary['final_loss']:.3f}")
        cols[1].metric(
            t("kNN top-1"), "–" if knn is None else f"{knn:.1%}", help=t(summary.get("knn_protocol", "")) or None
        )
        cols[2].metric(t("Linear probe"), "–" if probe is None else f"{probe:.1%}")
        vps = summary.get("views_per_second")
        cols[3].metric(t("Views / s"), "–" if vps is None else f"{vps:,.0f}")
        cols[4].metric(t("Steps"), f"{summary.get('steps', 0):,}")


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Show errors from cl_core as a plain message that says what to do, never as a traceback."""
    try:
        yield
    except ConfigError as e:
        msg = t(e.message).rstrip(".。")
        st.error(t("**Setting `{field}`**: {message}. Change it and try again.", field=e.field, message=msg))
    except DataError as e:
        st.error(t("**The data set could not be loaded**: {e}", e=t(str(e))))
    except (RunError, JobError) as e:
        st.error(t("**{e}**. Pick another run in the sidebar, or start a new one on Train.", e=t(str(e))))


def verdict_banner(kind: str | None, reasons: list[str]) -> None:
    """The collapse / temperature verdict as a coloured banner with its reasons."""
    if not kind:
        return
    text = f"**{t('Verdict')}: {verdict_title(kind)}** — " + " ".join(t(r) for r in reasons)
    (st.success if kind == "healthy" else st.error if "collapse" in kind else st.warning)(text)


def verdict_title(kind: str) -> str:
    """``dimensional_collapse`` -> ``Dimensional collapse``, in the session's language."""
    return t(kind.replace("_", " ").capitalize()) if kind else ""


def run_label(run: Run) -> str:
    """``18:15 SimCLR · digits · completed`` (with the date when it is not today's).

    The method's title lives on its class (torch): until a fresh server has imported torch, its id (``simclr``).
    """
    m = run.config.get("method", {}).get("name", "?")
    title = m
    if server.torch_ready():
        from cl_core.methods import METHODS

        title = t(METHODS[m].TITLE) if m in METHODS else m
    d = run.config.get("data", {}).get("name", "?").split("/")[-1]
    created = time.localtime(run.status.get("created") or run.path.stat().st_mtime)
    when = time.strftime("%H:%M" if created[:3] == time.localtime()[:3] else t("%d %b %H:%M"), created)
    return f"{when} {title} · {t(d)} · {t(run.state)}"


def run_labels(runs: list[Run]) -> dict[str, str]:
    """Run id -> label for a picker, with the id added where labels coincide (same minute, method, data, state).

    A selectbox sends back the label of the choice, not the choice: two runs with one label are one choice, and
    picking either (or a rerun) selects the last of them.
    """
    labels = {r.id: run_label(r) for r in runs}
    twins = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    return {i: f"{label} · {i}" if label in twins else label for i, label in labels.items()}


def start_quick_demo() -> None:
    """A 20-second SimCLR run on digits: enough for clusters to appear; opens Train."""
    demo = session.default_config("simclr", "digits")
    demo.train.seconds, demo.train.snapshots = 20.0, 6
    with guard():
        st.session_state[K.RUN] = server.jobs().submit(demo, session.owner())
        st.switch_page("app_pages/train.py")


def no_runs_prompt() -> None:
    st.info(t("no_runs"))
    c1, c2 = st.columns(2)
    c1.page_link("app_pages/train.py", label=t("Open Train"), icon="🏋️")
    if c2.button(t("Quick demo run (20 s)"), type="primary", key="quick_demo"):
        start_quick_demo()


def external_note(run: Run) -> None:
    """For a run written by cl_core.RunLogger (the user's own loop): who wrote it and which facts it lacks."""
    external = run.config.get("external")
    if external:
        missing = "; ".join(t(m) for m in external.get("missing", []))
        text = "**Your own run**, written by {source}. It lacks: {missing}."
        st.info(t(text, source=external.get("source", "?"), missing=missing))


def need_run() -> Run:
    """The current run, or a prompt to train one (and the page stops)."""
    run = runs.current_run()
    if run is None:
        no_runs_prompt()
        frame.stop()
    external_note(run)
    return run


def need_snapshots(run: Run) -> list[int]:
    """The run's snapshot steps, or a note on why there are none yet (and the page stops)."""
    steps = run.snapshot_steps()
    if steps:
        return steps
    if run.state in runs.ACTIVE:
        st.info(t("Run {id} has no snapshot yet: the first one is written after its first steps.", id=run.id))
    else:
        msg = "Run {id} ended before its first snapshot: pick another run in the sidebar, or Continue it on Train."
        st.info(t(msg, id=run.id))
    frame.stop()
