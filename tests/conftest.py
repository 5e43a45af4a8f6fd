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
