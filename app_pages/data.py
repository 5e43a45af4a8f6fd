"""Data & augmentations: the data set, samples per class, every augmentation knob and a gallery of views."""

import numpy as np
import streamlit as st

from cl_core.augment import AUG_PRESETS, apply_preset
from cl_core.data import DATASETS, available_datasets
from cl_core.presets import switch_dataset
from ui.data import DATASET_TITLES, dataset, folder_report, gallery, image_grid, save_upload
from ui.frame import init_session, stop
from ui.keys import K
from ui.links import bound, bound_range, in_link, linked, shown
from ui.server import server_settings
from ui.session import cfg, forget_widgets
from ui.strings import t
from ui.widgets import guard

init_session()

UPLOAD, FOLDER = "upload", "folder"

st.title(t("Data & augmentations"))
c = cfg()

# ----------------------------------------------------------------------------------------------------- data set
ready = [n for n, ok in available_datasets(c.data.root).items() if ok]
missing = [t(DATASET_TITLES.get(n, n)) for n in DATASETS if n not in ready]
current = c.data.name
source = current if current in ready else (UPLOAD if "/uploads/" in current else FOLDER)
if K.WIDGET + "data.source" not in st.session_state:
    st.session_state[K.WIDGET + "data.source"] = source
titles = {**DATASET_TITLES, UPLOAD: t("Upload a zip of images…"), FOLDER: t("A folder of images on this computer…")}
col_pick, col_info = st.columns([2, 3], gap="large")


def use_dataset(name: str) -> None:
    """Switch to ``name`` with its own defaults (folders: colour-keeping views); their widgets show them."""
    if name != c.data.name:
        switch_dataset(c, name)
        forget_widgets("augment.")
        forget_widgets("data.image_size")
        forget_widgets("data.view_size")


with col_pick:
    choice = st.session_state[K.WIDGET + "data.source"]
    if shown("dataset"):  # controls that are not config fields ask shown (presentation mode)
        choice = st.selectbox(
            t("Data set"),
            [*ready, UPLOAD] + ([FOLDER] if server_settings().local_folders else []),
            key=K.WIDGET + "data.source",
            format_func=lambda n: t(titles.get(n, n)),
        )
    if choice in ready:
        use_dataset(choice)
    elif choice == UPLOAD:
        cap = server_settings().max_upload_mb
        up = st.file_uploader(t("Zip of images (one sub-folder per class)"), type=["zip"], max_upload_size=int(cap))
        if up is not None:
            with guard():  # over the server's upload limit: a message, and the data set stays as it was
                use_dataset(f"folder:{save_upload(up.name, up.getvalue())}")
    else:
        path = st.text_input(
            t("Folder path"),
            value=current.removeprefix("folder:") if source == FOLDER else "",
            help=t("One sub-folder per class; train/ and test/ sub-folders are used when present."),
        )
        if path:
            use_dataset(f"folder:{path}")
    if missing:
        st.caption(
            t(
                "Not found in `{root}`: {sets}. Put their files there to use them (the app never downloads).",
                root=c.data.root,
                sets=", ".join(missing),
            )
        )
    with st.expander(t("Data options")):
        bound(st.number_input, "Image size (0 = the set's own)", "data.image_size", min_value=0, max_value=512, step=8)
        bound(
            st.number_input,
            "Training view size (0 = the image size)",
            "data.view_size",
            min_value=0,
            max_value=512,
            step=8,
            help=t(
                "Smaller views train more steps a second; kNN and snapshots still see the images at the image size."
            ),
        )
        bound(st.number_input, "Training images (0 = all)", "data.max_train", min_value=0, step=500)
        bound(
            st.number_input,
            "Probe images (embedded at each snapshot)",
            "data.probe_size",
            min_value=2,
            max_value=20000,
            step=64,
        )

data = None
with col_info, guard():
    if c.data.name.startswith("folder:") and choice not in ready:
        st.caption(t(folder_report(c.data.name, c.data.image_size, c.train.seed)))
    if choice in ready or c.data.name.startswith("folder:"):
        server_settings().check_data(c)  # a shared server reads no folders of its own
        data = dataset(c.data.name, c.data.root, c.data.image_size, c.train.seed)
        st.markdown(f"**{t(data.describe())}**")
        st.caption(t("Samples per class (training split)"))
        labels = data.train_labels if data.train_labels is not None else np.zeros(len(data.train_images), int)
        names = data.class_names or [t("all images")]
        first = names[:12]
        grid = st.columns(2)
        for k, name in enumerate(first):
            idx = np.flatnonzero(labels == k)[:6]
            if len(idx):
                grid[k % 2].image(image_grid(data.train_images[idx], cols=6, gap=3, cell=48), caption=t(name))
        if len(names) > len(first):
            st.caption(t("… and {n} more classes.", n=len(names) - len(first)))
if data is None:
    stop()

# ------------------------------------------------------------------------------------------------ augmentations
st.divider()
st.header(t("Augmentations"))
knobs, views = st.columns([2, 3], gap="large")


def use_preset() -> None:
    c.augment = apply_preset(c.augment, st.session_state[K.AUG_PRESET])
    forget_widgets("augment.")


with knobs:
    settings = c.augment.__dict__
    match = next((n for n, p in AUG_PRESETS.items() if all(settings[k] == v for k, v in p.settings.items())), None)
    if match:
        st.session_state[K.AUG_PRESET] = match
    if shown("preset"):
        st.selectbox(
            t("Method preset"),
            list(AUG_PRESETS),
            key=K.AUG_PRESET,
            on_change=use_preset,
            format_func=lambda n: t(AUG_PRESETS[n].title),
            index=None,
            placeholder=t("custom settings"),
        )
    if match:
        st.caption(t("Source: {s}", s=t(AUG_PRESETS[match].source)))
    else:
        st.caption(t("Custom settings (no preset matches)."))
    p = {"min_value": 0.0, "max_value": 1.0, "step": 0.05}
    with st.expander(t("Crop and flip"), expanded=True):
        bound_range(
            "Crop area (share of the image)",
            "augment.crop_scale_min",
            "augment.crop_scale_max",
            min_value=0.01,
            max_value=1.0,
            step=0.01,
        )
        bound_range(
            "Crop aspect ratio (w/h)",
            "augment.crop_ratio_min",
            "augment.crop_ratio_max",
            min_value=0.25,
            max_value=4.0,
            step=0.05,
        )
        bound(st.slider, "Flip probability", "augment.flip_p", **p)
    with st.expander(t("Colour"), expanded=True):
        bound(st.slider, "Colour jitter probability", "augment.jitter_p", **p)
        bound(
            st.slider,
            "Jitter strength (scales all four)",
            "augment.jitter_strength",
            min_value=0.0,
            max_value=4.0,
            step=0.05,
        )
        bound(st.slider, "Brightness", "augment.brightness", **p)
        bound(st.slider, "Contrast", "augment.contrast", **p)
        bound(st.slider, "Saturation", "augment.saturation", **p)
        bound(st.slider, "Hue", "augment.hue", min_value=0.0, max_value=0.5, step=0.01)
        bound(st.slider, "Greyscale probability", "augment.grey_p", **p)
    with st.expander(t("Blur and solarize")):
        bound(st.slider, "Blur probability", "augment.blur_p", **p)
        bound_range(
            "Blur sigma (pixels)",
            "augment.blur_sigma_min",
            "augment.blur_sigma_max",
            min_value=0.05,
            max_value=10.0,
            step=0.05,
        )
        bound(st.slider, "Solarize probability", "augment.solarize_p", **p)
        bound(st.slider, "Solarize threshold", "augment.solarize_threshold", **p)

with views, guard():
    top = st.columns([3, 1])
    top[0].markdown(t("**Originals and their two views**, drawn by the same batched augmenter the trainer uses."))
    seed = linked(K.AUG_SEED, 0, "aug_seed", min_value=0)  # in the link: the same views reopen
    if shown("redraw") and top[1].button(t("🎲 Re-draw"), width="stretch"):
        seed = st.session_state[K.AUG_SEED] = seed + 1
        in_link("aug_seed", seed, 0)
    c.augment.validate()
    images, v1, v2 = gallery(c, seed, n=8)
    for caption, row in ((t("originals"), images), (t("view 1"), v1), (t("view 2"), v2)):
        st.image(image_grid(row, cols=8), caption=caption, width="stretch")
    st.caption(t("These settings carry over to Train. Seed {s}.", s=seed))
