"""Train: method and settings, what they mean in numbers, Start / Stop / Continue, and the live run."""

import math

import streamlit as st

from cl_core.backbones import LIBRARY_BACKBONES
from cl_core.encoders import BACKBONES
from cl_core.methods import METHODS
from ui.charts import chart, loss_figure, rank_std_figure, similarity_figure
from ui.data import dataset
from ui.frame import init_session, stop
from ui.keys import K
from ui.links import bound, shown
from ui.runs import ACTIVE, chance_and_floor, current_run, load, stamp, with_status
from ui.server import device_options, jobs, server_settings
from ui.session import cfg, owner, set_field, set_method, use_run_settings
from ui.strings import t
from ui.widgets import guard, run_header, verdict_banner

init_session()

st.title(t("Train"))
c = cfg()
limits = server_settings()  # the classroom caps: the widgets stop there, and so does submit


def pick_method() -> None:
    set_method(st.session_state["method_picker"])


def choices(current: float, values: list[float]) -> list[float]:
    return sorted({*values, current})


def option_widget(name: str, opt) -> None:
    """A method's teaching switch: bool -> toggle, choices -> selectbox, numbers -> number input in range."""
    label, key = name.replace("_", " ").capitalize(), f"method.options.{name}"
    if isinstance(opt.default, bool):
        bound(st.toggle, label, key, help=t(opt.help))
    elif opt.choices:
        bound(st.selectbox, label, key, options=list(opt.choices), format_func=t, help=t(opt.help))
    elif isinstance(opt.default, int):
        bound(
            st.number_input,
            label,
            key,
            min_value=None if opt.low is None else int(opt.low),
            max_value=None if opt.high is None else int(opt.high),
            step=1,
            help=t(opt.help),
        )
    else:
        step = 10 ** math.floor(math.log10(abs(opt.default))) if opt.default else 0.01
        bound(
            st.number_input,
            label,
            key,
            min_value=opt.low,
            max_value=opt.high,
            step=float(step),
            format="%g",
            help=t(opt.help),
        )


settings, numbers = st.columns([3, 2], gap="large")
with settings:
    if shown("method"):  # controls that are not config fields ask shown (presentation mode)
        st.session_state["method_picker"] = c.method.name
        st.selectbox(
            t("Method"),
            list(METHODS),
            key="method_picker",
            on_change=pick_method,
            format_func=lambda n: t(METHODS[n].TITLE),
        )
    cls = METHODS[c.method.name]
    st.markdown(f"{t(cls.DESCRIPTION)} [{t('Paper')}]({cls.PAPER})")
    if cls.OPTIONS:
        with st.container(border=True):
            st.caption(t("Teaching switches: break the method on purpose and watch what happens."))
            cols = st.columns(2)
            for i, (name, opt) in enumerate(cls.OPTIONS.items()):
                with cols[i % 2]:
                    option_widget(name, opt)
    a, b = st.columns(2)
    with a:
        if cls.USES_TEMPERATURE:
            bound(
                st.select_slider,
                "Temperature T",
                "method.temperature",
                options=choices(
                    c.method.temperature, [0.01, 0.02, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 2.0]
                ),
                help=t("Divides the cosine similarities before the softmax: low T focuses on hard negatives."),
            )
        if cls.USES_MARGIN:
            bound(
                st.slider,
                "Margin m",
                "method.margin",
                min_value=0.0,
                max_value=4.0,
                step=0.05,
                help=t("Negatives closer than m are pushed apart; farther ones are left alone."),
            )
        bound(
            st.select_slider,
            "Batch size N",
            "train.batch_size",
            options=choices(c.train.batch_size, [2**k for k in range(3, 12) if 2**k <= limits.max_batch_size]),
        )
        bound(
            st.select_slider,
            "Learning rate",
            "train.lr",
            format_func=lambda v: f"{v:g}",
            options=choices(c.train.lr, [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.3, 1.0]),
        )
        bound(
            st.selectbox,
            "Backbone",
            "train.backbone",
            options=list(dict.fromkeys([*BACKBONES, *LIBRARY_BACKBONES, c.train.backbone])),
            format_func=t,
            help=t(
                "small_cnn trains fast on a CPU; resnet18 is about ten times slower there. torchvision:NAME is "
                "torchvision's own network at its own width (resnet50 is slow on a CPU)."
            ),
        )
    with b:
        budget_key = K.WIDGET + "train.budget"
        # steps > 0 means a step budget: the seconds budget sets steps to 0, and a link (?steps=300) names only steps
        st.session_state.setdefault(budget_key, "steps" if c.train.steps else "seconds")
        if shown("budget"):
            st.segmented_control(t("Budget"), ["seconds", "steps"], key=budget_key, required=True, format_func=t)
        kind = st.session_state[budget_key]
        if kind == "seconds":
            c.train.seconds, c.train.steps = min(c.train.seconds or 60.0, limits.max_seconds_per_run), 0
            bound(
                st.number_input,
                "Seconds of training",
                "train.seconds",
                min_value=1.0,
                max_value=min(86400.0, limits.max_seconds_per_run),
                step=10.0,
                format="%.0f",
            )
        else:
            c.train.steps, c.train.seconds = c.train.steps or 200, 0.0
            bound(st.number_input, "Training steps", "train.steps", min_value=1, max_value=10**7, step=50)
        c.train.epochs = 0.0
        bound(st.number_input, "Seed", "train.seed", min_value=0, step=1)
        bound(st.selectbox, "Device", "train.device", options=device_options(), format_func=t)
    with st.expander(t("Advanced settings")):
        x, y = st.columns(2)
        with x:
            bound(
                st.number_input,
                "Backbone width",
                "train.width",
                min_value=4,
                max_value=512,
                step=8,
                help=t("small_cnn's and resnet18's first stage; torchvision:NAME keeps its own widths."),
            )
            bound(
                st.toggle,
                "CIFAR stem",
                "train.cifar_stem",
                help=t("ResNets: a 3x3 stride-1 first convolution and no max-pool, for small images."),
            )
            if limits.local_folders and shown("init_from"):  # a shared server reads no files of its own
                init_from = st.text_input(
                    t("Start the backbone from a checkpoint"),
                    value=c.train.init_from,
                    key=K.WIDGET + "train.init_from",
                    placeholder="/path/to/resnet18.pth",
                    help=t(
                        "A file on this computer: a torchvision state dict, a lightly or solo-learn checkpoint, "
                        "or a run's model.pt. Its keys are matched to the backbone; what does not fit is named."
                    ),
                )
                set_field(c, "train.init_from", init_from.strip())
            bound(st.number_input, "Projection hidden size", "method.proj_hidden", min_value=2, step=64)
            bound(st.number_input, "Projection output size d", "method.proj_dim", min_value=2, step=16)
            bound(st.selectbox, "Optimizer", "train.optimizer", options=["adamw", "sgd", "lars"])
            bound(
                st.number_input,
                "Weight decay",
                "train.weight_decay",
                min_value=0.0,
                max_value=10.0,
                step=1e-4,
                format="%g",
            )
        with y:
            bound(st.slider, "Warm-up share", "train.warmup", min_value=0.0, max_value=0.5, step=0.01)
            bound(
                st.number_input,
                "Snapshots",
                "train.snapshots",
                min_value=1,
                max_value=100,
                step=1,
                help=t("Embeddings saved at evenly spaced steps, for Embeddings and Diagnostics."),
            )
            bound(st.number_input, "Log every (steps)", "train.log_every", min_value=1, step=5)
            bound(
                st.number_input,
                "Probe batch pairs M",
                "train.probe_pairs",
                min_value=2,
                max_value=1024,
                step=8,
                help=t("Images of the fixed batch whose 2M x 2M similarity matrix is saved."),
            )
            bound(st.selectbox, "Precision", "train.precision", options=["auto", "fp32", "bf16", "fp16"], format_func=t)

with numbers, guard():
    st.subheader(t("What these settings mean"))
    n = c.train.batch_size
    chance, floor = chance_and_floor(c.to_dict())
    with st.container(border=True):
        st.metric(t("Views per step (2N)"), f"{2 * n:,}")
        if cls.USES_TEMPERATURE or cls.USES_MARGIN:
            st.metric(t("Negatives per anchor in the batch (2N−2)"), f"{2 * n - 2:,}")
        else:
            st.caption(
                t(
                    "{m} uses no negatives: nothing pushes images apart, so something else must prevent collapse.",
                    m=t(cls.TITLE),
                )
            )
        if chance is not None:
            st.metric(
                t("Chance level ln C"), f"{chance:.3f}", help=t("The loss of an encoder that cannot tell images apart.")
            )
        if floor is not None:
            st.metric(
                t("Temperature floor"),
                f"{floor:.3f}",
                help=t(
                    "ln(1+(2N−2)e^(−1/T)): the loss when positives match perfectly and every negative "
                    "is orthogonal. A loss near it is as good as this temperature allows."
                ),
            )

st.divider()
run = current_run()
go, halt, reuse, more = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
if shown("start") and go.button(t("▶ Start training"), type="primary", width="stretch"):
    with guard():
        dataset(c.data.name, c.data.root, c.data.image_size, c.train.seed)  # a missing data set fails here
        st.session_state[K.RUN] = jobs().submit(c.validate(), owner())
        st.rerun()
if run is not None and run.state in ACTIVE:
    mine = jobs().adopt(run.id, owner())
    if shown("stop") and halt.button(
        t("■ Stop"),
        width="stretch",
        disabled=not mine,
        help=None if mine else t("Started in another browser session, or outside this app."),
    ):
        with guard():
            jobs().stop(run.id, owner())
            st.toast(t("Stopping: the run finishes its step and keeps everything so far."))
elif run is not None and (run.path / "checkpoint.pt").is_file() and shown("continue"):
    with more:
        field, bt = st.columns([1, 1], vertical_alignment="bottom")
        extra = field.number_input(
            t("More seconds"),
            min_value=5.0,
            max_value=min(86400.0, limits.max_seconds_per_run),
            value=min(30.0, limits.max_seconds_per_run),
            step=10.0,
            format="%.0f",
        )
        if bt.button(t("⏩ Continue"), width="stretch", help=t("Train this run for longer from where it ended.")):
            with guard():
                jobs().submit(None, owner(), resume_run=run.path, seconds=extra)
                st.rerun()
if (
    run is not None
    and shown("reuse")
    and not run.config.get("external")  # trained outside the explorer: no settings to copy
    and reuse.button(
        t("Use this run's settings"), width="stretch", help=t("Copy the current run's settings into the form above.")
    )
):
    use_run_settings(run)
    st.rerun()

if run is None:
    st.info(t("Start a run to watch it train here."))
    stop()


active = run.state in ACTIVE


@st.fragment(run_every=1.0 if active else None)
def progress() -> None:
    """State, progress and ETA, re-read every second while the run trains."""
    r = with_status(run)
    last = st.session_state.get(K.LIVE_STATE)
    st.session_state[K.LIVE_STATE] = r.state
    if last in ACTIVE and r.state not in ACTIVE:
        st.rerun()  # the run ended: redraw the buttons and the charts too
    run_header(r)


@st.fragment(run_every=3.0 if active else None)
def charts() -> None:
    """Loss, collapse monitors, verdict and similarity matrix; figures are rebuilt only when the run wrote more."""
    r = load(run.path)
    path, mtimes, snaps = str(r.path), stamp(r.path), [m for m in r.metrics if m.get("snapshot")]
    left, right = st.columns(2)
    with left:
        if any(not m.get("snapshot") for m in r.metrics):
            chart(loss_figure(path, mtimes), key="live_loss")
        if snaps:
            chart(rank_std_figure(path, mtimes, height=430), key="live_rank")
    with right:
        if snaps:
            verdict_banner(snaps[-1].get("verdict"), snaps[-1].get("verdict_reasons", []))
        steps = r.snapshot_steps()
        if steps:
            chart(similarity_figure(path, steps[-1]), key="live_sim", height=520)
        elif r.state in ACTIVE:
            st.caption(t("The first snapshot appears after the first training steps."))


progress()
charts()
