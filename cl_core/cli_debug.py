"""``python -m cl_core doctor`` (what a loss value, or a logged loss curve, means), ``inspect`` (the diagnosis
of an embeddings file) and ``import`` (embeddings and a loss curve written as a run the app opens)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cl_core.doctor import CONTRASTIVE, NO_CHANCE, LossReading


def _loss_args(p: argparse.ArgumentParser, loss_required: bool) -> None:
    p.add_argument("--loss", type=float, required=loss_required, help="the loss value your run printed")
    _method_args(p)


def _method_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="images per batch (2N views)")
    p.add_argument("--method", default="simclr", choices=CONTRASTIVE + NO_CHANCE, help="whose loss it is")
    p.add_argument("--temperature", type=float, default=None, help="the loss's temperature (adds the floor)")
    p.add_argument("--queue-size", type=int, default=0, help="MoCo: queued negatives K (0: in-batch)")
    p.add_argument("--prototypes", type=int, default=0, help="SwAV: number of prototypes")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="what a loss value means: its chance level, floor and likely causes")
    _loss_args(p, loss_required=False)
    p.add_argument(
        "--loss-file",
        default=None,
        metavar="FILE",
        help="read the loss curve instead: a TensorBoard event file or folder, metrics.csv or a step,loss CSV",
    )
    p.add_argument("--tag", default=None, help="the curve to read from --loss-file (default: the one named loss)")
    p.add_argument("--no-mask-self", action="store_true", help="the loss keeps each anchor among its candidates")
    p = sub.add_parser("inspect", help="diagnose your own embeddings file (.npy .npz .pt .safetensors tensors.tsv)")
    p.add_argument("file", help="one view (N, D), two ((2, N, D) or z1 and z2), labels and features optional")
    p.add_argument("--labels", default=None, metavar="FILE", help="N labels (.txt/.csv/.tsv lines or an array file)")
    p.add_argument("--json", action="store_true", help="print the metrics and verdict as JSON")
    _loss_args(p, loss_required=False)
    p = sub.add_parser("import", help="open your own embeddings and loss curve in the app: they become a run")
    p.add_argument("file", nargs="?", default=None, help="embeddings (.npy .npz .pt .safetensors tensors.tsv)")
    p.add_argument("--labels", default=None, metavar="FILE", help="N labels (.txt/.csv/.tsv lines or an array file)")
    p.add_argument("--loss-file", default=None, metavar="FILE", help="a TensorBoard event file or folder, or a CSV")
    p.add_argument("--tag", default=None, help="the curve to read from --loss-file (default: the one named loss)")
    p.add_argument("--out", default=None, metavar="DIR", help="the run directory (default: RUNS_DIR/<new id>)")
    p.add_argument("--runs-dir", default="runs", help="the app's runs folder")
    _method_args(p)


def cmd_doctor(args: argparse.Namespace) -> int:
    from cl_core.doctor import read_loss
    from cl_core.lossfiles import LossFileError

    if (args.loss is None) == (args.loss_file is None):
        print("error: --loss or --loss-file: give one of them (a loss value, or a file of them)", file=sys.stderr)
        return 2
    if args.batch_size is None:
        print("error: --batch-size: needed to read a loss (the chance level depends on it)", file=sys.stderr)
        return 2
    opts = (args.method, args.temperature, args.queue_size, args.prototypes)
    read = lambda loss: read_loss(loss, args.batch_size, *opts, mask_self=not args.no_mask_self)  # noqa: E731
    try:
        if args.loss_file is not None:
            return _doctor_curve(args.loss_file, args.tag, read)
        r = read(args.loss)
    except LossFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        field, _, problem = str(e).partition(": ")
        print(f"error: --{field.replace('_', '-')}: {problem}", file=sys.stderr)
        return 2
    _print_reading(r)
    return 0


def _print_reading(r: LossReading) -> None:
    print(f"loss {r.loss:.6g}: {r.kind}")
    for name in ("chance", "floor", "minimum"):
        value = getattr(r, name)
        if value is not None:
            print(f"  {name:<8} {value:.4f}")
    print(r.text())


def _doctor_curve(path: str, tag: str | None, read: Callable[[float], LossReading]) -> int:
    """The readings of a loss curve's first value, its least finite one and its last (that one in full)."""
    from cl_core.lossfiles import load_loss_curve

    c = load_loss_curve(path, tag)
    print(f"{c.tag} from {c.source}: {len(c.values)} values, steps {c.steps[0]} to {c.steps[-1]}")
    if c.nonfinite_steps:
        shown = ", ".join(map(str, c.nonfinite_steps[:10])) + " ..." * (len(c.nonfinite_steps) > 10)
        print(f"  {len(c.nonfinite_steps)} non-finite values, at steps {shown}")
    finite = np.flatnonzero(np.isfinite(c.values))
    least = [("lowest", int(finite[np.argmin(c.values[finite])]))] if len(finite) else []
    for label, i in [("first", 0), *least, ("last", len(c.values) - 1)]:
        print(f"  {label:<8} step {c.steps[i]}: {c.values[i]:.6g} ({read(float(c.values[i])).kind})")
    print("The last value:")
    _print_reading(read(float(c.values[-1])))
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from cl_core.doctor import diagnose
    from cl_core.embedfiles import EmbeddingsError, load_embeddings

    try:
        e = load_embeddings(args.file, args.labels)
        d = diagnose(
            e.z1,
            e.z2,
            features=e.features,
            labels=e.labels,
            loss=args.loss,
            batch_size=args.batch_size,
            temperature=args.temperature,
            method=args.method,
            queue_size=args.queue_size,
            prototypes=args.prototypes,
        )
    except (EmbeddingsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        out = {"file": e.source, "n": len(e.z1), "dim": e.z1.shape[1], "views": e.views, "metrics": d.metrics}
        out |= {"verdict": d.verdict, "reasons": d.reasons}
        if d.loss is not None:
            out["loss"] = {"kind": d.loss.kind, "chance": d.loss.chance, "floor": d.loss.floor, "text": d.loss.text()}
        print(json.dumps(out, indent=1))
        return 0
    extra = ", labels" * (e.labels is not None) + ", features" * (e.features is not None)
    print(f"{e.source}: {len(e.z1)} x {e.z1.shape[1]}, {e.views} view{'s' * (e.views > 1)}{extra}")
    for key, value in d.metrics.items():
        print(f"  {key:<24} {value:.4f}")
    print(d.text())
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from cl_core.embedfiles import EmbeddingsError
    from cl_core.importrun import import_run
    from cl_core.lossfiles import LossFileError
    from cl_core.runlogger import MISSING_CHECKPOINT, MISSING_CONFIG
    from cl_core.runs import RunError, new_run_id

    if args.file is None and args.loss_file is None:
        print("error: give an embeddings FILE, a --loss-file or both", file=sys.stderr)
        return 2
    out = args.out or Path(args.runs_dir) / new_run_id(f"{args.method}_import")
    opts = {"method": args.method, "batch_size": args.batch_size, "temperature": args.temperature}
    opts |= {"queue_size": args.queue_size, "prototypes": args.prototypes}
    try:
        run = import_run(out, args.file, args.loss_file, labels=args.labels, tag=args.tag, **opts)
    except (EmbeddingsError, LossFileError, RunError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # an argument: "batch_size: ..."
        field, _, problem = str(e).partition(": ")
        print(f"error: --{field.replace('_', '-')}: {problem}", file=sys.stderr)
        return 2
    print(f"run: {run.path}")
    for note in run.config["external"]["missing"]:
        if note not in (MISSING_CONFIG, MISSING_CHECKPOINT):  # every run from outside lacks these
            print(f"  {note}")
    s = run.summary
    if s.get("verdict"):
        print(f"verdict: {s['verdict']}", *s.get("verdict_reasons", []), sep="\n")
    else:
        print("no embeddings, so no verdict; the loss curve is in the run")
    print(f"Open it in the app: CL_RUNS_DIR={run.path.parent} python -m cl_core app, and pick it in the sidebar")
    return 0


COMMANDS = {"doctor": cmd_doctor, "inspect": cmd_inspect, "import": cmd_import}
