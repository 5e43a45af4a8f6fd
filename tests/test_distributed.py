"""Distributed training on the CPU with gloo: 2 worker processes against 1 process with the global batch.

The oracle: for every method, the loss and the DDP-averaged gradients of 2 processes with B images each equal
those of 1 process with the 2B images, on the same views and weights. Batch norm is in eval mode there (running
statistics), because per-process batch statistics differ by design and SyncBatchNorm needs CUDA.

Run as a script, this file is one worker of that comparison (``python tests/test_distributed.py OUT``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_core import distributed  # noqa: E402
from cl_core.augment import Augmenter  # noqa: E402
from cl_core.batches import Batches, shard_views  # noqa: E402
from cl_core.config import AugmentConfig, Config, ConfigError  # noqa: E402
from cl_core.methods import METHODS, build_method  # noqa: E402

PER_RANK, WORLD = 8, 2
# case -> (method, options): every registered method, plus the variants whose maths differ across processes
CASES: dict[str, tuple[str, dict]] = {
    "simclr": ("simclr", {}),
    "simclr_self_positive": ("simclr", {"mask_self": False, "positive": "self"}),
    "contrastive": ("contrastive", {"negative_ratio": 2.0}),
    "moco": ("moco", {"queue_size": 32}),
    "moco_no_queue": ("moco", {"queue_size": 0}),
    "byol": ("byol", {}),
    "swav": ("swav", {"prototypes": 8, "freeze_prototypes_steps": 0, "queue_size": 16}),  # a full queue
    "swav_frozen_prototypes_multicrop": ("swav", {"prototypes": 8, "small_crops": 2}),
    "simsiam": ("simsiam", {}),
    "barlow": ("barlow", {}),
    "vicreg": ("vicreg", {}),
}


def _config(method: str, options: dict) -> Config:
    cfg = Config()
    cfg.method.name, cfg.method.options = method, dict(options)
    cfg.train.backbone, cfg.train.width, cfg.train.batch_size = "small_cnn", 4, PER_RANK * WORLD
    cfg.method.proj_hidden, cfg.method.proj_dim = 16, 8
    return cfg.validate()


def _one_step(case: str, lo: int, hi: int) -> tuple[Tensor, dict, dict]:
    """Loss, gradients and state after on_step_end, of one step on views lo:hi of the global batch."""
    torch.manual_seed(0)
    method = build_method(_config(*CASES[case])).eval()  # eval: batch norm uses its (equal) running statistics
    if hasattr(method, "queue_filled"):  # SwAV: start with a full queue, so that it takes part in the codes
        method.queue.copy_(torch.nn.functional.normalize(torch.randn(method.queue.shape), dim=-1))
        method.queue_filled.fill_(method.queue.shape[1])
    g = torch.Generator().manual_seed(1)
    v1, v2 = (torch.rand(PER_RANK * WORLD, 3, 16, 16, generator=g)[lo:hi] for _ in range(2))
    forward = distributed.ddp(method, torch.device("cpu")) if distributed.active() else method.training_step
    loss, _ = forward(v1, v2)
    loss.backward()
    method.on_step_end(1, 10)
    grads = {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}
    state = {k: v.clone() for k, v in method.state_dict().items()}
    return distributed.all_reduce_sum(loss.detach()) / distributed.world(), grads, state


def _worker(out: Path) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    torch.distributed.init_process_group("gloo", init_method=f"file://{out}/store", rank=rank, world_size=WORLD)
    r = distributed.rank()
    results = {case: _one_step(case, r * PER_RANK, (r + 1) * PER_RANK) for case in CASES}
    torch.save(results, out / f"rank{r}.pt")
    distributed.shutdown()


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "WORLD_SIZE": str(WORLD), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, str(out)], env={**env, "RANK": str(r)}, stderr=subprocess.PIPE, text=True
        )
        for r in range(WORLD)
    ]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    for p, err in zip(procs, errors):
        assert p.returncode == 0, err[-3000:]
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]


def test_every_registered_method_has_a_cross_process_case():
    assert {m for m, _ in CASES.values()} >= set(METHODS)


def _close(actual: Tensor, expected: Tensor, name: str, scale: float | None = None) -> None:
    """Equal up to float32 rounding: summing in another order errs in proportion to the largest terms, ``scale``
    (by default the largest entry; gradients that are 0 in exact arithmetic, such as a bias before Barlow Twins'
    standardisation, are rounding noise of the size of the gradients around them)."""
    if scale is None:
        scale = expected.abs().max().item() if expected.is_floating_point() and expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-6 + 1e-5 * scale, msg=lambda m: f"{name}: {m}")


@pytest.mark.distributed
@pytest.mark.parametrize("case", list(CASES))
def test_two_processes_give_the_loss_gradients_and_state_of_one_process_with_the_global_batch(
    case, two_process_results
):
    loss, grads, state = _one_step(case, 0, PER_RANK * WORLD)
    for rank_loss, rank_grads, rank_state in (r[case] for r in two_process_results):
        torch.testing.assert_close(rank_loss, loss, rtol=1e-5, atol=1e-6)
        assert rank_grads.keys() == grads.keys()
        scale = max(g.abs().max().item() for g in grads.values())
        for name, g in grads.items():
            _close(rank_grads[name], g, name, scale)
        for name, v in state.items():  # EMA targets, queues, prototypes after on_step_end
            _close(rank_state[name], v, name)


def test_streamed_shards_of_two_processes_are_the_global_batches_of_one_process():
    images = torch.randint(0, 256, (20, 3, 4, 4), dtype=torch.uint8)  # 2 global batches of 8 an epoch, 4 dropped
    cpu = torch.device("cpu")
    one = Batches(images, 8, cpu, seed=5)
    shards = [Batches(images, 8, cpu, 5, r, 2, stream=True) for r in range(2)]
    for _ in range(5):  # across epochs
        torch.testing.assert_close(torch.cat([next(s) for s in shards]), next(one), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batches_streamed_to_cuda_through_pinned_buffers_are_the_indexed_host_images():
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8)
    streamed, indexed = Batches(images, 16, torch.device("cuda"), 5), Batches(images, 16, torch.device("cpu"), 5)
    for _ in range(7):
        x = next(streamed)
        y = (x.float() * 2).sum()  # work on the current stream while the next copy runs
        torch.testing.assert_close(x.cpu(), next(indexed), rtol=0, atol=0)
        assert y.item() == 2 * x.double().sum().item()


def test_each_process_applies_its_rows_of_the_global_batch_augmentation_draws():
    aug, images = Augmenter(AugmentConfig(blur_p=0.5), 8), torch.randint(0, 256, (6, 3, 10, 10), dtype=torch.uint8)
    one = aug.two_views(images, torch.Generator().manual_seed(3))
    parts = [shard_views(aug, images[3 * r : 3 * r + 3], torch.Generator().manual_seed(3), r, 2) for r in range(2)]
    for view in range(2):
        torch.testing.assert_close(torch.cat([p[view] for p in parts]), one[view])


def test_a_global_batch_that_the_processes_cannot_share_is_a_config_error(tiny, monkeypatch):
    from cl_core.trainer import train

    monkeypatch.setattr(distributed, "world", lambda: 3)
    with pytest.raises(ConfigError, match="train.batch_size"):
        train(tiny())


def test_streaming_from_host_memory_trains_like_data_on_the_device_and_profile_shares_sum_to_1(tiny):
    from cl_core.trainer import train

    on_device = train(tiny(**{"train.steps": 3, "snapshots": 0}))
    streamed = train(tiny(**{"train.steps": 3, "snapshots": 0, "stream_data": True, "profile": True}))
    assert [r["loss"] for r in streamed.history] == [r["loss"] for r in on_device.history]
    shares = streamed.summary["profile"]
    assert set(shares) == {"augment", "forward", "backward", "optimizer"}
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3) and "profile" not in on_device.summary


def _layout(run: Path) -> tuple:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    summary, status = (json.loads((run / f).read_text()) for f in ("summary.json", "status.json"))
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    return files, sorted(summary), sorted(status), sorted({tuple(sorted(r)) for r in rows}), [r["step"] for r in rows]


@pytest.mark.distributed
def test_torchrun_with_two_processes_writes_the_run_directory_of_a_single_process_run(tmp_path):
    from cl_core.__main__ import main

    flags = {"device": "cpu", "steps": 4, "batch-size": 16, "width": 4, "snapshots": 2}
    opts = ("max_train=128", "probe_size=32", "probe_pairs=8", "knn_max_train=64", "proj_hidden=16", "log_every=1")
    args = ["train", "--quiet", *(f"--{k}={v}" for k, v in flags.items()), *(f"--opt={o}" for o in opts)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "cl_core"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([*cmd, *args, "--out", str(tmp_path / "ddp")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("completed:") == 1  # rank 0 alone reports
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert main([*args, "--out", str(tmp_path / "one")]) == 0
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    ddp, one = _layout(tmp_path / "ddp"), _layout(tmp_path / "one")
    assert ddp == one
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["steps"] == 4 and summary["batch_size"] == 16


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
