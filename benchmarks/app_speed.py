"""How fast the app feels: first page, page switches, slider moves on 2,000 probe points, and live-refresh cost.

    python benchmarks/app_speed.py            # one line per measurement (about 4 minutes on 2 cores)
    CL_UMAP_WARMUP=0 python benchmarks/app_speed.py   # without UMAP's one-time compile in the server

Measures, in a real headless Chromium against ``streamlit run app.py``:
- first page usable: from the server answering /_stcore/health to the Start page having finished its run;
- page switch: sidebar click to the page having finished its run (median of a round trip over all pages);
- slider move: the snapshot slider on Embeddings (PCA, 2,000 points) and the what-if temperature slider on
  Diagnostics, key press to idle (median of several moves);
- live refresh: views/s of the same 20-second training with nobody watching (before and after) and with the
  Train page open on it from its start, and how often the page's progress line changed while it watched.

Wall times depend on what else runs on the machine, so each line also gives the CPU time the app used
(Streamlit server and Chromium, from /proc on Linux): the part of the cost that does not.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_harness import CHROMIUM_ARGS, VIEWPORT, chromium_path, go_to, streamlit_server, wait_idle  # noqa: E402

PAGES = ["Data & augmentations", "Train", "Embeddings", "Diagnostics", "Start"]
TRAIN = ["--method", "simclr", "--dataset", "shapes", "--width", "8", "--batch-size", "64", "--quiet"]
LIVE = ["--seconds", "20", "--snapshots", "6"]  # long enough that opening the page is not most of the run


def train(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cl_core", "train", *TRAIN, *extra, "--out", str(out)], cwd=ROOT)


def views_per_second(run_dir: Path) -> float:
    return json.loads((run_dir / "summary.json").read_text())["views_per_second"]


def app_cpu() -> tuple[float, float]:
    """CPU seconds used so far by this benchmark's Streamlit server and by its Chromium processes (0 off Linux)."""
    parent, used = {}, {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        parent[int(d.name)] = int(fields[1])
        used[int(d.name)] = ((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), cmd)

    def mine(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    server = sum(t for pid, (t, cmd) in used.items() if b"streamlit" in cmd and mine(pid))
    browser = sum(t for pid, (t, cmd) in used.items() if b"chrom" in cmd and mine(pid))
    return server, browser


def timed(action, page, timeout: float = 120) -> tuple[float, float, float]:
    """Wall seconds from the action to the page being idle, and the server's and Chromium's CPU seconds meanwhile."""
    (s0, b0), t0 = app_cpu(), time.perf_counter()
    action()
    wait_idle(page, timeout, settle=0.3)
    wall = time.perf_counter() - t0 - 0.3  # minus the settle time that proves it is idle
    s1, b1 = app_cpu()
    return wall, s1 - s0, b1 - b0


def report(what: str, times: list[tuple[float, float, float]]) -> None:
    wall, server, browser = (statistics.median(t[i] for t in times) for i in range(3))
    worst = f", max {max(t[0] for t in times):.2f} s" if len(times) > 1 else ""
    print(f"{what}: median {wall:.2f} s{worst}; CPU median: server {server:.2f} s, Chromium {browser:.2f} s")


def slider_moves(page, label: str, keys: list[str]) -> list[tuple[float, float, float]]:
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    thumb.focus()
    return [timed(lambda k=k: thumb.press(k), page) for k in keys]


def main() -> None:
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        sys.exit("needs Chromium: apt-get install -y chromium")
    tmp = Path(tempfile.mkdtemp(prefix="cl-speed-"))
    runs = tmp / "runs"
    big = runs / "20990101-000000-simclr-big2k"
    train(big, "--steps", "20", "--snapshots", "4", "--opt", "probe_size=2000").wait()
    alone = [tmp / "alone-before", tmp / "alone-after"]
    train(alone[0], *LIVE).wait()

    with streamlit_server(runs, tmp / "server.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        report("first page usable after the server answers", [timed(lambda: page.goto(url), page)])
        report("page switch", [timed(lambda t=t: go_to(page, t), page) for t in PAGES for _ in range(2)])

        go_to(page, "Embeddings", timeout=180)
        page.locator('[data-testid="stButtonGroup"]').get_by_text("PCA", exact=True).click()
        wait_idle(page, 120)
        moves = ["Home", "ArrowRight", "ArrowRight", "End"]
        report("Embeddings snapshot slider, 2,000 points, PCA", slider_moves(page, "Training step", moves))
        go_to(page, "Diagnostics")
        report("Diagnostics what-if temperature slider", slider_moves(page, "Temperature T", moves))

        watched = runs / "20990101-000001-simclr-watch"
        proc = train(watched, *LIVE)
        while not (watched / "config.json").exists():
            time.sleep(0.2)
        page.goto(f"{url}/train")  # a new session: its current run is the newest, the one training
        texts, t0, (s0, b0) = [], time.perf_counter(), app_cpu()
        while proc.poll() is None:  # one read that never waits: the fragment replaces the bar every second
            texts.append(page.evaluate("document.querySelector('[data-testid=\"stProgress\"]')?.innerText ?? ''"))
            time.sleep(0.5)
        secs, (s1, b1) = time.perf_counter() - t0, app_cpu()
        changes = sum(a != b for a, b in zip(texts, texts[1:]))
        print(f"progress line while training: {changes} changes in {secs:.0f} s")
        server, chromium = 100 * (s1 - s0) / secs, 100 * (b1 - b0) / secs
        print(f"app CPU while watching: server {server:.0f}%, Chromium {chromium:.0f}% of a core")
        browser.close()
    train(alone[1], *LIVE).wait()
    a, w = statistics.mean(views_per_second(d) for d in alone), views_per_second(watched)
    slower = 100 * (a - w) / a
    print(f"training views/s: {a:.0f} alone, {w:.0f} with the Train page refreshing live ({slower:.0f}% slower)")


if __name__ == "__main__":
    main()
