"""The private Streamlit APIs of ui/private.py still exist and answer as the app expects.

A Streamlit upgrade that moves or changes one fails here, with the name of the API, instead of in a page.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ui import private  # noqa: E402


def test_outside_a_script_run_there_is_no_session():
    assert private.in_script_run() is False and private.session_id() is None


def test_inside_a_script_run_the_session_has_an_id_and_counts_as_alive():
    def script():
        import streamlit as st

        from ui import private

        sid = private.session_id()  # (AppTest mocks the runtime: session_alive gives a truthy mock)
        st.write(f"{private.in_script_run()} {bool(sid)} {bool(private.session_alive(sid or ''))}")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception and at.markdown[0].value == "True True True"


def test_the_runtime_still_answers_whether_a_session_is_active():
    from streamlit import runtime
    from streamlit.runtime.runtime import Runtime

    assert callable(runtime.exists) and callable(runtime.get_instance)
    assert list(inspect.signature(Runtime.is_active_session).parameters) == ["self", "session_id"]


def test_the_script_run_context_still_carries_the_session_id():
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    assert get_script_run_ctx() is None
    assert "session_id" in ScriptRunContext.__dataclass_fields__
