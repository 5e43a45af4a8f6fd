"""torch.distributed helpers: which process am I, gathers and sums with gradient, DDP wrapping.

``torchrun --nproc_per_node N -m cl_core train ...`` starts N processes with ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK`` in the environment; :func:`init` joins them into one process group (NCCL on CUDA, gloo on the
CPU). Everything here also works in a plain single process, where gathers and sums return their input.

Gradients: :func:`gather_with_grad` and :func:`all_reduce_with_grad` sum the incoming gradients over all
processes in their backward. If process r computes a loss L_r, DDP then averages the gradients to
``d/dtheta (1/W) sum_r L_r``: with L_r the mean over r's own anchors (against gathered candidates), that is
the loss of the global batch; with L_r = L on every process (a loss of gathered embeddings), it is dL/dtheta.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import Tensor, nn


def env_world() -> int:
    """The number of processes torchrun started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """True on the one process that writes files and prints (rank 0, or a plain single process)."""
    return rank() == 0


def init(device: torch.device) -> torch.device:
    """Join torchrun's process group (NCCL on CUDA, gloo otherwise); returns this process's device.

    A no-op outside torchrun. A CUDA device without an index becomes ``cuda:LOCAL_RANK`` (modulo the visible
    devices, for launchers that show each process one GPU).
    """
    if env_world() <= 1 and not active():
        return device
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank() % torch.cuda.device_count())
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        cuda = device.type == "cuda"
        dist.init_process_group("nccl" if cuda else "gloo", device_id=device if cuda else None)
    return device


def shutdown() -> None:
    """Leave the process group (callers then flush and ``os._exit``: see docs/DESIGN.md, "Measured facts")."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if active():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. a download), then the others; a no-op in one process."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


class _GatherWithGrad(torch.autograd.Function):
    """(B, ...) on each of W processes -> (W * B, ...) everywhere, rank order; backward sums over processes."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # noqa: D102
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # noqa: D102
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # sum over processes of d L_s / d (global batch)
        b = grad.shape[0] // dist.get_world_size()
        return grad[dist.get_rank() * b : (dist.get_rank() + 1) * b]


class _AllReduceWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # noqa: D102
        x = x.contiguous().clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # noqa: D102
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        return grad


def gather_with_grad(x: Tensor) -> tuple[Tensor, int]:
    """All processes' x, concatenated in rank order, with gradient; and where this process's rows start.

    Args:
        x: (B, ...) this process's rows; B must be the same on every process.
    Returns:
        (W * B, ...) the global batch, and the offset ``rank * B`` of the local rows in it.
    """
    if not active():
        return x, 0
    return _GatherWithGrad.apply(x), rank() * x.shape[0]


@torch.no_grad()
def gather(x: Tensor) -> Tensor:
    """All processes' x concatenated in rank order, without gradient: (B, ...) -> (W * B, ...)."""
    if not active():
        return x
    parts = [torch.empty_like(x) for _ in range(world())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def all_reduce_with_grad(x: Tensor) -> Tensor:
    """The sum of x over processes, with gradient (the ``all_reduce`` hook of cl_core.losses)."""
    return _AllReduceWithGrad.apply(x) if active() else x


@torch.no_grad()
def all_reduce_sum(x: Tensor) -> Tensor:
    """The sum of x over processes, without gradient (a new tensor; x is left alone)."""
    if not active():
        return x
    x = x.clone()
    dist.all_reduce(x)
    return x


class _Step(nn.Module):
    """Makes ``method.training_step`` the forward of a module, so that DDP can wrap it."""

    def __init__(self, method: nn.Module):
        super().__init__()
        self.method = method

    def forward(self, view1: Tensor, view2: Tensor) -> tuple[Tensor, dict[str, Tensor | float]]:
        return self.method.training_step(view1, view2)


def ddp(method: nn.Module, device: torch.device) -> nn.Module:
    """DDP around the method's training step: ``ddp(m, d)(v1, v2)`` returns ``m.training_step(v1, v2)``.

    Gradients of the trainable parameters are averaged over processes during backward. Momentum encoders,
    queues and prototypes are updated by each process identically in ``on_step_end``; buffers (batch-norm
    statistics, queues) follow rank 0's at every forward. A method that leaves trainable parameters out of
    some steps (SwAV's frozen prototypes) says so with ``SKIPS_PARAMETERS = True``: DDP then looks for them.
    """
    ids = [device.index] if device.type == "cuda" else None
    unused = getattr(method, "SKIPS_PARAMETERS", False)
    return nn.parallel.DistributedDataParallel(_Step(method), device_ids=ids, find_unused_parameters=unused)
