"""Command line: ``python -m cl_core`` train, sweep, list, eval, lesson, app, doctor, inspect, import, export-backbone.

Bad settings print one line naming the field and exit with code 2; a failed run exits with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cl_core import cli_debug, cli_model
from cl_core.config import Config, ConfigError
from cl_core.data import DataError
from cl_core.lessons import LESSONS_DIR
from cl_core.lessons.schema import LANG_CODE
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
    "view_size": "data.view_size",
    "data_root": "data.root",
    "threads": "train.threads",
    "snapshots": "train.snapshots",
    "init_from": "train.init_from",
    "cifar_stem": "train.cifar_stem",
}


def _config_parser(sub: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A sub-command that builds a config from the method's preset, --config, the flags and --opt (train, sweep)."""
    p = sub.add_parser(name, help=help)
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
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument(
        "--channels-last",
        nargs="?",
        const="true",
        default=None,
        metavar="BOOL",
        help="channels-last memory format (default true; --channels-last false for NCHW)",
    )
    p.add_argument("--profile", action="store_true", help="time augmentation, forward, backward and optimiser")
    p.add_argument("--quiet", action="store_true")
    return p


def _train_parser(sub: argparse._SubParsersAction) -> None:
    p = _config_parser(sub, "train", "train one method and write a run directory")
    p.add_argument("--out", default=None, help="run directory (default: RUNS_DIR/<new id>)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a stopped or completed run")


def _sweep_parser(sub: argparse._SubParsersAction) -> None:
    p = _config_parser(sub, "sweep", "one run per value of one setting; prints value -> kNN, final loss, verdict")
    p.add_argument("--param", required=True, metavar="NAME", help="the setting (temperature, batch_size, predictor)")
    p.add_argument("--values", required=True, metavar="A,B,C", help="its values, separated by commas")
    p.add_argument("--parallel", type=int, default=1, metavar="N", help="runs at a time (0: one per GPU or 2 cores)")
    p.set_defaults(resume=None, out=None)


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
    given = [b for b in ("steps", "epochs", "seconds") if getattr(args, b) is not None]
    for budget in ("steps", "epochs", "seconds"):  # an explicit budget replaces the preset's, not adds to it
        if given and budget not in given:
            setattr(cfg.train, budget, 0)
    if args.resume and not (cfg.train.steps or cfg.train.epochs or cfg.train.seconds):
        cfg.train.seconds = 60.0
    for item in args.opt:
        name, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(item, "--opt takes NAME=VALUE")
        cfg.set(name.strip(), value.strip())
    cfg.train.compile = cfg.train.compile or args.compile
    if args.channels_last is not None:
        cfg.set("train.channels_last", args.channels_last)
    cfg.train.profile = cfg.train.profile or args.profile
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
    from cl_core import distributed
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
    if not distributed.is_main():  # a torchrun worker: rank 0 reports
        return 1 if result.state == "failed" else 0
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
    if s.get("profile"):
        print("step time: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in s["profile"].items()))
    return 1 if result.state == "failed" else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Queue one child run per value (``--parallel`` at a time), report each as it ends, then the sweep's table."""
    from cl_core import sweep as S
    from cl_core.jobs import JobManager
    from cl_core.runs import FINISHED, load_run, read_status

    if args.parallel < 0:
        raise ConfigError("--parallel", f"must be >= 0; got {args.parallel}")
    jobs = JobManager(args.runs_dir, max_concurrent=args.parallel)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    sweep = S.launch(jobs, build_config(args), args.param, args.values, owner="cli")
    n = len(sweep.run_ids)
    values = ", ".join(map(str, sweep.values))
    print(f"sweep {sweep.id}: {sweep.param} = {values} ({n} runs, {jobs.max_concurrent} at a time)", flush=True)
    done: set[str] = set()
    try:
        while len(done) < n:
            if stop.is_set():
                jobs.shutdown()  # running runs stop cleanly (state stopped), queued ones are dropped
            for value, run_id in zip(sweep.values, sweep.run_ids):
                state = read_status(jobs.runs_dir / run_id).get("state")
                if state in FINISHED and run_id not in done:
                    done.add(run_id)
                    print(f"[{len(done)}/{n}] {sweep.param} = {value}: {state}", flush=True)
            time.sleep(0.5)
    finally:
        jobs.shutdown()
    runs = {run_id: load_run(jobs.runs_dir / run_id) for run_id in sweep.run_ids}
    print(f"\n{sweep.param:<28} {'state':<11} {'kNN':>7} {'final loss':>10}  {'verdict':<22} run")
    for row in S.table(sweep, runs):
        knn, loss = row["knn_top1"], row["final_loss"]
        print(
            f"{row[sweep.param]!s:<28} {row['state']:<11} {'' if knn is None else f'{knn:.3f}':>7} "
            f"{'' if loss is None else f'{loss:.4f}':>10}  {row['verdict'] or '':<22} {jobs.runs_dir / row['run']}"
        )
    return 1 if any(r.state == "failed" for r in runs.values()) else 0


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


def cmd_eval(args: argparse.Namespace) -> int:
    from cl_core import report
    from cl_core.runs import load_run

    run = load_run(args.run_dir)
    print(f"run {run.id}: {run.state}" + (f" — {run.status['message']}" if run.status.get("message") else ""))
    if not run.summary:
        print("no summary yet (the run has not finished)")
    for row in report.summary_table(run):
        value = row["value"]
        print(f"  {row['metric']:<18} {value:.4f}" if isinstance(value, float) else f"  {row['metric']:<18} {value}")
    for reason in run.summary.get("verdict_reasons") or []:
        print(f"  - {reason}")
    if args.html:
        Path(args.html).write_text(report.report(run, projection=args.projection))
        print(f"report: {args.html}")
    if args.projector:
        from cl_core.embedding_projector import export_projector

        e = export_projector(run, args.projector)
        print(f"embedding projector: {e.folder} (open it with tensorboard --logdir {e.folder})")
        if e.note:
            print(f"  no sprite: {e.note}")
    if args.csv:
        Path(args.csv).write_text(report.metrics_csv(run))
        print(f"metrics: {args.csv}")
    return 0


def cmd_lesson(args: argparse.Namespace) -> int:
    """Run a lesson headless and report each claim; 0 whether the claims held or not, 2 for a bad lesson."""
    from cl_core.lessons import LessonError, find_lesson, load_lessons, run_lesson

    if not args.name:
        lessons, errors = load_lessons(args.lessons_dir)
        for x in lessons:
            print(f"{x.id:<24} {x.title['en']}")
        for e in errors:
            print(f"skipped: {e}", file=sys.stderr)
        return 0
    try:
        lesson = find_lesson(args.name, args.lessons_dir)
    except LessonError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not LANG_CODE.fullmatch(args.lang):
        print(f"error: --lang: expected a language code such as en, zh or pt-BR, got {args.lang!r}", file=sys.stderr)
        return 2
    mode = "test" if args.test else "fast" if args.fast else "full"
    result = run_lesson(lesson, args.out, mode=mode, threads=args.threads, lang=args.lang)
    for c in result.claims:
        print({True: "HELD     ", False: "NOT HELD ", None: "UNCHECKED"}[c.held], c.text)
    print(f"report: {result.report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cl_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _sweep_parser(sub)
    p = sub.add_parser("app", help="start the app (the same as cl-explorer; extra arguments go to streamlit run)")
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("list", help="list runs with their state")
    p.add_argument("runs_dir", nargs="?", default="runs")
    p = sub.add_parser("eval", help="print a saved run's diagnostics; write its report and exports")
    p.add_argument("run_dir")
    p.add_argument("--html", default=None, metavar="FILE", help="a self-contained report page with every figure")
    p.add_argument("--projection", default="pca", choices=("pca", "umap", "tsne"))
    p.add_argument(
        "--projector",
        default=None,
        metavar="DIR",
        help="write TensorBoard Embedding Projector files (tensors, metadata, sprite, projector_config.pbtxt)",
    )
    p.add_argument("--csv", default=None, metavar="FILE", help="the training metrics as CSV")
    p = sub.add_parser("lesson", help="run a lesson headless: its runs, claims and HTML report (no NAME: list)")
    p.add_argument("name", nargs="?", default=None, metavar="NAME", help="lesson file name, number or .toml path")
    p.add_argument("--fast", action="store_true", help="the short budget (about a minute a lesson on a laptop)")
    p.add_argument("--test", action="store_true", help="the test suite's shortened budget")
    p.add_argument("--out", default="lesson-report", metavar="DIR", help="run directories and report.html")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--lang", default="en", help="language code of the report (en, zh, or any the lesson has)")
    p.add_argument("--lessons-dir", default=str(LESSONS_DIR), help="a folder of lesson .toml files")
    cli_debug.add_parsers(sub)
    cli_model.add_parsers(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "app":
            from cl_core import launch

            return launch.main(args.streamlit_args)
        commands = {"train": cmd_train, "sweep": cmd_sweep, "list": cmd_list, "eval": cmd_eval, "lesson": cmd_lesson}
        commands |= cli_debug.COMMANDS | cli_model.COMMANDS
        return commands[args.command](args)
    except (ConfigError, DataError, RunError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:  # torch, torchvision or umap missing or broken: no traceback, but what to do
        msg = "Install the requirements again (pip install -r requirements.txt) and try again."
        print(f"error: a package this needs could not be imported ({e}). {msg}", file=sys.stderr)
        return 2


def _exit(code: int) -> None:
    """Under torchrun, leave the process group and end with ``os._exit`` (a plain exit can abort at
    interpreter shutdown with gloo: docs/DESIGN.md, "Measured facts")."""
    try:
        from cl_core import distributed
    except ImportError:  # no working torch (main has said so): no process group to leave
        sys.exit(code)
    if distributed.env_world() <= 1:
        sys.exit(code)
    distributed.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry() -> None:
    """The ``cl-core`` console script: ``python -m cl_core`` under another name."""
    _exit(main())


if __name__ == "__main__":
    _exit(main())
