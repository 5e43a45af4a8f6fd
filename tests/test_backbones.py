import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision
from conftest import tiny_config
from torch import nn

from cl_core.backbones import IMAGENET_MEAN, IMAGENET_STD, OWN_MEAN, OWN_STD
from cl_core.checkpoints import CheckpointError, export_backbone, init_backbone
from cl_core.config import ConfigError
from cl_core.encoders import build_backbone
from cl_core.methods import build_method
from cl_core.trainer import train

ROOT = Path(__file__).resolve().parents[1]
MEAN, STD = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
OWN = torch.tensor(OWN_MEAN).view(1, 3, 1, 1), torch.tensor(OWN_STD).view(1, 3, 1, 1)  # the built-in resnet18's
SMALL = {"data.image_size": 16, "data.max_train": 32, "probe_size": 16, "probe_pairs": 4, "knn_max_train": 32}


def holder(backbone: nn.Module) -> nn.Module:
    """The least a method is, for init_backbone: a module with a .backbone."""
    m = nn.Module()
    m.backbone = backbone
    return m


def torchvision_features(net: nn.Module, cifar_stem: bool) -> nn.Module:
    """torchvision's model as a feature extractor (fc = Identity), with the CIFAR stem if asked."""
    net.fc = nn.Identity()
    if cifar_stem:
        net.conv1, net.maxpool = nn.Conv2d(3, net.bn1.num_features, 3, 1, 1, bias=False), nn.Identity()
    return net.eval()


def randomise_bn(net: nn.Module) -> nn.Module:
    """Running statistics away from 0 and 1, so that a stale buffer would show in the outputs."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return net


def test_a_torchvision_resnet18_state_dict_gives_torchvision_s_own_features(tmp_path):
    tv = randomise_bn(torchvision_features(torchvision.models.resnet18(weights=None), cifar_stem=False))
    torch.save(tv.state_dict(), tmp_path / "resnet18.pt")
    ours = build_backbone("torchvision:resnet18", 0, cifar_stem=False)
    init_backbone(holder(ours), tmp_path / "resnet18.pt")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(ours.eval()(x), tv((x - MEAN) / STD), atol=1e-5)


@pytest.fixture(scope="module")
def resnet_run(tmp_path_factory):
    """A two-step SimCLR run of resnet18 at torchvision's width (64), CIFAR stem."""
    run = tmp_path_factory.mktemp("run") / "r"
    cfg = tiny_config(**{"train.backbone": "resnet18", "width": 64, "batch_size": 4, "steps": 2, "snapshots": 0})
    for k, v in SMALL.items():
        cfg.set(k, v)
    result = train(cfg, run)
    assert result.state == "completed"
    return run, result.method.backbone.eval()


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_an_exported_backbone_loads_strictly_into_torchvision_resnet18_with_equal_outputs(resnet_run, suffix):
    run, backbone = resnet_run
    out = run.parent / f"backbone{suffix}"
    state = export_backbone(run, out)
    if suffix == ".pt":
        loaded = torch.load(out, weights_only=True)
    else:
        from safetensors.torch import load_file

        loaded = load_file(out)
    tv = torchvision_features(torchvision.models.resnet18(weights=None), cifar_stem=True)
    tv.load_state_dict(loaded, strict=True)
    assert set(loaded) == set(state) == set(tv.state_dict())
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(tv((x - OWN[0]) / OWN[1]), backbone(x), atol=1e-5)


def test_the_export_command_prints_how_to_load_the_file(resnet_run, capsys):
    from cl_core.__main__ import main

    run, _ = resnet_run
    assert main(["export-backbone", str(run), "--out", str(run.parent / "cli.pt")]) == 0
    out = capsys.readouterr().out
    assert "torchvision.models.resnet18()" in out and "maxpool" in out and (run.parent / "cli.pt").is_file()


def test_lightly_and_solo_learn_checkpoints_load_by_their_prefixes(tmp_path):
    source = randomise_bn(build_backbone("resnet18", 8).net)
    sequential = nn.Sequential(*list(source.children())[:-1])  # lightly's examples: the resnet without its fc
    state = {k: v for k, v in source.state_dict().items()}
    head = {"projection_head.layers.0.weight": torch.zeros(4, 64)}
    files = {
        "lightly_sequential.pt": {f"backbone.{k}": v for k, v in sequential.state_dict().items()} | head,
        "lightning.ckpt": {
            "epoch": 3,
            "state_dict": {f"model.backbone.{k}": v for k, v in state.items()}
            | {f"model.backbone_momentum.{k}": torch.zeros_like(v) for k, v in state.items()},
        },
        "solo.ckpt": {
            "state_dict": {f"backbone.{k}": v for k, v in state.items()}
            | {"classifier.weight": torch.zeros(10, 64), "classifier.bias": torch.zeros(10)}
        },
        "plain_with_fc.pt": state | {"fc.weight": torch.zeros(10, 64), "fc.bias": torch.zeros(10)},
    }
    for name, obj in files.items():
        torch.save(obj, tmp_path / name)
        target = build_backbone("resnet18", 8)
        note = init_backbone(holder(target), tmp_path / name)
        for k, v in target.net.state_dict().items():
            assert torch.equal(v, state[k]), (name, k)
        assert ("dropped 2 classifier tensors" in note) == (name == "plain_with_fc.pt")


def test_a_run_s_model_pt_starts_moco_s_key_encoder_and_the_online_network_alike(tiny, tmp_path):
    cfg = tiny("moco")
    first = build_method(cfg)
    with torch.no_grad():
        for p in first.key_encoder.parameters():
            p.add_(1.0)  # the momentum copy differs: the online backbone is the one to take
    torch.save(first.state_dict(), tmp_path / "model.pt")
    second = build_method(cfg)
    init_backbone(second, tmp_path)  # a run folder means its model.pt
    for copy in (second.backbone, second.key_encoder[0]):
        for a, b in zip(copy.state_dict().values(), first.backbone.state_dict().values()):
            assert torch.equal(a, b)


def test_wrong_keys_and_shapes_are_one_error_naming_them(tmp_path):
    state = build_backbone("resnet18", 8).net.state_dict()
    state["layer9.weight"] = state.pop("layer4.1.bn2.weight")
    state["conv1.weight"] = torch.zeros(8, 3, 7, 7)
    torch.save(state, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError) as e:
        init_backbone(holder(build_backbone("resnet18", 8)), tmp_path / "wrong.pt")
    msg = str(e.value)
    assert "wrong.pt" in msg and "1 missing (layer4.1.bn2.weight)" in msg and "1 unexpected (layer9.weight)" in msg
    assert "conv1.weight (8, 3, 7, 7) in the file" in msg and "cifar_stem" in msg and "\n" not in msg
    assert isinstance(e.value, ValueError)


def test_garbage_and_pickled_objects_are_refused_in_one_line(tmp_path):
    (tmp_path / "garbage.pt").write_bytes(b"\x00not a checkpoint at all" * 10)
    torch.save(nn.Linear(2, 2), tmp_path / "module.pt")
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    for name in ("garbage.pt", "module.pt", "bad.safetensors", "absent.pt"):
        with pytest.raises(CheckpointError) as e:
            init_backbone(holder(build_backbone("small_cnn", 4)), tmp_path / name)
        assert name in str(e.value) and "\n" not in str(e.value)


def test_train_init_from_a_bad_file_exits_2_with_one_line_and_no_traceback(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"garbage bytes")
    args = ["--init-from", str(tmp_path / "bad.pt"), "--steps", "1", "--batch-size", "4", "--width", "4"]
    args += ["--opt", "data.max_train=16", "--opt", "probe_size=8", "--quiet", "--out", str(tmp_path / "r")]
    p = subprocess.run(
        [sys.executable, "-m", "cl_core", "train", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 2 and "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.pt" in lines[0] and "not a torch checkpoint" in lines[0]
    assert '"failed"' in (tmp_path / "r" / "status.json").read_text()


def test_a_timm_backbone_builds_and_trains_a_step(tiny):
    pytest.importorskip("timm")
    cfg = tiny(**{"train.backbone": "timm:test_resnet", "batch_size": 4, "steps": 1, "snapshots": 0})
    for k, v in SMALL.items():
        cfg.set(k, v)
    result = train(cfg)
    assert result.state == "completed" and list(result.method.backbone.state_dict())[0].startswith("net.")


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("train.backbone", "torchvision:nonexistent", "train.backbone"),
        ("train.backbone", "timm:no_such_model_xyz", "train.backbone"),
        ("train.backbone", "keras:resnet", "train.backbone"),
        ("train.cifar_stem", "maybe", "train.cifar_stem"),
    ],
)
def test_bad_backbone_settings_name_the_field(tiny, name, value, field):
    with pytest.raises(ConfigError) as e:
        tiny(**{name: value}).validate()
    assert e.value.field == field and str(e.value).startswith(field)


def test_a_timm_backbone_without_timm_installed_says_how_to_install_it(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm now raises ImportError
    with pytest.raises(ConfigError) as e:
        tiny(**{"train.backbone": "timm:resnet18"}).validate()
    assert e.value.field == "train.backbone" and "pip install timm" in str(e.value)


def _old_resnet18(w: int) -> nn.Sequential:
    """The earlier hand-written CIFAR ResNet-18, rebuilt as it was: the oracle for its saved runs."""

    def conv_bn(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.body = nn.Sequential(*conv_bn(cin, cout, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False))
            self.body.append(nn.BatchNorm2d(cout))
            self.skip = nn.Identity()
            if stride != 1 or cin != cout:
                self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return torch.relu(self.body(x) + self.skip(x))

    class Normalise(nn.Module):  # the old model's first layer: (x - 0.5) / 0.25, written out, not imported
        def forward(self, x):
            return (x - 0.5) / 0.25

    layers, cin = [Normalise(), *conv_bn(3, w)], w
    for i, cout in enumerate((w, 2 * w, 4 * w, 8 * w)):
        layers += [Block(cin, cout, 1 if i == 0 else 2), Block(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_runs_saved_by_the_earlier_resnet18_load_and_compute_the_same(tmp_path):
    old = randomise_bn(_old_resnet18(8)).eval()
    new = build_backbone("resnet18", 8).eval()
    new.load_state_dict({f"features.{k}": v for k, v in old.state_dict().items()}, strict=True)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(new(x), old(x), atol=1e-5)  # the same features from the same pixels
    torch.save({f"backbone.features.{k}": v for k, v in old.state_dict().items()}, tmp_path / "model.pt")
    started = build_backbone("resnet18", 8)
    init_backbone(holder(started), tmp_path / "model.pt")  # --init-from an old run's model.pt
    with torch.no_grad():
        assert torch.allclose(started.eval()(x), old(x), atol=1e-5)
