"""``python -m cl_core doctor`` (what a loss value means) and ``inspect`` (the diagnosis of an embeddings file)."""

from __future__ import annotations

import argparse
import json
import sys

from cl_core.doctor import CONTRASTIVE, NO_CHANCE


def _loss_args(p: argparse.ArgumentParser, loss_required: bool) -> None:
    p.add_argument("--loss", type=float, required=loss_required, help="the loss value your run printed")
    p.add_argument("--batch-size", type=int, default=None, metavar="N", help="images per batch (2N views)")
    p.add_argument("--method", default="simclr", choices=CONTRASTIVE + NO_CHANCE, help="whose loss it is")
    p.add_argument("--temperature", type=float, default=None, help="the loss's temperature (adds the floor)")
    p.add_argument("--queue-size", type=int, default=0, help="MoCo: queued negatives K (0: in-batch)")
    p.add_argument("--prototypes", type=int, default=0, help="SwAV: number of prototypes")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="what a loss value means: its chance level, floor and likely causes")
    _loss_args(p, loss_required=True)
    p.add_argument("--no-mask-self", action="store_true", help="the loss keeps each anchor among its candidates")
    p = sub.add_parser("inspect", help="diagnose your own embeddings file (.npy .npz .pt .safetensors tensors.tsv)")
    p.add_argument("file", help="one view (N, D), two ((2, N, D) or z1 and z2), labels and features optional")
    p.add_argument("--labels", default=None, metavar="FILE", help="N labels (.txt/.csv/.tsv lines or an array file)")
    p.add_argument("--json", action="store_true", help="print the metrics and verdict as JSON")
    _loss_args(p, loss_required=False)


def cmd_doctor(args: argparse.Namespace) -> int:
    from cl_core.doctor import read_loss

    if args.batch_size is None:
        print("error: --batch-size: needed to read a loss (the chance level depends on it)", file=sys.stderr)
        return 2
    try:
        r = read_loss(
            args.loss,
            args.batch_size,
            args.method,
            args.temperature,
            args.queue_size,
            args.prototypes,
            mask_self=not args.no_mask_self,
        )
    except ValueError as e:
        field, _, problem = str(e).partition(": ")
        print(f"error: --{field.replace('_', '-')}: {problem}", file=sys.stderr)
        return 2
    print(f"loss {r.loss:.6g}: {r.kind}")
    for name in ("chance", "floor", "minimum"):
        value = getattr(r, name)
        if value is not None:
            print(f"  {name:<8} {value:.4f}")
    print(r.text())
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
