"""Training batches: this process's shard of each global batch, kept on the device or streamed to it.

Every process draws the same permutation (same generator seed) and takes its rows of each global batch,
so W processes with B / W images each see exactly the images one process with B would. Views are drawn
the same way: the augmentation parameters of the whole global batch come from the shared generator and
each process applies its own rows, so a W-process run sees the views of the 1-process run.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cl_core.augment import Augmenter, AugParams


class Batches:
    """An endless iterator of (B / world, C, H, W) uint8 batches on ``device``, one epoch's permutation at a time.

    Images already on the device are indexed there (no host work per step). Images in host memory, or any with
    ``stream=True``, are gathered on the host into one of two pinned buffers and copied from it with
    ``non_blocking=True`` on a side CUDA stream one batch ahead, so that the copy overlaps the current step.
    The last partial global batch of an epoch is dropped.

    Args:
        images: (N, C, H, W) uint8, on ``device`` or in host memory.
        batch: the global batch size B, a multiple of ``world``.
        device: where the batches go.
        seed: of the permutations; the same on every process. They are drawn where the images are (for
            host images on the CPU: no device -> host copy of the indices).
        rank, world: this process and the number of processes.
        stream: take the host path even when the images are on ``device`` (tests it on the CPU).
    """

    def __init__(
        self,
        images: Tensor,
        batch: int,
        device: torch.device,
        seed: int,
        rank: int = 0,
        world: int = 1,
        stream: bool = False,
    ):
        if batch % world or batch > len(images):
            raise ValueError(f"batch {batch} must be a multiple of {world} and at most {len(images)} images")
        self.images, self.batch, self.device = images, batch, device
        self.lo, self.hi = rank * batch // world, (rank + 1) * batch // world
        self.host = stream or images.device != device
        self.generator = torch.Generator(images.device).manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long, device=images.device)
        self.cuda = self.host and device.type == "cuda"
        if self.cuda:
            self.stream = torch.cuda.Stream(device)
            shape = (self.hi - self.lo, *images.shape[1:])
            self.buffers = [torch.empty(shape, dtype=images.dtype, pin_memory=True) for _ in range(2)]
            self.copied: list[torch.cuda.Event | None] = [None, None]
            self.slot = 0
        self.pending: tuple[Tensor, torch.cuda.Event | None] | None = None

    def _indices(self) -> Tensor:
        if len(self.order) < self.batch:
            self.order = torch.randperm(len(self.images), generator=self.generator, device=self.images.device)
        idx, self.order = self.order[: self.batch], self.order[self.batch :]
        return idx[self.lo : self.hi]

    def _load(self, idx: Tensor) -> tuple[Tensor, torch.cuda.Event | None]:
        if not self.cuda:
            return self.images[idx].to(self.device), None
        k, self.slot = self.slot, 1 - self.slot
        if self.copied[k] is not None:
            self.copied[k].synchronize()  # the copy out of this pinned buffer two batches ago is done
        torch.index_select(self.images, 0, idx, out=self.buffers[k])
        with torch.cuda.stream(self.stream):
            out = self.buffers[k].to(self.device, non_blocking=True)
            self.copied[k] = torch.cuda.Event()
            self.copied[k].record(self.stream)
        return out, self.copied[k]

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> Tensor:
        if not self.host:
            return self.images[self._indices()]
        if self.pending is None:
            self.pending = self._load(self._indices())
        (out, ready), self.pending = self.pending, self._load(self._indices())
        if ready is not None:
            current = torch.cuda.current_stream(self.device)
            current.wait_event(ready)
            out.record_stream(current)
        return out


def shard_views(
    augmenter: Augmenter, images: Tensor, generator: torch.Generator, rank: int = 0, world: int = 1
) -> tuple[Tensor, Tensor]:
    """This process's two views of its (B / W, C, H, W) shard, with the global batch's parameter draws.

    With ``world=1`` this is ``augmenter.two_views(images, generator)``.
    """
    if world == 1:
        return augmenter.two_views(images, generator)
    b, _, h, w = images.shape
    p = augmenter.params(2 * b * world, h, w, generator)  # rows: view 1 of the global batch, then view 2
    rows = torch.cat([torch.arange(rank * b, (rank + 1) * b), torch.arange((world + rank) * b, (world + rank + 1) * b)])
    rows = rows.to(p.box.device)
    local = AugParams(**{k: v[rows] for k, v in vars(p).items()})
    return augmenter.apply(torch.cat([images, images]), local).chunk(2)
