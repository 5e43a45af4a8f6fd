"""Start: what contrastive learning does, the device, the main tasks and the latest runs."""

import numpy as np
import streamlit as st

from ui.data import gallery, image_grid
from ui.frame import init_session
from ui.keys import K
from ui.links import shown
from ui.runs import all_runs
from ui.server import device_label, torch_ready, wait_for_torch
from ui.session import PAGES, cfg
from ui.strings import t
from ui.widgets import guard, start_quick_demo, verdict_title

init_session()

st.title(t("🧲 Contrastive Learning Explorer"))
left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(t("intro"))
    device = st.empty()  # filled in last, with the picture

st.subheader(t("What would you like to do?"))
cols = st.columns(4)
for col, (page, blurb) in zip(
    cols,
    [
        ("app_pages/data.py", t("Pick a data set and see what the augmentations do to it.")),
        ("app_pages/train.py", t("Choose a method, temperature and batch size; train and watch it live.")),
        ("app_pages/embeddings.py", t("See the learned space with UMAP, PCA or t-SNE, step by step.")),
        ("app_pages/diagnostics.py", t("Is it collapsing? Spectrum, rank, kNN and a temperature what-if.")),
    ],
):
    title, icon = PAGES[page]
    with col.container(border=True):
        st.page_link(page, label=t(title), icon=icon)
        st.caption(blurb)
if shown("demo") and st.button(
    t("▶ Quick demo run (20 s)"), type="primary", help=t("SimCLR on the built-in digits for 20 seconds.")
):
    start_quick_demo()

st.subheader(t("Latest runs"))
runs = all_runs()[:10]
if not runs:
    st.caption(t("no_runs"))
else:
    table = [
        {
            t("run"): r.id,
            t("method"): r.config.get("method", {}).get("name"),
            t("data"): t(r.config.get("data", {}).get("name", "")),
            t("state"): t(r.state),
            t("steps"): r.status.get("step") or 0,
            t("kNN top-1"): r.summary.get("knn_top1"),
            t("verdict"): verdict_title(r.summary.get("verdict", "")),
            t("written by"): (r.config.get("external") or {}).get("source") or t("this app"),  # your own loop's
        }
        for r in runs
    ]

    def pick() -> None:
        rows = st.session_state["start_runs"].selection.rows
        if rows:
            st.session_state[K.RUN] = runs[rows[0]].id

    st.dataframe(
        table,
        hide_index=True,
        on_select=pick,
        selection_mode="single-row",
        key="start_runs",
        column_config={t("kNN top-1"): st.column_config.NumberColumn(format="percent")},
    )
    st.caption(t("Select a row to make it the current run."))

# Last, the picture and the device: they need torch, which a fresh server imports in the background
# (torch_ready). The text, tasks and runs above are on the screen meanwhile.
if not torch_ready():
    with right, st.spinner(t("Drawing augmented views…")):
        wait_for_torch()
device.markdown(t("Training runs on: **{device}**", device=t(device_label())))
with right, guard():
    images, v1, v2 = gallery(cfg(), seed=0, n=3)
    rows = np.stack([img for triple in zip(images, v1, v2) for img in triple])
    st.image(image_grid(rows, cols=3, gap=8, cell=96), width="stretch")
    st.caption(
        t(
            "Each row: an image, then its two augmented views — a **positive pair**, pulled together. "
            "Views in different rows are **negatives**, pushed apart."
        )
    )
