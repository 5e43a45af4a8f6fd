"""Training loops written the way a practitioner writes them, outside cl_core, instrumented with cl_core's logger.

Run as child processes by the tests (``python tests/external_loops.py plain|lightning RUN_DIR [--collapse]``):
- ``plain``: a hand-written PyTorch loop built on lightly's SimCLR projection head, NTXentLoss and
  SimCLRTransform (per-image PIL augmentations, as lightly's examples use them), with cl_core.RunLogger.
- ``lightning``: a PyTorch Lightning LightningModule and Trainer with cl_core's ExplorerCallback.
``--hold PATH`` pauses the loop halfway (before step steps // 2) until PATH exists: a test looks at the live run
meanwhile, for as long as it needs, and then lets it finish.
``--collapse`` trains a SimSiam-style model with lightly's NegativeCosineSimilarity and neither predictor nor
stop-gradient, which collapses (Chen & He 2021, fig. 2). Data: generated shapes (cl_core.shapes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from lightly.loss import NegativeCosineSimilarity, NTXentLoss
from lightly.models.modules import SimCLRProjectionHead, SimSiamProjectionHead
from lightly.transforms import SimCLRTransform
from PIL import Image
from torch import nn

from cl_core import RunLogger
from cl_core.shapes import SHAPE_CLASSES, make_shapes

SIZE, BATCH, PROBE, LR = 24, 32, 48, 1e-3


def backbone() -> nn.Module:
    conv = lambda i, o, s: [nn.Conv2d(i, o, 3, s, 1), nn.BatchNorm2d(o), nn.ReLU()]  # noqa: E731
    return nn.Sequential(*conv(3, 16, 1), *conv(16, 32, 2), *conv(32, 64, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class Model(nn.Module):
    def __init__(self, collapse: bool):
        super().__init__()
        self.backbone = backbone()
        self.head = SimSiamProjectionHead(64, 64, 32) if collapse else SimCLRProjectionHead(64, 64, 32)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.backbone(x)
        return f, self.head(f)


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, images: np.ndarray):
        self.images = [Image.fromarray(a) for a in images]
        self.transform = SimCLRTransform(input_size=SIZE, gaussian_blur=0.0, min_scale=0.3, normalize=None)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        v1, v2 = self.transform(self.images[i])
        return v1, v2


def wait_for(hold: str | None, timeout: float = 600.0) -> None:
    """Wait until the file ``hold`` exists (None: don't wait); a forgotten hold ends after ``timeout`` s."""
    deadline = time.time() + timeout
    while hold and not Path(hold).exists() and time.time() < deadline:
        time.sleep(0.05)


def optimizer(params, collapse: bool) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=LR)


def setup(collapse: bool, seed: int = 0):
    torch.manual_seed(seed)
    images, labels = make_shapes(512 + PROBE, size=SIZE, seed=seed)
    data = TwoViews(images[:512])
    probe = TwoViews(images[512:])
    torch.manual_seed(seed + 1)  # torchvision's transforms draw from torch's generator: fixed probe views
    views = [probe[i] for i in range(PROBE)]
    probe_views = (torch.stack([v[0] for v in views]), torch.stack([v[1] for v in views]))
    loader = torch.utils.data.DataLoader(data, batch_size=BATCH, shuffle=True, drop_last=True)
    loss_fn = NegativeCosineSimilarity() if collapse else NTXentLoss(temperature=0.2)
    logger_args = {
        "method": "simsiam" if collapse else "simclr",
        "batch_size": BATCH,
        "temperature": None if collapse else 0.2,
        "labels": labels[512:],
        "class_names": list(SHAPE_CLASSES),
        "images": images[512:],
        "data_name": "shapes (generated, lightly transforms)",
    }
    return Model(collapse), loader, loss_fn, probe_views, logger_args


def plain(run_dir: str, collapse: bool, steps: int, every: int, sleep: float, seed: int, hold: str | None = None):
    model, loader, loss_fn, (p1, p2), args = setup(collapse, seed)
    opt = optimizer(model.parameters(), collapse)
    step = 0
    with RunLogger(run_dir, snapshot_every=every, total_steps=steps, source="lightly (plain loop)", **args) as log:
        while step < steps:
            for x1, x2 in loader:
                if step == steps // 2:
                    wait_for(hold)
                (_, z1), (_, z2) = model(x1), model(x2)
                loss = loss_fn(z1, z2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                log.log(step, loss.item(), lr=opt.param_groups[0]["lr"])
                if log.due(step) or step == steps - 1:
                    log.snapshot_of(step, model, p1, p2)
                step += 1
                time.sleep(sleep)
                if step >= steps:
                    break


def lightning(run_dir: str, collapse: bool, steps: int, every: int, sleep: float, seed: int, hold: str | None = None):
    import pytorch_lightning as pl

    from cl_core.integrations.lightning import ExplorerCallback

    model, loader, loss_fn, probe, args = setup(collapse, seed)

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x)

        def training_step(self, batch, batch_idx):
            if self.global_step == steps // 2:
                wait_for(hold)
            (_, z1), (_, z2) = self.model(batch[0]), self.model(batch[1])
            time.sleep(sleep)
            return loss_fn(z1, z2)

        def configure_optimizers(self):
            return optimizer(self.parameters(), collapse)

    cb = ExplorerCallback(run_dir, probe=probe, snapshot_every=every, **args)
    trainer = pl.Trainer(
        max_steps=steps,
        callbacks=[cb],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )
    trainer.fit(Module(), loader)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["plain", "lightning"])
    p.add_argument("run_dir")
    p.add_argument("--collapse", action="store_true")
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--every", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sleep", type=float, default=0.0, help="seconds to wait each step: keeps the run live longer")
    p.add_argument("--hold", help="pause before step steps // 2 until this file exists (a test watches the live run)")
    a = p.parse_args()
    torch.set_num_threads(1)
    (plain if a.kind == "plain" else lightning)(a.run_dir, a.collapse, a.steps, a.every, a.sleep, a.seed, a.hold)
