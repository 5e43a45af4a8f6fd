"""Translations: one JSON file per language in ui/locales/, English the source and the fallback.

A file maps the English text as the code passes it to ``ui.strings.t`` (or a text id such as ``intro``, whose
English is in en.json) to its translation; ``"@language"`` is the language's name in itself, as the switch shows
it. The keys are every user-facing string of the app and every English text that cl_core hands to a page:
method descriptions, option help, presets, verdicts, error and status messages, figure titles, axes and legends.
A key with ``{placeholders}`` is a template: ``translate`` matches a finished English message against it, so
``"Effective rank 3.1 of a possible 64: ..."`` comes out as the translated template filled with the same values
(each value translated in turn). A text a language lacks stays English; nothing ever raises. Adding a language is
adding one file (``fr.json``); a flat key-value JSON file is what translation tools (Weblate, Crowdin, Poedit's
JSON mode) read and write. No Streamlit here.
"""

from __future__ import annotations

import functools
import json
import re
import string
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).parent / "locales"
NAME_KEY = "@language"
# Method, metric, data-set and tool names that Chinese texts use as they are
_NAMES = (
    "SimCLR MoCo v2 BYOL SwAV SimSiam Barlow Twins VICReg InfoNCE NT-Xent Sinkhorn-Knopp Sinkhorn UMAP PCA t-SNE "
    "T-SNE kNN top-1 RankMe ResNet-18 resnet18 CNN MLP AdamW adamw SGD sgd LARS lars GPU CPU CUDA MPS Apple "
    "CIFAR-10 CIFAR-100 MNIST Fashion-MNIST STL-10 scikit-learn ImageNet RGB HTML zip ETA MSE EMA L2 logits "
    "softmax arXiv et al ln log exp cos std min max fp32 bf16 fp16 uint8 nats TensorBoard solo-learn moco "
    "Chen He Grill Caron Zbontar Bardes SyncBatchNorm torchvision PATH JSON CIFAR MB ID Python python idx ubyte CSV "
    "ReLU CLIP ResNet lightly timm"
)
STANDARD_NAMES = tuple(_NAMES.split())


def _load(folder: Path) -> dict[str, dict[str, str]]:
    """Language code -> table, English first; a file that is not a flat JSON object of strings is skipped."""
    tables = {}
    for path in sorted(folder.glob("*.json"), key=lambda p: (p.stem != "en", p.stem)):
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(table, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            tables[path.stem] = table
    tables.setdefault("en", {NAME_KEY: "English"})
    return tables


TABLES: dict[str, dict[str, str]] = {}  # language code -> table
LANGS: dict[str, str] = {}  # language code -> its name in itself, as the switch shows it; English first
TEXTS: dict[str, str] = {}  # text id -> English (intro, umap_note, ...)


def use_locales(folder: Path) -> None:
    """Read the tables of ``folder`` (at import: ui/locales/; a test may use a folder of its own)."""
    global TABLES, LANGS, TEXTS
    TABLES = _load(folder)
    LANGS = {code: table.get(NAME_KEY, code) for code, table in TABLES.items()}
    TEXTS = {k: v for k, v in TABLES["en"].items() if k != NAME_KEY}
    _translate.cache_clear()
    _templates.cache_clear()


def match_language(tags: str | None) -> str | None:
    """The first of a browser's language tags (``"zh-CN"``, ``"fr-FR,en;q=0.8"``) that has a table, else None."""
    for tag in (tags or "").replace(";", ",").split(","):
        code = tag.strip().lower().replace("_", "-")
        for candidate in (code, code.split("-")[0]):
            if candidate in TABLES:
                return candidate
    return None


FIGURE_KEYS = (
    "text",
    "name",
    "hovertemplate",
    "hovertext",
    "prefix",
    "title",
)  # string-valued plotly properties shown as text
_LETTERS = re.compile(r"[A-Za-z]")


def translate(text: str, lang: str) -> str:
    """``text`` in ``lang``: its table entry, else a filled-in template it matches, else the text unchanged."""
    if lang == "en" or lang not in TABLES or not isinstance(text, str) or not text:
        return text
    return _translate(text, lang)


MAX_MATCHED = 1000  # longer messages stay English: matching a template costs ~ length**4 in the worst case


@functools.lru_cache(maxsize=8192)
def _translate(text: str, lang: str) -> str:
    table = TABLES[lang]
    if text in table and text != NAME_KEY:
        return table[text]
    if len(text) > MAX_MATCHED:  # e.g. an error quoting a huge value from a crafted link: never stall the server
        return text
    for pattern, template in _templates(lang):
        m = pattern.fullmatch(text)
        if m:  # the values (numbers, names, nested messages) are translated in turn
            return template.format(**{k: _translate(v, lang) for k, v in m.groupdict().items()})
    return text


def fields(template: str) -> list[str]:
    """The placeholder names of a template, in order (``"{a:.2f} of {b}"`` -> ``["a", "b"]``)."""
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


@functools.cache
def _templates(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """(regex, translated template without format specs) of each key with placeholders, most specific first.

    A key takes part only if its fixed text holds at least two letters: ``"{d}-D"`` would match too much.
    """
    out = []
    for en, zh in TABLES[lang].items():
        parts = list(string.Formatter().parse(en))
        literal = "".join(p[0] for p in parts)
        if not fields(en) or len(_LETTERS.findall(literal)) < 2:
            continue
        regex, seen = "", set()
        for lit, name, _, _ in parts:
            regex += re.escape(lit)
            if name is not None:
                regex += f"(?P={name})" if name in seen else f"(?P<{name}>.*?)"
                seen.add(name)
        plain = "".join(
            lit.replace("{", "{{").replace("}", "}}") + ("" if name is None else "{" + name + "}")
            for lit, name, _, _ in string.Formatter().parse(zh)
        )
        out.append((len(literal), re.compile(regex, re.DOTALL), plain))
    return [(p, z) for _, p, z in sorted(out, key=lambda x: -x[0])]


def translate_figure(fig: Any, lang: str) -> Any:
    """A translated copy of a plotly figure (titles, axes, legends, annotations, hover labels, slider prefix).

    English gives the figure itself; otherwise the figure is never modified, so a cached one stays as it was.
    """
    if lang == "en":
        return fig
    import plotly.graph_objects as go

    return go.Figure(_walk(fig.to_dict(), lang))


def _walk(node: Any, lang: str) -> Any:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in FIGURE_KEYS and isinstance(v, str):
                node[k] = translate(v, lang)
            elif k in FIGURE_KEYS and isinstance(v, list) and v and isinstance(v[0], str):
                node[k] = [translate(x, lang) for x in v]
            elif isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
                _walk(v, lang)
    elif isinstance(node, list):
        for v in node:
            _walk(v, lang)
    return node


use_locales(LOCALES)
