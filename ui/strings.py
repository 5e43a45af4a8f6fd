"""Strings in the session's language: ``t`` for texts, ``translated`` for figures (tables: ui/locales/)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import i18n, private
from ui.keys import K


def t(text: str, **fmt: Any) -> str:
    """A user-facing string in the session's language, formatted with ``fmt``.

    ``text`` is a TEXTS key, the English text, or an English message from cl_core (see i18n.translate).
    """
    out = i18n.translate(text, lang())
    out = i18n.TEXTS.get(out, out)
    return out.format(**fmt) if fmt else out


def lang() -> str:
    """The session's language (a key of i18n.LANGS): the sidebar's switch; at first the link's ``?lang=``, else
    the browser's language where a table exists for it, else English."""
    if not private.in_script_run():  # AppTest calls a widget's format_func after the script run, outside it
        return _LAST_LANG["lang"]
    if K.LANG not in st.session_state:
        asked = st.query_params.get("lang")
        st.session_state[K.LANG] = asked if asked in i18n.LANGS else browser_lang()
    _LAST_LANG["lang"] = st.session_state[K.LANG]
    return _LAST_LANG["lang"]


def browser_lang() -> str:
    """The language the browser asks for (``navigator.language``) when there is a table for it, else English.

    A link without ``?lang=`` opens in this language; the switch writes ``lang`` only when it differs.
    """
    try:
        return i18n.match_language(st.context.locale) or "en"
    except Exception:  # noqa: BLE001 - no browser (AppTest, a bare script run): English
        return "en"


_LAST_LANG = {"lang": "en"}  # the language of this process's latest script run (see lang)


def translated(fig: Any) -> Any:
    """A plotly figure's texts in the session's language: a copy, unless English (see i18n.translate_figure)."""
    return i18n.translate_figure(fig, lang())
