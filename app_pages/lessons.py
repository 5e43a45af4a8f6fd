"""Lessons: a question, a prediction the class commits to, one-click runs, then the figures and verdicts."""

import os
from pathlib import Path

import streamlit as st

from cl_core import lessons as L
from cl_core.methods import METHODS
from cl_core.runs import FINISHED, Run
from ui.frame import init_session, stop
from ui.keys import K
from ui.links import shown, view
from ui.runs import found_runs
from ui.server import jobs
from ui.session import data_root, forget_widgets, owner
from ui.strings import lang, t, translated
from ui.widgets import guard

init_session()
FOLDER = Path(os.environ.get("CL_LESSONS_DIR", L.LESSONS_DIR))
MODE_LABELS = {"fast": t("Fast (about a minute)"), "full": t("Full (longer, clearer)")}


class LK:
    """Session-state keys of this page (per lesson: the committed prediction and the started runs)."""

    LESSON = "lesson.picked"

    @staticmethod
    def prediction(lesson_id: str) -> str:
        return f"lesson.{lesson_id}.prediction"

    @staticmethod
    def runs(lesson_id: str) -> str:
        return f"lesson.{lesson_id}.runs"  # {"mode": ..., "ids": {run name: run id}}


@st.cache_resource(max_entries=4)
def load_lessons(folder: str, stamp: tuple) -> tuple[list[L.Lesson], list[str]]:
    return L.load_lessons(folder)


def start(lesson: L.Lesson, mode: str) -> None:
    """Queue all of the lesson's runs, or none (a server cap or the session's run quota refuses it whole)."""
    with guard():
        jm, configs = jobs(), {}
        for r in lesson.runs:
            cfg = L.lesson_config(lesson, r.name, mode)
            cfg.data.root = data_root()
            configs[r.name] = jm.limits.check_config(cfg) if jm.limits else cfg
        jm.check_room(owner(), len(configs))
        ids = {name: jm.submit(cfg, owner()) for name, cfg in configs.items()}
        st.session_state[LK.runs(lesson.id)] = {"mode": mode, "ids": ids}


@st.fragment(run_every=2.0)
def progress(ids: dict[str, str], labels: dict[str, str]) -> None:
    runs = found_runs(ids)
    for name, run in runs.items():
        p = float(run.status.get("progress") or (1.0 if run.state in FINISHED else 0.0))
        st.progress(min(max(p, 0.0), 1.0), text=f"{labels[name]} · {t(run.state)}")
    if len(runs) == len(ids) and all(r.state in FINISHED for r in runs.values()):
        st.rerun(scope="app")


@st.cache_data(max_entries=8, show_spinner=False)
def figures(_lesson: L.Lesson, _runs: dict, key: tuple) -> list:
    """The lesson's figures; ``key`` (lesson file, its time, run ids, language) names finished runs exactly."""
    return L.lesson_figures(_lesson, _runs, key[-1])


def results(lesson: L.Lesson, lang: str, runs: dict, started: dict) -> None:
    st.subheader(t("What the runs show"))
    key = (str(lesson.path), lesson.path.stat().st_mtime, tuple(sorted(started["ids"].items())), lang)
    for r, row in enumerate(L.figure_rows(figures(lesson, runs, key))):
        for c, (col, (_, fig)) in enumerate(zip(st.columns(len(row)), row)):
            col.plotly_chart(translated(fig).update_layout(height=460), key=f"lesson.fig.{r}.{c}")
    _, claims = L.evaluate_lesson(lesson, runs)
    held = {True: t("Held"), False: t("Did not hold"), None: t("Could not be checked")}
    st.subheader(t("Claims checked on these runs"))
    for c in claims:
        show = {True: st.success, False: st.error, None: st.warning}[c.held]
        show(f"**{held[c.held]}** — `{c.text}`")
    picked = st.session_state.get(LK.prediction(lesson.id))
    if picked is not None:
        st.info(t("Your prediction: **{c}**", c=L.text(lesson.choices[picked], lang)))
    if lesson.expected is not None:
        answer = L.text(lesson.choices[lesson.expected], lang)
        if all(c.held for c in claims):
            st.success(t("The runs bear out: **{c}**", c=answer))
        else:
            st.warning(
                t(
                    "The lesson expects: **{c}** — but not every claim held in these runs: read the numbers above.",
                    c=answer,
                )
            )
    st.subheader(t("Why"))
    st.markdown(L.text(lesson.explanation, lang))
    if not shown("downloads"):
        return
    a, b = st.columns(2)
    a.download_button(
        t("Download the report (HTML)"),
        lambda: L.lesson_report(lesson, runs, claims, started["mode"], lang),
        f"lesson-{lesson.id}.html",
        "text/html",
        key="lesson.report",
    )
    b.download_button(
        t("Download metrics and configs (zip)"),
        lambda: L.lesson_bundle(lesson, runs, claims, started["mode"], lang),
        f"lesson-{lesson.id}.zip",
        "application/zip",
        key="lesson.zip",
    )


def doctor_state(run: Run | None) -> dict:
    """The Loss doctor's inputs (its session-state keys) from a finished run: its last loss, N, method and T.
    What the run lacks, or the page's inputs cannot show, is left to the page's defaults."""
    if run is None:
        return {}
    m, s = run.config.get("method", {}), run.summary
    state = {"doc.method": m["name"]} if m.get("name") in METHODS else {}
    if m.get("name") == "simclr":
        state["doc.self"] = not m.get("options", {}).get("mask_self", True)
    if isinstance(s.get("batch_size"), int) and 2 <= s["batch_size"] <= 10**7:
        state["doc.n"] = s["batch_size"]
    ranges = (("doc.loss", s.get("final_loss"), -1e6, 1e6), ("doc.T", m.get("temperature"), 1e-3, 100))
    for key, value, low, high in ranges:
        if isinstance(value, int | float) and low <= value <= high:  # the page's ranges; NaN is in none
            state[key] = float(value)
    return state


def try_next(lesson: L.Lesson, lang: str, mode: str, runs: dict[str, Run]) -> None:
    if not shown("try_next"):
        return
    st.subheader(t("Try next"))
    for i, tn in enumerate(lesson.try_next):
        if tn.page == "doctor":
            if st.button(L.text(tn.label, lang), key=f"try.{lesson.id}.{i}", icon="💊"):
                st.session_state.update(doctor_state(runs.get(tn.run) if tn.run else None))
                st.switch_page("app_pages/doctor.py")
            continue
        if tn.page == "compare":
            if st.button(L.text(tn.label, lang), key=f"try.{lesson.id}.{i}", icon="⚖️"):
                st.session_state[K.COMPARE] = list(st.session_state[LK.runs(lesson.id)]["ids"].values())
                st.switch_page("app_pages/compare.py")
            continue
        if st.button(L.text(tn.label, lang), key=f"try.{lesson.id}.{i}", icon="🏋️"):
            with guard():
                cfg = L.lesson_config(lesson, tn.run, mode)
                for k, v in tn.settings.items():
                    cfg.set(k, v)
                cfg.data.root = data_root()
                st.session_state[K.CFG] = cfg.validate()
                forget_widgets()
                st.switch_page("app_pages/train.py")


st.title(t("Lessons"))
lessons, errors = load_lessons(str(FOLDER), tuple((p.name, p.stat().st_mtime) for p in sorted(FOLDER.glob("*.toml"))))
for e in errors:
    st.warning(t("A lesson file was skipped: {e}", e=e))
if not lessons:
    stop()
top = st.columns([3, 1])
by_id = {x.id: x for x in lessons}
lang = lang()  # the sidebar's language switch: the lessons' own texts follow it
lesson_id = view(  # in the page's link: ?lesson=temperature opens that lesson
    top[0].selectbox,
    "Lesson",
    LK.LESSON,
    lessons[0].id,
    "lesson",
    options=list(by_id),
    format_func=lambda i: f"{by_id[i].order}. {L.text(by_id[i].title, lang)}",
)
lesson = by_id[lesson_id]
st.header(L.text(lesson.title, lang))
st.markdown(L.text(lesson.question, lang))
labels = {r.name: L.text(r.label, lang) for r in lesson.runs}
st.caption(
    t(
        "Runs: {runs}",
        runs=" · ".join(f"{labels[r.name]} ({t(METHODS[r.method].TITLE)}, {t(r.dataset)})" for r in lesson.runs),
    )
)

committed = st.session_state.get(LK.prediction(lesson.id))
choice = st.session_state.get(f"lesson.{lesson.id}.choice")
if shown("prediction"):  # presentation mode shows only the controls its link lists
    choice = st.radio(
        L.text(lesson.prompt, lang),
        range(len(lesson.choices)),
        key=f"lesson.{lesson.id}.choice",
        format_func=lambda i: L.text(lesson.choices[i], lang),
        index=None,
        disabled=committed is not None,
    )
if committed is None:
    if shown("commit") and st.button(t("Commit prediction"), disabled=choice is None, type="primary"):
        st.session_state[LK.prediction(lesson.id)] = choice
        st.rerun()
    st.caption(t("Commit a prediction first: runs start only after the class has decided."))
else:
    st.info(t("Your prediction: **{c}**", c=L.text(lesson.choices[committed], lang)))

started = st.session_state.get(LK.runs(lesson.id))
a, b = st.columns([2, 1])
mode = view(
    a.radio,
    "Budget",
    f"lesson.{lesson.id}.mode",
    "fast",
    "budget",
    options=list(MODE_LABELS),
    format_func=MODE_LABELS.get,
    horizontal=True,
    disabled=committed is None,
)
label = t("Run the lesson again") if started else t("Start the runs")
training = bool(started) and any(r.state not in FINISHED for r in found_runs(started["ids"]).values())
if shown("start") and b.button(
    label, type="primary", disabled=committed is None or training, key=f"lesson.{lesson.id}.start", icon="▶️"
):
    start(lesson, mode)
    started = st.session_state.get(LK.runs(lesson.id))

if started:
    runs = found_runs(started["ids"])
    if len(runs) < len(started["ids"]) or any(r.state not in FINISHED for r in runs.values()):
        st.caption(t("Training the lesson's runs…"))
        progress(started["ids"], labels)
    else:
        results(lesson, lang, runs, started)
        try_next(lesson, lang, started["mode"], runs)
