"""Every private Streamlit API the app relies on, in one place; tests/test_private_api.py fails when one changes.

Streamlit offers no public way to ask these. Tested with the Streamlit versions pyproject.toml
admits; a new Streamlit that moves one breaks that test, not a page.
"""

from __future__ import annotations


def _ctx():  # noqa: ANN202 - ScriptRunContext is private too
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx()


def in_script_run() -> bool:
    """Whether this thread runs a script (AppTest calls a widget's format_func after the run, outside it)."""
    return _ctx() is not None


def session_id() -> str | None:
    """The browser session's id (None outside a script run): the owner of the runs it starts."""
    ctx = _ctx()
    return ctx.session_id if ctx else None


def session_alive(session_id: str) -> bool:
    """Whether browser session ``session_id`` is still connected (True when no server runs, e.g. in AppTest)."""
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)
