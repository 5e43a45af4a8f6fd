"""Embeddings: the probe set in 2-D / 3-D (UMAP, PCA, t-SNE), step by step, with the images behind the points."""

import numpy as np
import streamlit as st

from cl_core import figures_embeddings
from ui.background import projection_pending, projections
from ui.charts import histogram_figure, in_place_chart, similarity_figure
from ui.data import image_grid, run_dataset
from ui.frame import init_session
from ui.links import view
from ui.runs import snapshot
from ui.strings import t
from ui.widgets import need_run, need_snapshots

init_session()

st.title(t("Embeddings"))
run = need_run()
steps = need_snapshots(run)

PROJ = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}
SPACE = {"features": t("backbone"), "projections": t("projection head")}
c1, c2, c3, c4 = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
# view widgets: their values are in the page's link (?projection=pca&dims=3&step=40), see view
method = view(
    c1.segmented_control,
    "Projection",
    "emb_method",
    "umap",
    "projection",
    options=list(PROJ),
    required=True,
    format_func=PROJ.get,
)
dim = view(
    c2.segmented_control,
    "Dimensions",
    "emb_dim",
    2,
    "dims",
    options=[2, 3],
    required=True,
    format_func=lambda d: t("{d}-D", d=d),
)
space = view(
    c3.segmented_control,
    "Space",
    "emb_space",
    "features",
    "space",
    options=list(SPACE),
    format_func=SPACE.get,
    required=True,
    help=t("Backbone features are what kNN and linear probes use; the projection head output is what the loss sees."),
)
play = view(
    c4.toggle, "▶ Play all steps", "emb_play", False, "play", help=t("An animation over every snapshot, with a slider.")
)
step = view(
    st.select_slider,
    "Training step",
    f"emb_step.{steps[-1]}",
    steps[-1],
    "step",
    options=steps,
    disabled=play,
    help=t("Snapshots are saved at evenly spaced steps of the run."),
)

# every step's layout at once, aligned from one step to the next: one computation per run, projection and space
# (UMAP and t-SNE in the background), then a step is a row of it and a slider move costs no projecting
shown = method
if projection_pending(str(run.path), tuple(steps), space, method, dim) is not None:
    shown = "pca"  # until the background computation is done: UMAP and t-SNE take seconds, PCA milliseconds

    @st.fragment(run_every=1.0)
    def wait_for_projection() -> None:
        st.info(
            t(
                "Computing the {m} layout (seconds for a few thousand points; the first UMAP after the app starts "
                "also compiles, about 10 s): showing PCA meanwhile.",
                m=PROJ[method],
            )
        )
        if projection_pending(str(run.path), tuple(steps), space, method, dim) is None:
            st.rerun()

    wait_for_projection()

at = len(steps) - 1 if play else steps.index(step)
snap = snapshot(str(run.path), steps[at])
names = run.status.get("class_names")  # the trainer writes them: drawing needs no data set (older runs: load it)
data = None if names else run_dataset(run)
names = names or (data.class_names if data is not None else None)
points = projections(str(run.path), tuple(steps), space, shown, dim)
fig = figures_embeddings.projection_scatter(
    points if play else points[at : at + 1],
    snap["labels"],
    names,
    steps if play else steps[at : at + 1],
    method=PROJ[shown],
    extent=points,  # every step on the same axes, as in the animation: a slider move only moves the points
)
if not play:
    fig.update_layout(
        title_text=t("{m} of {n} probe images at step {s}", m=PROJ[shown], n=len(snap["labels"]), s=steps[at])
    )

chart, side = st.columns([3, 1], gap="medium")
with chart:
    selectable = dim == 2 and not play
    # one chart per run, redrawn in place from step to step; a selection stays with the run's probe images
    picked = in_place_chart(fig, key=f"emb_chart.{run.path.name}", legend="right", selectable=selectable)
    picked = [i for i in picked if 0 <= i < len(snap["labels"])]
with side:
    if shown == "pca":
        st.markdown(
            t(
                "**PCA** is a linear view: distances are faithful, but only the two or three directions "
                "of largest variance are shown."
            )
        )
    else:
        st.markdown(t("umap_note"))
    st.caption(
        t(
            "Every step is drawn on the same axes: an embedding that grows or shrinks during training shows it. "
            "Zoom in with the toolbar."
        )
    )
    if selectable:
        st.caption(
            t(
                "Draw a loop around points (or pick the box tool, or click a point) to see their images below. They "
                "stay selected at the other steps; double-click the chart to clear."
            )
        )

if picked and data is None:
    data = run_dataset(run)  # loaded only to show the selected images
if picked and data is not None:
    picked = np.asarray(picked, int)[:60]
    test_idx = snap["probe_index"][picked]
    st.subheader(t("{n} selected images", n=len(picked)))
    captions = [t(names[k]) if names else "" for k in snap["labels"][picked]]
    st.image([image_grid(data.test_images[i : i + 1], cols=1, gap=0) for i in test_idx], caption=captions, width=72)

st.divider()
left, right = st.columns(2, gap="large")
sim = snap["similarity"]
with left:
    in_place_chart(similarity_figure(str(run.path), steps[at]), key=f"emb_sim.{run.path.name}", height=560)
with right:
    st.markdown(t("similarity_note", m=len(sim) // 2))
in_place_chart(histogram_figure(str(run.path), steps[at]), key=f"emb_hist.{run.path.name}", height=480)
