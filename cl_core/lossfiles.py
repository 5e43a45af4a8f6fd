"""Loss curves read from the files other training code writes: TensorBoard event files and CSV logs.

``load_loss_curve`` reads one scalar series from an ``events.out.tfevents.*`` file or a folder of them (TF1-style
``simple_value`` summaries, as torch's SummaryWriter writes, and TF2-style scalar tensors), from Lightning's
CSVLogger ``metrics.csv`` (blank cells where a row logged other metrics), a ``step,loss`` CSV, a single column of
numbers, or a Weights & Biases export (``Step``, ``<run> - loss``). Non-finite values are kept and their steps
listed: a NaN loss is itself a diagnosis. Event files need the optional tensorboard package; nothing here needs torch.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 512 * 2**20  # a loss log larger than this is refused, not read into memory
EVENTS = "events.out.tfevents."
STEP_COLUMNS = ("step", "global_step", "trainer/global_step", "_step", "iteration", "iter")
_PREFER = (lambda t: "train" in t, lambda t: not t.endswith("epoch"), lambda t: t.endswith("step"))
_WANDB_RANGE = re.compile(r"__(MIN|MAX)$")  # W&B's sampling envelope beside each exported series


class LossFileError(ValueError):
    """A loss file could not be read; the message is one line naming the file and the problem."""


@dataclass
class LossCurve:
    """One scalar series: steps (T,) int64 and values (T,) float64 in file order, the tag read, every tag the
    file holds, the file or folder it came from, and the steps whose value is NaN or infinite."""

    steps: np.ndarray
    values: np.ndarray
    tag: str
    tags: list[str]
    source: Path
    nonfinite_steps: list[int] = field(default_factory=list)


def _fail(path: Path, problem: str) -> LossFileError:
    return LossFileError(f"{path}: {problem}")


def _tag_list(tags: list[str], limit: int = 20) -> str:
    more = f" and {len(tags) - limit} more" if len(tags) > limit else ""
    return ", ".join(tags[:limit]) + more if tags else "(none)"


def choose_tag(tags: list[str], tag: str | None, path: Path) -> str:
    """``tag`` if the file has it; else an exact "loss", else the one tag naming a loss, narrowed to training
    tags, then not per-epoch ones, then per-step ones (Lightning's train_loss_step beside train_loss_epoch)."""
    if tag is not None:
        if tag not in tags:
            raise _fail(path, f"has no tag {tag!r}; its tags: {_tag_list(tags)}")
        return tag
    exact = [t for t in tags if t.lower() == "loss"]
    if len(exact) == 1:
        return exact[0]
    found = [t for t in tags if "loss" in t.lower()]
    for prefer in _PREFER:
        found = [t for t in found if prefer(t.lower())] or found
    if len(found) == 1:
        return found[0]
    which = "several tags name a loss" if found else "no tag names a loss"
    raise _fail(path, f"{which}; choose one with --tag (tag=...): {_tag_list(found or tags)}")


def load_loss_curve(path: str | Path, tag: str | None = None) -> LossCurve:
    """The loss curve (or any scalar ``tag``) of an event file, a folder of event files, or a CSV file."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, "no such file or folder")
    files = _event_files(path) if path.is_dir() else [path]
    if path.is_dir() and not files:
        if (path / "metrics.csv").is_file():  # a Lightning CSVLogger version folder
            return load_loss_curve(path / "metrics.csv", tag)
        raise _fail(path, f"holds no TensorBoard event files ({EVENTS}*) and no metrics.csv")
    size = sum(f.stat().st_size for f in files)
    if size > MAX_BYTES:
        raise _fail(path, f"is {size / 2**20:.0f} MiB; loss logs over {MAX_BYTES // 2**20} MiB are refused")
    is_events = path.is_dir() or EVENTS in path.name
    series = _read_events(path, files) if is_events else _read_csv(path)
    chosen = choose_tag(list(series), tag, path)
    steps, values = series[chosen]
    if not len(values):
        raise _fail(path, f"{chosen!r} has no numeric values")
    bad = [int(s) for s, v in zip(steps, values) if not math.isfinite(v)]
    return LossCurve(np.asarray(steps, np.int64), np.asarray(values, np.float64), chosen, list(series), path, bad)


def _event_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob(f"{EVENTS}*") if p.is_file())


def _read_events(path: Path, files: list[Path]) -> dict[str, tuple[list[int], list[float]]]:
    """{tag: (steps, values)} of every scalar summary; tags of event files in sub-folders get the sub-folder's name
    in front (``train/epoch_loss``, ``validation/epoch_loss``), as TensorBoard names its runs."""
    try:
        from tensorboard.backend.event_processing import event_accumulator as ea
    except ImportError:
        need = "reading TensorBoard event files needs the tensorboard package: pip install tensorboard"
        raise _fail(path, need) from None
    out: dict[str, tuple[list[int], list[float]]] = {}
    folders = sorted({f.parent for f in files}) if path.is_dir() else [path]
    events = 0
    for folder in folders:
        acc = ea.EventAccumulator(str(folder), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
        acc.Reload()
        events += _has_events(acc)
        prefix = "" if folder == path or not path.is_dir() else f"{folder.relative_to(path).as_posix()}/"
        for name, series in _scalars(acc).items():
            out[prefix + name] = series
    if not events:
        raise _fail(path, "holds no readable TensorBoard events (not an event file, or damaged)")
    if not out:
        raise _fail(path, "holds TensorBoard events but no scalar summaries")
    return out


def _has_events(acc: Any) -> bool:  # tensorboard's EventAccumulator, imported lazily
    try:
        acc.FirstEventTimestamp()
    except ValueError:
        return False
    return True


def _scalars(acc: Any) -> dict[str, tuple[list[int], list[float]]]:
    """Scalar series of one accumulator: simple_value summaries and 0-d tensors of the scalars plugin."""
    from tensorboard.util import tensor_util

    tags = acc.Tags()
    out = {t: ([e.step for e in acc.Scalars(t)], [float(e.value) for e in acc.Scalars(t)]) for t in tags["scalars"]}
    for t in tags["tensors"]:
        if acc.SummaryMetadata(t).plugin_data.plugin_name not in ("scalars", ""):
            continue  # histograms, images, text written as tensors
        arrays = [(e.step, tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(t)]
        if arrays and all(a.ndim == 0 and a.dtype.kind in "fiub" for _, a in arrays):
            out.setdefault(t, ([s for s, _ in arrays], [float(a) for _, a in arrays]))
    return out


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _rows(path: Path) -> list[list[str]]:
    """The CSV's rows (comma, tab or semicolon separated), blank lines dropped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, f"is not a text file (nor named like a TensorBoard event file, {EVENTS}*)") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines(), dialect)]
    except csv.Error as e:
        raise _fail(path, f"is not a readable CSV file ({e})") from None
    return [r for r in rows if any(r)]


def _read_csv(path: Path) -> dict[str, tuple[list[int], list[float]]]:
    """{column: (steps, values)} of a CSV: a header row (or none, when the first row is all numbers); the step
    column by name (step, Step, global_step, ..., else epoch), else the first of two headerless columns, else the
    row number."""
    rows = _rows(path)
    if not rows:
        raise _fail(path, "is empty")
    header = rows[0]
    if all(_number(c) is not None for c in header):
        header = ["step", "loss"] if len(header) == 2 else ["loss"] if len(header) == 1 else []
        header = header or [f"column {i + 1}" for i in range(len(rows[0]))]
    else:
        rows = rows[1:]
    lower = [h.lower() for h in header]
    step_col = next((lower.index(s) for s in (*STEP_COLUMNS, "epoch") if s in lower), None)  # Keras: epoch,loss
    out: dict[str, tuple[list[int], list[float]]] = {}
    for col, name in enumerate(header):
        if col == step_col or _WANDB_RANGE.search(name) or name.lower() == "epoch":
            continue
        steps, values = [], []
        for i, row in enumerate(rows):
            value = _number(row[col]) if col < len(row) else None
            step = i if step_col is None else _number(row[step_col]) if step_col < len(row) else None
            if step is not None and math.isfinite(step) and abs(step) >= 2**63:
                raise _fail(path, f"row {i + 1}: the step {row[step_col]} is not a step number (out of range)")
            if value is not None and step is not None and math.isfinite(step):
                steps.append(int(step))
                values.append(value)
        if values:
            out[name] = (steps, values)
    if not out:
        raise _fail(path, "has no numeric rows (no column of numbers beside the step)")
    return out
