"""Command line: ``python -m cl_core train | list | eval``.

Bad settings print one line naming the field and exit with code 2; a failed run exits with 1.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cl_core.config import Config, ConfigError
from cl_core.data import DataError
from cl_core.runs import RunError

# flag -> dotted config name; every one also works as --opt NAME=VALUE
FLAGS = {
    "method": "method.name",
    "dataset": "data.name",
    "backbone": "train.backbone",
    "width": "train.width",
    "batch_size": "train.batch_size",
    "temperature": "method.temperature",
    "margin": "method.margin",
    "lr": "train.lr",
    "optimizer": "train.optimizer",
    "weight_decay": "train.weight_decay",
    "seconds": "train.seconds",
    "steps": "train.steps",
    "epochs": "train.epochs",
    "seed": "train.seed",
    "device": "train.device",
    "precision": "train.precision",
    "image_size": "data.image_size",
    "data_root": "data.root",
    "threads": "train.threads",
    "snapshots": "train.snapshots",
}


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train one method and write a run directory")
    for flag in FLAGS:
        p.add_argument("--" + flag.replace("_", "-"), dest=flag, default=None, metavar=flag.upper())
    p.add_argument("--augment", default=None, metavar="PRESET", help="augmentation preset (simclr, crop_only, ...)")
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other setting: a method switch (predictor=false) or a field (hue=0, train.warmup=0.1)",
    )
    p.add_argument("--config", default=None, help="replay a saved config.json (flags override it)")
    p.add_argument("--out", default=None, help="run directory (default: RUNS_DIR/<new id>)")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a stopped or completed run")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--quiet", action="store_true")


def build_config(args: argparse.Namespace) -> Config:
    """Preset of the chosen method, then the saved config, then flags and --opt, in that order."""
    from cl_core.presets import preset_config, set_augment_preset
    from cl_core.runs import read_json

    if args.resume:
        saved = read_json(Path(args.resume) / "config.json")
        if saved is None:
            raise ConfigError("--resume", f"{args.resume} is not a run directory (no config.json)")
        cfg = Config.from_dict(saved)
        cfg.train.steps, cfg.train.epochs, cfg.train.seconds = 0, 0.0, 0.0  # the budget is the new one
    elif args.config:
        try:
            saved = json.loads(Path(args.config).read_text())
        except (OSError, ValueError) as e:
            raise ConfigError("--config", f"cannot read {args.config}: {e}") from None
        cfg = Config.from_dict(saved)
    else:
        cfg = preset_config(args.method or "simclr", args.dataset or "digits")
    if args.augment:
        set_augment_preset(cfg, args.augment)
    for flag, name in FLAGS.items():
        value = getattr(args, flag)
        if value is not None:
            cfg.set(name, value)
    if args.resume and not (cfg.train.steps or cfg.train.epochs or cfg.train.seconds):
        cfg.train.seconds = 60.0
    for item in args.opt:
        name, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(item, "--opt takes NAME=VALUE")
        cfg.set(name.strip(), value.strip())
    cfg.train.compile = cfg.train.compile or args.compile
    cfg.train.channels_last = cfg.train.channels_last or args.channels_last
    return cfg.validate()


class ProgressBar:
    """A one-line progress bar with ETA on a terminal; a line every 10% elsewhere."""

    def __init__(self, stream: Any = sys.stderr):
        self.stream, self.tty, self.next_mark, self.t0 = stream, stream.isatty(), 0.1, time.time()

    def on_start(self, info: dict[str, Any]) -> None:
        self.t0 = time.time()
        print(
            f"training on {info['device']}: {info['train_size']} images, batch {info['batch_size']}", file=self.stream
        )

    def on_log(self, row: dict[str, Any]) -> None:
        p = row["progress"]
        elapsed = time.time() - self.t0
        eta = elapsed * (1 - p) / p if p > 0 else float("nan")
        line = f"step {row['step']:>6}  loss {row['loss']:.4f}  {elapsed:5.0f}s elapsed, ETA {eta:4.0f}s"
        if self.tty:
            bar = "#" * int(30 * p)
            print(f"\r[{bar:<30}] {100 * p:3.0f}%  {line}", end="", file=self.stream, flush=True)
        elif p >= self.next_mark:
            self.next_mark = p + 0.1
            print(f"{100 * p:3.0f}%  {line}", file=self.stream, flush=True)

    def on_snapshot(self, step: int, arrays: Any, row: dict[str, Any]) -> None: ...

    def on_end(self, state: str, message: str, summary: dict[str, Any]) -> None:
        if self.tty:
            print(file=self.stream)


def cmd_train(args: argparse.Namespace) -> int:
    from cl_core.runs import new_run_id
    from cl_core.trainer import train

    cfg = build_config(args)
    run_dir = Path(args.resume or args.out or Path(args.runs_dir) / new_run_id(cfg.method.name))
    if args.resume and not (run_dir / "checkpoint.pt").is_file():
        raise ConfigError("--resume", f"{run_dir} has no checkpoint.pt to continue from")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    callbacks = [] if args.quiet else [ProgressBar()]
    result = train(cfg, run_dir, callbacks=callbacks, stop=stop, resume=bool(args.resume))
    s = result.summary
    print(f"{result.state}: {run_dir}")
    if result.message:
        print(result.message)
    if s:
        knn = "n/a" if s.get("knn_top1") is None else f"{s['knn_top1']:.4f}"
        print(
            f"steps {s['steps']}  epochs {s['epochs']:.2f}  final loss {s.get('final_loss')}  kNN top-1 {knn}  "
            f"linear probe {s.get('linear_probe')}  {s['views_per_second']:.0f} views/s  "
            f"verdict {s.get('verdict', 'n/a')}"
        )
    return 1 if result.state == "failed" else 0


def cmd_list(args: argparse.Namespace) -> int:
    from cl_core.runs import list_runs

    runs = list_runs(args.runs_dir)
    if not runs:
        print(f"no runs in {args.runs_dir}")
        return 0
    print(f"{'run':<40} {'state':<12} {'method':<12} {'data':<14} {'steps':>7} {'kNN':>7}")
    for r in runs:
        knn = r.summary.get("knn_top1")
        print(
            f"{r.id:<40} {r.state:<12} {r.config.get('method', {}).get('name', '?'):<12} "
            f"{r.config.get('data', {}).get('name', '?'):<14} {r.status.get('step') or 0:>7} "
            f"{'' if knn is None else f'{knn:.3f}':>7}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cl_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("list", help="list runs with their state")
    p.add_argument("runs_dir", nargs="?", default="runs")
    args = parser.parse_args(argv)
    try:
        return {"train": cmd_train, "list": cmd_list}[args.command](args)
    except (ConfigError, DataError, RunError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
