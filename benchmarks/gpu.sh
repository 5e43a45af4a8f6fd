#!/usr/bin/env bash
# One-GPU benchmark, run as it is on a machine with one NVIDIA GPU (about 5-8 minutes):
#   1. views/s of the real training step (augmentation on the GPU included) for SimCLR, CIFAR-style
#      ResNet-18, 32x32 generated shapes, batch 512, bf16: plain, channels_last, torch.compile, both;
#      peak GPU memory of each (torch.cuda.max_memory_allocated); the step-time shares of one profiled run;
#   2. kNN top-1 on shapes after 60 s of training (python -m cl_core train ... --seconds 60).
# Target on one H200: >= 50,000 augmented views/s.
#
#   bash benchmarks/gpu.sh                 # from anywhere
#   GPU_BENCH_TINY=1 bash benchmarks/gpu.sh  # dry run of every part on the CPU with tiny sizes
#
# Installs nothing beyond requirements.txt: when torch is missing it makes .venv-gpu and installs that.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c "import torch, torchvision, sklearn" 2>/dev/null; then
  [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, torchvision, sklearn" 2>/dev/null && PY=.venv/bin/python
fi
if ! "$PY" -c "import torch, torchvision, sklearn" 2>/dev/null; then
  echo "torch not found: installing requirements.txt into .venv-gpu"
  python3 -m venv .venv-gpu
  .venv-gpu/bin/pip install -q -r requirements.txt
  PY=.venv-gpu/bin/python
fi

TINY=${GPU_BENCH_TINY:-}
if [ -n "$TINY" ]; then
  DEVICE=cpu SECONDS_BUDGET=5 WIDTH=8 BATCH=32
  echo "GPU_BENCH_TINY: dry run on the CPU with tiny sizes (numbers mean nothing)"
else
  DEVICE=cuda SECONDS_BUDGET=60 WIDTH=64 BATCH=512
  "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "error: no CUDA device visible to torch $("$PY" -c 'import torch; print(torch.__version__)')" >&2
    exit 1
  }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
export DEVICE WIDTH BATCH TINY

echo "== 1. throughput: SimCLR, ResNet-18 (width $WIDTH), 32x32, batch $BATCH, bf16"
"$PY" - <<'EOF'
import os, threading, time
import torch
from cl_core.presets import preset_config
from cl_core.evaluation import setup
from cl_core.runtime import Budget, PhaseTimer
from cl_core.trainer import _Loop

device, tiny = torch.device(os.environ["DEVICE"]), bool(os.environ["TINY"])
warmup, steps = (1, 2) if tiny else (15, 60)
cuda = device.type == "cuda"
print(f"torch {torch.__version__}, " + (torch.cuda.get_device_name(device) if cuda else "CPU"))


def config(channels_last=False, compile=False, profile=False):
    cfg = preset_config("simclr", "shapes")
    t = cfg.train
    t.backbone, t.width, t.batch_size, t.precision, t.device = "resnet18", int(os.environ["WIDTH"]), int(os.environ["BATCH"]), "bf16", str(device)
    t.channels_last, t.compile, t.profile, t.seconds, t.steps, t.snapshots = channels_last, compile, profile, 0, 10**6, 0
    cfg.data.image_size = 32  # the presets train shapes at 24x24 on the CPU
    if tiny:
        cfg.data.max_train = 256
    return cfg.validate()


def sync():
    if cuda:
        torch.cuda.synchronize(device)


s = setup(config(), device)  # 10,000 generated 32x32 shapes, uint8 on the device
print(f"data: {len(s.train_images)} images {tuple(s.train_images.shape[1:])} on {s.train_images.device}")
for name, kw in [("plain", {}), ("channels_last", {"channels_last": True}), ("compile", {"compile": True}),
                 ("channels_last + compile", {"channels_last": True, "compile": True})]:
    torch.manual_seed(0)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    loop = _Loop(config(**kw), s, [], threading.Event(), None)
    budget = Budget(10**6, 0, 0, loop.steps_per_epoch)
    loop.method.train()
    for _ in range(warmup):  # cudnn autotuning, compilation
        loop._train_step(budget)
    sync()
    t1 = time.perf_counter()
    for _ in range(steps):
        loop._train_step(budget)
    sync()
    dt = time.perf_counter() - t1
    mem = f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if cuda else "n/a"
    print(f"{name:<26} {2 * loop.batch * steps / dt:>10,.0f} views/s   peak GPU memory {mem}   "
          f"(warm-up {t1 - t0:.0f} s)", flush=True)
    del loop

loop = _Loop(config(channels_last=True, profile=True), s, [], threading.Event(), None)
budget = Budget(10**6, 0, 0, loop.steps_per_epoch)
for _ in range(warmup):
    loop._train_step(budget)
loop.timer = PhaseTimer(device)
for _ in range(max(steps // 3, 2)):
    loop._train_step(budget)
print("profiled (channels_last, device synchronised around each phase): "
      + ", ".join(f"{k} {100 * v:.0f}%" for k, v in loop.timer.shares().items()))
EOF

echo "== 2. kNN on shapes after $SECONDS_BUDGET s (SimCLR, ResNet-18, batch $BATCH, bf16, channels_last)"
OUT=$(mktemp -d)
EXTRA=()
[ -n "$TINY" ] && EXTRA=(--opt data.max_train=256 --opt knn_max_train=256)
"$PY" -m cl_core train --method simclr --dataset shapes --backbone resnet18 --width "$WIDTH" --image-size 32 \
  --batch-size "$BATCH" --precision bf16 --channels-last --device "$DEVICE" --seconds "$SECONDS_BUDGET" \
  --snapshots 0 --quiet --out "$OUT/run" ${EXTRA[@]+"${EXTRA[@]}"}
"$PY" - "$OUT/run" <<'EOF'
import json, sys
s = json.load(open(f"{sys.argv[1]}/summary.json"))
print(f"kNN top-1 {s['knn_top1']:.4f} after {s['steps']} steps ({s['epochs']:.1f} epochs, {s['train_seconds']:.0f} s "
      f"of training); {s['views_per_second']:,.0f} views/s over the run; linear probe {s.get('linear_probe')}")
EOF
rm -rf "$OUT"
