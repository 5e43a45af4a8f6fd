import dataclasses
import io
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from cl_core import embedding_projector
from cl_core.__main__ import main
from cl_core.embedding_projector import export_projector, sprite_image
from cl_core.embedfiles import load_embeddings
from cl_core.runs import RunWriter, load_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run directory as the trainer writes it (digits at 16x16, 64 probe images), its snapshot's vectors drawn at
    random: a real training run would add 10 s and nothing the export reads."""
    from conftest import tiny_config

    from cl_core.data import load_data

    cfg = tiny_config()
    data = load_data("digits", image_size=cfg.data.image_size, download=False, seed=cfg.train.seed)
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(data.test_images), 64, replace=False))
    writer = RunWriter(tmp_path_factory.mktemp("runs") / "r", cfg.to_dict())
    writer.set_status("completed", class_names=data.class_names)
    arrays = {"features": rng.normal(size=(64, 32)), "projections": rng.normal(size=(64, 16))}
    writer.snapshot(
        6, {k: v.astype(np.float32) for k, v in arrays.items()} | {"labels": data.test_labels[idx], "probe_index": idx}
    )
    return load_run(writer.path)


def _serve(folder, route: str):
    """A GET on TensorBoard's own projector plugin with ``folder`` as its log directory."""
    pytest.importorskip("tensorboard")
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.projector.projector_plugin import ProjectorPlugin
    from werkzeug.test import Client

    path, _, query = route.partition("?")
    app = ProjectorPlugin(base_plugin.TBContext(logdir=str(folder))).get_plugin_apps()[path]
    response = Client(app).get("/?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data()


def test_the_folder_parses_as_tensorboards_projector_config_with_every_path_inside_it(run, tmp_path):
    pytest.importorskip("tensorboard")
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    e = export_projector(run, tmp_path)
    snap = run.snapshot(run.snapshot_steps()[-1])
    config = text_format.Parse((tmp_path / "projector_config.pbtxt").read_text(), ProjectorConfig())
    assert e.folder == tmp_path and e.config == tmp_path / "projector_config.pbtxt" and e.note == ""
    assert [x.tensor_name for x in config.embeddings] == ["features", "projections"]
    n = len(snap["probe_index"])
    side = math.ceil(math.sqrt(n)) * 32
    for x in config.embeddings:
        vectors = np.loadtxt(tmp_path / x.tensor_path, delimiter="\t", ndmin=2)
        assert np.array_equal(vectors.astype(np.float32), snap[x.tensor_name])  # float32 exactly
        assert list(x.tensor_shape) == list(vectors.shape) and vectors.shape[0] == n
        assert len((tmp_path / x.metadata_path).read_text().splitlines()) == n + 1
        assert x.sprite.image_path == "sprite.png" and list(x.sprite.single_image_dim) == [32, 32]
        assert Image.open(tmp_path / x.sprite.image_path).size == (side, side) and side <= 8192


def test_tensorboards_projector_plugin_serves_the_tensors_metadata_and_sprite(run, tmp_path):
    export_projector(run, tmp_path)
    snap = run.snapshot(run.snapshot_steps()[-1])
    assert _serve(tmp_path, "/runs") == b'["."]'
    for name in ("features", "projections"):
        raw = _serve(tmp_path, f"/tensor?run=.&name={name}")
        assert np.array_equal(np.frombuffer(raw, np.float32).reshape(snap[name].shape), snap[name])
    rows = _serve(tmp_path, "/metadata?run=.&name=features").decode().splitlines()
    assert rows[0] == "index\tlabel\tclass" and len(rows) == len(snap["labels"]) + 1
    assert [int(r.split("\t")[1]) for r in rows[1:]] == snap["labels"].tolist()
    assert rows[1].split("\t")[2] == run.status["class_names"][int(rows[1].split("\t")[1])]
    sprite = np.asarray(Image.open(io.BytesIO(_serve(tmp_path, "/sprite_image?run=.&name=features"))))
    assert sprite.shape == (8 * 32, 8 * 32, 3)  # 64 probe images: 8 x 8 tiles of 32 x 32


def test_sprite_tiles_are_the_probe_images_in_order(run, tmp_path):
    e = export_projector(run, tmp_path)
    images = embedding_projector.probe_images(run, run.snapshot(run.snapshot_steps()[-1]))
    assert images.shape[1:] == (16, 16, 3)
    sprite = np.asarray(Image.open(e.sprite))
    for i in (0, 9, len(images) - 1):
        r, c = divmod(i, 8)
        tile = sprite[r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32]
        assert np.array_equal(tile, images[i].repeat(2, 0).repeat(2, 1))  # 16 -> 32: nearest, crisp


def test_the_sprite_keeps_the_aspect_and_stays_inside_the_size_limit(monkeypatch):
    images = np.random.default_rng(0).integers(0, 256, (50, 20, 40, 3), dtype=np.uint8)
    picture, tile = sprite_image(images, thumb=32)
    assert tile == (32, 16) and picture.shape == (8 * 16, 8 * 32, 3)
    monkeypatch.setattr(embedding_projector, "SPRITE_MAX", 100)
    picture, tile = sprite_image(images, thumb=32)
    assert tile == (12, 6) and max(picture.shape) <= 100  # 8 tiles a side of at most 100 // 8 = 12 pixels


def test_a_run_without_images_gets_the_rest_and_a_note(run, tmp_path):
    external = dataclasses.replace(run, config=run.config | {"external": {"source": "notebook"}})
    e = export_projector(external, tmp_path)
    assert e.sprite is None and "without images" in e.note and not (tmp_path / "sprite.png").exists()
    assert "sprite" not in e.config.read_text() and e.tensors["features"].is_file()


def test_thumbnails_kept_in_a_snapshot_make_the_sprite(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    step = run.snapshot_steps()[-1]
    arrays = run.snapshot(step) | {"images": np.full((64, 8, 8, 3), 7, np.uint8)}
    np.savez(copy / "snapshots" / f"step_{step:07d}.npz", **arrays)
    external = dataclasses.replace(load_run(copy), config={"external": {"source": "notebook"}})
    e = export_projector(external, tmp_path / "out", thumb=16)
    assert np.asarray(Image.open(e.sprite)).shape == (8 * 16, 8 * 16, 3) and e.note == ""


def test_the_cli_writes_the_folder_and_inspect_reads_its_tensors_back(run, tmp_path, capsys):
    assert main(["eval", str(run.path), "--projector", str(tmp_path / "proj")]) == 0
    assert f"embedding projector: {tmp_path / 'proj'}" in capsys.readouterr().out
    e = load_embeddings(tmp_path / "proj" / "features.tsv")
    assert len(e.z1) == len(e.labels) == 64


def test_the_probe_images_are_the_ones_the_trainer_embedded(run):
    import torch

    from cl_core import evaluation
    from cl_core.config import Config

    s = evaluation.setup(Config.from_dict(run.config), torch.device("cpu"))
    images = embedding_projector.probe_images(run, {"probe_index": s.probe_index})
    assert np.array_equal(images, s.probe_images.permute(0, 2, 3, 1).numpy())
