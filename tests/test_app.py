"""Every page under Streamlit's AppTest, and one real training started from Train and shown on the other pages."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import start_tiny_training
from PIL import Image
from streamlit.testing.v1 import AppTest

from cl_core.config import AugmentConfig, Config
from cl_core.methods import METHODS
from cl_core.presets import preset_config
from cl_core.runs import FINISHED, RunWriter, load_run

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGES = [
    "app_pages/start.py",
    "app_pages/data.py",
    "app_pages/train.py",
    "app_pages/embeddings.py",
    "app_pages/diagnostics.py",
]


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch) -> Path:
    """Each test gets an empty runs folder; UMAP is not warmed up (the tests need the cores; a page that asks for a
    UMAP layout still computes it in the background and shows PCA meanwhile)."""
    monkeypatch.setenv("CL_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CL_UMAP_WARMUP", "0")
    return tmp_path / "runs"


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def problems(at: AppTest) -> list[str]:
    """Exceptions and error boxes, except verdict banners (a collapse verdict is an st.error on purpose)."""
    errors = [e.value for e in at.error if not e.value.startswith("**Verdict")]
    return [e.value for e in at.exception] + errors


def button(at: AppTest, text: str):
    return next(b for b in at.button if text in b.label)


def plotly_specs(at: AppTest) -> list[dict]:
    """The figures of the page's charts in page order: st.plotly_chart's and charts.in_place_chart's."""
    specs = []
    for node in at.main:
        if node.type == "plotly_chart":
            specs.append(json.loads(node.proto.spec))
        elif node.type == "bidi_component" and node.proto.component_name == "cl_in_place_chart":
            specs.append(json.loads(node.proto.json)["figure"])
    return specs


def n_values(array: list | dict) -> int:
    """Length of a plotly JSON array, plain or base64-encoded (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        return len(np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]))
    return len(array)


def wait_finished(run_dir: Path, timeout: float = 150) -> str:
    end = time.time() + timeout
    while time.time() < end:
        state = json.loads((run_dir / "status.json").read_text()).get("state")
        if state in FINISHED:
            return state
        time.sleep(0.3)
    raise AssertionError(f"{run_dir} did not finish in {timeout} s")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_runs(page):
    at = open_page(page)
    assert problems(at) == []
    assert at.title, "every page has a title"


def test_pages_without_runs_offer_to_train_and_a_quick_demo():
    for page in ("app_pages/embeddings.py", "app_pages/diagnostics.py"):
        at = open_page(page)
        assert any("No training runs yet" in i.value for i in at.info)
        assert button(at, "Quick demo run")


def test_start_shows_the_device_the_tasks_and_a_picture(monkeypatch):
    """A fresh server imports torch in the background: Start draws its text, tasks and runs first, then waits for
    the import to draw its picture and device (tests/test_browser.py and the first-page benchmark see the order)."""
    import sys
    import threading

    sys.path.insert(0, str(Path(APP).parent))
    from ui import server

    imported = threading.Event()
    monkeypatch.setattr(server, "_torch_imported", lambda: imported)
    threading.Timer(1.0, imported.set).start()
    t0 = time.perf_counter()
    at = open_page()
    assert time.perf_counter() - t0 >= 1.0, "it waited for the import"
    assert not at.exception and len(at.get("page_link")) >= 4 and button(at, "Quick demo run")
    assert any("Training runs on" in m.value and "CPU" in m.value for m in at.markdown)
    assert any("Training device: **CPU" in c.value for c in at.sidebar.caption)
    assert len(at.get("image")) >= 1


def test_the_app_imports_no_torch_until_a_page_needs_it():
    """The ui package and what it imports stay torch-free: a fresh server's first page (Start) must not wait ~1.5 s
    for it."""
    import subprocess
    import sys

    mods = ", ".join(f"ui.{p.stem}" for p in sorted((Path(APP).parent / "ui").glob("*.py")) if p.stem != "__init__")
    code = (
        f"import sys; sys.path.insert(0, '.'); import {mods}; print(sorted({{'torch', 'sklearn'}} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(APP).parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_data_page_exposes_every_augmentation_knob_and_carries_them_to_the_config():
    at = open_page("app_pages/data.py")
    keys = " ".join(str(w.key) for w in [*at.slider, *at.select_slider])
    missing = [f.name for f in dataclasses.fields(AugmentConfig) if f"augment.{f.name}" not in keys]
    assert missing == []
    at.slider(key="w.augment.hue").set_value(0.0).run()
    assert at.session_state["cfg"].augment.hue == 0.0
    at.selectbox(key="aug_preset").set_value("crop_only").run()
    assert at.session_state["cfg"].augment.jitter_p == 0.0 and at.slider(key="w.augment.jitter_p").value == 0.0
    seed = at.session_state["aug_seed"]
    button(at, "Re-draw").click().run()
    assert at.session_state["aug_seed"] == seed + 1 and problems(at) == []
    assert len(at.get("image")) >= 10 + 3  # a row per class, then originals and two views


def test_an_uploaded_zip_of_class_folders_becomes_the_data_set(monkeypatch, tmp_path):
    monkeypatch.setenv("CL_DATA_ROOT", str(tmp_path / "data"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for c, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
            for i in range(5):
                png = io.BytesIO()
                Image.new("RGB", (20, 20), colour).save(png, "PNG")
                z.writestr(f"pets/{c}/{i}.png", png.getvalue())
        z.writestr("pets/notes.txt", "not an image")
    at = open_page("app_pages/data.py")
    at.selectbox(key="w.data.source").set_value("upload").run()
    at.get("file_uploader")[0].set_value(("pets.zip", buf.getvalue(), "application/zip")).run()
    assert problems(at) == []
    assert at.session_state["cfg"].data.name.startswith(f"folder:{tmp_path / 'data' / 'uploads'}")
    assert any("10 images in 2 classes; skipped 1 not images" in c.value for c in at.caption)
    assert any("8 train / 2 test" in m.value for m in at.markdown)
    photos = at.session_state["cfg"].augment  # a folder's own recipe: colour kept, and its sliders show it
    assert (photos.hue, photos.grey_p, at.slider(key="w.augment.hue").value) == (0.0, 0.0, 0.0)
    assert at.session_state["cfg"].data.view_size == at.number_input(key="w.data.view_size").value == 16
    at.selectbox(key="w.data.source").set_value("digits").run()
    assert at.session_state["cfg"].augment == preset_config("simclr", "digits").augment and problems(at) == []
    assert at.session_state["cfg"].data.view_size == at.number_input(key="w.data.view_size").value == 0


def test_the_gallery_shows_views_as_training_makes_them_at_the_images_size():
    from ui.data import augmented_views

    originals, v1, v2 = augmented_views("shapes", "data", 0, dataclasses.asdict(AugmentConfig()), 0, 3, view_size=16)
    assert originals.shape == v1.shape == v2.shape == (3, 32, 32, 3)
    for v in (v1, v2):  # 16x16 views, each pixel shown as a 2x2 block
        assert (v == v[:, ::2, ::2].repeat(2, 1).repeat(2, 2)).all() and v.std() > 0


def test_train_page_draws_each_methods_switches_from_the_registry():
    at = open_page("app_pages/train.py")
    for name, cls in METHODS.items():
        at.selectbox(key="method_picker").set_value(name).run()
        assert problems(at) == [], name
        keys = {w.key for w in [*at.toggle, *at.selectbox, *at.number_input, *at.slider, *at.select_slider]}
        assert {f"w.method.options.{o}" for o in cls.OPTIONS} <= keys, name
        assert ("w.method.temperature" in keys) == cls.USES_TEMPERATURE, name
        assert ("w.method.margin" in keys) == cls.USES_MARGIN, name
        labels = [m.label for m in at.metric]
        assert ("Temperature floor" in labels) == cls.USES_TEMPERATURE, name
        assert at.session_state["cfg"].method.name == name


def test_a_bad_setting_shows_an_error_naming_the_field_and_starts_nothing(runs_dir):
    at = open_page("app_pages/train.py")
    at.selectbox(key="method_picker").set_value("moco").run()
    at.number_input(key="w.method.options.queue_size").set_value(1000).run()  # not a multiple of the batch size
    button(at, "Start training").click().run()
    assert any("queue_size" in e.value for e in at.error) and not at.exception
    assert not runs_dir.exists() or not list(runs_dir.iterdir())


def test_failed_and_stopped_runs_say_what_happened_and_what_to_do(runs_dir):
    cfg = Config().to_dict()
    RunWriter(runs_dir / "20260101-000000-simclr-failed", cfg).set_status("failed", "The loss became NaN at step 7.")
    stopped = RunWriter(runs_dir / "20260101-000001-simclr-stoppd", cfg)
    stopped.set_status("stopped", "Stopped by request at step 5.")
    (stopped.path / "checkpoint.pt").write_bytes(b"")
    at = open_page("app_pages/train.py")
    at.session_state["run_id"] = "20260101-000000-simclr-failed"
    at.run()
    assert any("NaN at step 7" in e.value and "start a new run" in e.value for e in at.error)
    at.session_state["run_id"] = "20260101-000001-simclr-stoppd"
    at.run()
    assert any("Stopped by request" in w.value and "Continue" in w.value for w in at.warning)
    assert button(at, "Continue") and not at.exception


def test_a_short_training_from_train_is_shown_live_then_on_embeddings_and_diagnostics(runs_dir):
    at = open_page("app_pages/data.py")
    at.number_input(key="w.data.probe_size").set_value(64).run()
    at.switch_page("app_pages/train.py").run()
    start_tiny_training(at, snapshots=2)
    assert problems(at) == []
    (run_dir,) = runs_dir.iterdir()
    assert at.session_state["run_id"] == run_dir.name
    assert at.progress or at.info, "a queued or starting run shows its progress"
    assert wait_finished(run_dir) == "completed", (run_dir / "train.log").read_text()
    run = load_run(run_dir)
    assert run.config["train"]["steps"] == 3 and run.config["data"]["probe_size"] == 64

    at.run()
    assert problems(at) == []
    assert {"Final loss", "kNN top-1", "Linear probe"} <= {m.label for m in at.metric}
    assert len(plotly_specs(at)) == 3  # loss, rank & std, similarity matrix
    assert button(at, "Continue")

    at.switch_page("app_pages/embeddings.py").run()
    assert problems(at) == []
    scatter, sim, hist = plotly_specs(at)
    assert sum(n_values(tr["x"]) for tr in scatter["data"]) == 64 and sim["data"][0]["type"] == "heatmap"
    at.segmented_control(key="emb_method").set_value("pca").run()
    at.segmented_control(key="emb_dim").set_value(3).run()
    assert problems(at) == [] and plotly_specs(at)[0]["data"][0]["type"] == "scatter3d"
    at.toggle(key="emb_play").set_value(True).run()
    assert len(plotly_specs(at)[0]["frames"]) == len(run.snapshot_steps())

    at.switch_page("app_pages/diagnostics.py").run()
    assert problems(at) == [] and len(plotly_specs(at)) == 6
    loss = next(m for m in at.metric if m.label == "NT-Xent loss").value
    at.select_slider(key="wi_t").set_value(0.01).run()
    assert next(m for m in at.metric if m.label == "NT-Xent loss").value != loss
    assert any("k=20, T=0.1" in c.value for c in at.caption)


def test_embeddings_show_pca_while_a_slow_layout_is_computed_in_the_background(runs_dir, monkeypatch):
    """UMAP and t-SNE of thousands of points take seconds: the page shows PCA meanwhile, then swaps without a click."""
    import sys

    sys.path.insert(0, str(Path(APP).parent))
    from cl_core.presets import preset_config
    from ui import background

    w = RunWriter(runs_dir / "20260101-000000-simclr-tsne", preset_config("simclr", "digits").to_dict())
    rng = np.random.default_rng(0)
    for step in (5, 10):
        x = rng.normal(size=(60, 16)).astype(np.float32)
        sim = np.eye(8, dtype=np.float32)
        w.snapshot(
            step,
            {
                "features": x,
                "projections": x,
                "labels": np.arange(60) % 3,
                "probe_index": np.arange(60),
                "similarity": sim,
                "z1": x[:4],
                "z2": x[4:8],
            },
        )
        w.log({"step": step, "snapshot": True})
    w.set_status("completed", "done")

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(projection="tsne", run="20260101-000000-simclr-tsne")  # never asks for a UMAP
    at.run().switch_page("app_pages/embeddings.py").run()
    assert not at.exception and any("Computing the t-SNE layout" in i.value for i in at.info)
    assert any("PCA of 60 probe images at step 10" in m.value for m in at.markdown)
    job = background.projection_pending(str(w.path), (5, 10), "features", "tsne", 2)
    if job is not None:  # still computing both steps in the worker
        job.result(timeout=60)
    from cl_core import projection

    projection._cache.clear()  # other sessions' layouts may have pushed these out: the page takes the worker's

    def recompute(*args, **kwargs):
        raise AssertionError("the page recomputed a layout the worker had made")

    monkeypatch.setattr(projection, "project_snapshots", recompute)
    at.run()  # what the waiting fragment's rerun does
    assert not at.exception and not any("Computing" in i.value for i in at.info)
    assert any("t-SNE of 60 probe images at step 10" in m.value for m in at.markdown)


def test_a_new_layout_request_cancels_the_queued_ones_but_not_the_running_one(monkeypatch):
    import sys
    import threading

    sys.path.insert(0, str(Path(APP).parent))
    from ui import background, session

    release, started, done = threading.Event(), threading.Event(), []

    def slow(path, steps, space, method, dim):
        if path == "run-x":
            started.set()
            release.wait(30)
            done.append(steps)

    monkeypatch.setattr(background, "_projections_uncached", slow)
    drain = background.projection_pending("run-drain", (0,), "features", "umap", 2)  # after what earlier tests queued
    if drain is not None:
        drain.result(timeout=120)
    a = background.projection_pending("run-x", (1,), "features", "umap", 2)
    assert started.wait(10)  # the worker is busy with a
    b = background.projection_pending("run-x", (1, 2), "features", "umap", 2)
    monkeypatch.setattr(session, "owner", lambda: "another session")
    other = background.projection_pending("run-x", (2,), "features", "umap", 2)
    assert not b.cancelled(), "another session's request leaves this session's queue alone"
    monkeypatch.undo()  # this session again (and the real _projections_uncached: set it back)
    monkeypatch.setattr(background, "_projections_uncached", slow)
    c = background.projection_pending("run-x", (1, 2, 3), "features", "umap", 2)
    assert b.cancelled() and not a.cancelled() and not other.cancelled() and not c.done()
    release.set()
    c.result(timeout=10)
    assert done == [(1,), (2,), (1, 2, 3)]  # b never ran
    assert background.projection_pending("run-x", (1, 2, 3), "features", "umap", 2) is None  # done: answered at once
    again = background.projection_pending("run-x", (1, 2), "features", "umap", 2)  # b asked again: queued anew
    assert again is not None and again is not b
    again.result(timeout=10)


def test_the_runs_folder_comes_from_the_environment(runs_dir):
    at = open_page()
    assert at.session_state["runs_dir"] == os.environ["CL_RUNS_DIR"] == str(runs_dir)


def test_the_quick_demo_starts_a_run_that_stop_ends_and_continue_offers_to_extend(runs_dir):
    at = open_page("app_pages/embeddings.py")
    button(at, "Quick demo run").click().run()
    (run_dir,) = runs_dir.iterdir()
    assert at.session_state["run_id"] == run_dir.name and load_run(run_dir).config["train"]["seconds"] == 20
    at.switch_page("app_pages/train.py").run()
    button(at, "Stop").click().run()
    assert problems(at) == []
    assert wait_finished(run_dir) == "stopped"
    at.run()
    assert any("Stopped" in w.value for w in at.warning) and not at.exception
