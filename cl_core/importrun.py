"""import_run: embeddings and a loss curve you already have, written as a run directory the explorer opens.

The files are read by ``cl_core.embedfiles`` and ``cl_core.lossfiles`` and written by ``RunLogger``: the loss curve
as metrics rows, the embeddings as one snapshot at the curve's last step with the app's diagnosis and verdict. The
run is written in a hidden folder beside its place and renamed into it once complete, so a file that cannot be read
(or any other failure) leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from cl_core.embedfiles import Embeddings, load_embeddings
from cl_core.lossfiles import LossCurve, load_loss_curve
from cl_core.runlogger import MISSING_CHECKPOINT, MISSING_CONFIG, RunLogger
from cl_core.runs import OWNER_FILE, Run, RunError, load_run, read_json, write_json

MAX_POINTS = 512  # embeddings in the snapshot, as the app's probe set (data.probe_size): a seeded subset beyond
MAX_ROWS = 5000  # loss values written as metrics rows: every k-th beyond (non-finite ones always)
STAGING = ".importing"  # the hidden folder beside the run where it is written; never listed as a run
ONE_VIEW = (
    "one view only: the snapshot's second view is a copy of the first, so alignment, positive pairs and the "
    "what-if say nothing"
)
NO_EMBEDDINGS = "no embeddings: nothing to draw or diagnose, only the loss curve"
NO_LOSS = "no loss curve"
NO_CHANCE = "no batch size: the loss has no chance level to be read against"
SUBSET = "a random {n} of its {total} embeddings (the app's probe set size)"
THINNED = "every {k}th value of the loss curve ({n} of {total})"


def import_run(
    out_dir: str | Path,
    embeddings: str | Path | None = None,
    loss: str | Path | None = None,
    *,
    labels: str | Path | None = None,
    tag: str | None = None,
    method: str = "simclr",
    batch_size: int | None = None,
    temperature: float | None = None,
    queue_size: int = 0,
    prototypes: int = 0,
    owner: str | None = None,
    source: str | None = None,
    max_points: int = MAX_POINTS,
) -> Run:
    """Write the run directory ``out_dir`` from your files and return it as a ``Run``.

    Args:
        out_dir: a new folder (or an empty one), usually inside the app's runs folder; its name is the run's id.
        embeddings: a file ``cl_core.embedfiles`` reads (.npy .npz .pt .pth .safetensors tensors.tsv): (N, D) or two
            views; labels and features optional. labels: a file of N labels for it.
        loss: a TensorBoard event file or folder, or a CSV (``cl_core.lossfiles``); tag: its series (default: the loss).
        method, batch_size, temperature, queue_size, prototypes: as for ``RunLogger`` (the chance level, the floor).
        owner: the app session the run belongs to (private mode); source: what ``external.source`` says
            (default: the files' paths); max_points: embeddings kept in the snapshot.

    Raises EmbeddingsError / LossFileError naming a file and its problem, RunError for a folder that holds
    something already, ValueError for a bad argument.
    """
    if embeddings is None and loss is None:
        raise ValueError("import_run: give an embeddings file, a loss file or both")
    if labels is not None and embeddings is None:
        raise ValueError("labels: a labels file needs the embeddings file it labels")
    if batch_size is not None and batch_size < 2:
        raise ValueError(f"batch_size: {batch_size} is too small; a contrastive batch has at least 2 images")
    if temperature is not None and not temperature > 0:
        raise ValueError(f"temperature: {temperature} must be > 0")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists; give each run a new folder (nothing was overwritten)")
    e = load_embeddings(embeddings, labels) if embeddings is not None else None
    curve = load_loss_curve(loss, tag) if loss is not None else None
    files = {k: str(v) for k, v in (("embeddings", embeddings), ("labels", labels), ("loss", loss)) if v is not None}
    staging = out.parent / STAGING / f"{out.name}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        if owner is not None:
            write_json(staging / OWNER_FILE, {"owner": owner})  # before config.json, as the job manager writes it
        kw = {"method": method, "batch_size": batch_size, "temperature": temperature}
        kw |= {"queue_size": queue_size, "prototypes": prototypes, "source": source or ", ".join(files.values())}
        _write(staging, e, curve, files, max_points, **kw)
        os.rename(staging, out)  # an empty out_dir is replaced; one that filled meanwhile makes this fail
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        with contextlib.suppress(OSError):
            staging.parent.rmdir()  # only once no other import is being written there
    return load_run(out)


def _write(
    path: Path, e: Embeddings | None, curve: LossCurve | None, files: dict[str, str], max_points: int, **kw: Any
) -> None:
    """The run at ``path`` by RunLogger: the curve's rows, then one snapshot at its last step; kw: RunLogger's."""
    notes = [NO_EMBEDDINGS] if e is None else []
    if e is not None:
        e, notes = _subset(e, max_points)
        notes += [ONE_VIEW] if e.z2 is None else []
    rows, thinned = _rows(curve) if curve is not None else (np.arange(0), [NO_LOSS])
    log = RunLogger(
        path,
        labels=None if e is None else e.labels,
        class_names=None if e is None else e.class_names,
        total_steps=None if curve is None else int(curve.steps[-1]) + 1,
        data_name=Path(files.get("embeddings") or files["loss"]).name,
        **kw,
    )
    config = read_json(path / "config.json")  # RunLogger's, with what an import lacks besides and where it came from
    # without embeddings RunLogger's notes on the probe batch's labels and chance level do not apply
    missing = log.missing if e is not None else [MISSING_CONFIG, MISSING_CHECKPOINT] + [NO_CHANCE] * (not log.chance)
    files = files | ({"tag": curve.tag} if curve is not None else {})
    config["external"] |= {"missing": missing + notes + thinned, "files": files}
    write_json(path / "config.json", config)
    for i in rows:
        log.log(int(curve.steps[i]), float(curve.values[i]))
    if e is not None:  # the trained model's embeddings: at the curve's last step
        step = 0 if curve is None else int(curve.steps[-1])
        log.snapshot(step, e.z1, e.z1 if e.z2 is None else e.z2, features=e.features)
    log.close("completed", "Imported from your files")


def _subset(e: Embeddings, max_points: int) -> tuple[Embeddings, list[str]]:
    """``e`` with at most ``max_points`` rows (a seeded random subset, in file order) and the note saying so."""
    n = len(e.z1)
    if n <= max_points:
        return e, []
    idx = np.sort(np.random.default_rng(0).choice(n, max_points, replace=False))
    pick = lambda a: None if a is None else a[idx]  # noqa: E731
    small = Embeddings(pick(e.z1), pick(e.z2), pick(e.labels), pick(e.features), e.class_names, e.source)
    return small, [SUBSET.format(n=max_points, total=n)]


def _rows(curve: LossCurve) -> tuple[np.ndarray, list[str]]:
    """Indices of the loss values to write: all, or every k-th one with the non-finite ones and the last."""
    total = len(curve.values)
    if total <= MAX_ROWS:
        return np.arange(total), []
    k = -(-total // MAX_ROWS)
    keep = np.zeros(total, bool)
    keep[::k] = keep[-1] = True
    keep |= ~np.isfinite(curve.values)
    return np.flatnonzero(keep), [THINNED.format(k=k, n=int(keep.sum()), total=total)]
