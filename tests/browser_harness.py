"""Drive the real app in headless Chromium: start ``streamlit run app.py``, open pages, wait for reruns.

Used by tests/test_browser.py and benchmarks/app_speed.py. Needs Debian's chromium (no Playwright download).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}


def require_browser():
    """Playwright's ``sync_playwright`` for the system Chromium; without them the test is skipped, unless
    CL_REQUIRE_BROWSER=1 (CI), where that is a failure."""
    import pytest

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if chromium_path() and sync_playwright:
        return sync_playwright
    if os.environ.get("CL_REQUIRE_BROWSER") == "1":
        pytest.fail("Chromium / Playwright missing and CL_REQUIRE_BROWSER=1: apt-get install -y chromium")
    pytest.skip("Chromium or Playwright is not installed (apt-get install -y chromium)")


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    return CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(
    runs_dir: Path, log_path: Path | None = None, start: list[str] | None = None, cwd: Path = ROOT, **env: str
) -> Iterator[str]:
    """Run the app on a free local port; yields its URL and stops the server (by pid) afterwards.

    ``start`` is the command before the server flags (default: ``python -m streamlit run app.py``), run in ``cwd``.
    """
    port = free_port()
    cmd = [
        *(start or [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    log = open(log_path or os.devnull, "wb")  # noqa: SIM115 - closed below, after the server
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "CL_RUNS_DIR": str(runs_dir), **env}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"streamlit did not start (exit code {proc.poll()}); see {log_path}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_idle(page, timeout: float = 60.0, settle: float = 0.5) -> None:
    """Wait until the script has run (``data-test-script-state`` of stApp), nothing is stale and every in-place
    chart is drawn (charts.in_place_chart), for ``settle`` s."""
    deadline, quiet_since = time.time() + timeout, None
    while time.time() < deadline:
        app = page.locator('[data-testid="stApp"]')
        state = app.get_attribute("data-test-script-state") if app.count() else "initial"
        busy = state in ("initial", "running", "rerunRequested") or page.locator('[data-stale="true"]').count() > 0
        busy = busy or page.locator('[data-testid="stSpinner"]').count() > 0
        busy = busy or page.locator(".cl-in-place-chart:not(.js-plotly-plot)").count() > 0  # plotly.js loading
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.time()
        elif time.time() - quiet_since >= settle:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the app kept running for {timeout} s")


def go_to(page, title: str, timeout: float = 60.0) -> None:
    """Open a page through the sidebar navigation (keeps the session, unlike a new URL)."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()
    wait_idle(page, timeout)


def problems(page) -> list[str]:
    """Exception boxes and tracebacks on the page (should be none)."""
    out = [e.inner_text()[:300] for e in page.locator('[data-testid="stException"]').all()]
    if "Traceback (most recent call last)" in page.content():
        out.append("a traceback is shown")
    return out


def screenshot(page, name: str, folder: Path = ROOT / "docs") -> Path:
    """Save a PNG of the visible page (viewport-sized, commit-sized)."""
    time.sleep(0.5)  # progress bars and charts animate
    path = folder / f"page-{name}.png"
    page.screenshot(path=str(path))
    return path
