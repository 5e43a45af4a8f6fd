"""Comparing runs (cl_core.report): names from differences, the table that marks them, overlaid figures, exports."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from cl_core import report
from cl_core.presets import preset_config
from cl_core.runs import Run, RunWriter, load_run


def fake_run(root: Path, name: str, knn: float = 0.5, chance: float = 4.0, **settings) -> Run:
    """A finished SimCLR run on digits written without training: 3 loss rows, 2 snapshot rows, a summary."""
    cfg = preset_config("simclr", "digits")
    for key, value in settings.items():
        cfg.set(key, value)
    w = RunWriter(root / name, cfg.to_dict())
    for step in (1, 2, 3):
        w.log({"step": step, "loss": chance - 0.5 * step})
    for step in (2, 3):
        w.log({"step": step, "snapshot": True, "knn_top1": knn * step / 3, "alignment": 1 / step, "uniformity": -step})
    w.summary(
        {
            "final_loss": chance - 1.5,
            "chance_level": chance,
            "knn_top1": knn,
            "verdict": "healthy",
            "verdict_reasons": [f"reason of {name}."],
        }
    )
    w.set_status("completed", "done")
    return load_run(root / name)


@pytest.fixture
def two(tmp_path) -> list[Run]:
    a = fake_run(tmp_path, "run-a", knn=0.4, chance=4.0, temperature=0.1, batch_size=32)
    b = fake_run(tmp_path, "run-b", knn=0.6, chance=5.0, temperature=0.5, batch_size=64)
    return [a, b]


def test_compare_table_marks_exactly_the_settings_that_differ(two):
    rows, diff = report.compare_table(two)
    assert diff == ["method.temperature", "train.batch_size"]
    assert [r["id"] for r in rows] == ["run-a", "run-b"]
    assert [r["method.temperature"] for r in rows] == [0.1, 0.5] and rows[0]["train.lr"] == rows[1]["train.lr"]
    assert rows[0]["knn_top1"] == 0.4 and rows[1]["verdict"] == "healthy"
    assert rows[0]["loss_over_chance"] == pytest.approx(2.5 / 4.0) and rows[1]["loss_over_chance"] == pytest.approx(0.7)


def test_a_final_loss_of_zero_is_zero_times_chance_not_missing(tmp_path):
    runs = [fake_run(tmp_path, "a", chance=1.5), fake_run(tmp_path, "b", chance=0.0)]  # final loss 0.0 and -1.5
    rows, _ = report.compare_table(runs)
    assert rows[0]["loss_over_chance"] == 0.0 and rows[1]["loss_over_chance"] is None  # no chance level: no ratio


def test_a_method_option_left_at_its_default_is_not_a_difference(tmp_path):
    a = fake_run(tmp_path, "a")
    b = fake_run(tmp_path, "b", mask_self=True)  # SimCLR's default, written out explicitly
    c = fake_run(tmp_path, "c", mask_self=False)
    assert report.compare_table([a, b])[1] == []
    assert report.compare_table([a, c])[1] == ["method.options.mask_self"]


def test_runs_are_named_by_their_differences_and_by_id_when_there_are_none(two, tmp_path):
    assert report.run_names(two) == ["temperature=0.1, batch_size=32", "temperature=0.5, batch_size=64"]
    same = [fake_run(tmp_path, "x"), fake_run(tmp_path, "y")]
    assert report.run_names(same) == ["x", "y"]


def test_the_normalised_loss_is_the_loss_divided_by_each_runs_chance_level(two):
    named = dict(zip(report.run_names(two), two))
    raw = report.overlay_figure("loss", named)
    norm = report.overlay_figure("loss", named, normalise=True)
    for run in two:
        loss = np.array([m["loss"] for m in run.metrics if not m.get("snapshot")])
        faint = [tr for tr in norm.data if tr.name.endswith("(raw)")]
        assert any(np.allclose(tr.y, loss / run.summary["chance_level"]) for tr in faint)
        assert any(np.allclose(tr.y, loss) for tr in raw.data if tr.name.endswith("(raw)"))
    assert "ln C" in norm.layout.yaxis.title.text


def test_knn_and_alignment_uniformity_overlay_one_trace_per_run(two):
    named = dict(zip(report.run_names(two), two))
    knn = report.overlay_figure("knn", named)
    assert np.allclose([list(tr.y) for tr in knn.data], [[0.4 * 2 / 3, 0.4], [0.6 * 2 / 3, 0.6]])
    au = report.overlay_figure("align_uniform", named)
    assert [list(tr.x) for tr in au.data] == [[-2, -3], [-2, -3]] and [tr.name for tr in au.data] == list(named)
    with pytest.raises(ValueError, match="unknown figure"):
        report.overlay_figure("spectrum", named)


def test_the_comparison_html_holds_each_run_the_differing_settings_and_the_verdicts(two):
    page = report.comparison_report(two)
    for run in two:
        assert run.id in page and f"reason of {run.id}." in page
    differ = page.split("Settings that differ")[1].split("Settings in common")[0]
    assert "method.temperature" in differ and "train.batch_size" in differ and "train.lr" not in differ
    assert "train.lr" in page.split("Settings in common")[1]
    assert page.count("Plotly.newPlot") == 4  # loss, loss / ln C, kNN, alignment-uniformity
    assert "<script src=" not in page and 'src="http' not in page


def test_the_comparison_csv_has_every_runs_training_rows(two):
    rows = list(csv.DictReader(io.StringIO(report.comparison_csv(two))))
    assert [(r["id"], int(r["step"])) for r in rows] == [(i, s) for i in ("run-a", "run-b") for s in (1, 2, 3)]
    assert rows[0]["run"] == "temperature=0.1, batch_size=32"


def test_flat_config_reads_a_saved_config(two):
    flat = report.flat_config(json.loads((two[0].path / "config.json").read_text()))
    assert flat["method.temperature"] == 0.1 and flat["train.batch_size"] == 32 and "method.options.mask_self" in flat
