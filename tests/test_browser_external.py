"""Runs written outside the app, in Chromium: every page that shows a run opens them, live and once they ended.

Three loops run as child processes into the server's runs folder (tests/external_loops.py): lightly's NT-Xent and
SimCLRTransform in a plain PyTorch loop with cl_core.RunLogger ("lightly"), the same inside a PyTorch Lightning
Trainer with ExplorerCallback ("lightning"), and the plain loop's SimSiam without predictor or stop-gradient
("collapse"). The first two pause halfway (``--hold``) until the test has looked at them live; then Train follows
the run to its end by itself, every page shows the final state, and Diagnostics reads the collapsed run collapsed
and the healthy ones healthy. One server, one browser; the tests run in file order. Skipped without Chromium
(unless CL_REQUIRE_BROWSER=1) or without lightly / Lightning.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    ROOT,
    VIEWPORT,
    chromium_path,
    go_to,
    problems,
    require_browser,
    streamlit_server,
    wait_idle,
)

pytestmark = [  # found, not imported: importing lightly here would cost seconds that the loops import it anyway
    pytest.mark.browser,
    *[
        pytest.mark.skipif(find_spec(m) is None, reason=f"{m} is not installed")
        for m in ("lightly", "pytorch_lightning")
    ],
]

LOOPS = Path(__file__).with_name("external_loops.py")
STEPS, EVERY = 120, 40  # the loops' defaults: the verdicts of tests/test_runlogger.py were measured with them
HELD = STEPS // 2 - 1  # the last step a held loop logs before it waits
LIVE = {"lightly": ("plain", "lightly (plain loop)"), "lightning": ("lightning", "PyTorch Lightning")}
COLLAPSE = "collapse"
HEAD = "SimCLR · shapes (generated, lightly transforms) · "  # the run header, before the state


class App:
    def __init__(self, url: str, runs: Path, hold: Path, procs: dict[str, subprocess.Popen], page, logs: Path):
        self.url, self.runs, self.hold, self.procs, self.page, self.logs = url, runs, hold, procs, page, logs

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The server, a browser tab and the three loops: started together (each loop imports torch for seconds)."""
    sync_playwright = require_browser()
    tmp = tmp_path_factory.mktemp("browser_external")
    runs, hold = tmp / "runs", tmp / "release"
    runs.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    jobs = {name: [kind, "--hold", str(hold)] for name, (kind, _) in LIVE.items()} | {COLLAPSE: ["plain", "--collapse"]}
    procs = {}
    try:
        for name, (kind, *extra) in jobs.items():
            with open(tmp / f"{name}.log", "wb") as log:  # a file, not a pipe: Lightning's warnings cannot block it
                cmd = [sys.executable, str(LOOPS), kind, str(runs / name), "--steps", str(STEPS), "--every", str(EVERY)]
                procs[name] = subprocess.Popen([*cmd, *extra], env=env, stdout=log, stderr=subprocess.STDOUT)
        with (
            streamlit_server(runs, tmp / "server.log", CL_UMAP_WARMUP="0") as url,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            yield App(url, runs, hold, procs, browser.new_page(viewport=VIEWPORT), tmp)
            browser.close()
    finally:
        hold.touch()
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def status(app: App, name: str) -> dict:
    try:
        return json.loads((app.runs / name / "status.json").read_text())
    except (OSError, ValueError):  # not written yet (it is written by rename: never half)
        return {}


def shown(page, text: str | re.Pattern, where: str = "") -> bool:
    return page.locator(where or "body").get_by_text(text).count() > 0


def alerts(page, has_text: str) -> list[str]:
    return [a.inner_text() for a in page.locator('[data-testid="stAlert"]').filter(has_text=has_text).all()]


def plots(page) -> int:
    return page.locator(".js-plotly-plot").count()


def open_page(app: App, path: str) -> None:
    """A new browser session on ``path`` (a link: the run and the view settings are in it)."""
    app.page.goto(f"{app.url}/{path}")
    app.page.locator("h1").first.wait_for(timeout=120_000)
    wait_idle(app.page, 120)


def check_common(app: App, name: str, live: bool) -> None:
    """What every page shows: no error box or traceback; the sidebar's run picker names the run's state."""
    page = app.page
    assert problems(page) == [], name
    picker = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Current run").input_value()
    assert ("running" if live else "completed") in picker, picker
    assert shown(page, "Training now:", '[data-testid="stSidebar"]') is live


def check_own_run_note(app: App, name: str) -> None:
    note = alerts(app.page, "Your own run")
    assert len(note) == 1 and f"written by {LIVE[name][1]}" in note[0] and "no config to replay" in note[0], note


def check_embeddings(app: App, name: str, step: int, live: bool) -> None:
    open_page(app, f"embeddings?run={name}&projection=pca")  # PCA: no UMAP compiling on 2 cores
    page = app.page
    check_common(app, name, live)
    check_own_run_note(app, name)
    assert shown(page, f"PCA of 48 probe images at step {step}"), name  # the latest snapshot, the loop's thumbnails
    assert page.locator('[data-testid="stSelectSlider"], [data-testid="stSlider"]').count() >= 1
    assert plots(page) >= 3, name  # the projection, the similarity matrix and the similarity histograms


def check_train(app: App, name: str, live: bool) -> None:
    go_to(app.page, "Train")  # the sidebar keeps the session, and with it the run from the link
    page = app.page
    check_common(app, name, live)
    check_own_run_note(app, name)
    main = '[data-testid="stMain"]'
    assert page.locator(main).get_by_text(name, exact=True).count() == 1  # the run's id under its title
    head = page.locator("h3").filter(has_text=HEAD).first.inner_text()
    assert head.endswith("· running" if live else "· completed"), head
    if live:
        bar = page.locator('[data-testid="stProgress"]').inner_text()
        assert f"step {HELD} · " in bar and "50%" in bar, bar
        stop = page.get_by_role("button", name=re.compile("Stop"))
        assert stop.is_disabled()  # trained outside this app: it cannot stop it
    else:
        assert shown(page, "Final loss", main) and shown(page, "Steps", main)
    assert page.get_by_role("button", name=re.compile("Continue|Use this run's settings")).count() == 0
    assert shown(page, "Verdict:", main)
    assert plots(page) >= 3, name  # the loss, the rank/std monitors and the similarity matrix


def check_diagnostics(app: App, name: str, live: bool) -> str:
    """The page's verdict banner text."""
    go_to(app.page, "Diagnostics")
    page = app.page
    check_common(app, name, live)
    check_own_run_note(app, name)
    verdict = alerts(page, "Verdict:")
    assert len(verdict) == 1, verdict
    assert shown(page, f"Verdict at step {EVERY if live else STEPS - 1}, from the probe batch's two views.")
    assert shown(page, "No kNN measurement yet")  # the loops measure none: said, not a broken chart
    assert plots(page) >= 4, name  # spectrum, rank/std, alignment-uniformity and the what-if charts
    return verdict[0]


def check_compare_and_start(app: App, live: bool) -> None:
    """Compare opens (its first visit) the newest runs, all three here; Start lists them."""
    go_to(app.page, "Compare")
    page = app.page
    assert problems(page) == []
    chosen = page.locator('[data-testid="stMultiSelect"]').inner_text()
    assert chosen.count(" · running") == (2 if live else 0) and chosen.count(" · completed") == (1 if live else 3)
    lines = [
        p.inner_text() for p in page.locator('[data-testid="stMarkdownContainer"] p').all() if " — " in p.inner_text()
    ]
    said = sorted(line.split(" — ")[1].split(".")[0].replace("Complete", "Dimensional") for line in lines)
    assert said == ["Dimensional collapse", *(["Running"] * 2 if live else ["Healthy"] * 2)], lines
    assert plots(page) >= 2  # loss and alignment-uniformity overlays
    assert shown(page, "No kNN measurement in these runs yet")  # the loops measure none: said, not an empty chart
    assert shown(page, "Your own runs among these")  # which runs came from outside, and from where
    go_to(page, "Start")
    assert problems(page) == []
    assert shown(page, "Latest runs") and page.locator('[data-testid="stDataFrame"]').count() == 1


def wait_until(app: App, done, what: str, timeout: float = 180) -> None:
    """Poll ``done()`` while the loops run; a loop that failed fails the test with its output."""
    deadline = time.time() + timeout
    while not done():
        for name, proc in app.procs.items():
            assert proc.poll() in (None, 0) and (name == COLLAPSE or proc.poll() is None), app.log(name)
        assert time.time() < deadline, (what, {n: status(app, n).get("step") for n in app.procs})
        time.sleep(0.2)


def held(app: App) -> bool:
    return all(status(app, n).get("step") == HELD for n in LIVE)


def finish(app: App) -> None:
    """Let the held loops go on and wait for all three to end (at once when they have)."""
    app.hold.touch()
    for name, proc in app.procs.items():
        assert proc.wait(90) == 0, app.log(name)


def test_a_run_opens_as_soon_as_its_loop_wrote_a_snapshot(app):
    """The collapsing loop runs unheld: its run opens wherever it is (this also warms the server up)."""
    wait_until(app, (app.runs / COLLAPSE / "snapshots" / "step_0000000.npz").exists, "no first snapshot")
    open_page(app, f"embeddings?run={COLLAPSE}&projection=pca")
    assert problems(app.page) == []
    assert "written by lightly (plain loop)" in alerts(app.page, "Your own run")[0]
    assert shown(app.page, re.compile(r"^PCA of 48 probe images at step \d+$")) and plots(app.page) >= 3


def test_the_loops_runs_open_on_every_page_while_they_train(app):
    ended = lambda: status(app, COLLAPSE).get("state") == "completed"  # noqa: E731
    wait_until(app, lambda: held(app) and ended(), "the loops did not reach their hold")
    for name in ("lightning", "lightly"):  # lightly last: the next test watches its Train page
        assert app.procs[name].poll() is None and status(app, name)["state"] == "running"
        check_embeddings(app, name, EVERY, live=True)
        check_diagnostics(app, name, live=True)
        if name == "lightning":
            check_compare_and_start(app, live=True)
        check_train(app, name, live=True)
    assert held(app)  # they were live all along


def test_train_follows_a_run_to_its_end_by_itself(app):
    page = app.page
    if "/train?" not in page.url or "run=lightly" not in page.url:  # run on its own: open it
        wait_until(app, lambda: held(app), "the loops did not reach their hold")
        open_page(app, "train?run=lightly")
    assert page.locator("h3").filter(has_text=HEAD).first.inner_text().endswith("· running")
    app.hold.touch()  # the loops go on
    page.locator("h3").filter(has_text=HEAD + "completed").first.wait_for(timeout=90_000)
    page.get_by_text("Final loss").first.wait_for(timeout=30_000)
    wait_idle(page, 60)
    assert problems(page) == []
    assert page.locator('[data-testid="stProgress"]').count() == 0
    finish(app)


def test_the_finished_runs_open_on_every_page(app):
    finish(app)  # (done already, unless this test runs on its own)
    verdicts = {}
    for name in LIVE:
        assert status(app, name)["state"] == "completed"
        check_embeddings(app, name, STEPS - 1, live=False)
        check_train(app, name, live=False)
        verdicts[name] = check_diagnostics(app, name, live=False)
    check_compare_and_start(app, live=False)
    for name, text in verdicts.items():
        assert text.startswith("Verdict: Healthy"), (name, text)


def test_the_collapsed_loop_reads_collapsed_on_diagnostics(app):
    finish(app)
    open_page(app, f"diagnostics?run={COLLAPSE}")
    page = app.page
    assert problems(page) == []
    assert "written by lightly (plain loop)" in alerts(page, "Your own run")[0]
    verdict = alerts(page, "Verdict:")
    assert len(verdict) == 1 and re.match(r"Verdict: (Dimensional|Complete) collapse", verdict[0]), verdict
