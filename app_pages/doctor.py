"""Loss doctor: what a printed loss means, from numbers alone (cl_core.doctor.read_loss); the link carries them.
Below it, "Open your own run": embeddings and a loss curve from the user's own training become a run
(cl_core.import_run), the current run of every page."""

import math
from pathlib import Path

import streamlit as st

from cl_core.doctor import read_loss
from cl_core.embedfiles import SUFFIXES
from cl_core.methods import METHODS
from cl_core.runs import new_run_id
from ui import session
from ui.data import save_upload
from ui.frame import init_session
from ui.keys import K
from ui.links import presenting, view
from ui.runs import find_run
from ui.server import server_settings
from ui.strings import t
from ui.widgets import run_label

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


# ------------------------------------------------------------------------------------------- open your own run
OPENED = "own.opened"  # the run this session last opened here: its links stay until another run is picked
LABEL_TYPES = ["txt", "csv", "tsv", "npy", "npz", "pt", "pth", "safetensors"]


def open_own_run(
    files: dict, paths: dict[str, str], tag: str, method: str, n: int | None, T: float | None, queue: int, protos: int
) -> None:
    """Save the uploads (``files``: kind -> UploadedFile) as the Data page saves a zip, or take the server paths
    typed (``paths``, only with local_folders), write the run and make it the current one."""
    from cl_core.importrun import import_run

    saved = {kind: save_upload(up.name, up.getvalue()) for kind, up in files.items() if up is not None}
    names = {kind: up.name for kind, up in files.items() if up is not None}
    for kind, typed in paths.items():
        if typed.strip() and kind not in saved:
            saved[kind], names[kind] = Path(typed.strip()).expanduser(), typed.strip()
    try:
        run = import_run(
            session.runs_dir() / new_run_id(f"{method}_import"),
            saved.get("embeddings"),
            saved.get("loss"),
            labels=saved.get("labels"),
            tag=tag.strip() or None,
            method=method,
            batch_size=None if n is None else int(n),
            temperature=T,
            queue_size=int(queue),
            prototypes=int(protos),
            owner=session.owner(),
            source=", ".join(names.values()),
        )
    except ValueError as e:  # the file names the user knows, not where this server keeps them
        msg = str(e)
        for kind, path in saved.items():
            msg = msg.replace(str(path), names[kind])
        raise ValueError(msg) from None
    st.session_state[K.RUN] = st.session_state[OPENED] = run.id


if not presenting():
    st.divider()
    st.header(t("Open your own run"))
    st.caption(
        t(
            "Embeddings and a loss curve your own training wrote become a run of this app: Diagnostics, Embeddings, "
            "Compare and Train show it. Give the embeddings, the loss curve or both."
        )
    )
    local = server_settings().local_folders
    cap = int(server_settings().max_upload_mb)
    c = st.columns(3)
    files = {
        "embeddings": c[0].file_uploader(
            t("Embeddings"),
            type=[x.lstrip(".") for x in SUFFIXES],
            key="own.emb",
            max_upload_size=cap,
            help=t("One view (N, D), or two: z1 and z2, (2, N, D) or (N, 2, D); labels and features may be in it."),
        ),
        "labels": c[1].file_uploader(
            t("Labels or metadata (optional)"),
            type=LABEL_TYPES,
            key="own.labels",
            max_upload_size=cap,
            help=t("N labels, one a line (a header line allowed), or an array file with a labels array."),
        ),
        "loss": c[2].file_uploader(
            t("Loss curve (optional)"),
            key="own.loss",
            max_upload_size=cap,
            help=t("A TensorBoard event file (events.out.tfevents.*), Lightning's metrics.csv or a step,loss CSV."),
        ),
    }
    paths = {}
    if local:  # this server may read its own files: also a path, e.g. a folder of TensorBoard logs
        c = st.columns(3)
        paths["embeddings"] = c[0].text_input(t("Or a file on this computer"), key="own.emb_path")
        paths["labels"] = c[1].text_input(t("Or a file on this computer"), key="own.labels_path")
        paths["loss"] = c[2].text_input(
            t("Or a file or folder on this computer"), key="own.loss_path", help=t("A folder of event files too.")
        )
    c = st.columns(4)
    own_method = c[0].selectbox(t("Method"), list(METHODS), key="own.method", format_func=lambda m: t(METHODS[m].TITLE))
    own_n = c[1].number_input(
        t("Batch size N (optional)"),
        min_value=2,
        max_value=10**7,
        step=1,
        value=None,
        key="own.n",
        help=t("Images per step: the loss's chance level depends on it."),
    )
    own_T = c[2].number_input(
        t("Temperature T (optional)"), min_value=0.001, max_value=100.0, value=None, format="%.3f", key="own.T"
    )
    own_tag = c[3].text_input(
        t("Loss tag (optional)"), key="own.tag", help=t("The curve to read when the file logs several losses.")
    )
    own_K, own_P = 0, 0  # MoCo's chance level counts its queue, SwAV's its prototypes
    if own_method == "moco":
        own_K = st.number_input(
            t("Queue size K (0: in-batch keys)"), min_value=0, max_value=10**7, value=65536, step=1, key="own.K"
        )
    if own_method == "swav":
        own_P = st.number_input(t("Prototypes"), min_value=1, max_value=10**6, value=3000, step=1, key="own.P")
    if st.button(t("Open"), type="primary", key="own.open"):
        try:
            with st.spinner(t("Reading your files…")):
                open_own_run(files, paths, own_tag, own_method, own_n, own_T, own_K, own_P)
        except ValueError as e:  # a file over the cap, a file that cannot be read, a bad setting
            st.error(t("**Your run could not be opened**: {e}", e=t(str(e))))
    opened = find_run(st.session_state.get(OPENED))
    if opened is not None and st.session_state.get(K.RUN) == opened.id:
        st.success(t("**{run}** is open: it is the current run of every page.", run=run_label(opened)))
        c = st.columns(3)
        if opened.snapshot_steps():
            c[0].page_link("app_pages/diagnostics.py", label=t("Diagnostics"), icon="🩺")
            c[1].page_link("app_pages/embeddings.py", label=t("Embeddings"), icon="🌌")
        if "loss" in opened.config.get("external", {}).get("files", {}):
            c[2].page_link("app_pages/train.py", label=t("Its loss curve on Train"), icon="🏋️")
