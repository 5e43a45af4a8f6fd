"""Every Streamlit cache of the app is bounded, so that a class of users cannot grow the server's memory without end."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "app_pages").glob("*.py"))]


def _cache_kind(decorator: ast.expr) -> str | None:
    """'cache_data' / 'cache_resource' for ``@st.cache_x`` or ``@st.cache_x(...)``, else None."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute) and target.attr in ("cache_data", "cache_resource"):
        return target.attr
    return None


def unbounded_caches(source: str) -> list[str]:
    """Cached functions with neither ``max_entries`` nor ``ttl``; an argument-less cache_resource singleton is fine."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for dec in node.decorator_list:
            kind = _cache_kind(dec)
            if kind is None:
                continue
            keywords = {k.arg for k in dec.keywords} if isinstance(dec, ast.Call) else set()
            a = node.args
            singleton = kind == "cache_resource" and not (a.posonlyargs or a.args or a.kwonlyargs or a.vararg)
            if not ({"max_entries", "ttl"} & keywords or singleton):
                out.append(f"{node.name} (line {node.lineno})")
    return out


def test_the_check_finds_an_unbounded_cache():
    src = """
@st.cache_data
def a(x): ...
@st.cache_data(show_spinner=False)
def b(x): ...
@st.cache_resource
def c(name): ...
@st.cache_data(max_entries=4)
def d(x): ...
@st.cache_resource(ttl=60)
def e(x): ...
@st.cache_resource
def f(): ...
"""
    assert unbounded_caches(src) == ["a (line 3)", "b (line 5)", "c (line 7)"]


def test_every_cache_in_the_app_declares_max_entries_or_ttl():
    found = {p.relative_to(ROOT).as_posix(): unbounded_caches(p.read_text()) for p in APP_FILES}
    assert "ui/runs.py" in found and len(found) >= 10
    assert {name: bad for name, bad in found.items() if bad} == {}
