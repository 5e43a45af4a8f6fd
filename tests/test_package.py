"""The package as a user installs it: a wheel built from this checkout, installed into a folder of its own and run
from another folder, with neither the checkout nor its .streamlit/ in reach.

The wheel is installed with ``pip install --no-deps --target``: the dependencies (torch and the rest, GBs) come
from this environment, the code only from the wheel (PYTHONPATH puts it before the editable checkout).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from browser_harness import CHROMIUM_ARGS, chromium_path, problems, require_browser, streamlit_server, wait_idle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(wheel, target folder, environment that imports from it, an empty working folder)."""
    tmp = tmp_path_factory.mktemp("package")
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools keeps stale copies there: a fresh build
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT), "-w"]
    subprocess.run([*build, str(tmp / "dist")], cwd=tmp, check=True, capture_output=True)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next((tmp / "dist").glob("cl_core-*.whl"))
    target = tmp / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target), "CL_UMAP_WARMUP": "0"}
    env.pop("CL_RUNS_DIR", None)
    work = tmp / "elsewhere"
    work.mkdir()
    return wheel, target, env, work


def test_the_wheel_holds_the_library_the_app_its_lessons_translations_and_settings(installed):
    names = set(zipfile.ZipFile(installed[0]).namelist())
    for needed in (
        "cl_core/__init__.py",
        "cl_core/lessons/library/temperature.toml",
        "cl_explorer/app.py",
        "cl_explorer/app_pages/train.py",
        "cl_explorer/ui/i18n.py",
        "cl_explorer/ui/locales/zh.json",
        "cl_explorer/static/in_place_chart.js",
        "cl_explorer/.streamlit/config.toml",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "ui/", "app_pages/", "pages/"))]
    assert not [n for n in names if "plotly-" in n], "the served plotly.js copy is made at run time, not shipped"


def test_the_installed_cli_trains_from_another_folder(installed):
    _, target, env, work = installed
    where = subprocess.run(
        [sys.executable, "-c", "import cl_core; print(cl_core.__file__)"], cwd=work, env=env, capture_output=True
    )
    assert where.stdout.decode().strip().startswith(str(target)), where
    cmd = [sys.executable, "-m", "cl_core", "train", "--method", "simclr", "--dataset", "digits"]
    out = subprocess.run([*cmd, "--seconds", "4", "--out", "run"], cwd=work, env=env, capture_output=True, timeout=300)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert json.loads((work / "run" / "status.json").read_text())["state"] == "completed"
    lessons = subprocess.run(
        [str(target / "bin" / "cl-core"), "lesson"], cwd=work, env=env, capture_output=True, timeout=120
    )
    assert lessons.returncode == 0 and b"temperature" in lessons.stdout, lessons.stderr.decode()[-2000:]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.browser
def test_the_installed_console_script_serves_the_app_with_its_lessons(installed):
    sync_playwright = require_browser()
    _, target, env, work = installed
    start = [sys.executable, str(target / "bin" / "cl-explorer")]
    extra = {"PYTHONPATH": env["PYTHONPATH"], "CL_UMAP_WARMUP": "0"}
    server = streamlit_server(work / "runs", work / "server.log", start=start, cwd=work, **extra)
    with server as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url + "/lessons", timeout=60_000)
        wait_idle(page, 120)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert problems(page) == []
        assert "Augmentations decide what is learned" in text, text[:500]  # a lesson from the package data
        page.goto(url + "/?lang=zh", timeout=60_000)
        wait_idle(page, 120)
        assert "对比学习" in page.locator('[data-testid="stMain"]').inner_text()  # the packaged zh.json
        chinese = browser.new_context(locale="zh-CN").new_page()  # no ?lang=: the browser's language decides
        chinese.goto(url, timeout=60_000)
        wait_idle(chinese, 120)
        assert "对比学习" in chinese.locator('[data-testid="stMain"]').inner_text()
        browser.close()
    # stopping cl-explorer (SIGTERM to its pid) stops the Streamlit server it started, not only the wrapper
    deadline = time.time() + 20
    while _answers(url) and time.time() < deadline:
        time.sleep(0.2)
    assert not _answers(url), "the server outlived cl-explorer"
    log = (work / "server.log").read_text(errors="replace")
    assert "enableStaticServing" not in log and "Traceback" not in log, log[-2000:]
