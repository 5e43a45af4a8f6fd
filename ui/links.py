"""Links and presentation mode: every setting of a page lives in its address.

Like the TensorFlow Playground: config fields through ``bound``, view widgets through ``view`` (or ``linked``),
the run through ``runs.current_run``. A session's first run applies the link (``read_link``); each of them writes
its value to the address when it differs from the default (``in_link``), and the end of the page
(``frame.end_page``, or ``frame.stop``) takes out what the page no longer has.
``?present=1&show=temperature,start`` presents: no sidebar or toolbar, large type, only the listed controls.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from collections.abc import Callable
from typing import Any

import streamlit as st

from cl_core.config import Config, ConfigError, Option
from cl_core.data import DATASETS
from cl_core.settings import Settings
from ui import runs, server, session
from ui.keys import K
from ui.strings import t


def bound(widget: Callable[..., Any], label: str, name: str, **kw: Any) -> Any:
    """Draw ``widget`` showing the working config's field ``name`` (dotted) and write its value back.

    The value is also in the page's link, and the widget is left out in presentation mode unless listed.
    """
    key = K.WIDGET + name
    if key not in st.session_state:
        st.session_state[key] = _fitted(name, kw)
    value = widget(t(label), key=key, **kw) if shown(url_name(name)) else st.session_state[key]
    _set_linked(name, value)
    return value


def bound_range(label: str, low: str, high: str, **kw: Any) -> tuple[Any, Any]:
    """A range slider showing two config fields (``low`` <= ``high``) and writing both back."""
    key = K.WIDGET + low + ".." + high
    if key not in st.session_state:
        st.session_state[key] = (_fitted(low, kw), _fitted(high, kw))
    lo, hi = st.slider(t(label), key=key, **kw) if shown(url_name(low)) else st.session_state[key]
    _set_linked(low, lo)
    _set_linked(high, hi)
    return lo, hi


LINK_DEFAULTS = {"method": "simclr", "dataset": "digits"}  # what default_config() starts from


NOT_IN_LINKS = {
    "data.root": "a folder cannot come from a link",
    "train.init_from": "a checkpoint file cannot come from a link",
    "data.name": "use dataset=",
    "method.name": "use method=",
}


PRESENT, SHOW = "present", "show"


@functools.lru_cache(maxsize=16)
def _base(method: str, dataset: str, root: str, limits: Settings) -> Config:
    """The config a link names changes from (shared: never mutate it)."""
    c = session.default_config()
    c.data.name = dataset
    return session.with_method(c, method)


def link_base(c: Config) -> Config:
    """The defaults of ``c``'s link: default_config() with ``c``'s method and named data set."""
    dataset = c.data.name if c.data.name in DATASETS else LINK_DEFAULTS["dataset"]
    return _base(c.method.name, dataset, session.data_root(), server.server_settings())


def url_name(field: str) -> str:
    """A config field's name in links: the bare key where it means that field (``temperature``), else dotted."""
    key = field.rpartition(".")[2]
    with contextlib.suppress(ConfigError):
        if session.cfg().resolve(key) == field:
            return key
    return field


def new_link() -> None:
    """A new script run: the page registers its link parameters and controls again."""
    st.session_state[K.LINK], st.session_state[K.CONTROLS] = {}, []


def in_link(name: str, value: Any, default: Any) -> None:
    """Put ``name=value`` in this page's link and the address, unless ``value`` is the default (links stay short)."""
    text = None if value == default else str(value).lower() if isinstance(value, bool) else str(value)
    st.session_state.setdefault(K.LINK, {})[name] = text
    _put(name, text)


def _put(name: str, text: str | None) -> None:
    """One parameter into the address (None: out of it), only if it changes: writing sends a message."""
    if text is not None:
        st.session_state.setdefault(K.LINK_WRITTEN, set()).add(name)
    if st.query_params.get(name) == text:
        return
    if text is None:
        del st.query_params[name]
    else:
        st.query_params[name] = text


def _ignored(name: str, why: str) -> None:
    """A link value that cannot be used: say so, and drop it from the address."""
    st.warning(t("The link's `{name}` was ignored: {why}.", name=name[:60], why=t(why).rstrip(".。")))
    in_link(name, None, None)


def _checked(name: str, raw: Any, default: Any, kw: dict[str, Any]) -> Any:
    """``raw`` parsed like ``default`` and within a widget's ``options`` or range; else a warning and ``default``."""
    try:
        value = Option(default, "", low=kw.get("min_value"), high=kw.get("max_value")).parse(name, raw)
        options = kw.get("options")
        if options is not None and value not in list(options):
            raise ConfigError(name, f"must be one of {', '.join(map(str, options))}; got {raw!r}")
        return value
    except ConfigError as e:
        _ignored(name, e.message)
        return default


def _fitted(field: str, kw: dict[str, Any]) -> Any:
    """The working config's ``field`` for a bound widget, or its default where the widget cannot show it."""
    default = link_base(session.cfg()).get(field)
    return _checked(url_name(field), session.cfg().get(field), default, kw)


def _set_linked(field: str, value: Any) -> None:
    """A bound widget's value into the working config and the page's link (with the method and data set)."""
    c = session.cfg()
    session.set_field(c, field, value)
    base = link_base(c)
    in_link(url_name(field), value, base.get(field))
    in_link("method", c.method.name, LINK_DEFAULTS["method"])
    in_link("dataset", base.data.name, LINK_DEFAULTS["dataset"])


def linked(key: str, default: Any, name: str | None = None, **kw: Any) -> Any:
    """Session-state ``key``, kept in the page's link as ``name`` (default: ``key``) and taken from it while unset.

    ``kw`` may hold the widget's ``options`` or ``min_value`` / ``max_value``: a link value outside is ignored.
    """
    name = name or key
    if key not in st.session_state:
        raw = st.query_params.get(name)
        st.session_state[key] = default if raw is None else _checked(name, raw, default, kw)
    in_link(name, st.session_state[key], default)
    return st.session_state[key]


def view(widget: Callable[..., Any], label: str, key: str, default: Any, name: str | None = None, **kw: Any) -> Any:
    """A view widget (not a config field) whose value is in the page's link as ``name`` (default: ``key``).

    Give the widget's default as ``default``, not as ``value=``: the value is in session state before the widget.
    """
    name = name or key
    linked(key, default, name, **kw)
    value = widget(t(label), key=key, **kw) if shown(name) else st.session_state[key]
    in_link(name, value, default)
    return value


def presenting() -> bool:
    return K.PRESENT in st.session_state


def shown(name: str) -> bool:
    """Whether to draw control ``name`` (its link name): always, but in presentation mode only when listed."""
    controls = st.session_state.setdefault(K.CONTROLS, [])
    if name not in controls:
        controls.append(name)
    return not presenting() or name in st.session_state[K.PRESENT]


def read_link() -> None:
    """Apply the address of the session's first run: the config, the run and presentation mode.

    View widgets read theirs when drawn (``linked``). Parameters that are not settings are left alone (``lang``
    belongs to the translations); a bad value is ignored with a warning that names the allowed range.
    """
    if st.session_state.get(K.LINK_READ):
        return
    st.session_state[K.LINK_READ] = True
    qp = st.query_params.to_dict()
    if qp.get(PRESENT, "").lower() in ("1", "true", "yes", "on"):
        st.session_state[K.PRESENT] = [s.strip() for s in qp.get(SHOW, "").split(",") if s.strip()]
    _read_config(qp)
    if "run" in qp:
        run = runs.find_run(qp["run"])
        if run is None:
            _ignored("run", "there is no such run in this runs folder")
        st.session_state[K.RUN] = run.id if run else None
    if presenting() and not st.session_state.get(K.RUN):  # no sidebar to pick one: the newest
        st.session_state[K.RUN] = next((r.id for r in runs.all_runs()), None)


def _read_config(qp: dict[str, str]) -> None:
    """The link's method and data set, then its settings, each kept only if the config stays valid."""
    if not set(qp) - {"lang", "run", PRESENT, SHOW}:  # the usual first visit: nothing to set (and no torch)
        return
    from cl_core.methods import METHODS

    picked = {}
    for name, known in (("method", list(METHODS)), ("dataset", list(DATASETS))):
        picked[name] = qp.get(name, LINK_DEFAULTS[name])
        if picked[name] not in known:
            _ignored(name, f"must be one of {', '.join(known)}; got {picked[name][:40]!r}")
            picked[name] = LINK_DEFAULTS[name]
    c = copy.deepcopy(_base(picked["method"], picked["dataset"], session.data_root(), server.server_settings()))
    pending = []
    for name in qp:
        with contextlib.suppress(ConfigError):  # not a setting: someone else's parameter, or a view's
            field = c.resolve(name)
            if field in NOT_IN_LINKS:
                _ignored(name, NOT_IN_LINKS[field])
            else:
                pending.append(name)
    if not pending and picked == LINK_DEFAULTS:
        return
    while True:  # in rounds: a range's ends may only fit once the other end is in (crop_ratio_min=2&..max=3)
        errors = {}
        for name in pending:
            trial = copy.deepcopy(c)
            try:
                trial.set(name, qp[name])
                c = trial.validate()
            except ConfigError as e:
                errors[name] = e
        if len(errors) in (0, len(pending)):
            break
        pending = list(errors)
    for name, e in errors.items():
        _ignored(name, e.message if e.field == c.resolve(name) else f"{e.field} {e.message}")
    st.session_state[K.CFG] = c


def _write_link() -> None:
    """The end of a page: parameters we wrote that it no longer has leave the address; presentation mode stays."""
    link = st.session_state.get(K.LINK, {})
    for name in st.session_state.get(K.LINK_WRITTEN, set()) - set(link):
        _put(name, None)
    if presenting():
        _put(PRESENT, "1")
        _put(SHOW, ",".join(st.session_state[K.PRESENT]))
