"""How fast the app feels: first page, page switches, slider moves on 2,000 probe points, and live-refresh cost.

    python benchmarks/app_speed.py            # prints one line per measurement (about 3-4 minutes on 2 cores)

Measures, in a real headless Chromium against ``streamlit run app.py``:
- first page usable: from the server answering /_stcore/health to the Start page having finished its run;
- page switch: sidebar click to the page having finished its run (median of a round trip over all pages);
- slider move: the snapshot slider on Embeddings (PCA, 2,000 points) and the what-if temperature slider on
  Diagnostics, key press to idle (median of several moves);
- live refresh: views/s of the same short training with nobody watching, and with the Train page polling it.
"""

from __future__ import annotations

import json
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
TRAIN = ["--method", "simclr", "--dataset", "shapes", "--width", "8", "--batch-size", "64", "--seconds", "0", "--quiet"]


def train(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cl_core", "train", *TRAIN, *extra, "--out", str(out)], cwd=ROOT)


def views_per_second(run_dir: Path) -> float:
    return json.loads((run_dir / "summary.json").read_text())["views_per_second"]


def timed(action, page, timeout: float = 120) -> float:
    t0 = time.perf_counter()
    action()
    wait_idle(page, timeout, settle=0.3)
    return time.perf_counter() - t0 - 0.3  # minus the settle time that proves it is idle


def slider_moves(page, label: str, keys: list[str]) -> float:
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    thumb.focus()
    return statistics.median(timed(lambda k=k: thumb.press(k), page) for k in keys)


def main() -> None:
    from playwright.sync_api import sync_playwright

    if not chromium_path():
        sys.exit("needs Chromium: apt-get install -y chromium")
    tmp = Path(tempfile.mkdtemp(prefix="cl-speed-"))
    runs = tmp / "runs"
    big = runs / "20990101-000000-simclr-big2k"
    train(big, "--steps", "20", "--snapshots", "4", "--opt", "probe_size=2000").wait()

    alone = tmp / "alone"
    train(alone, "--steps", "60", "--snapshots", "4").wait()

    with streamlit_server(runs, tmp / "server.log") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        print(f"first page usable after the server answers: {timed(lambda: page.goto(url), page):.2f} s")
        rounds = [timed(lambda t=t: go_to(page, t), page) for t in PAGES for _ in range(2)]
        print(f"page switch: median {statistics.median(rounds):.2f} s, max {max(rounds):.2f} s")

        go_to(page, "Embeddings", timeout=180)
        page.locator('[data-testid="stButtonGroup"]').get_by_text("PCA", exact=True).click()
        wait_idle(page, 120)
        moves = ["Home", "ArrowRight", "ArrowRight", "End"]
        emb = slider_moves(page, "Training step", moves)
        print(f"Embeddings snapshot slider, 2,000 points, PCA: median {emb:.2f} s")
        go_to(page, "Diagnostics")
        what_if = slider_moves(page, "Temperature T", moves)
        print(f"Diagnostics what-if temperature slider: median {what_if:.2f} s")

        watched = runs / "20990101-000001-simclr-watch"
        proc = train(watched, "--steps", "60", "--snapshots", "4")
        while not (watched / "config.json").exists():
            time.sleep(0.2)
        page.goto(f"{url}/train")  # a new session: its current run is the newest, the one training
        proc.wait()
        browser.close()
    a, w = views_per_second(alone), views_per_second(watched)
    slower = 100 * (a - w) / a
    print(f"training views/s: {a:.0f} alone, {w:.0f} with the Train page refreshing live ({slower:.0f}% slower)")


if __name__ == "__main__":
    main()
