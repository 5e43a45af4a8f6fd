"""``cl-explorer`` (or ``python -m cl_core app``): start the app from any folder, installed or from a checkout.

It runs ``streamlit run <app folder>/app.py`` in a child process with the app's own server settings
(``.streamlit/config.toml`` beside app.py, passed as flags: Streamlit itself reads that file only from the
current folder). Runs and data are read and written under the current folder, as with ``streamlit run app.py``.
cl_core never imports Streamlit: this module only starts it.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import tomllib
from pathlib import Path


def app_folder() -> Path:
    """The folder holding app.py: the installed ``cl_explorer`` package, else this checkout's root."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "app.py").is_file() and (checkout / "ui").is_dir():
        return checkout
    spec = importlib.util.find_spec("cl_explorer")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the app is not installed beside cl_core (reinstall the package: pip install cl-core)")
    return Path(next(iter(spec.submodule_search_locations)))


def server_flags(config: Path) -> list[str]:
    """A Streamlit config.toml as command-line flags (``--server.enableStaticServing=true``)."""
    if not config.is_file():
        return []
    flags = []
    for section, options in tomllib.loads(config.read_text(encoding="utf-8")).items():
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def command(args: list[str]) -> list[str]:
    """The ``streamlit run`` command line; ``args`` (e.g. ``--server.port 8600``) come last and win."""
    folder = app_folder()
    flags = server_flags(folder / ".streamlit" / "config.toml")
    return [sys.executable, "-m", "streamlit", "run", str(folder / "app.py"), *flags, *args]


def main(argv: list[str] | None = None) -> int:
    """Start the app and wait for it; the exit code is Streamlit's."""
    args = sys.argv[1:] if argv is None else argv
    try:
        cmd = command(args)
    except (FileNotFoundError, tomllib.TOMLDecodeError, OSError) as e:
        print(f"cl-explorer: cannot start the app: {e}", file=sys.stderr)
        return 2
    proc = subprocess.Popen(cmd)
    # a service manager (or a test) stops this process, not the server: pass SIGTERM / SIGHUP on, never orphan it
    forward = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    for sig in forward:
        signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the server too (same process group): let it shut down
        proc.wait()
        return 130


if __name__ == "__main__":
    sys.exit(main())
