"""Loss doctor: what a printed loss means, from numbers alone (cl_core.doctor.read_loss); the link carries them."""

import math

import streamlit as st

from cl_core.doctor import read_loss
from cl_core.methods import METHODS
from ui.frame import init_session
from ui.links import view
from ui.strings import t

init_session()

SEED = math.log(32)  # the copied SimCLR example's printed loss at batch 16: the page opens on it
KIND = {
    "not_finite": (st.error, "Not a number"),
    "impossible": (st.error, "Impossible for this loss"),
    "exactly_degenerate": (st.error, "Exactly a degenerate value"),
    "above_chance": (st.error, "Above chance"),
    "at_chance": (st.warning, "At chance"),
    "learning": (st.success, "Learning"),
    "near_floor": (st.info, "At the temperature floor"),
    "no_chance_level": (st.info, "No chance level"),
}

st.title(t("Loss doctor"))
st.caption(
    t(
        "What does the loss your run printed mean? Give the number and the batch it came from: the doctor "
        "compares it with the loss's chance level ln C, its temperature floor and the values a broken run "
        "prints. No training; your own embeddings: `python -m cl_core inspect FILE`."
    )
)
c = st.columns(3)
loss = view(c[0].number_input, "Loss", "doc.loss", SEED, "doc_loss", min_value=-1e6, max_value=1e6, format="%.6f")
n = view(
    c[1].number_input,
    "Batch size N (images)",
    "doc.n",
    16,
    "doc_n",
    min_value=2,
    max_value=10**7,
    step=1,
    help=t("Images in the batch the loss came from (the last batch of an epoch may be smaller)."),
)
method = view(
    c[2].selectbox,
    "Method",
    "doc.method",
    "simclr",
    "doc_method",
    options=list(METHODS),
    format_func=lambda m: t(METHODS[m].TITLE),
)
c = st.columns(3)
temperature, queue, prototypes, mask_self = None, 0, 0, True
if method in ("simclr", "moco"):
    temperature = view(
        c[0].number_input,
        "Temperature T",
        "doc.T",
        0.5,
        "doc_T",
        min_value=0.001,
        max_value=100.0,
        format="%.3f",
        help=t("The loss's temperature: it sets the floor."),
    )
if method == "moco":
    queue = view(
        c[1].number_input,
        "Queue size K (0: in-batch keys)",
        "doc.queue",
        0,
        "doc_queue",
        min_value=0,
        max_value=10**7,
        step=1,
    )
if method == "swav":
    prototypes = view(
        c[1].number_input, "Prototypes", "doc.prototypes", 3000, "doc_prototypes", min_value=1, max_value=10**6, step=1
    )
if method == "simclr":
    mask_self = not view(
        c[1].toggle,
        "No self-mask",
        "doc.self",
        False,
        "doc_self",
        help=t("The anchor is among its own candidates: 2N of them, and the chance level is ln(2N)."),
    )

# The widgets' ranges (and linked(), for a link's values) keep every input valid: read_loss cannot refuse them.
r = read_loss(loss, int(n), method, temperature, int(queue), int(prototypes), mask_self)
banner, title = KIND[r.kind]
banner(f"**{t(title)}** — " + " ".join(t(x) for x in r.reasons))
m = st.columns(4)
for col, label, value, helptext in (
    (m[0], "Chance ln C", r.chance, "The loss of an encoder that cannot tell images apart."),
    (m[1], "Temperature floor", r.floor, "Positives aligned, negatives orthogonal."),
    (m[2], "Least possible", r.minimum, "No value of this loss (a mean over anchors) can be lower."),
):
    col.metric(t(label), "—" if value is None else f"{value:.4f}", help=t(helptext))
m[3].metric(
    t("Chance → floor"), "—" if r.progress is None else f"{r.progress:.0%}", help=t("0% at chance, 100% at the floor.")
)
if r.causes:
    st.markdown(f"**{t('Check')}**\n" + "\n".join(f"- {t(x)}" for x in r.causes))
