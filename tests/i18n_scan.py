"""Static scans of the app's sources for tests/test_i18n.py: the keys given to t(), and strings that bypass it."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T_FUNCS = {"t"}  # t(...) and strings.t(...)
LABEL_HELPERS = {"bound": 1, "bound_range": 0, "view": 1}  # ui helpers that pass this argument through t()
_LABEL_FIRST = (
    "title header subheader markdown caption text info success warning error exception toast code latex "
    "button download_button link_button page_link form_submit_button checkbox toggle radio selectbox "
    "multiselect select_slider slider number_input text_input text_area date_input time_input file_uploader "
    "color_picker segmented_control pills expander popover tabs spinner status Page set_page_config "
    "chat_input feedback camera_input audio_input"
)
# Streamlit calls (st.x, a column's or container's .x) and the positional arguments that they show
ELEMENTS = {
    **dict.fromkeys(_LABEL_FIRST.split(), (0,)),
    "metric": (0, 1, 2),
    "page_link": (),  # its first argument is the page; the label is label=
    "progress": (1,),
    "cache_data": (),
    "cache_resource": (),
    "write": tuple(range(8)),
}
SHOWN_KEYWORDS = {"label", "help", "placeholder", "caption", "text", "body", "title", "page_title", "format_func"}
SHOWN_KEYWORDS |= {"show_spinner"}
CHOICE_WIDGETS = {"radio", "selectbox", "multiselect", "select_slider", "segmented_control", "pills"}
LETTERS = re.compile(r"[A-Za-z]")
TAGS = re.compile(r"<[^>]*>")  # HTML markup is not text


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def app_files(pages: list[str]) -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py")), *(ROOT / p for p in pages)]


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal(node: ast.expr) -> str | None:
    """The literal text of a constant string or of an f-string's literal parts (None for anything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return None


def t_keys(path: Path) -> tuple[list[Hit], list[Hit]]:
    """(constant keys given to t() or to a ui label helper, dynamic f-string keys, which the scan cannot check)."""
    keys, dynamic = [], []
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        index = 0 if name in T_FUNCS else LABEL_HELPERS.get(name)
        if index is None or len(node.args) <= index:
            continue
        arg = node.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            keys.append(Hit(rel, node.lineno, arg.value))
        elif isinstance(arg, ast.JoinedStr):
            dynamic.append(Hit(rel, node.lineno, ast.unparse(arg)))
    return keys, dynamic


def _shown(node: ast.expr | None) -> list[str]:
    """Literal strings that ``node`` puts on the page as they are (a t() call or any other call shows none)."""
    if node is None:
        return []
    text = _literal(node)
    if text is not None:
        return [text]
    if isinstance(node, ast.BinOp):
        return _shown(node.left) + _shown(node.right)
    if isinstance(node, ast.IfExp):
        return _shown(node.body) + _shown(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [s for v in node.values for s in _shown(v)]
    if isinstance(node, ast.List | ast.Tuple):
        return [s for v in node.elts for s in _shown(v)]
    if isinstance(node, ast.Lambda):
        return _shown(node.body)
    if isinstance(node, ast.Dict):  # format_func={...}.get
        return [s for v in node.values for s in _shown(v)]
    if isinstance(node, ast.Attribute) and node.attr == "get":
        return _shown(node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return _shown(node.func.value)  # "...".format(x) and "sep".join(...)
    return []


def bypasses(path: Path) -> list[Hit]:
    """Strings with letters handed straight to a Streamlit call, not through t()."""
    out = []
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name = node.func.attr
        if name in LABEL_HELPERS and node.args:  # links.bound(st.selectbox, "Label", "field", options=...)
            widget, args = _name(node.args[0]), []
        elif name in ELEMENTS:
            widget, args = name, [a for i, a in enumerate(node.args) if i in ELEMENTS[name]]
        else:
            continue
        kws = {k.arg: k.value for k in node.keywords if k.arg}
        args += [v for k, v in kws.items() if k in SHOWN_KEYWORDS]
        if widget in CHOICE_WIDGETS and "format_func" not in kws:
            args += [kws.get("options") or (node.args[1] if len(node.args) > 1 else None)]
        out += [Hit(rel, node.lineno, s) for a in args for s in _shown(a) if LETTERS.search(TAGS.sub("", s))]
    return out
