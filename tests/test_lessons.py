"""Lessons: the file schema, the claim grammar and its evaluator, the runner and its report, the CLI, and
each bundled lesson's claims measured on a shortened run."""

import builtins
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cl_core import lessons as L
from cl_core import report
from cl_core.config import Config
from cl_core.lessons.measures import loss_floor, run_values
from cl_core.presets import preset_config
from cl_core.runs import Run, load_run

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = {"augmentations", "temperature", "copied_example_bug", "collapse", "negatives", "margin",
             "swav_equipartition", "reading_a_loss"}  # fmt: skip
CJK = re.compile(r"[\u4e00-\u9fff]")

# A lesson small enough to train in a few seconds: two SimCLR runs on digits, 3 steps each in test mode.
GOOD = """
title = { en = "Tiny", zh = "小课" }
question = { en = "Does jitter matter on digits?", zh = "颜色抖动对数字有影响吗？" }
expected = 0
explanation = { en = "It is a test.", zh = "这是测试。" }
figures = ["loss", "knn", "metric:knn_top1", "projection", "similarity_hist", "distance_hist", "rank_std"]
claims = ["steps[a] >= steps[b]", "knn_top1[a] > 2 * knn_top1[b]"]

[budget]
steps = 20
fast_steps = 5
test_steps = 3

[settings]
"train.width" = 4
"train.batch_size" = 32
"data.max_train" = 256
"train.knn_max_train" = 200
"data.probe_size" = 64
"train.probe_pairs" = 16
"train.snapshots" = 2
"train.log_every" = 1
"method.proj_hidden" = 32
"method.proj_dim" = 16

[test_settings]
"train.threads" = 1

[[choices]]
en = "yes"
zh = "是"

[[choices]]
en = "no"
zh = "否"

[[runs]]
name = "a"
method = "simclr"
dataset = "digits"

[[runs]]
name = "b"
label = { en = "no jitter", zh = "无抖动" }
method = "simclr"
dataset = "digits"
[runs.set]
"augment.jitter_p" = 0.0

[[try_next]]
label = { en = "Train it", zh = "训练它" }
page = "train"
run = "b"
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------ schema


def test_every_bundled_lesson_loads_and_validates():
    lessons, errors = L.load_lessons(L.LESSONS_DIR)
    assert errors == []
    assert {x.id for x in lessons} >= CLASSROOM
    assert [x.order for x in lessons] == sorted(x.order for x in lessons)


def test_every_bundled_lesson_has_chinese_text_for_everything_shown():
    for lesson in L.load_lessons(L.LESSONS_DIR)[0]:
        texts = [
            lesson.title,
            lesson.question,
            lesson.prompt,
            lesson.explanation,
            *lesson.choices,
            *(r.label for r in lesson.runs),
            *(t.label for t in lesson.try_next),
        ]
        for t in texts:
            assert t["en"].strip() and t["zh"].strip(), (lesson.id, t)
        for t in (lesson.title, lesson.question, lesson.explanation, *lesson.choices):
            assert CJK.search(t["zh"]), (lesson.id, t["zh"])


def test_every_bundled_lesson_is_finished_and_checks_its_own_runs():
    for lesson in L.load_lessons(L.LESSONS_DIR)[0]:
        assert "TBD" not in json.dumps([lesson.question, lesson.explanation], ensure_ascii=False), lesson.id
        assert lesson.expected is not None and len(lesson.claims) >= 1 and len(lesson.figures) >= 2
        assert lesson.steps["test"] <= lesson.steps["fast"] <= lesson.steps["full"]


BROKEN = {
    "bad_toml": (lambda s: s + "\nthis is = = not toml\n", "cannot read"),
    "unknown_top_key": (lambda s: "colour = 1\n" + s, "colour"),
    "unknown_run_key": (lambda s: s.replace('name = "a"', 'name = "a"\nspeed = 2'), "speed"),
    "unknown_metric": (lambda s: s.replace('"steps[a] >= steps[b]"', '"knn_top5[a] > 0"'), "knn_top5"),
    "unknown_run_in_claim": (lambda s: s.replace('"steps[a] >= steps[b]"', '"std[c] > 0"'), "'c'"),
    "function_call": (lambda s: s.replace('"steps[a] >= steps[b]"', '"abs(std[a]) > 0"'), "abs"),
    "attribute": (lambda s: s.replace('"steps[a] >= steps[b]"', '"std.a > 0"'), "std.a"),
    "dunder": (lambda s: s.replace('"steps[a] >= steps[b]"', "\"__import__('os').getcwd() > 0\""), "__import__"),
    "boolean_logic": (lambda s: s.replace('"steps[a] >= steps[b]"', '"std[a] > 0 and std[b] > 0"'), "compare"),
    "invalid_value": (lambda s: s.replace('"train.width" = 4', '"method.temperature" = -1'), "method.temperature"),
    "unknown_setting": (lambda s: s.replace('"train.width" = 4', '"train.speed" = 4'), "train.speed"),
    "bad_option_mix": (lambda s: s.replace('"augment.jitter_p" = 0.0', 'positive = "self"'), "mask_self"),
    "unknown_method": (lambda s: s.replace('method = "simclr"', 'method = "simclrr"', 1), "simclrr"),
    "missing_en": (lambda s: s.replace('en = "Tiny", ', ""), "title: expected a table of language = text"),
    "empty_zh": (lambda s: s.replace('zh = "小课"', 'zh = ""'), "title.zh: expected non-empty text"),
    "blank_choice_zh": (lambda s: s.replace('zh = "否"', 'zh = "  "'), "choices[1].choice.zh"),
    "not_text_zh": (lambda s: s.replace('zh = "小课"', "zh = 3"), "title.zh"),
    "bad_language_code": (lambda s: s.replace('zh = "小课"', 'ZH = "小课"'), "title: 'ZH' is not a language code"),
    "language_code_with_space": (lambda s: s.replace('zh = "小课"', '"zh cn" = "小课"'), "'zh cn'"),
    "missing_budget": (lambda s: s.replace("[budget]\nsteps = 20\nfast_steps = 5\ntest_steps = 3\n", ""), "budget"),
    "zero_steps": (lambda s: s.replace("test_steps = 3", "test_steps = 0"), "test_steps"),
    "unknown_figure": (lambda s: s.replace('"loss", "knn"', '"loss", "pie"'), "pie"),
    "bad_run_name": (lambda s: s.replace('name = "b"', 'name = "b-2"'), "name"),
    "duplicate_run": (lambda s: s.replace('name = "b"', 'name = "a"'), "name"),
    "expected_out_of_range": (lambda s: s.replace("expected = 0", "expected = 5"), "expected"),
    "try_next_unknown_run": (lambda s: s.replace('run = "b"', 'run = "zzz"'), "try_next"),
    "try_next_unknown_page": (lambda s: s.replace('page = "train"', 'page = "sweeps"'), "'train', 'compare' or"),
    "doctor_unknown_run": (lambda s: s.replace('page = "train"\nrun = "b"', 'page = "doctor"\nrun = "c"'), "run"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_lesson_file_is_reported_and_skipped_and_the_others_still_load(tmp_path, case):
    change, needle = BROKEN[case]
    write(tmp_path, "good", GOOD)
    write(tmp_path, "broken", change(GOOD))
    lessons, errors = L.load_lessons(tmp_path)
    assert [x.id for x in lessons] == ["good"]
    assert len(errors) == 1 and errors[0].startswith("broken.toml: ") and needle in errors[0], errors


def test_a_file_that_is_not_text_is_reported_not_raised(tmp_path):
    write(tmp_path, "good", GOOD)
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00garbage")
    lessons, errors = L.load_lessons(tmp_path)
    assert [x.id for x in lessons] == ["good"] and errors[0].startswith("binary.toml")


# An English-only lesson, as a teacher may write one: every zh text of GOOD removed.
ENGLISH_ONLY = re.sub(r', zh = "[^"]*"', "", "\n".join(x for x in GOOD.splitlines() if not x.startswith("zh = ")))


def test_the_bundled_lessons_are_package_data():
    assert L.LESSONS_DIR.name == "library" and L.LESSONS_DIR.parent == ROOT / "cl_core" / "lessons"
    assert (L.LESSONS_DIR / "augmentations.toml").is_file() and (L.LESSONS_DIR.parent / "README.md").is_file()


def test_an_english_only_lesson_loads_and_every_language_falls_back_to_english(tmp_path):
    assert "zh" not in ENGLISH_ONLY and CJK.search(ENGLISH_ONLY) is None
    write(tmp_path, "english", ENGLISH_ONLY)
    lessons, errors = L.load_lessons(tmp_path)
    assert errors == [] and [x.id for x in lessons] == ["english"]
    lesson = lessons[0]
    assert set(lesson.title) == {"en"}
    assert L.text(lesson.title, "zh") == "Tiny" and L.text(lesson.question, "zh") == "Does jitter matter on digits?"
    assert [L.text(c, "zh") for c in lesson.choices] == ["yes", "no"]
    assert L.text(lesson.run("a").label, "zh") == "a" and L.text(lesson.run("b").label, "zh") == "no jitter"
    assert L.text(lesson.try_next[0].label, "fr") == "Train it"
    assert L.text(lesson.prompt, "zh") == "你预计会看到什么？"  # the default prompt has Chinese ...
    assert L.text(lesson.prompt, "fr") == "What do you expect?"  # ... and falls back to English otherwise
    own = L.load_lesson(write(tmp_path / "own", "own", 'prompt = { en = "Guess!" }\n' + ENGLISH_ONLY))
    assert L.text(own.prompt, "zh") == "Guess!"


def test_an_english_only_lesson_runs_headless_and_reports_in_any_language(tmp_path):
    lesson = L.load_lesson(write(tmp_path, "english", ENGLISH_ONLY))
    result = L.run_lesson(lesson, tmp_path / "out", mode="test", lang="zh", log=lambda s: None)
    assert set(result.runs) == {"a", "b"} and all(r.state == "completed" for r in result.runs.values())
    assert result.claims[0].held is True
    html = result.report.read_text(encoding="utf-8")
    assert "Tiny (test mode)" in html and "Does jitter matter on digits?" in html


def test_a_third_language_is_accepted_and_shown_with_english_for_what_it_lacks(tmp_path):
    three = GOOD.replace('zh = "小课" }', 'zh = "小课", fr = "Petit", pt-BR = "Pequeno" }').replace(
        'zh = "是"', 'zh = "是"\nfr = "oui"'
    )
    lesson = L.load_lesson(write(tmp_path, "three", three))
    assert L.text(lesson.title, "fr") == "Petit" and L.text(lesson.title, "pt-BR") == "Pequeno"
    assert L.text(lesson.title, "zh") == "小课" and L.text(lesson.title, "de") == "Tiny"
    assert [L.text(c, "fr") for c in lesson.choices] == ["oui", "no"]
    assert L.text(lesson.question, "fr") == "Does jitter matter on digits?"


def test_lesson_config_applies_preset_then_settings_then_test_settings_then_run_settings_then_steps(tmp_path):
    lesson = L.load_lesson(write(tmp_path, "good", GOOD))
    for mode, steps in (("full", 20), ("fast", 5), ("test", 3)):
        cfg = L.lesson_config(lesson, "b", mode)
        assert (cfg.train.steps, cfg.train.seconds, cfg.train.epochs) == (steps, 0.0, 0.0)
        assert cfg.train.threads == (1 if mode == "test" else 0)
    cfg = L.lesson_config(lesson, "b", "fast")
    assert cfg.augment.jitter_p == 0.0 and cfg.train.width == 4 and cfg.data.name == "digits"
    assert L.lesson_config(lesson, "a", "fast").augment.jitter_p > 0


def test_a_try_next_may_open_the_loss_doctor_with_or_without_a_run(tmp_path):
    doctor = '\n[[try_next]]\nlabel = { en = "Read it" }\npage = "doctor"\n'
    lesson = L.load_lesson(write(tmp_path, "doc", GOOD + doctor + doctor + 'run = "a"\n'))
    assert [(x.page, x.run) for x in lesson.try_next] == [("train", "b"), ("doctor", None), ("doctor", "a")]


def test_find_lesson_by_file_name_order_number_or_path():
    assert L.find_lesson("augmentations").id == "augmentations"
    assert L.find_lesson("1").id == "augmentations"
    assert L.find_lesson(str(L.LESSONS_DIR / "margin.toml")).id == "margin"
    with pytest.raises(L.LessonError, match="no lesson"):
        L.find_lesson("no_such_lesson")


# ------------------------------------------------------------------------------------------------------ claims

VALUES = {"a": {"knn_top1": 0.41, "std": 0.003}, "b": {"knn_top1": 0.30, "std": 0.118}}


@pytest.mark.parametrize(
    ("claim", "held", "shown"),
    [
        ("knn_top1[a] > knn_top1[b]", True, "knn_top1[a] = 0.41 > knn_top1[b] = 0.3"),
        ("knn_top1[a] < knn_top1[b]", False, "knn_top1[a] = 0.41 < knn_top1[b] = 0.3"),
        ("std[a] < 0.2 * std[b]", True, "std[a] = 0.003 < 0.2 * std[b] = 0.0236 (std[b] = 0.118)"),
        ("knn_top1[a] - knn_top1[b] >= 0.2", False, "knn_top1[a] - knn_top1[b] = 0.11 ≥ 0.2"),
        ("(knn_top1[a] + knn_top1[b]) / 2 <= 0.5", True, "(knn_top1[a] + knn_top1[b]) / 2 = 0.355 ≤ 0.5"),
        ("0.1 < std[b] < 0.2", True, "0.1 < std[b] = 0.118 < 0.2"),
        ("0.1 < std[a] < 0.2", False, "0.1 < std[a] = 0.003 < 0.2"),
        ("std[a] > -1", True, "std[a] = 0.003 > -1"),
        ("std[c] > 1", None, "std[c] is missing"),
        ("linear_probe[a] > 1", None, "linear_probe[a] is missing"),
        ("std[a] / (std[a] - std[a]) > 1", None, "division by zero"),
    ],
)
def test_a_claim_is_held_or_not_with_its_numbers(claim, held, shown):
    result = L.evaluate_claim(claim, VALUES)
    assert result.held is held
    assert shown in result.text


def test_numbers_of_plain_references_and_constants_are_shown_once():
    assert L.evaluate_claim("knn_top1[a] > knn_top1[b]", VALUES).text == "knn_top1[a] = 0.41 > knn_top1[b] = 0.3"
    assert L.evaluate_claim("std[a] > -1", VALUES).text == "std[a] = 0.003 > -1"


@pytest.mark.parametrize(
    "claim",
    [
        "abs(std[a]) > 1",  # a function call
        "std.a > 1",  # attribute access
        "x > 1",  # a bare name
        "__import__('os').system('true') > 1",
        "().__class__.__bases__[0] > 1",
        "std[a] > 1 and std[b] < 2",  # boolean logic
        "std[a] == 1",  # equality of measured floats
        "std[a] in [1]",
        "std[a] ** 2 > 1",  # other operators
        "std[a] // 2 > 1",
        "std[0] > 1",  # a subscript that is not a run name
        "std['a'] > 1",
        "std[a][b] > 1",
        "std[a + b] > 1",
        "'a' < std[a]",  # strings and booleans are not numbers
        "True > std[a]",
        "std[a]",  # not a comparison
        "std[a] > (lambda: 1)()",
        "[x for x in y] > 1",
        "std[a] > 1 if 1 else 2",
        "std[a] >",
        "(" * 200 + "1" + ")" * 200 + " > 1",
        "std[a] > " + "1 + " * 200 + "1",  # too long
    ],
)
def test_anything_outside_the_claim_grammar_is_rejected(claim):
    with pytest.raises(L.ClaimError):
        L.parse_claim(claim)


def test_claims_are_evaluated_without_eval(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must not be used")

    for name in ("eval", "exec"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert L.evaluate_claim("std[a] < 0.2 * std[b]", VALUES).held is True


def run_of(method: str, batch_size: int, **sets) -> Run:
    cfg = preset_config(method, "shapes")
    cfg.train.batch_size = batch_size
    for k, v in sets.items():
        cfg.set(k, v)
    return Run(Path("."), cfg.validate().to_dict(), {}, summary={"batch_size": batch_size})


def test_loss_floor_is_the_temperature_floor_of_the_runs_batch_and_temperature_or_none_without_one():
    assert loss_floor(run_of("simclr", 128, temperature=0.2)) == pytest.approx(np.log1p(254 * np.exp(-5)))
    moco = run_of("moco", 64, temperature=0.5, queue_size=1024)
    assert loss_floor(moco) == pytest.approx(np.log1p(1024 * np.exp(-2)))
    assert loss_floor(run_of("byol", 128)) is None and loss_floor(run_of("swav", 128)) is None
    assert loss_floor(Run(Path("."), {"external": {}, "method": {"name": "simclr"}}, {})) is None
    assert "loss_floor" not in run_values(run_of("byol", 128))


def test_background_hue_bins_name_the_corner_colour():
    images = np.zeros((4, 8, 8, 3), np.uint8)
    images[0, 0, 0] = (255, 0, 0)
    images[1, 0, 0] = (0, 200, 0)
    images[2, 0, 0] = (0, 0, 90)
    images[3, 0, 0] = (250, 250, 0)
    assert L.background_hue_bins(images).tolist() == [0, 2, 4, 1]


# ------------------------------------------------------------------------------------------- runner and report


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lessons")
    lesson = L.load_lesson(write(folder, "good", GOOD))
    out = tmp_path_factory.mktemp("out")
    return L.run_lesson(lesson, out, mode="test", log=lambda s: None)


def test_run_lesson_trains_every_run_and_reports_each_claim(tiny_result):
    assert set(tiny_result.runs) == {"a", "b"}
    assert all(r.state == "completed" and r.summary["steps"] == 3 for r in tiny_result.runs.values())
    assert tiny_result.claims[0].held is True and "steps[a] = 3 ≥ steps[b] = 3" in tiny_result.claims[0].text
    assert tiny_result.claims[1].held in (True, False)
    saved = json.loads((tiny_result.report.parent / "claims.json").read_text())
    assert [c["claim"] for c in saved] == [c.claim for c in tiny_result.claims]


def test_the_report_is_one_self_contained_page_with_figures_tables_and_verdicts(tiny_result):
    html = tiny_result.report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Does jitter matter on digits?" in html
    assert "steps[a] = 3 ≥ steps[b] = 3" in html and "held" in html
    assert "Run summaries" in html and "Run configs" in html and "augment.jitter_p" in html
    assert html.count("Plotly.newPlot") >= 7
    assert not re.search(r"<script[^>]+src=", html), "plotly.js must be embedded, not fetched"


def test_each_run_exports_replayable_config_and_metrics_csv(tiny_result):
    lesson = tiny_result.lesson
    for name, run in tiny_result.runs.items():
        saved = json.loads((run.path / "config.json").read_text())
        assert Config.from_dict(saved).validate().to_dict() == L.lesson_config(lesson, name, "test").to_dict()
        csv_text = (run.path / "metrics.csv").read_text()
        assert csv_text == report.metrics_csv(run, snapshots=True)
        header, *rows = csv_text.splitlines()
        assert header.split(",")[:2] == ["step", "knn_top1"] or "loss" in header.split(",")
        assert len(rows) == len(run.metrics)


def test_the_download_bundle_holds_the_report_and_each_runs_replayable_files(tiny_result):
    import io
    import zipfile

    r = tiny_result
    blob = L.lesson_bundle(r.lesson, r.runs, r.claims, "test", "zh")
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        assert sorted(z.namelist()) == [
            "a/config.json",
            "a/metrics.csv",
            "b/config.json",
            "b/metrics.csv",
            "report.html",
        ]
        assert z.read("a/config.json") == (r.runs["a"].path / "config.json").read_bytes()
        assert z.read("b/metrics.csv").decode() == report.metrics_csv(r.runs["b"], snapshots=True)
        assert "<!DOCTYPE html>" in z.read("report.html").decode()


def test_figure_rows_put_up_to_three_per_run_figures_a_row_and_join_single_figures():
    groups = [
        ("loss", ["L"]),
        ("umap", [1, 2, 3, 4]),
        ("similarity_hist", ["h1", "h2", "h3"]),
        ("x", ["X"]),
        ("y", ["Y"]),
    ]
    rows = L.figure_rows(groups)
    assert rows == [
        [("loss", "L")],  # the loss chart is never joined with others
        [("umap", 1), ("umap", 2), ("umap", 3)],
        [("umap", 4)],
        [("similarity_hist", "h1"), ("similarity_hist", "h2")],
        [("similarity_hist", "h3")],
        [("single", "X"), ("single", "Y")],
    ]


def test_lesson_figures_put_per_run_figures_side_by_side(tiny_result):
    groups = dict(L.lesson_figures(tiny_result.lesson, tiny_result.runs, "zh"))
    assert len(groups["projection"]) == len(groups["similarity_hist"]) == 2
    assert len(groups["loss"]) == 1 and len(groups["metric:knn_top1"]) == 1
    assert "无抖动" in groups["projection"][1].layout.title.text


def test_a_run_that_failed_leaves_its_claims_unchecked_not_the_lesson_broken(tiny_result, tmp_path):
    runs = {"a": tiny_result.runs["a"]}  # b never ran
    values, claims = L.evaluate_lesson(tiny_result.lesson, runs)
    assert [c.held for c in claims] == [None, None] and "steps[b] is missing" in claims[0].text
    assert "<html" in L.lesson_report(tiny_result.lesson, runs, claims)


def cl(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cl_core", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_cli_runs_a_lesson_file_and_exits_0_whether_or_not_claims_held(tmp_path):
    path = write(tmp_path / "lessons", "tiny", GOOD.replace('"steps[a] >= steps[b]"', '"steps[a] > steps[b]"'))
    p = cl("lesson", str(path), "--test", "--out", str(tmp_path / "out"))
    assert p.returncode == 0, p.stderr
    assert "NOT HELD  steps[a] = 3 > steps[b] = 3" in p.stdout
    assert (tmp_path / "out" / "report.html").is_file()
    assert load_run(tmp_path / "out" / "runs" / "a").summary["steps"] == 3


@pytest.mark.parametrize("name", ["no_such_lesson", "BROKEN"])
def test_cli_bad_lesson_name_or_file_exits_2_with_one_line(tmp_path, name):
    if name == "BROKEN":
        name = str(write(tmp_path, "broken", GOOD.replace("[budget]", "[budgets]")))
    p = cl("lesson", name, "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------- each lesson, measured


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", sorted(CLASSROOM))
def test_each_lesson_in_its_shortened_form_shows_what_it_claims(lesson_id, tmp_path):
    lesson = L.find_lesson(lesson_id)
    t0 = time.perf_counter()
    result = L.run_lesson(lesson, tmp_path, mode="test", threads=1, log=lambda s: None)
    seconds = time.perf_counter() - t0
    print(f"{lesson_id}: {seconds:.0f} s; " + "; ".join(c.text for c in result.claims))
    assert all(r.state == "completed" for r in result.runs.values())
    assert [c.text for c in result.claims if not c.held] == []
