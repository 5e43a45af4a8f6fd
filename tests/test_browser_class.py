"""A class on one server, in real browsers: five students start a run each at the same moment through a limit
of two training processes, while a sixth uploads a malicious zip (paths leaving the folder and a zip bomb).

Every run completes (the later ones after waiting in the visible queue), the store holds all of them, the
uploader sees a clear refusal, and no student sees an error or a traceback. Skipped without Chromium, unless
CL_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from browser_harness import (
    CHROMIUM_ARGS,
    VIEWPORT,
    chromium_path,
    go_to,
    problems,
    require_browser,
    streamlit_server,
    wait_idle,
)
from crafted_zips import malicious_zip

pytestmark = pytest.mark.browser

STUDENTS, SLOTS, STEPS = 5, 2, 20
SETTINGS = f"concurrent_runs = {SLOTS}\nmax_batch_size = 32\nmax_upload_mb = 5\n"
QUEUED = "Waiting for a free training slot"


class StoreWatch(threading.Thread):
    """Polls every run's status.json: the states each run went through, the most running at once, and the runs
    seen queued while every slot was taken (they waited for a slot)."""

    def __init__(self, runs: Path):
        super().__init__(daemon=True)
        self.runs, self.seen, self.most_running, self.waited, self.done = runs, {}, 0, set(), threading.Event()

    def states(self) -> dict[str, str]:
        out = {}
        for p in self.runs.glob("*/status.json") if self.runs.is_dir() else []:
            try:
                out[p.parent.name] = json.loads(p.read_text())["state"]
            except (OSError, ValueError, KeyError):  # written by rename, so only a missing file: not there yet
                continue
        return out

    def run(self) -> None:
        while not self.done.is_set():
            now = self.states()
            for run_id, state in now.items():
                if self.seen.setdefault(run_id, [state])[-1] != state:
                    self.seen[run_id].append(state)
            running = sum(s == "running" for s in now.values())
            self.most_running = max(self.most_running, running)
            if running >= SLOTS:
                self.waited |= {run_id for run_id, state in now.items() if state == "queued"}
            time.sleep(0.1)


def errors(page) -> list[str]:
    """Error boxes (a collapse verdict is an error box on purpose: not counted) and exceptions or tracebacks."""
    boxes = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    return [b[:200] for b in boxes if not b.startswith("Verdict")] + problems(page)


def test_five_students_train_at_once_through_two_slots_while_a_malicious_upload_is_refused(tmp_path):
    sync_playwright = require_browser()
    (tmp_path / "explorer.toml").write_text(SETTINGS)
    runs, log = tmp_path / "runs", tmp_path / "server.log"
    env = {"CL_SETTINGS": str(tmp_path / "explorer.toml"), "CL_DATA_ROOT": str(tmp_path / "data")}
    env["CL_UMAP_WARMUP"] = "0"  # the cores are for training
    watch = StoreWatch(runs)
    with streamlit_server(runs, log, **env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        pages = [browser.new_context(viewport=VIEWPORT).new_page() for _ in range(STUDENTS + 1)]
        students, uploader = pages[:STUDENTS], pages[STUDENTS]
        for page in pages:
            page.goto(url)
            wait_idle(page, 120)
        for page in students:  # each student: Train, a budget of STEPS steps (the batch is capped at 32)
            go_to(page, "Train")
            page.locator('[data-testid="stButtonGroup"]').get_by_text("steps", exact=True).click()
            wait_idle(page)
            page.get_by_label("Training steps").fill(str(STEPS))
            page.get_by_label("Training steps").press("Enter")
            wait_idle(page)
        go_to(uploader, "Data & augmentations")
        uploader.locator('[data-testid="stSelectbox"]').filter(has_text="Data set").click()
        uploader.get_by_role("option", name=re.compile("Upload a zip")).click()
        wait_idle(uploader)

        watch.start()
        for page in students:  # the whole class presses Start within a second
            page.get_by_role("button", name=re.compile("Start training")).click()
        uploader.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "pets.zip", "mimeType": "application/zip", "buffer": malicious_zip()}]
        )
        saw_queue, end = set(), time.time() + 300
        while len(watch.seen) < STUDENTS or any(s[-1] in ("queued", "running") for s in watch.seen.values()):
            assert time.time() < end, f"the runs did not finish: {watch.seen}"
            saw_queue |= {i for i, page in enumerate(students) if page.get_by_text(QUEUED).count()}
            time.sleep(0.3)
        watch.done.set()

        wait_idle(uploader, 120)
        refusal = " ".join(uploader.locator('[data-testid="stAlertContentError"]').all_inner_texts())
        assert "could not be loaded" in refusal and "1,024 MB" in refusal, refusal
        assert problems(uploader) == []
        shown = []
        for page in students:
            page.get_by_text("Final loss").first.wait_for(timeout=120_000)
            wait_idle(page)
            assert errors(page) == []
            captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
            shown += [c for c in captions if c in watch.seen]
        browser.close()
    server_log = log.read_text()

    assert sorted(shown) == sorted(watch.seen) and len(shown) == STUDENTS, shown  # each student sees their own run
    assert sorted(p.name for p in runs.iterdir()) == sorted(watch.seen)  # nothing lost, nothing extra
    assert all(states[-1] == "completed" for states in watch.seen.values()), watch.seen
    assert all(json.loads((runs / r / "summary.json").read_text())["steps"] == STEPS for r in watch.seen)
    assert 1 <= watch.most_running <= SLOTS
    assert len(watch.waited) >= STUDENTS - SLOTS, watch.seen  # queued while both slots trained, then completed
    assert saw_queue, "no student saw the queue"
    assert "Traceback" not in server_log, server_log[-3000:]
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "data" / "evil.png").exists()
