import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cl_core import lossfiles
from cl_core.lossfiles import LossFileError, load_loss_curve

ROOT = Path(__file__).resolve().parents[1]
LOSSES = [4.1588830947875977, 3.9, 3.123456789, 2.5e-3, 1.0 / 3.0]


def _summary_writer(folder: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(folder))
    for step, loss in enumerate(LOSSES):
        w.add_scalar("train/loss", loss, step * 10)
        w.add_scalar("lr", 0.1 / (step + 1), step * 10)
    w.close()


def test_torch_summary_writer_scalars_round_trip_at_float32(tmp_path):
    _summary_writer(tmp_path)
    c = load_loss_curve(tmp_path)
    assert c.tag == "train/loss" and sorted(c.tags) == ["lr", "train/loss"] and c.source == tmp_path
    assert c.steps.dtype == np.int64 and c.steps.tolist() == [0, 10, 20, 30, 40]
    assert np.array_equal(c.values, np.float32(LOSSES).astype(np.float64)) and c.nonfinite_steps == []
    (event_file,) = tmp_path.glob("events.out.tfevents.*")
    assert np.array_equal(load_loss_curve(event_file, tag="lr").values, np.float32([0.1 / (s + 1) for s in range(5)]))


def test_tensorboards_own_tf2_writer_tensor_summaries_are_read(tmp_path):
    from tensorboard.summary import Writer

    w = Writer(str(tmp_path))
    for step, loss in enumerate(LOSSES):
        w.add_scalar("loss", loss, step)
        w.add_scalar("val_loss", loss + 1, step)
    w.close()
    (event_file,) = tmp_path.glob("events.out.tfevents.*")
    c = load_loss_curve(event_file)
    assert c.tag == "loss" and c.steps.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(c.values, np.float32(LOSSES).astype(np.float64))


def test_sub_folders_are_named_runs_and_the_training_loss_is_preferred(tmp_path):
    from tensorboard.summary import Writer

    for run, offset in (("train", 0.0), ("validation", 1.0)):  # the layout Keras' TensorBoard callback writes
        w = Writer(str(tmp_path / run))
        for step, loss in enumerate(LOSSES):
            w.add_scalar("epoch_loss", loss + offset, step)
        w.close()
    c = load_loss_curve(tmp_path)
    assert c.tag == "train/epoch_loss" and sorted(c.tags) == ["train/epoch_loss", "validation/epoch_loss"]
    assert np.allclose(load_loss_curve(tmp_path, "validation/epoch_loss").values, np.float32(LOSSES) + 1)


LIGHTNING_CSV = """epoch,step,train_loss,val_loss
0,0,4.158883,
0,1,3.9,
0,1,,3.95
1,2,3.5,
1,3,nan,
1,3,,3.7
"""


def test_a_lightning_metrics_csv_skips_the_blank_cells_and_flags_the_nan(tmp_path):
    (tmp_path / "metrics.csv").write_text(LIGHTNING_CSV)
    c = load_loss_curve(tmp_path)  # the version folder: its metrics.csv
    assert c.tag == "train_loss" and c.tags == ["train_loss", "val_loss"] and c.steps.tolist() == [0, 1, 2, 3]
    assert c.values[:3].tolist() == [4.158883, 3.9, 3.5] and np.isnan(c.values[3]) and c.nonfinite_steps == [3]
    val = load_loss_curve(tmp_path / "metrics.csv", tag="val_loss")
    assert val.steps.tolist() == [1, 3] and val.values.tolist() == [3.95, 3.7]


def test_the_real_lightning_csv_logger_file_is_read(tmp_path):
    pytest.importorskip("pytorch_lightning")
    from pytorch_lightning.loggers import CSVLogger

    logger = CSVLogger(str(tmp_path), name="run")
    for step, loss in enumerate(LOSSES):
        logger.log_metrics({"train_loss_step": loss, "epoch": 0}, step=step)
    logger.log_metrics({"train_loss_epoch": 2.0, "val_loss": 2.5, "epoch": 0}, step=4)
    logger.save()
    c = load_loss_curve(logger.log_dir)
    assert c.tag == "train_loss_step" and set(c.tags) == {"train_loss_step", "train_loss_epoch", "val_loss"}
    assert c.steps.tolist() == [0, 1, 2, 3, 4] and c.values.tolist() == LOSSES


@pytest.mark.parametrize(
    ("text", "tag", "steps", "values"),
    [
        ("step,loss\n10,2.5\n20,2.25\n", "loss", [10, 20], [2.5, 2.25]),
        ("2.5\n2.25\n2.0\n", "loss", [0, 1, 2], [2.5, 2.25, 2.0]),  # one column, no header: the line number
        ("100\t2.5\n200\t2.25\n", "loss", [100, 200], [2.5, 2.25]),  # two columns, no header: step, loss
        ('"Step","run-7 - loss","run-7 - loss__MIN","run-7 - loss__MAX"\n5,1.5,1.4,1.6\n', "run-7 - loss", [5], [1.5]),
        ("epoch,loss,accuracy\n0,2.5,0.1\n1,2.0,0.2\n", "loss", [0, 1], [2.5, 2.0]),  # Keras' CSVLogger
        ("step;Loss\n1;inf\n2;1.0\n", "Loss", [1, 2], [np.inf, 1.0]),
    ],
)
def test_plain_csv_layouts(tmp_path, text, tag, steps, values):
    (tmp_path / "log.csv").write_text(text)
    c = load_loss_curve(tmp_path / "log.csv")
    assert (c.tag, c.steps.tolist(), c.values.tolist()) == (tag, steps, values)
    assert c.nonfinite_steps == [s for s, v in zip(steps, values) if not np.isfinite(v)]


def test_a_missing_tag_lists_the_tags_there_are(tmp_path):
    _summary_writer(tmp_path)
    with pytest.raises(LossFileError, match=r"has no tag 'loss/train'; its tags: train/loss, lr$"):
        load_loss_curve(tmp_path, tag="loss/train")


def test_two_loss_tags_of_one_kind_ask_for_a_choice(tmp_path):
    (tmp_path / "m.csv").write_text("step,contrastive_loss,reg_loss\n1,2.0,0.5\n")
    with pytest.raises(LossFileError, match=r"several tags name a loss; .*: contrastive_loss, reg_loss"):
        load_loss_curve(tmp_path / "m.csv")


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", "is empty"),
        ("events.out.tfevents.x", b"\x00garbage\xff" * 50, "holds no readable TensorBoard events"),
        ("notes.csv", b"name,comment\nabc,def\nghi,jkl\n", "has no numeric rows"),
        ("binary.csv", b"\xff\xfe\x00\x81" * 20, "is not a text file"),
        ("headers.csv", b"step,lr,accuracy\n1,0.1,0.5\n", "no tag names a loss; .*: lr, accuracy"),
        ("huge_step.csv", b"step,loss\n1,2.0\n1e30,1.5\n", "row 2: the step 1e30 is not a step number"),
    ],
)
def test_bad_files_get_one_line_naming_the_file(tmp_path, name, content, problem):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LossFileError, match=rf"^{tmp_path / name}: {problem}") as e:
        load_loss_curve(tmp_path / name)
    assert "\n" not in str(e.value)


def test_missing_paths_folders_without_logs_and_huge_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(LossFileError, match="no such file or folder"):
        load_loss_curve(tmp_path / "nope.csv")
    with pytest.raises(LossFileError, match=r"holds no TensorBoard event files .* and no metrics.csv"):
        load_loss_curve(tmp_path)
    with open(tmp_path / "huge.csv", "wb") as f:
        f.truncate(lossfiles.MAX_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(LossFileError, match=r"huge\.csv: is 512 MiB; loss logs over 512 MiB are refused"):
        load_loss_curve(tmp_path / "huge.csv")


def test_without_tensorboard_event_files_say_what_to_install(tmp_path, monkeypatch):
    _summary_writer(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)
    with pytest.raises(LossFileError, match="needs the tensorboard package: pip install tensorboard"):
        load_loss_curve(tmp_path)


def test_the_doctor_cli_reads_a_loss_file_and_refuses_a_bad_one_in_one_line(tmp_path):
    _summary_writer(tmp_path / "tb")
    (tmp_path / "events.out.tfevents.bad").write_bytes(b"not an event file")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def doctor(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "cl_core", "doctor", *args, "--batch-size", "16"]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)

    out = doctor("--loss-file", "tb")
    assert out.returncode == 0 and "Traceback" not in out.stdout + out.stderr, out.stderr
    assert out.stdout.startswith("train/loss from tb: 5 values, steps 0 to 40")
    assert "first    step 0: 4.15888 (above_chance)" in out.stdout and "last     step 40: 0.333333" in out.stdout
    assert "chance   3.4340" in out.stdout  # ln 31: SimCLR at N = 16
    out = doctor("--loss-file", "events.out.tfevents.bad")
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("error: events.out.tfevents.bad: holds no readable TensorBoard events")
