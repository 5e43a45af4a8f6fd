"""Where a run trains and for how long: the device, its autocast dtype, the step/epoch/seconds Budget, PhaseTimer."""

from __future__ import annotations

import contextlib
import math
import time

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def cpu_computes_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic in hardware (AVX512-BF16 or AMX), where oneDNN runs bf16 convolutions
    natively; elsewhere bf16 is emulated and slower than fp32."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision setting, or None for plain fp32.

    ``auto``: bf16 on CUDA where supported, else fp16 (with a GradScaler); bf16 on a CPU that computes it in
    hardware (the small CNN's step takes 0.75x the time at 16x16, 0.6x at 32x32: benchmarks/README.md); fp32 on
    other CPUs and on MPS.
    """
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if precision == "auto" and device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if precision == "auto" and device.type == "cpu" and cpu_computes_bf16():
        return torch.bfloat16
    return None


def precision_name(dtype: torch.dtype | None) -> str:
    """What a run computed in: ``bf16``, ``fp16`` or ``fp32``."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32")


class Budget:
    """Progress in [0, 1] as the largest share used of the step, epoch and seconds budgets.

    ``synced``: the seconds are the value last stored in ``synced_seconds`` (rank 0's clock, shared every
    step under torchrun), so that every process computes the same progress, learning rate and end step.
    """

    def __init__(
        self,
        steps: int,
        epochs: float,
        seconds: float,
        steps_per_epoch: float,
        start_step: int = 0,
        synced: bool = False,
    ):
        self.steps, self.epochs, self.seconds = steps, epochs, seconds
        self.steps_per_epoch, self.start_step = steps_per_epoch, start_step
        self.t0 = time.perf_counter()
        self.synced_seconds: float | None = 0.0 if synced else None

    def clock(self) -> float:
        return time.perf_counter() - self.t0

    def elapsed(self) -> float:
        return self.clock() if self.synced_seconds is None else self.synced_seconds

    def progress(self, step: int) -> float:
        done = step - self.start_step
        shares = [
            done / self.steps if self.steps else 0.0,
            done / (self.epochs * self.steps_per_epoch) if self.epochs else 0.0,
            self.elapsed() / self.seconds if self.seconds else 0.0,
        ]
        return min(1.0, max(shares))

    def total_steps(self, step: int) -> int:
        """The best current estimate of the step this run will end at (exact for step/epoch budgets)."""
        p = self.progress(step)
        done = step - self.start_step
        return self.start_step + (max(done + 1, math.ceil(done / p)) if p > 0 else 10**6)


class PhaseTimer:
    """Seconds spent in each phase of the training step; the device is synchronised around each phase."""

    PHASES = ("augment", "forward", "backward", "optimizer")

    def __init__(self, device: torch.device):
        self.device, self.seconds = device, dict.fromkeys(self.PHASES, 0.0)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    @contextlib.contextmanager
    def __call__(self, name: str):
        self._sync()
        t0 = time.perf_counter()
        yield
        self._sync()
        self.seconds[name] += time.perf_counter() - t0

    def shares(self) -> dict[str, float]:
        """Each phase's share of the timed step time, summing to 1."""
        total = sum(self.seconds.values()) or 1.0
        return {k: round(v / total, 4) for k, v in self.seconds.items()}
