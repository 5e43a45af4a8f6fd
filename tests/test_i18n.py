"""English and Simplified Chinese: every key has a translation, no string bypasses strings.t, cl_core's messages and
figures come out in Chinese, and every page in Chinese shows no English beyond the standard names."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import string
import sys
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the ui package lives beside app.py

import i18n_scan as scan  # noqa: E402 - tests/ is on sys.path under pytest

from cl_core import figures, figures_embeddings, figures_playground  # noqa: E402
from cl_core.config import Config, ConfigError  # noqa: E402
from ui import data, i18n, session  # noqa: E402

ZH = i18n.TABLES["zh"]

APP = str(ROOT / "app.py")
CJK = re.compile(r"[\u4e00-\u9fff]")
_NAMES = sorted(i18n.STANDARD_NAMES, key=len, reverse=True)
_STANDARD = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, _NAMES)) + r")(?![\w-])", re.IGNORECASE)
_NOT_WORDS = [
    re.compile(p)
    for p in (
        r"`[^`]*`",  # code: field names, claims, paths
        r"\{[^}]*\}",  # placeholders
        r"<[^>]*>",  # HTML markup
        r"%\{[^}]*\}",  # plotly hover placeholders
        r"\]\([^)]*\)",  # a markdown link's address
        r"\S*(?:[/_=@]|\w[.:]\w)\S*",  # paths, identifiers, k=20, folder:PATH, e.g., arXiv numbers
        r"[\w-]*\d[\w-]*",  # 2N, 16x16, cifar10, top-1
    )
]


def english_words(text: str) -> list[str]:
    """Words of two or more Latin letters left in ``text`` once code, markup and standard names are removed."""
    for p in _NOT_WORDS:
        text = p.sub(" ", text)
    return re.findall(r"[A-Za-z]{2,}", _STANDARD.sub(" ", text))


def zh(text: str) -> str:
    return i18n.translate(text, "zh")


# ------------------------------------------------------------------------------------------ (1) key coverage


def test_every_key_given_to_t_has_a_chinese_entry_with_the_same_placeholders():
    files = scan.app_files(list(session.PAGES))
    assert [str(f) for f in files if not f.exists()] == [], "session.PAGES names a page file that does not exist"
    keys, dynamic = [], []
    for f in files:
        k, d = scan.t_keys(f)
        keys += k
        dynamic += d
    assert [str(h) for h in dynamic] == [], "make these keys static so that this scan can see them"
    assert len(keys) > 150, "the scan finds the app's strings"
    keys += [scan.Hit("session.PAGES", 0, title) for title, _ in session.PAGES.values()]
    keys += [scan.Hit("data.DATASET_TITLES", 0, title) for title in data.DATASET_TITLES.values()]
    keys += [scan.Hit("i18n.TEXTS", 0, key) for key in i18n.TEXTS]
    missing = sorted({str(h) for h in keys if h.text not in ZH})
    assert missing == [], f"{len(missing)} keys have no Chinese entry in ZH"


def test_each_chinese_entry_has_the_placeholders_of_its_english_text():
    bad = [
        key for key, text in ZH.items() if sorted(i18n.fields(i18n.TEXTS.get(key, key))) != sorted(i18n.fields(text))
    ]
    assert bad == []
    untranslated = [k for k, v in ZH.items() if not CJK.search(v) and english_words(v)]
    assert untranslated == [], "entries whose Chinese still holds English words"


# --------------------------------------------------------------------------------------------- (2) no bypass


def test_no_string_with_letters_reaches_a_streamlit_call_without_t():
    """Only standard names (i18n.STANDARD_NAMES, such as the optimizers adamw, sgd, lars) may pass untranslated."""
    hits = [h for f in scan.app_files(list(session.PAGES)) if f.exists() for h in scan.bypasses(f)]
    bad = [str(h) for h in hits if english_words(h.text)]
    assert bad == [], "pass these through t() (and add them to ZH)"


def test_the_scan_catches_a_bypass_and_a_dynamic_key(tmp_path):
    """The two scans above can fail: a literal label, a help text, a format_func literal, an f-string key."""
    src = tmp_path / "page.py"
    src.write_text(
        "st.button('Go')\ncol.metric(t('Loss'), 1, help='Lower is better')\n"
        "st.radio(t('Pick'), ['a', 'b'], format_func=lambda x: f'{x}-D')\nst.caption(t(f'{n} images'))\n"
        "st.markdown(t('fine'))\nst.selectbox(t('Opt'), ['adamw', 'sgd'])\n"
        "links.view(st.toggle, 'Play', 'play', False, 'play', help='Loops')\n"  # a label helper: its label is a key
    )
    hits = [h.text for h in scan.bypasses(src)]
    assert sorted(hits) == sorted(["Go", "Lower is better", "-D", "adamw", "sgd", "Loops"])
    assert [english_words(h) for h in hits if h in ("adamw", "sgd")] == [[], []], "standard names are allowed"
    keys, dynamic = scan.t_keys(src)
    assert {h.text for h in keys} == {"Loss", "Pick", "fine", "Opt", "Play"} and len(dynamic) == 1


# ----------------------------------------------------------------------------- (3) cl_core's messages translate


def identifiers() -> set[str]:
    """Names a message may quote as they are: config fields and sections, methods, options and their choices,
    data sets, backbones, Python type names, and the fuzzing values below."""
    from cl_core.data import DATASETS
    from cl_core.encoders import BACKBONES
    from cl_core.methods import METHODS

    c = Config()
    words = {f for s in ("data", "augment", "method", "train") for f in vars(getattr(c, s))}
    words |= {"data", "augment", "method", "train", *METHODS, *DATASETS, *BACKBONES}
    words |= {n for cls in METHODS.values() for n, o in cls.OPTIONS.items() for n in (n, *(o.choices or ()))}
    words |= {"int", "float", "bool", "str", "list", "dict", "NoneType", "bogus", "nonsense", "none", "true", "True"}
    words |= {"false", "auto", "cpu", "cuda", "mps", "nan", "inf", "adamw", "sgd", "lars", "fp32", "bf16", "fp16"}
    return {w.lower() for w in words}


def assert_translates(messages: list[str]) -> None:
    """Each message with English words comes out with Chinese in it and no English words left but standard names,
    code and the identifiers it quotes."""
    names = identifiers()
    bad = [
        (m, zh(m))
        for m in messages
        if english_words(m) and (not CJK.search(zh(m)) or {w.lower() for w in english_words(zh(m))} - names)
    ]
    assert bad == [], f"{len(bad)} of {len(messages)} messages do not translate"


def test_every_template_round_trips_through_the_matcher():
    """Fill each template with distinct values: the matcher finds that template and fills in the Chinese one."""
    checked = 0
    for en, text in ZH.items():
        parts = list(string.Formatter().parse(en))
        names = [name for _, name, _, _ in parts if name is not None]
        if not names or "%{" in en or len(re.findall(r"[A-Za-z]", "".join(p[0] for p in parts))) < 2:
            continue  # not a template (plotly hover labels are exact keys)
        values = {n: str(7 + i) for i, n in enumerate(dict.fromkeys(names))}
        message = "".join(lit + ("" if n is None else values[n]) for lit, n, _, _ in parts)
        want = "".join(lit + ("" if n is None else values[n]) for lit, n, _, _ in string.Formatter().parse(text))
        assert zh(message) == want, (en, message, zh(message))
        checked += 1
    assert checked > 100


def test_an_unknown_message_stays_english_and_never_raises():
    for text in ("Something entirely new: 42", "", "{not a field", "50% done {x}", "Stopped by request at step"):
        assert i18n.translate(text, "zh") == text
    assert zh("Stopped by request at step 12.") == "已按要求在第 12 步停止。"
    assert zh("circle") == "圆形" and i18n.translate("circle", "en") == "circle"


def test_a_huge_message_from_a_crafted_link_stays_english_instead_of_stalling_the_matcher():
    # This text backtracks as length**4 through "{name}: {split} labels {shape} do not match {n} images":
    # 8.7 KB took 259 s when every message was matched.
    text = "a: b labels c do not match " * 370
    assert len(text) > i18n.MAX_MATCHED and i18n.translate(text, "zh") == text
    assert zh("x: train labels (3,) do not match 4 images") != "x: train labels (3,) do not match 4 images"


def _verdict_inputs() -> list[tuple[dict, dict]]:
    healthy = {"std": 0.12, "std_healthy": 0.125, "effective_rank": 40.0, "n": 64, "pos_sim_mean": 0.8}
    healthy |= {"pos_sim_std": 0.05, "neg_sim_mean": 0.1, "neg_sim_std": 0.1, "top_neg_share": 0.2}
    return [
        (healthy | {"std": 0.001, "effective_rank": 1.1}, {}),  # complete collapse
        (healthy, {"loss": 4.9, "chance": 4.85}),  # stuck at chance
        (healthy | {"effective_rank": 3.0}, {}),  # dimensional collapse
        (healthy | {"top_neg_share": 0.8}, {"temperature": 0.05}),  # too low
        (healthy | {"pos_sim_mean": 0.3, "neg_sim_mean": 0.2}, {"temperature": 1.0}),  # too high
        (healthy, {"temperature": 0.2}),  # healthy
        ({k: v for k, v in healthy.items() if not k.startswith("pos_")}, {}),  # healthy, one view (cl_core.diagnose)
    ]


def test_every_verdict_kind_and_reason_translates():
    from cl_core.metrics import diagnose

    verdicts = [diagnose(d, 64, **kw) for d, kw in _verdict_inputs()]
    kinds = {v.kind for v in verdicts}
    assert kinds == {
        "complete_collapse",
        "stuck_at_chance",
        "dimensional_collapse",
        "temperature_too_low",
        "temperature_too_high",
        "healthy",
    }
    assert_translates([r for v in verdicts for r in v.reasons])
    assert_translates([k.replace("_", " ").capitalize() for k in kinds])


def _config_errors() -> list[str]:
    """ConfigError messages of fuzzed fields: every field set to values of the wrong kind or out of range."""
    out = []
    bad_values = [-1, -0.5, 1e30, math.nan, "bogus", True, 3.5, 10**12, 0]
    from cl_core.methods import METHODS

    for method, cls in METHODS.items():
        base = Config()
        base.method.name = method
        names = [f"{s}.{f}" for s in ("data", "augment", "method", "train") for f in vars(getattr(base, s))]
        names += [f"method.options.{o}" for o in cls.OPTIONS] + ["method.options.nonsense"]
        for name in names:
            for value in bad_values:
                c = Config.from_dict(base.to_dict())
                sec, _, key = name.rpartition(".")
                try:
                    if sec == "method.options":
                        c.method.options[key] = value
                    else:
                        setattr(getattr(c, sec), key, value)
                    c.validate()
                except ConfigError as e:
                    out.append(e.message)
                except (TypeError, ValueError, AttributeError):
                    pass
    for d in ({"data": []}, {"train": {"nonsense": 1}}, {"nonsense": {}}, []):
        try:
            Config.from_dict(d)
        except ConfigError as e:
            out.append(e.message)
    return sorted(set(out))


def _playground_errors() -> list[str]:
    from cl_core import playground

    out = []
    for name in vars(playground.Toy()):
        for value in (-1, 1000, 0):
            try:
                playground.Toy(**{name: value}).validate()
            except ConfigError as e:
                out.append(e.message)
    return out


def test_every_loss_doctor_reading_translates():
    from cl_core.doctor import read_loss

    cases = [(math.log(2 * 16 - 1), 16, {}), (math.log(32), 16, {}), (math.log(16), 16, {})]
    cases += [(math.log(65), 8, {"method": "moco", "queue_size": 64}), (float("nan"), 16, {})]
    cases += [(0.5, 16, {"method": "byol"}), (0.01, 16, {"temperature": 0.5}), (4.0, 16, {})]
    cases += [(3.4, 16, {}), (0.185, 16, {"temperature": 0.2}), (2.0, 16, {"temperature": 0.2}), (2.0, 16, {})]
    readings = [read_loss(x, n, **kw) for x, n, kw in cases]
    kinds = {"not_finite", "impossible", "exactly_degenerate", "above_chance", "at_chance", "learning"}
    assert {r.kind for r in readings} == kinds | {"near_floor", "no_chance_level"}
    assert_translates([m for r in readings for m in (*r.reasons, *r.causes)])


def test_config_errors_of_fuzzed_fields_translate():
    messages = _config_errors() + _playground_errors()
    assert len(messages) > 40
    assert_translates(messages)


def _samples(path: Path, calls: dict[str, tuple[int, ...]]) -> list[str]:
    """The message of each call in ``path`` to a name in ``calls``, at those argument positions, with each
    f-string value replaced by a number: what a user would read, give or take the numbers."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and scan._name(node.func) in calls:
            for i in calls[scan._name(node.func)]:
                arg = node.args[i] if i < len(node.args) else None
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    out.append(arg.value)
                elif isinstance(arg, ast.JoinedStr):
                    out.append("".join(v.value if isinstance(v, ast.Constant) else "7" for v in arg.values))
    return out


MESSAGE_CALLS = {
    "ConfigError": (1,),
    "DataError": (0,),
    "RunError": (0,),
    "JobError": (0,),
    "set_status": (1,),
    "_write_status": (2,),
    "_stop_locked": (1,),
    "_verdict": (1, 2),
    "_still": (1,),  # lesson figure titles
}


def test_every_message_raised_or_written_by_cl_core_translates():
    """Every error, status message and verdict reason written in cl_core (the CLI's own flags aside)."""
    files = [p for p in sorted((ROOT / "cl_core").rglob("*.py")) if p.name != "__main__.py"]
    messages = [m for p in files for m in _samples(p, MESSAGE_CALLS)]
    assert len(messages) > 60
    assert_translates(messages)


def test_run_status_reports_and_descriptions_translate(tmp_path):
    import torch

    from cl_core.data import ImageData
    from cl_core.folders import FolderReport
    from cl_core.runs import read_status, write_json
    from cl_core.trainer import _nan_message

    c = Config()
    c.method.temperature = 0.01
    messages = [_nan_message(7, None, c, torch.float16), _nan_message(3, 2.5, Config(), None)]
    for state in ("running", "queued"):
        write_json(tmp_path / "status.json", {"state": state, "pid": 2**22 + 12345})
        messages.append(read_status(tmp_path)["message"])
    report = FolderReport(images=10, classes=2, skipped_non_image=1, skipped_corrupt=2, skipped_unsafe=3)
    messages += [report.message(), FolderReport(images=4, skipped_unlabelled=1).message()]
    x = np.zeros((4, 8, 8, 3), np.uint8)
    messages += [ImageData("digits", x, np.arange(4), x, np.arange(4), list("abcd")).describe()]
    messages += [ImageData("folder:/tmp/x", x, None, x, None, []).describe()]
    assert_translates(messages)
    assert zh(report.message()).count("跳过") == 3


def test_method_descriptions_options_and_presets_translate():
    from cl_core.augment import AUG_PRESETS
    from cl_core.methods import METHODS

    texts = [t for cls in METHODS.values() for t in (cls.TITLE, cls.DESCRIPTION)]
    texts += [o.help for cls in METHODS.values() for o in cls.OPTIONS.values()]
    texts += [c for cls in METHODS.values() for o in cls.OPTIONS.values() for c in o.choices or ()]
    texts += [n.replace("_", " ").capitalize() for cls in METHODS.values() for n in cls.OPTIONS]  # Train's labels
    texts += [t for p in AUG_PRESETS.values() for t in (p.title, p.source)]
    assert_translates(texts)


def figure_texts(fig) -> list[str]:
    out = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in i18n.FIGURE_KEYS and isinstance(v, str):
                    out.append(v)
                else:
                    walk(v)
        elif isinstance(node, list) and node and isinstance(node[0], dict):
            for v in node:
                walk(v)

    walk(fig.to_dict())
    return out


def _playground_figures() -> list:
    from cl_core import playground

    out = []
    for dim in (2, 3):
        toy = playground.Toy(dim=dim).validate()
        z1, z2 = playground.toy_embeddings(toy)
        z = np.concatenate([z1, z2])
        v = playground.anchor_view(z1, z2, toy.anchor, toy.temperature)
        out.append(
            figures_playground.toy_embeddings_figure(z, v.anchor, v.positive, v.weights, v.grad, "InfoNCE", "SimCLR")
        )
    m = playground.margin_view(z1, z2, toy.margin)
    d = np.linspace(0, 2, 21)
    curves = playground.margin_curve(d, toy.margin)
    out.append(figures_playground.margin_loss_curve(d, *curves, toy.margin, m.distance, m.pair_loss, m.is_positive))
    return out


def _figures() -> list:
    rng = np.random.default_rng(0)
    sims = [np.clip(rng.normal(0, 0.3, (8, 8)), -1, 1) for _ in range(2)]
    pos, neg = rng.uniform(0, 1, 4), rng.uniform(-1, 1, 20)
    pts = [rng.normal(size=(12, 2)), rng.normal(size=(12, 2))]
    runs = [{"name": "SimCLR", "steps": [1, 2, 3], "loss": [3.0, 2.0, 1.5], "chance": 4.1}]
    au = [{"name": "SimCLR", "steps": [1, 2], "alignment": [1.0, 0.5], "uniformity": [-1.0, -2.0]}]
    return [
        figures.loss_curves(runs),
        figures.loss_curves([runs[0] | {"chance_label": "chance ln C"}], normalise=True),
        figures_embeddings.similarity_matrix(sims, [1, 2]),
        figures_embeddings.similarity_histograms(pos, neg, 0.2),
        figures_embeddings.similarity_histograms(pos, neg),
        figures_embeddings.distance_histograms(pos, neg, 1.0),
        figures_embeddings.distance_histograms(pos, neg, 2.5),
        figures_embeddings.projection_scatter(
            pts, np.arange(12) % 3, ["circle", "square", "star"], [1, 2], method="pca"
        ),
        figures_embeddings.projection_scatter([rng.normal(size=(6, 3))], None, None, [1]),
        figures.spectrum([np.array([3.0, 2.0, 1.0])] * 2, [1, 2]),
        figures.rank_and_std([1, 2], [3.0, 4.0], [0.1, 0.12], 0.125, 16),
        figures.align_uniform(au),
        figures.knn_curve([{"name": "SimCLR", "steps": [1, 2], "knn": [0.5, 0.7]}]),
        figures_embeddings.negative_weights(np.array([0.5, 0.3, 0.2])),
        figures.sweep_chart([0.1, 0.5], [0.6, 0.7], "temperature", "knn_top1"),
        *_playground_figures(),
    ]


def test_every_text_of_every_figure_translates():
    assert_translates([t for fig in _figures() for t in figure_texts(fig)])


def test_a_translated_figure_is_a_copy_and_the_original_stays_english():
    fig = figures.rank_and_std([1, 2], [3.0, 4.0], [0.1, 0.12], 0.125, 16)
    before = json.dumps(fig.to_dict(), sort_keys=True, default=str)
    out = i18n.translate_figure(fig, "zh")
    assert json.dumps(fig.to_dict(), sort_keys=True, default=str) == before
    assert out.layout.title.text == "坍缩监测：有效秩与每维标准差" and i18n.translate_figure(fig, "en") is fig
    assert {a.text for a in out.layout.annotations} >= {"健康值 1/√d = 0.125", "最大值 min(N, d) = 16", "坍缩"}


# -------------------------------------------------------------------------------- (4) every page in Chinese


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A runs folder with one tiny finished run (snapshots, kNN, verdict), for the pages that show a run."""
    from conftest import tiny_config

    from cl_core.trainer import train

    folder = tmp_path_factory.mktemp("runs")
    train(tiny_config(), folder / "20260101-000000-simclr-tiny")
    return folder


@pytest.fixture
def zh_app(run_folder, monkeypatch):
    monkeypatch.setenv("CL_RUNS_DIR", str(run_folder))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")

    def open_page(page: str | None = None) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=90)
        at.query_params["lang"] = "zh"
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


LABELLED = ("button", "selectbox", "slider", "select_slider", "number_input", "toggle", "checkbox", "radio")
LABELLED += ("text_input", "metric", "segmented_control", "expander", "download_button", "multiselect")
TEXTS = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error")


def page_texts(at: AppTest, helps: bool = False) -> list[str]:
    out = [e.value for kind in TEXTS for e in getattr(at, kind)]
    for kind in LABELLED:
        for w in getattr(at, kind, None) or at.get(kind):
            out += [getattr(w, "label", "") or ""] + ([getattr(w, "help", "") or ""] if helps else [])
    return [o for o in out if isinstance(o, str)]


def leftover_english(at: AppTest, helps: bool = False) -> list[tuple[str, list[str]]]:
    ids = [p.name for p in Path(os.environ["CL_RUNS_DIR"]).iterdir()]
    texts = [re.sub("|".join(map(re.escape, ids)), " ", s) if ids else s for s in page_texts(at, helps)]
    return [(s, w) for s in texts if (w := english_words(s))]


@pytest.mark.parametrize("page", list(session.PAGES))
def test_every_page_in_chinese_renders_and_shows_no_english_beyond_standard_names(zh_app, page):
    at = zh_app(page)
    assert at.session_state["lang"] == "zh"
    assert CJK.search(at.title[0].value), at.title[0].value
    assert len(page_texts(at)) > 3
    assert leftover_english(at) == []


def test_train_in_chinese_shows_each_methods_switches_and_help_in_chinese(zh_app):
    from cl_core.methods import METHODS

    at = zh_app("app_pages/train.py")
    for name in METHODS:
        at.selectbox(key="method_picker").set_value(name).run()
        assert not at.exception and leftover_english(at, helps=True) == [], name


def language_switch(at: AppTest):
    (switch,) = [w for w in at.sidebar.get("segmented_control") if w.key == "lang_picker"]
    return switch


def test_the_sidebar_switch_changes_the_language_and_the_url(run_folder, monkeypatch):
    monkeypatch.setenv("CL_RUNS_DIR", str(run_folder))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert at.session_state["lang"] == "en" and at.title[0].value == "🧲 Contrastive Learning Explorer"
    assert list(language_switch(at).options) == ["English", "中文"] and "lang" not in at.query_params
    assert at.sidebar.get("segmented_control")[0].key == "lang_picker", "the switch is the sidebar's first control"
    language_switch(at).set_value("zh").run()
    assert at.session_state["lang"] == "zh" and at.title[0].value == "🧲 对比学习探索器"
    assert at.query_params["lang"] in ("zh", ["zh"])
    at.switch_page("app_pages/train.py").run()
    assert at.title[0].value == "训练" and at.query_params["lang"] in ("zh", ["zh"])

    at = AppTest.from_file(APP, default_timeout=90)  # a link with ?lang=zh opens in Chinese; English drops it
    at.query_params["lang"] = "zh"
    at.run()
    assert at.title[0].value == "🧲 对比学习探索器" and language_switch(at).value == "zh"
    language_switch(at).set_value("en").run()
    assert at.title[0].value == "🧲 Contrastive Learning Explorer" and "lang" not in at.query_params


@pytest.fixture
def toy_language(tmp_path):
    """ui/locales/ plus one file, eo.json, that translates a few texts: what a translator adds for a language."""
    folder = tmp_path / "locales"
    folder.mkdir()
    for f in i18n.LOCALES.glob("*.json"):
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    toy = {
        "@language": "Esperanto",
        "🧲 Contrastive Learning Explorer": "🧲 Esploranto de kontrasta lernado",
        "Train": "Trejnado",
        "{n} runs": "{n} trejnadoj",
    }
    (folder / "eo.json").write_text(json.dumps(toy, ensure_ascii=False), encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")  # skipped, never fatal
    i18n.use_locales(folder)
    yield toy
    i18n.use_locales(i18n.LOCALES)


def test_a_third_language_is_one_added_file_and_falls_back_to_english_where_it_has_no_entry(toy_language):
    assert i18n.LANGS == {"en": "English", "eo": "Esperanto", "zh": "中文"}
    assert i18n.translate("Train", "eo") == "Trejnado"
    assert i18n.translate("7 runs", "eo") == "7 trejnadoj"  # its templates are matched as Chinese ones are
    assert i18n.translate("Diagnostics", "eo") == "Diagnostics"  # no entry: English
    assert i18n.translate("intro", "eo") == "intro"  # a text id: t() then takes en.json's English
    assert "broken" not in i18n.LANGS


def test_the_app_offers_a_toy_language_from_its_file_and_shows_english_where_it_lacks_a_text(
    toy_language, run_folder, monkeypatch
):
    monkeypatch.setenv("CL_RUNS_DIR", str(run_folder))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["lang"] = "eo"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(language_switch(at).options) == ["English", "Esperanto", "中文"]
    assert at.title[0].value == "🧲 Esploranto de kontrasta lernado"
    assert any(i18n.TEXTS["intro"][:40] in m.value for m in at.markdown)  # no eo entry: the English intro


@pytest.mark.parametrize(
    ("tags", "lang"),
    [
        ("zh-CN", "zh"),
        ("zh", "zh"),
        ("ZH_tw", "zh"),
        ("en-GB", "en"),
        ("fr-FR,zh;q=0.8", "zh"),
        ("de", None),
        ("", None),
    ],
)
def test_a_browsers_language_picks_the_table_of_that_language(tags, lang):
    assert i18n.match_language(tags) == lang


def test_every_table_is_a_flat_json_object_of_strings_named_in_its_own_language():
    for path in i18n.LOCALES.glob("*.json"):
        table = json.loads(path.read_text(encoding="utf-8"))
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()), path.name
        assert table.get(i18n.NAME_KEY), f"{path.name} has no {i18n.NAME_KEY}"


class _NotATensor:
    """A custom object: a .pt holding it is refused unread (weights_only)."""


def _file_errors(tmp_path: Path) -> list[str]:
    """The messages a user reads for bad files in "Open your own run" and for a checkpoint that does not fit."""
    import torch
    from torch import nn

    from cl_core.checkpoints import CheckpointError, init_backbone, read_state_dict
    from cl_core.embedfiles import EmbeddingsError, load_embeddings
    from cl_core.lossfiles import LossFileError, load_loss_curve

    def f(name: str, data: str | bytes = b"") -> Path:
        p = tmp_path / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    torch.save({"z1": _NotATensor()}, pickled := tmp_path / "pickled.pt")
    np.save(wide := tmp_path / "wide.npy", np.zeros((2, 3, 4, 5), np.float32))
    np.save(flat := tmp_path / "flat.npy", np.zeros(5, np.float32))
    nan = np.ones((4, 3), np.float32)
    nan[1, 2] = np.nan
    np.save(nans := tmp_path / "nan.npy", nan)
    np.save(two := tmp_path / "two.npy", np.zeros((3, 4, 5), np.float32))
    np.savez(mixed := tmp_path / "mixed.npz", z1=np.zeros((4, 3)), z2=np.zeros((5, 3)))
    np.save(ok := tmp_path / "ok.npy", np.ones((4, 3), np.float32))
    torch.save([torch.zeros(2)], listed := tmp_path / "list.pt")
    torch.save({"conv.weight": torch.zeros(2)}, misfit := tmp_path / "misfit.pt")
    torch.save({"0.weight": torch.zeros(2, 3), "0.bias": torch.zeros(2)}, stem := tmp_path / "stem.pt")
    torch.save({"conv1.weight": torch.zeros(2, 4)}, short := tmp_path / "short.pt")
    everything = {"conv1.weight": torch.zeros(2, 3), "conv1.bias": torch.zeros(2), "fc2.weight": torch.zeros(3, 2)}
    everything = {f"backbone.{k}": v for k, v in everything.items()} | {"backbone.extra.weight": torch.zeros(1)}
    torch.save(everything, every := tmp_path / "every.pt")
    embedding_cases = [
        (tmp_path / "missing.npy", None),
        (tmp_path, None),
        (pickled, None),
        (f("garbage.pt", b"not a checkpoint"), None),
        (wide, None),
        (flat, None),
        (nans, None),
        (two, None),
        (mixed, None),
        (listed, None),
        (f("emb.txt", "1 2"), None),
        (ok, f("labels.txt", "1\n2\n")),
    ]
    loss_cases = [
        (tmp_path / "missing.csv", None),
        (f("empty.csv"), None),
        (f("noloss.csv", "step,accuracy\n1,x\n"), None),
        (f("twoloss.csv", "step,a_loss,b_loss\n1,2,3\n"), None),
        (f("notag.csv", "step,loss\n1,2.5\n2,2.4\n"), "train/loss"),
        (f("binary.csv", b"\xff\xfe\x00\x81"), None),
        (f("events.out.tfevents.1.host", b"garbage"), None),
    ]
    out = []
    for path, labels in embedding_cases:
        with pytest.raises(EmbeddingsError) as e:
            load_embeddings(path, labels)
        out.append(str(e.value))
    for path, tag in loss_cases:
        with pytest.raises(LossFileError) as e:
            load_loss_curve(path, tag)
        out.append(str(e.value))
    method = nn.Module()
    method.backbone = nn.Module()
    method.backbone.conv1, method.backbone.fc2 = nn.Linear(4, 2), nn.Linear(2, 2)
    for path in (tmp_path / "missing.pt", pickled, listed):
        with pytest.raises(CheckpointError) as e:
            read_state_dict(path)
        out.append(str(e.value))
    for path in (misfit, stem, short, every):  # keys that do not fit: none, another stem, missing, all at once
        with pytest.raises(CheckpointError) as e:
            init_backbone(method, path)
        out.append(str(e.value))
    return out


def test_errors_for_bad_files_in_open_your_own_run_and_checkpoints_translate(tmp_path):
    from cl_core.importrun import import_run
    from cl_core.runs import RunError

    messages = _file_errors(tmp_path)
    assert len(set(messages)) == len(messages) == 26
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    args = [{}, {"labels": "l.txt"}, {"batch_size": 1}, {"temperature": 0}, {"out_dir": tmp_path / "taken"}]
    args = [{"loss": "a.csv"} | kw if kw else kw for kw in args]
    for kw in args:
        with pytest.raises((ValueError, RunError)) as e:
            import_run(**({"out_dir": tmp_path / "new"} | kw))
        messages.append(str(e.value))
    assert len(set(messages)) == 31
    bad = [(m, zh(m)) for m in messages if english_words(zh(m)) or not CJK.search(zh(m))]
    assert bad == [], f"{len(bad)} of {len(messages)} messages stay (partly) English"
    assert zh(f"{tmp_path}: is empty") == f"{tmp_path}：文件是空的"
