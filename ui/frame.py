"""The picture frame around every page: the router, session start, CSS, the sidebar and the share box."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import threading
from collections.abc import Iterator
from typing import NoReturn

import streamlit as st

from ui import i18n, links, runs, server, strings, widgets
from ui.keys import K
from ui.strings import t

_PICKER = "run_picker."  # the sidebar's widget; K.RUN is the truth, so that pages may set it any time


_LANG_PICKER = "lang_picker"  # the sidebar's language switch; K.LANG is the truth


def init_session() -> None:
    """Session defaults; called first by app.py and by every page."""
    if not getattr(_routing, "active", False):  # a page run on its own (AppTest after its first run)
        links.new_link()
    st.session_state.setdefault(K.RUNS_DIR, os.environ.get("CL_RUNS_DIR", "runs"))
    strings.lang()
    links.read_link()


_routing = threading.local()  # .active: app.py is running this script run (each run has its own thread)


@contextlib.contextmanager
def router() -> Iterator[None]:
    """Wraps app.py's body: pages run inside it know that the navigation and sidebar are there.

    After the page it writes the page's link (``end_page``); a page that stops early calls ``stop``.
    """
    _routing.active = True
    _run_state.sidebar = None  # a rerun reuses the thread: never the box of the run before
    links.new_link()
    try:
        yield
        end_page()
    except ImportError as e:  # torch, torchvision or umap missing or broken: the pages cannot work, say what to do
        st.error(
            t(
                "**A package the app needs could not be imported** ({e}). Install the requirements again "
                "(`pip install -r requirements.txt`) and restart the app.",
                e=e,
            )
        )
    except Exception:
        with contextlib.suppress(Exception):  # the page's error is the one to show
            fill_sidebar()  # a page that failed still offers the run picker (to leave a run it cannot show)
        raise
    finally:
        _routing.active = False


def inject_css() -> None:
    """Roomier metrics and wrapped tabs: readable on a projector and in a narrow window."""
    st.html(
        """<style>
        [data-testid="stMetricValue"] { font-size: 1.9rem; }
        [data-testid="stCaptionContainer"] { font-size: 0.95rem; }
        .cl-chart-title { font-size: 1.15rem; font-weight: 600; margin: 0.4rem 0 0 0; line-height: 1.4; }
        .block-container { padding-top: 2.2rem; max-width: 1500px; }
        </style>"""
    )
    if links.presenting():
        st.html(PRESENT_CSS)


def sidebar() -> None:
    """Runs folder, device and the current-run picker (shared by every page; none in presentation mode).

    The device line and the picker are drawn after the page (``fill_sidebar``): both need torch (the device, and
    the methods' titles in the run labels), which a fresh server imports in the background (``torch_ready``).
    """
    if links.presenting():
        return
    with st.sidebar:
        language_switch()
        _run_state.sidebar = st.container()
        listed = runs.all_runs()
        ids = [r.id for r in listed]
        if st.session_state.get(K.RUN) not in ids:  # before the page: the page shows the current run
            st.session_state[K.RUN] = ids[0] if ids else None
        shared = server.server_settings().private or not server.server_settings().local_folders
        if not shared:  # a shared server keeps every session in its runs folder (one queue, no other folders)
            with st.expander(t("Runs folder")):
                st.text_input(t("Folder"), key=K.RUNS_DIR, help=t("Where runs are written and read."))
                st.caption(t("{n} runs", n=len(listed)))
        if server.settings_problem():
            st.warning(t("Classroom settings: {e}.", e=server.settings_problem()))


def fill_sidebar() -> None:
    """The sidebar's device line and run picker, once the page has run (it may have started a run, or torch)."""
    box = getattr(_run_state, "sidebar", None)
    if box is None:
        return
    _run_state.sidebar = None
    server.wait_for_torch()  # the page is drawn already; a fresh server may still be importing torch (torch_ready)
    with box:
        st.caption(t("Training device: **{d}**", d=t(server.device_label())))
        listed = runs.all_runs()
        ids = [r.id for r in listed]
        labels = widgets.run_labels(listed)
        # the key changes with the labels: a keyed selectbox would keep showing a run's old state
        key = _PICKER + hashlib.blake2b(repr(labels).encode(), digest_size=6).hexdigest()
        current = st.session_state.get(K.RUN)
        st.selectbox(
            t("Current run"),
            ids,
            key=key,
            format_func=lambda i: labels.get(i, i),
            index=ids.index(current) if current in ids else None,
            on_change=lambda: st.session_state.update({K.RUN: st.session_state[key]}),
            placeholder=t("no runs yet"),
            help=t("The run that Train, Embeddings and Diagnostics show."),
        )
        active = [r for r in listed if r.state in runs.ACTIVE]
        if active:
            st.caption(t("Training now: {runs}", runs=", ".join(widgets.run_label(r) for r in active)))


_run_state = threading.local()  # the script run's sidebar box, drawn after the page (a session's runs share a thread)


def language_switch() -> None:
    """English / 中文 at the top of the sidebar; the choice is kept in the URL as ``lang``."""

    def pick() -> None:
        st.session_state[K.LANG] = st.session_state[_LANG_PICKER]

    st.session_state[_LANG_PICKER] = strings.lang()
    st.segmented_control(
        t("Language"),
        list(i18n.LANGS),
        key=_LANG_PICKER,
        format_func=i18n.LANGS.get,
        required=True,
        on_change=pick,
        label_visibility="collapsed",
    )
    default = strings.browser_lang()  # a link without lang opens in its reader's language
    if st.query_params.get("lang", default) != strings.lang():
        if strings.lang() == default:
            del st.query_params["lang"]
        else:
            st.query_params["lang"] = strings.lang()


PRESENT_CSS = """<style>
html { font-size: 20px; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"] { display: none; }
[data-testid="stExpander"]:not(:has(input, textarea, [role="slider"], [data-testid="stButtonGroup"])) { display: none; }
.block-container { padding-top: 1.2rem; max-width: 100%; }
</style>"""


def end_page() -> None:
    """After the page: its link into the address, the sidebar's device line and its share box."""
    links._write_link()
    fill_sidebar()
    if not links.presenting():
        share_box()


def stop() -> NoReturn:
    """``st.stop()`` for pages: writes the page's link first (nothing runs after st.stop)."""
    end_page()
    st.stop()


_COPY_HTML = """<style>
input, button { border: 1px solid #ccc; border-radius: 6px; padding: 5px 12px; background: #fff; }
input { width: 100%%; box-sizing: border-box; font: 13px monospace; }
button { margin-top: 6px; font: 14px sans-serif; }
</style>
<input id="u" readonly aria-label="link"><br><button id="b">%(label)s</button>
<script>
const extra = %(extra)s, u = document.getElementById("u"), b = document.getElementById("b");
function link() {  // the address now (a fragment may have changed it since this box was drawn), plus extra
  const loc = window.parent.location, params = new URLSearchParams(loc.search);
  Object.keys(extra).forEach((k) => params.delete(k));
  let q = params.toString();
  Object.entries(extra).forEach(([k, v]) => { q += (q ? "&" : "") + k + "=" + v; });
  return loc.origin + loc.pathname + (q ? "?" + q : "");
}
u.value = link();
setInterval(() => { if (document.activeElement !== u) u.value = link(); }, 500);
b.onclick = () => {
  u.value = link();
  u.select();
  const done = () => { b.textContent = %(copied)s; };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(u.value).then(done);
  else { document.execCommand("copy"); done(); }
};
</script>"""


def _copy_box(extra: dict[str, str], label: str) -> None:
    """The page's address (with ``extra`` parameters) as text, and a button that copies it."""
    js = lambda v: json.dumps(v).replace("<", "\\u003c")  # noqa: E731 - safe inside <script>
    st.iframe(_COPY_HTML % {"label": html.escape(label), "extra": js(extra), "copied": js(t("Copied ✓"))}, height=70)


def share_box() -> None:
    """Sidebar: copy this view's link, or a presentation link that keeps only the chosen controls."""
    with st.sidebar, st.popover(t("🔗 Share this view"), width="stretch"):
        st.caption(t("Every setting of this page is in its address: the link reopens this exact view."))
        _copy_box({}, t("Copy link"))
        controls = st.session_state.get(K.CONTROLS, [])
        help_ = t("For a projector: large type, no sidebar or toolbar, and only the controls you keep.")
        if controls and st.toggle(t("Presentation link"), key="share.present", help=help_):
            keep = st.multiselect(t("Controls to keep"), controls, default=controls)
            _copy_box({links.PRESENT: "1", links.SHOW: ",".join(keep)}, t("Copy presentation link"))
