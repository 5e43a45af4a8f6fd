import os

import pytest

os.environ.setdefault("CL_DATA_ROOT", "/nonexistent-cl-data")  # tests never reach the network or a user's data
os.environ.setdefault("CL_SETTINGS", os.devnull)  # an empty settings file: the defaults, whatever explorer.toml says


def tiny_config(method: str = "simclr", dataset: str = "digits", **train):
    """A config that trains in about a second on 2 CPU cores."""
    from cl_core.presets import preset_config

    cfg = preset_config(method, dataset)
    cfg.train.backbone, cfg.train.width, cfg.train.batch_size = "small_cnn", 8, 32
    cfg.train.seconds, cfg.train.steps, cfg.train.snapshots, cfg.train.log_every = 0, 6, 2, 1
    cfg.train.knn_max_train = 300
    cfg.data.probe_size, cfg.train.probe_pairs = 64, 16
    cfg.data.max_train = 512
    cfg.method.proj_hidden, cfg.method.proj_dim = 32, 16
    for k, v in train.items():
        cfg.set(k, v)
    return cfg


@pytest.fixture
def tiny():
    return tiny_config


def start_tiny_training(at, snapshots: int) -> None:
    """On the Train page of an AppTest: a 3-step run of a width-8 network on batches of 16, started."""
    at.segmented_control(key="w.train.budget").set_value("steps").run()
    at.number_input(key="w.train.steps").set_value(3)
    at.select_slider(key="w.train.batch_size").set_value(16)
    at.number_input(key="w.train.width").set_value(8)
    at.number_input(key="w.train.snapshots").set_value(snapshots)
    at.run()
    next(b for b in at.button if "Start training" in b.label).click().run()
