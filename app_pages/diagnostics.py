"""Diagnostics: spectrum, rank and std, alignment–uniformity, kNN over steps, the verdict, and a what-if."""

import numpy as np
import streamlit as st

from cl_core import figures, figures_embeddings
from cl_core.metrics import temperature_floor
from ui.charts import chart, rank_std_figure
from ui.frame import init_session
from ui.links import view
from ui.runs import snapshot, stamp, what_if
from ui.strings import t
from ui.widgets import need_run, need_snapshots, verdict_banner

init_session()

st.title(t("Diagnostics"))
run = need_run()
steps = need_snapshots(run)
snaps = [m for m in run.metrics if m.get("snapshot")] or [{"step": steps[-1]}]
path, name = str(run.path), run.config.get("method", {}).get("name", "run")

verdict_banner(snaps[-1].get("verdict"), snaps[-1].get("verdict_reasons", []))
if snaps[-1].get("verdict"):  # none before training: a random initialisation looks collapsed
    st.caption(t("Verdict at step {s}, from the probe batch's two views.", s=snaps[-1]["step"]))

left, right = st.columns(2, gap="large")
with left:
    space = view(
        st.segmented_control,
        "Spectrum of",
        "diag_space",
        "features",
        "spectrum",
        options=["features", "projections"],
        required=True,
        format_func={"features": t("features (probe set)"), "projections": t("projections (probe set)")}.get,
    )
    svs = [snapshot(path, s)[f"singular_values_{space}"] for s in steps]
    chart(figures.spectrum(svs, steps), key="diag_spectrum", height=480, legend="right")
with right:
    chart(rank_std_figure(path, stamp(run.path), height=560), key="diag_rank")

left, right = st.columns(2, gap="large")
with left:
    au = {
        "name": name,
        "steps": [r["step"] for r in snaps],
        "alignment": [r["alignment"] for r in snaps],
        "uniformity": [r["uniformity"] for r in snaps],
    }
    chart(figures.align_uniform([au]), key="diag_au", height=480)
with right:
    knn = [r for r in snaps if r.get("knn_top1") is not None]
    if knn:
        curve = {"name": name, "steps": [r["step"] for r in knn], "knn": [r["knn_top1"] for r in knn]}
        chart(figures.knn_curve([curve]), key="diag_knn", height=480)
        st.caption(
            t(
                "Protocol: weighted kNN, k=20, T=0.1, on L2-normalised backbone features; memory {m} training "
                "images, queries {q} probe images of the test split, at steps {s}.",
                m=knn[-1].get("knn_memory", "?"),
                q=knn[-1].get("knn_queries", "?"),
                s=", ".join(str(r["step"]) for r in knn),
            )
        )
    else:
        st.info(t("No kNN measurement yet (the data set has no labels, or no snapshot measured it)."))
    if run.summary.get("knn_top1") is not None:
        st.caption(t("Final: {v:.1%} — {p}.", v=run.summary["knn_top1"], p=t(run.summary.get("knn_protocol", ""))))

st.divider()
st.header(t("What if? Temperature and margin, without retraining"))
st.caption(t("The loss recomputed on the probe batch's two views (frozen embeddings) at any temperature and margin."))


@st.fragment
def what_if_panel() -> None:
    trained = run.config.get("method", {})
    c1, c2, c3 = st.columns(3)
    # view widgets, in the page's link as whatif_step, whatif_t and whatif_m (see view)
    step = view(c1.select_slider, "Snapshot step", f"wi_step.{steps[-1]}", steps[-1], "whatif_step", options=steps)
    temps = sorted({0.01, 0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 2.0, trained.get("temperature", 0.2)})
    temp = view(c2.select_slider, "Temperature T", "wi_t", trained.get("temperature", 0.2), "whatif_t", options=temps)
    margin = view(
        c3.slider,
        "Margin m",
        "wi_m",
        float(trained.get("margin", 1.0)),
        "whatif_m",
        min_value=0.0,
        max_value=2.5,
        step=0.05,
    )
    r = what_if(path, step, temp, margin)
    sim = snapshot(path, step)["similarity"]
    m = len(sim) // 2
    cols = st.columns(5)
    cols[0].metric(
        t("NT-Xent loss"),
        f"{r['loss']:.3f}",
        help=t(
            "floor {f:.3f}, chance ln(2M−1) = {c:.3f} for M = {m}",
            f=temperature_floor(m, temp),
            c=np.log(2 * m - 1),
            m=m,
        ),
    )
    cols[1].metric(t("Contrast accuracy"), f"{r['contrast_acc']:.0%}", help=t("Anchors whose positive wins."))
    cols[2].metric(
        t("Contrast entropy"),
        f"{r['contrast_entropy']:.2f}",
        help=t("Entropy of the softmax over candidates; max ln(2M−1) = {c:.2f}.", c=np.log(2 * m - 1)),
    )
    cols[3].metric(t("Margin loss"), f"{r['margin_loss']:.3f}")
    cols[4].metric(
        t("Inside the margin"),
        f"{r['inside_margin']:.0%}",
        help=t("Share of negative pairs closer than the margin: the ones the margin loss still pushes."),
    )
    a, b = st.columns(2, gap="large")
    with a:
        chart(figures_embeddings.negative_weights(r["negative_weights"]), key="wi_weights", height=430)
    pos, neg = figures_embeddings.pair_similarities(sim, cross_only=True)
    dist = [np.sqrt(np.clip(2 - 2 * v, 0, None)) for v in (pos, neg)]
    with b:
        chart(figures_embeddings.distance_histograms(*dist, margin), key="wi_dist", height=430)


what_if_panel()
