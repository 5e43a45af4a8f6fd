"""Charts: plotly figures translated, laid out and drawn (also in place, redrawn without remounting)."""

from __future__ import annotations

import functools
import html
import json
import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cl_core.runs import Run
from ui import links, runs, strings


def _wrap(text: str, width: int) -> str:
    """Wrap a plotly label at spaces with <br>s (plotly never wraps by itself)."""
    return "<br>".join(textwrap.wrap(text, width)) if text and "<br>" not in text else text


def _laid_out(fig: Any, height: int | None, legend: str) -> Any:
    """The figure translated and laid out for a chart, its title written as page text above it (see chart)."""
    fig = strings.translated(fig)
    title = fig.layout.title.text
    if title:
        st.markdown(f"<div class='cl-chart-title'>{html.escape(title)}</div>", unsafe_allow_html=True)
    x_lines = 1
    for axis in [a for a in fig.layout if a.startswith(("xaxis", "yaxis"))]:
        text = _wrap(fig.layout[axis].title.text or "", 40)
        fig.layout[axis].title.text = text or None
        x_lines = max(x_lines, text.count("<br>") + 1) if axis.startswith("x") else x_lines
    subplot_titles = [a for a in fig.layout.annotations if a.yref == "paper" and (a.y or 0) >= 1 and a.text]
    for ann in subplot_titles:
        ann.text = _wrap(ann.text, 32)
    legend = "bottom" if legend == "top" and subplot_titles else legend
    names = [tr.name for tr in fig.data if tr.showlegend is not False and tr.name]
    rows = math.ceil(sum(45 + 8 * len(n) for n in names) / 440) if len(names) > 1 and legend != "right" else 0
    place = {
        "top": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        "bottom": {"orientation": "h", "yanchor": "bottom", "y": 0, "yref": "container", "x": 0},
        "right": {"orientation": "v"},
    }[legend]
    top = 16 + (28 * rows if legend == "top" else 0) + 44 * bool(subplot_titles)
    bottom = 40 + 22 * x_lines + (28 * rows if legend == "bottom" else 0)
    margin = {"l": 70, "r": 20, "t": top, "b": bottom}
    fig.update_layout(title=None, font_size=20 if links.presenting() else 15, legend=place, margin=margin)
    if height:
        fig.update_layout(height=height)
    return fig


STATIC = Path(__file__).resolve().parents[1] / "static"  # beside app.py: what the server serves at app/static/
PLOTLY_CONFIG = {"displaylogo": False}


def chart(fig: Any, key: str, height: int | None = None, legend: str = "top", **kw: Any) -> Any:
    """Show a plotly figure with projector-sized text, fitted to a (possibly half-width) column.

    The title is drawn as page text above the chart (it wraps at any width); long axis and subplot titles
    wrap; the legend goes ``top`` (above the plot), ``bottom`` or ``right``. Its texts are translated into the
    session's language on a copy (cl_core.figures builds English figures, and cached ones must not change).
    """
    fig = _laid_out(fig, height, legend)
    return st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, **kw)


@st.cache_resource(show_spinner=False)
def plotly_js_url() -> str | None:
    """Where the browser loads plotly.js for in-place charts, or None when the app does not serve it.

    The app's static/ folder is served at app/static/ (server.enableStaticServing in .streamlit/config.toml);
    the file is a copy of the installed plotly package's plotly.min.js, named by its version (a browser never
    keeps an old one), made once per server. None (and st.plotly_chart instead) when static serving is off,
    e.g. a server started outside the app's folder, or when the copy cannot be written.
    """
    import plotly

    from cl_core.runs import atomic_write_bytes

    if not st.get_option("server.enableStaticServing"):
        return None
    source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    served = STATIC / f"plotly-{plotly.__version__}.min.js"
    try:
        if not served.exists() or served.stat().st_size != source.stat().st_size:
            atomic_write_bytes(served, source.read_bytes())
        if served.stat().st_mode & 0o444 != 0o444:
            served.chmod(0o644)  # a temporary file's 0600 would hide it from a server run by another user
    except OSError:
        return None
    return f"app/static/{served.name}"  # relative to the page: right under any server.baseUrlPath or proxy prefix


@functools.cache
def _in_place_component() -> Callable[..., Any]:
    js = (STATIC / "in_place_chart.js").read_text()
    return st.components.v2.component("cl_in_place_chart", js=js, isolate_styles=False)


def in_place_chart(fig: Any, key: str, height: int | None = None, legend: str = "top", selectable: bool = False):
    """Like chart, but one chart that stays mounted while the script reruns: a new figure is redrawn into it.

    st.plotly_chart replaces its chart whenever the figure changes and then draws every point twice; for 2,000
    points that was most of a slider step (benchmarks/README.md). Here static/in_place_chart.js redraws the same
    chart (Plotly.react; Plotly.animate when only the points moved), keeping zoom across figures. With
    ``selectable`` (lasso by default, box and click too) it returns the selected points' customdata, which stay
    selected and highlighted in the next figures (the same probe images at another step); else []. Falls back to
    st.plotly_chart, whose selection ends with its figure, when the app does not serve plotly.js (plotly_js_url).
    """
    fig = _laid_out(fig, height, legend)
    if selectable:
        fig.update_layout(dragmode="lasso", clickmode="event+select")
    src = plotly_js_url()
    if src is None:
        modes = {"on_select": "rerun", "selection_mode": ("points", "box", "lasso")} if selectable else {}
        event = st.plotly_chart(fig, key=key, theme=None, config=PLOTLY_CONFIG, **modes)
        points = event.selection.points if selectable else []
        return [int(_first(p["customdata"])) for p in points if p.get("customdata") is not None]
    chosen = _ids((st.session_state.get(key) or {}).get("selection")) if selectable else []
    for trace in fig.data if chosen else ():  # the selection stays highlighted in the next figure
        if trace.customdata is not None:
            ids = [_first(v) for v in trace.customdata]
            # a plain list: plotly.py would send an array as base64, which plotly.js decodes only for data arrays
            trace.selectedpoints = np.flatnonzero(np.isin(ids, chosen)).tolist()
    fig.update_layout(uirevision=key)  # zoom, pan and legend clicks survive a new figure
    state = _in_place_component()(
        key=key,
        data={"figure": json.loads(fig.to_json()), "config": PLOTLY_CONFIG, "src": src, "selectable": selectable},
        default={"selection": []},
        on_selection_change=lambda: None,
    )
    return _ids(state.selection) if selectable else []


def _ids(values: Any) -> list[int]:
    """The whole numbers in what the browser sent as a selection (anything else is dropped)."""
    numbers = [v for v in values or [] if isinstance(v, int | float) and not isinstance(v, bool)]
    return [int(v) for v in numbers if math.isfinite(v) and v == int(v)]


def _first(value: Any) -> Any:
    """A point's customdata: plotly gives a list when the trace's customdata has a column per point."""
    return value[0] if isinstance(value, list | tuple | np.ndarray) else value


def _rows(run: Run, snapshots: bool) -> list[dict[str, Any]]:
    return [m for m in run.metrics if bool(m.get("snapshot")) == snapshots]


def _as_cached(fig: Any) -> Any:
    """The figure as a cache hit returns it: rebuilt from its dict (what unpickling does).

    A freshly built figure orders its JSON keys differently, and the browser redraws a chart whose JSON
    changed; without this, each new figure of a live page is drawn twice (on the miss, then on the first hit).
    """
    return type(fig)(fig.to_dict())


@st.cache_data(max_entries=16, show_spinner=False)
def loss_figure(path: str, stamp: tuple[float, ...], height: int = 430) -> Any:
    """The run's loss with its chance level ln C and, for temperature losses, the temperature floor.

    Cached on the run's ``stamp()``: a live page rebuilds it only when the run wrote something new.
    """
    from cl_core import figures
    from cl_core.methods import METHODS

    run = runs.load(Path(path))
    rows = _rows(run, snapshots=False)
    m = run.config.get("method", {})
    cls = METHODS.get(m.get("name"))
    chance = run.summary.get("chance_level") or run.status.get("chance_level")
    fig = figures.loss_curves(
        [
            {
                "name": cls.TITLE if cls else m.get("name", "loss"),
                "chance": chance,
                "chance_label": "chance ln C",
                "steps": [r["step"] for r in rows],
                "loss": [r["loss"] for r in rows],
            }
        ]
    )
    n = run.status.get("batch_size") or run.config.get("train", {}).get("batch_size")
    if cls is not None and cls.USES_TEMPERATURE and n and m.get("temperature"):  # a run from outside may have none
        from cl_core.metrics import temperature_floor

        floor = temperature_floor(n, m["temperature"])
        fig.add_hline(
            y=floor,
            line={"dash": "dot", "color": "#555"},
            annotation_text=f"temperature floor {floor:.2f}",  # English: cached for every language; see chart()
            annotation_position="bottom right",
        )
    return _as_cached(fig.update_layout(height=height))


@st.cache_data(max_entries=16, show_spinner=False)
def rank_std_figure(path: str, stamp: tuple[float, ...], height: int = 520) -> Any:
    """Effective rank and std over the snapshot rows of metrics.jsonl, with their references."""
    from cl_core import figures

    snaps = _rows(runs.load(Path(path)), snapshots=True)
    healthy = snaps[-1].get("std_healthy", 0.0)
    dim = round(1 / healthy**2) if healthy else None
    rank_max = min(int(snaps[-1].get("n", dim or 0)), dim) if dim else None
    fig = figures.rank_and_std(
        [r["step"] for r in snaps],
        [r.get("effective_rank") for r in snaps],
        [r.get("std") for r in snaps],
        healthy,
        rank_max,
    )
    return _as_cached(fig.update_layout(height=height))


@st.cache_data(max_entries=32, show_spinner=False)
def similarity_figure(path: str, step: int) -> Any:
    """The probe batch's similarity matrix at one snapshot, square and without empty margins."""
    from cl_core import figures_embeddings

    fig = figures_embeddings.similarity_matrix([runs.snapshot(path, step)["similarity"]], [step])
    return _as_cached(fig.update_xaxes(constrain="domain").update_yaxes(constrain="domain"))


@st.cache_data(max_entries=32, show_spinner=False)
def histogram_figure(path: str, step: int) -> Any:
    """Positive vs negative pair similarities of the probe batch at one snapshot; with the method's temperature,
    where the softmax weight goes."""
    from cl_core import figures_embeddings
    from cl_core.methods import temperature_of
    from cl_core.runs import load_run

    temperature = temperature_of(load_run(path).config.get("method", {}))
    pos, neg = figures_embeddings.pair_similarities(runs.snapshot(path, step)["similarity"])
    return _as_cached(figures_embeddings.similarity_histograms(pos, neg, temperature))
