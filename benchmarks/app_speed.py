"""How fast the app feels: first page, page switches, slider moves on 2,000 probe points, and live-refresh cost.

    python benchmarks/app_speed.py            # one line per measurement (about 4 minutes on 2 cores)
    CL_UMAP_WARMUP=0 python benchmarks/app_speed.py   # without UMAP's one-time compile in the server
    python benchmarks/app_speed.py --rounds 5  # each slider's four moves five times: a steadier median

Measures, in a real headless Chromium against ``streamlit run app.py``:
- first page usable: from the server answering /_stcore/health to the Start page being idle with its picture,
  and, timed in the page, to its text, tasks and runs being in place and to its picture;
- page switch, per page: sidebar click to the page's content in place (the script run finished and its
  elements shown), and to the last change of the page (charts drawn), for the first visit and the median of
  three more;
- slider move: the snapshot slider on Embeddings (PCA, 2,000 points) and the what-if temperature slider on
  Diagnostics, key press to content in place and to drawn (median of several moves);
- live refresh: views/s of the same 20-second training with nobody watching (before and after) and with the
  Train page open on it from its start, and how often the page's progress line changed while it watched.

Page switches and slider moves are timed inside the page (the input event's time to the script-state change
and to the last DOM change before a second of quiet), so the harness's polling adds nothing. Wall times depend
on what else runs on the machine, so each line also gives the CPU time the app used (Streamlit server and
Chromium, from /proc on Linux): the part of the cost that does not.
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

SWITCH = ["Data & augmentations", "Train", "Embeddings", "Diagnostics", "Compare", "Lessons", "Loss Playground"]
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


# Armed before an action: notes the time of the next click or key press, when the app's script state goes
# running -> notRunning after it (the content is in place), and the time of the latest DOM change (drawing).
# A run short enough to start and end within one frame never shows "running": its content time is its last change.
ARM = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const t = (window.__clTimer = {start: null, ran: false, done: null, last: null});
  const start = () => { if (t.start === null) t.start = performance.now(); };
  document.addEventListener("pointerdown", start, {capture: true, once: true});
  document.addEventListener("keydown", start, {capture: true, once: true});
  window.__clObserver?.disconnect();
  window.__clObserver = new MutationObserver((records) => {
    if (t.start === null) return;
    t.last = performance.now();
    const state = app.getAttribute("data-test-script-state");
    // a fast run can go running -> notRunning between two callbacks: its record's old value still says running
    const ran = records.some((r) => r.attributeName === "data-test-script-state" && r.oldValue === "running");
    if (t.start !== null && (state === "running" || ran)) t.ran = true;
    if (t.ran && state === "notRunning" && t.done === null) t.done = t.last;
  });
  window.__clObserver.observe(document.body, {
    attributes: true, attributeOldValue: true, childList: true, subtree: true, characterData: true,
  });
}"""
# From the navigation's start: when the first page's text, tasks and latest runs were in place (the runs table is
# the last of them), and when its picture appeared (a fresh server draws it once torch is imported: server.torch_ready).
FIRST = """() => {
  const first = (window.__clFirst = {content: null, picture: null});
  new MutationObserver((_, observer) => {
    const runs = document.querySelector('[data-testid="stDataFrame"] canvas') ||
      [...document.querySelectorAll("p")].some((p) => p.innerText.startsWith("No training runs yet"));
    if (first.content === null && runs) first.content = performance.now() / 1000;
    if (first.picture === null && document.querySelector('[data-testid="stImage"] img'))
      first.picture = performance.now() / 1000;
    if (first.content !== null && first.picture !== null) observer.disconnect();
  }).observe(document, {subtree: true, childList: true, attributes: true});
}"""
SETTLED = """() => { const t = window.__clTimer;
  return t.last !== null && performance.now() - t.last > 1000 && (t.done !== null || !t.ran); }"""
READ = """() => { const t = window.__clTimer;
  return [((t.done ?? t.last) - t.start) / 1000, (t.last - t.start) / 1000]; }"""


def in_page(action, page, timeout: float = 120) -> tuple[float, float, float, float]:
    """Seconds from the action's input event to the content in place and to the last change (timed in the page),
    and the server's and Chromium's CPU seconds meanwhile."""
    page.evaluate(ARM)
    (s0, b0) = app_cpu()
    action()
    page.wait_for_function(SETTLED, timeout=timeout * 1000, polling=200)
    content, drawn = page.evaluate(READ)
    s1, b1 = app_cpu()
    return content, drawn, s1 - s0, b1 - b0


def report_in_page(what: str, times: list[tuple[float, float, float, float]]) -> None:
    content, drawn, server, browser = (statistics.median(t[i] for t in times) for i in range(4))
    n = f" (median of {len(times)}, max {max(t[0] for t in times):.2f} / {max(t[1] for t in times):.2f} s)"
    print(
        f"{what}: content {content:.2f} s, drawn {drawn:.2f} s{n if len(times) > 1 else ''}; "
        f"CPU: server {server:.2f} s, Chromium {browser:.2f} s"
    )


def report(what: str, times: list[tuple[float, float, float]]) -> None:
    wall, server, browser = (statistics.median(t[i] for t in times) for i in range(3))
    worst = f", max {max(t[0] for t in times):.2f} s" if len(times) > 1 else ""
    print(f"{what}: median {wall:.2f} s{worst}; CPU median: server {server:.2f} s, Chromium {browser:.2f} s")


def slider_moves(page, label: str, keys: list[str]) -> list[tuple[float, float, float, float]]:
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).get_by_role("slider")
    thumb.focus()
    return [in_page(lambda k=k: thumb.press(k), page) for k in keys]


def click_nav(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first.click()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each slider's four moves are made (default 1)")
    rounds = parser.parse_args().rounds
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
        page.add_init_script(f"({FIRST})()")
        report("first page usable after the server answers", [timed(lambda: page.goto(url), page)])
        page.wait_for_function("window.__clFirst.picture !== null", timeout=60_000)
        first = page.evaluate("window.__clFirst")
        print(f"  timed in the page: text, tasks and runs {first['content']:.2f} s, picture {first['picture']:.2f} s")
        starts = []
        for title in SWITCH:  # first visits (the page's data and figures are not cached yet), then from Start again
            first = in_page(lambda t=title: click_nav(page, t), page)
            pairs = [in_page(lambda t=t: click_nav(page, t), page) for t in ("Start", title) * 3]
            starts += pairs[0::2]
            report_in_page(f"page switch to {title}, first visit", [first])
            report_in_page(f"page switch to {title}, again", pairs[1::2])
        report_in_page("page switch to Start", starts)

        go_to(page, "Embeddings", timeout=180)
        page.locator('[data-testid="stButtonGroup"]').get_by_text("PCA", exact=True).click()
        wait_idle(page, 120)
        moves = ["Home", "ArrowRight", "ArrowRight", "End"] * rounds
        report_in_page("Embeddings snapshot slider, 2,000 points, PCA", slider_moves(page, "Training step", moves))
        go_to(page, "Diagnostics")
        report_in_page("Diagnostics what-if temperature slider", slider_moves(page, "Temperature T", moves))

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
