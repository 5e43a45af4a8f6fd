"""Loss Playground: toy embeddings on the circle or sphere, and what InfoNCE and the margin loss do with them."""

import random

import numpy as np
import streamlit as st

from cl_core import figures_playground, playground
from ui.charts import chart
from ui.frame import init_session, stop
from ui.links import linked, shown, view
from ui.strings import t
from ui.widgets import guard

init_session()

TEMPS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
DEFAULT = playground.Toy()
# Every control is in the page's link (see view). T, m and toy_seed, not temperature, margin and seed: those
# name training settings, which a link also sets (?T=0.1&m=1.5&n=4&bug=true).
for key in [f"pg.{k}" for k in vars(DEFAULT)] + ["pg.bug"]:
    if key in st.session_state:  # re-assigned so that the values survive a visit to another page
        st.session_state[key] = st.session_state[key]
temperature = linked("pg.temperature", DEFAULT.temperature, "T", min_value=0.001, max_value=10.0)
if temperature not in TEMPS:  # e.g. from a link: snap to the nearest option
    st.session_state["pg.temperature"] = min(TEMPS, key=lambda v: abs(v - temperature))


def randomise() -> None:
    st.session_state["pg.seed"] = random.randrange(100_000)


st.title(t("Loss Playground"))
st.caption(
    t(
        "No training: a few images, two views each, as points on the unit circle or sphere. Move the sliders "
        "and watch what InfoNCE and the margin loss make of them — the same loss functions the trainer uses."
    )
)
c = st.columns(4)
view(
    c[0].segmented_control,
    "Space",
    "pg.dim",
    DEFAULT.dim,
    "dim",
    options=[2, 3],
    required=True,
    format_func=lambda d: t("circle (2-D)") if d == 2 else t("sphere (3-D)"),
)
n = view(
    c[1].slider,
    "Images N",
    "pg.n",
    DEFAULT.n,
    "n",
    min_value=2,
    max_value=12,
    help=t("N images with two views each: 2N points."),
)
view(c[2].number_input, "Seed", "pg.seed", DEFAULT.seed, "toy_seed", min_value=0, max_value=2**31 - 1, step=1)
if shown("randomise"):
    c[2].button(t("🎲 Randomise"), on_click=randomise, key="pg_randomise")  # a button holds no state: no "pg."
if not 0 <= linked("pg.anchor", DEFAULT.anchor, "anchor", min_value=0) < 2 * n:
    st.session_state["pg.anchor"] = 0
view(
    c[3].selectbox,
    "Anchor",
    "pg.anchor",
    DEFAULT.anchor,
    "anchor",
    options=range(2 * n),
    format_func=lambda i: t("image {i}, view {v}", i=i % n + 1, v=i // n + 1),
)
c = st.columns(4)
unit = {"min_value": 0.0, "max_value": 1.0, "step": 0.05}
view(
    c[0].slider,
    "Positive closeness",
    "pg.closeness",
    DEFAULT.closeness,
    "closeness",
    **unit,
    help=t("1: both views coincide."),
)
view(
    c[1].slider,
    "Negatives spread",
    "pg.spread",
    DEFAULT.spread,
    "spread",
    **unit,
    help=t("0: all images in one cluster."),
)
view(c[2].select_slider, "Temperature T", "pg.temperature", DEFAULT.temperature, "T", options=TEMPS)
view(c[3].slider, "Margin m", "pg.margin", DEFAULT.margin, "m", min_value=0.1, max_value=3.0, step=0.05)
bug = view(st.toggle, "Show the copied-example bug (positive = the anchor itself) side by side", "pg.bug", False, "bug")

toy = None
with guard():
    toy = playground.Toy(**{k: st.session_state[f"pg.{k}"] for k in vars(DEFAULT)}).validate()
if toy is None:
    stop()
z1, z2 = playground.toy_embeddings(toy)
z = np.concatenate([z1, z2])
board = playground.anchor_view(z1, z2, toy.anchor, toy.temperature)
copied = playground.anchor_view(z1, z2, toy.anchor, toy.temperature, bug=True)
margin = playground.margin_view(z1, z2, toy.margin)

m = st.columns(6)
m[0].metric(t("InfoNCE loss"), f"{board.batch_loss:.3f}", help=t("Mean over all 2N anchors: what training logs."))
m[1].metric(t("Anchor's loss"), f"{board.loss:.3f}")
m[2].metric(t("Chance ln(2N−1)"), f"{board.chance:.3f}", help=t("The loss when all points coincide."))
m[3].metric(t("Top negative"), f"{board.top_negative_share:.0%}", help=t("Its share of the push on negatives."))
m[4].metric(
    t("Eff. negatives"),
    f"{board.effective_negatives:.1f} / {2 * toy.n - 2}",
    help=t("How many negatives really count: exp(entropy) of their shares of the push."),
)
m[5].metric(t("Margin loss"), f"{margin.loss:.3f}", help=t("Mean over all view-1 × view-2 pairs."))
if bug:
    m = st.columns(6)
    m[0].metric(t("Copied-bug loss"), f"{copied.batch_loss:.3f}", help=t("Mean over all 2N anchors."))
    m[1].metric(t("Bug: anchor's loss"), f"{copied.loss:.3f}")
    m[2].metric(t("Bug: chance ln(2N)"), f"{copied.chance:.3f}")


def scatter(v: playground.AnchorView, key: str, title: str, pull: str) -> None:
    fig = figures_playground.toy_embeddings_figure(z, v.anchor, v.positive, v.weights, v.grad, title, pull)
    chart(fig, key=key, height=460, legend="bottom")


def margin_chart() -> None:
    d = np.linspace(0, max(2.0, toy.margin + 0.1), 241)
    fig = figures_playground.margin_loss_curve(
        d, *playground.margin_curve(d, toy.margin), toy.margin, margin.distance, margin.pair_loss, margin.is_positive
    )
    chart(fig, key="pg_chart.margin", height=460)


left, right = st.columns(2, gap="large")
with left:
    scatter(
        board,
        "pg_chart.infonce",
        t("InfoNCE: the anchor's softmax over its 2N − 1 candidates"),
        t("positive (other view)"),
    )
with right:
    if bug:
        title, pull = t("Copied bug: the anchor's target is itself"), t("other view (a negative to the bug)")
        scatter(copied, "pg_chart.bug", title, pull)
    else:
        margin_chart()
if bug:
    left, right = st.columns(2, gap="large")
    with left:
        margin_chart()
    text = right
else:
    text = st.container()
with text:
    st.markdown(
        t(
            "**Temperature.** A negative's size and colour show its softmax weight: its share of the anchor's push. "
            "At T = {T:g} the nearest negative takes {top:.0%} of the push and {eff:.1f} of the {k} negatives "
            "count. Lower T hands nearly all of it to the closest few; higher T spreads it evenly and the loss "
            "climbs towards ln(2N−1) = {chance:.2f}.",
            T=toy.temperature,
            top=board.top_negative_share,
            eff=board.effective_negatives,
            k=2 * toy.n - 2,
            chance=board.chance,
        )
    )
    st.markdown(
        t(
            "**Arrows** show minus the gradient of the anchor's loss: where one step of training moves each point. "
            "The positive is pulled towards the anchor, heavy negatives are pushed away, light ones hardly move."
        )
    )
    st.markdown(
        t(
            "**Margin loss.** Each dot is a pair of a view 1 and a view 2. Positive pairs pay their squared "
            "distance; negative pairs pay only while closer than the margin m = {m:g} — beyond the dashed line "
            "they get no push at all.",
            m=toy.margin,
        )
    )
    if bug:
        st.markdown(
            t(
                "**The copied bug** ({b:.3f} against {c:.3f}). Its target is the anchor itself, whose similarity "
                "is always 1, the top score, so its loss falls whenever *every* other point moves away — including "
                "the anchor's own other view: on the right its arrow points away from the anchor. Nothing pulls "
                "the two views together, so a low loss here teaches nothing about what the views share.",
                b=copied.batch_loss,
                c=board.batch_loss,
            )
        )
