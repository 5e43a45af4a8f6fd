"""``python -m cl_core export-backbone RUN_DIR --out FILE``: a trained backbone with the library's key names.

Starting from someone's checkpoint is ``train --init-from FILE`` (the ``train.init_from`` setting).
"""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export-backbone", help="write a run's trained backbone with torchvision's (or timm's) keys")
    p.add_argument("run_dir", help="a run directory, or its model.pt")
    p.add_argument("--out", required=True, metavar="FILE", help="backbone.pt (a plain state dict) or .safetensors")


def cmd_export_backbone(args: argparse.Namespace) -> int:
    from cl_core.checkpoints import export_backbone, run_meta

    state = export_backbone(args.run_dir, args.out)
    meta = run_meta(args.run_dir)
    count = sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var", "_tracked")))
    print(f"wrote {args.out}: {len(state)} tensors, {count:,} parameters ({meta.get('backbone', 'backbone')})")
    backbone, arch = meta.get("backbone", ""), meta.get("backbone", "").partition(":")[2] or "resnet18"
    if backbone == "resnet18" and meta.get("width") != "64":
        print(f"width {meta.get('width')}: torchvision's resnet18 is width 64; train --init-from reads this file")
    elif backbone == "resnet18" or backbone.startswith("torchvision:"):
        line = f"load it with m = torchvision.models.{arch}(); m.fc = torch.nn.Identity()"
        if meta.get("cifar_stem", "True") == "True":  # runs from before the setting had the CIFAR stem
            line += "; m.conv1 = torch.nn.Conv2d(3, m.bn1.num_features, 3, 1, 1, bias=False)"
            line += "; m.maxpool = torch.nn.Identity()"
        read = "safetensors.torch.load_file" if args.out.endswith(".safetensors") else "torch.load"
        print(f"{line}; m.load_state_dict({read}({args.out!r}))")
        norm = "(x - 0.5) / 0.25" if backbone == "resnet18" else "ImageNet's mean and std"
        print(f"feed it [0, 1] pixels normalised as in training: {norm}")
    return 0


COMMANDS = {"export-backbone": cmd_export_backbone}
