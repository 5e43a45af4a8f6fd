"""Compare: chosen runs overlaid (loss raw or / ln C, kNN, alignment–uniformity) and a table of numbers and settings."""

import pandas as pd
import streamlit as st

from cl_core import report
from ui.charts import chart
from ui.frame import init_session, stop
from ui.keys import K
from ui.links import in_link, shown, view
from ui.runs import ACTIVE, all_runs, find_run, load
from ui.strings import t
from ui.widgets import no_runs_prompt, run_labels

init_session()
PICKER = "compare_picker"  # the widget; K.COMPARE is the truth, so that other pages may set it before switching
COLUMNS = {  # compare_table's columns -> their titles here (the settings keep their dotted names)
    "run": "run", "state": "state", "final_loss": "Final loss", "chance_level": "Chance level ln C",
    "loss_over_chance": "Loss / ln C", "knn_top1": "kNN top-1", "linear_probe": "Linear probe",
    "alignment": "Alignment", "uniformity": "Uniformity", "effective_rank": "Effective rank", "std": "std",
    "steps": "Steps", "seconds": "Seconds", "views_per_second": "Views / s", "verdict": "verdict",
}  # fmt: skip
FORMATS = {"final_loss": "{:.3f}", "chance_level": "{:.3f}", "loss_over_chance": "{:.3f}", "knn_top1": "{:.1%}",
           "linear_probe": "{:.1%}", "alignment": "{:.3f}", "uniformity": "{:.3f}", "effective_rank": "{:.1f}",
           "std": "{:.3g}", "seconds": "{:.0f}", "views_per_second": "{:,.0f}"}  # fmt: skip
DIFFERS = "background-color: #fff3bf"


def plain(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


st.title(t("Compare runs"))
runs = all_runs()
if not runs:
    no_runs_prompt()
    stop()
by_id = {r.id: r for r in runs}
labels = run_labels(runs)
if K.COMPARE not in st.session_state:  # the session's first visit: a link's ?runs=id1,id2, else the newest three
    asked = [i for i in st.query_params.get("runs", "").split(",") if i]
    found = [i for i in asked if find_run(i)]
    if len(found) < len(asked):
        unknown = ", ".join(i[:60].replace("`", "") for i in asked if i not in found)
        st.warning(t("The link names runs that are not in this runs folder; they are left out: `{ids}`.", ids=unknown))
    st.session_state[K.COMPARE] = found if asked else [r.id for r in runs[:3]]
st.session_state[PICKER] = [i for i in st.session_state[K.COMPARE] if i in by_id]
if shown("runs"):
    st.multiselect(
        t("Runs to compare"),
        list(by_id),
        key=PICKER,
        format_func=labels.get,
        on_change=lambda: st.session_state.update({K.COMPARE: st.session_state[PICKER]}),
        placeholder=t("Pick two or more runs"),
        help=t("Runs from the app and from `python -m cl_core` alike: they share the runs folder."),
    )
ids = st.session_state[PICKER]
in_link("runs", ",".join(ids), "")  # always named when there are any: the newest three change over time
if not ids:
    st.info(t("Pick the runs to compare above."))
    stop()


def table(selected: list) -> None:
    """Numbers and settings, one row per run, sortable; the settings that differ are highlighted."""
    rows, diff = report.compare_table(selected)
    df = pd.DataFrame(rows)
    every = view(st.toggle, "Show every setting, not only those that differ", "compare_every", False, "every")
    present = [c for c in COLUMNS if c in df and df[c].notna().any()]
    others = [c for c in df.columns if c not in COLUMNS and c not in diff and c != "id"] if every else []
    settings = diff + others
    title = {c: t(COLUMNS[c]) for c in present}
    styled = (
        df[present[:1] + diff + present[1:] + others]  # run, what differs, the numbers, then the rest
        .rename(columns=title)
        .style.map(lambda _: DIFFERS, subset=[c for c in settings if c in diff])
        .format({title.get(c, c): FORMATS.get(c, plain) for c in present + settings}, na_rep="–")
    )
    st.dataframe(styled, hide_index=True)
    st.caption(
        t("Click a column title to sort. Highlighted: the settings that differ between these runs.")
        if diff
        else t("These runs have the same settings.")
    )


active = any(load(by_id[i].path).state in ACTIVE for i in ids)  # read as the fragment reads them


@st.fragment(run_every=3.0 if active else None)
def comparison() -> None:
    selected = [load(by_id[i].path) for i in ids]
    if active and not any(r.state in ACTIVE for r in selected):
        st.rerun(scope="app")  # the last run ended: stop refreshing
    named = dict(zip(report.run_names(selected), selected))
    own = [(name, run.config.get("external")) for name, run in named.items()]
    own = ", ".join(f"**{name}** ({e.get('source', '?')})" for name, e in own if e)
    if own:
        st.info(t("Your own runs among these: {runs}. Their settings are what their loop reported.", runs=own))
    normalise = view(
        st.toggle,
        "Loss divided by each run's chance level ln C",
        "compare_normalise",
        False,
        "normalise",
        help=t("1 = chance: runs with other batch sizes (another ln C) become comparable."),
    )
    left, right = st.columns(2, gap="large")
    with left:
        chart(report.overlay_figure("loss", named, normalise=normalise), key="compare_loss", height=460)
    with right:
        knn = report.overlay_figure("knn", named)
        if any(len(trace.x or ()) for trace in knn.data):
            chart(knn, key="compare_knn", height=460)
        else:
            st.info(t("No kNN measurement in these runs yet."))
    left, right = st.columns(2, gap="large")
    with left:
        chart(report.overlay_figure("align_uniform", named), key="compare_au", height=460)
    with right:
        for name, run in named.items():
            reasons = " ".join(t(r) for r in run.summary.get("verdict_reasons") or [])
            verdict = run.summary.get("verdict") or t(run.state)
            st.markdown(f"**{name}** — {t(verdict.replace('_', ' ').capitalize())}. {reasons}")
    table(selected)
    if not shown("downloads"):
        return
    a, b = st.columns(2)
    a.download_button(
        t("Download the comparison (HTML)"),
        lambda: report.comparison_report(selected),
        "comparison.html",
        "text/html",
        key="compare_html",
        icon="📄",
    )
    b.download_button(
        t("Download the metrics (CSV)"),
        lambda: report.comparison_csv(selected),
        "comparison-metrics.csv",
        "text/csv",
        key="compare_csv",
        icon="📈",
    )


comparison()
