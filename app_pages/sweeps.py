"""Sweeps: one setting, a list of values, one run per value; the final metric against the value as runs finish."""

import streamlit as st

from cl_core import figures
from cl_core import sweep as S
from cl_core.runs import FINISHED
from ui.charts import chart
from ui.data import dataset
from ui.frame import init_session, stop
from ui.keys import K
from ui.links import in_link, shown, view
from ui.runs import find_run, found_runs
from ui.server import jobs, server_settings
from ui.session import cfg, owner, runs_dir
from ui.strings import t
from ui.widgets import guard

init_session()
PICKER = "sweep_picker"  # the widget; K.SWEEP is the truth (the launch sets it)
METRIC_TITLES = {
    "knn_top1": "kNN top-1",
    "linear_probe": "Linear probe",
    "final_loss": "Final loss",
    "effective_rank": "Effective rank",
    "std": "std",
    "alignment": "Alignment",
    "uniformity": "Uniformity",
}

st.title(t("Sweeps"))
c = cfg()
budget = (
    t("{n} s", n=f"{c.train.seconds:g}")
    if c.train.seconds
    else t("{n} steps", n=c.train.steps)
    if c.train.steps
    else t("{n} epochs", n=f"{c.train.epochs:g}")
)
st.caption(
    t(
        "Each value becomes one ordinary run of the working config (set on Data and Train): {method} on {data}, "
        "{budget} a run, {slots} at a time; the others wait in the queue.",
        method=c.method.name,
        data=t(c.data.name),
        budget=budget,
        slots=jobs().max_concurrent,
    )
)
params = S.parameters(c)


def suggest_values() -> None:
    """A newly picked setting starts from suggested values, not from the link's values of another setting."""
    param = st.session_state["sweep_param"]
    st.session_state.setdefault(f"sweep_values.{param}", S.suggest(c, param))


left, right = st.columns([2, 3], vertical_alignment="bottom")
param = view(
    left.selectbox,
    "Setting to sweep",
    "sweep_param",
    "method.temperature" if "method.temperature" in params else params[0],
    "param",
    options=params,
    format_func=lambda p: t("{p} (now {v})", p=p, v=c.get(p)),
    on_change=suggest_values,
)
values = view(
    right.text_input,
    "Values, separated by commas",
    f"sweep_values.{param}",
    S.suggest(c, param),
    "values",
    help=t("e.g. 0.05, 0.1, 0.5, 1"),
)
if shown("launch") and st.button(t("▶ Launch the sweep"), type="primary"):
    with guard():
        dataset(c.data.name, c.data.root, c.data.image_size, c.train.seed)  # a missing data set fails here
        st.session_state[K.SWEEP] = S.launch(jobs(), c, param, values, owner()).id


def sweep_visible(sweep: S.Sweep) -> bool:
    """In private mode only the session's own sweeps (judged by their first run), as with runs."""
    return find_run(sweep.run_ids[0]) is not None


sweeps = {s.id: s for s in S.find_sweeps(runs_dir()) if not server_settings().private or sweep_visible(s)}
if not sweeps:
    st.info(t("No sweep yet: pick a setting and its values, then launch."))
    stop()
if K.SWEEP not in st.session_state and "sweep" in st.query_params:  # the session's first visit, from a link
    st.session_state[K.SWEEP] = st.query_params["sweep"]
    if st.query_params["sweep"] not in sweeps:
        st.warning(t("The link's sweep is not in this runs folder: showing the newest one."))
if st.session_state.get(K.SWEEP) not in sweeps:
    st.session_state[K.SWEEP] = next(iter(sweeps))
in_link("sweep", st.session_state[K.SWEEP], None)  # always named: the newest sweep changes over time
st.session_state[PICKER] = st.session_state[K.SWEEP]
st.divider()


def sweep_label(i: str) -> str:
    """``20:31 method.temperature = 0.1, 0.5 (3fa9c2)``: the id's tail keeps labels distinct (widgets key by label)."""
    return f"{i[9:11]}:{i[11:13]} {sweeps[i].param} = {', '.join(map(str, sweeps[i].values))} ({i[-6:]})"


if shown("sweep"):
    st.selectbox(
        t("Sweep"),
        list(sweeps),
        key=PICKER,
        format_func=sweep_label,
        on_change=lambda: st.session_state.update({K.SWEEP: st.session_state[PICKER]}),
    )
sweep = sweeps[st.session_state[K.SWEEP]]


active = any(r.state not in FINISHED for r in found_runs({i: i for i in sweep.run_ids}).values())


@st.fragment(run_every=2.0 if active else None)
def live() -> None:
    """Each run's state, then the sweep chart with a point per finished run."""
    runs = found_runs({i: i for i in sweep.run_ids})
    short = sweep.param.split(".")[-1]
    cols = st.columns(min(len(sweep.run_ids), 4))
    for i, (value, run_id) in enumerate(zip(sweep.values, sweep.run_ids)):
        run = runs.get(run_id)
        state = run.state if run else "missing"
        p = 1.0 if state in FINISHED else float(run.status.get("progress") or 0.0) if run else 0.0
        cols[i % len(cols)].progress(min(max(p, 0.0), 1.0), text=f"{short} = {value} · {t(state)}")
    metric = view(
        st.segmented_control,
        "Metric",
        "sweep_metric",
        "knn_top1",
        "metric",
        options=list(METRIC_TITLES),
        required=True,
        format_func=lambda m: t(METRIC_TITLES[m]),
    )
    xs, ys = S.points(sweep, runs, metric)
    if xs:
        chart(figures.sweep_chart(xs, ys, sweep.param, t(METRIC_TITLES[metric])), key="sweep_chart", height=460)
    else:
        st.caption(t("The chart fills in as the runs finish."))
    st.dataframe(
        S.table(sweep, runs),
        hide_index=True,
        column_config={
            "state": st.column_config.TextColumn(t("state")),
            "knn_top1": st.column_config.NumberColumn(t("kNN top-1"), format="percent"),
            "final_loss": st.column_config.NumberColumn(t("Final loss"), format="%.3f"),
            "verdict": st.column_config.TextColumn(t("verdict")),
            "run": st.column_config.TextColumn(t("run")),
        },
    )
    if active and all(r.state in FINISHED for r in runs.values()):
        st.rerun(scope="app")  # the sweep ended: stop refreshing


live()
if shown("compare") and st.button(t("Open these runs in Compare"), icon="⚖️"):
    st.session_state[K.COMPARE] = list(sweep.run_ids)
    st.switch_page("app_pages/compare.py")
