"""Backbone weights in and out: ``init_backbone`` starts a method's backbone from a checkpoint, ``export_backbone``
writes a trained one with the library's key names.

Read: a plain state dict (torchvision's, an exported backbone), Lightning's ``.ckpt`` and solo-learn's
``{"state_dict": ...}``, lightly models (``backbone.conv1.weight``, or ``backbone.0.weight`` for
``nn.Sequential(*resnet.children())``), a cl_core run (its folder, model.pt or checkpoint.pt), and ``.safetensors``;
``.pt`` files through ``torch.load(weights_only=True)``, so a pickle is refused, never run. The key prefix is
found, not configured: of every prefix of the file's keys, the one under which most keys are the backbone's
(ties: the one met first, the online network before its momentum copy). Classifier keys (``fc.``, ``head.``,
``classifier.``) are dropped; any other key that does not fit is one CheckpointError naming the file.
"""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from cl_core.backbones import legacy_resnet18_key
from cl_core.config import ConfigError
from cl_core.embedfiles import load_weights_only
from cl_core.runs import atomic_write_bytes, read_json

WRAPPERS = ("state_dict", "model", "model_state_dict", "module")  # Lightning / solo-learn, cl_core checkpoint.pt, ...
HEADS = ("fc", "head", "classifier", "heads")


class CheckpointError(ConfigError):
    """A checkpoint that cannot be read or does not fit the backbone; ``field`` is the file's path."""


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _few(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def _load(p: Path) -> object:
    if p.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError:
            raise CheckpointError(str(p), "reading .safetensors needs safetensors: pip install safetensors") from None
        try:
            return load_file(str(p))
        except Exception as e:  # a user's file: whatever is wrong with it is one line, not a traceback
            raise CheckpointError(str(p), f"not a readable safetensors file ({_first_line(e)})") from None
    try:
        obj, refused = load_weights_only(p)
    except pickle.UnpicklingError as e:
        detail = re.search(r"WeightsUnpickler error:\s*([^\n]+)", str(e))
        raise CheckpointError(str(p), f"not a torch checkpoint ({detail[1] if detail else _first_line(e)})") from None
    except Exception as e:  # truncated, a zip of something else, unreadable
        raise CheckpointError(
            str(p), f"cannot be read as a torch checkpoint ({type(e).__name__}: {_first_line(e)})"
        ) from None
    if refused is not None:  # a pickled object (a whole nn.Module, a custom class): refused unread
        why = f"it holds a Python object ({refused}), not only tensors; save model.state_dict() instead"
        raise CheckpointError(str(p), why)
    return obj


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a checkpoint file (a run folder means its model.pt), out of any wrapper dict."""
    p = Path(path)
    p = p / "model.pt" if p.is_dir() else p
    if not p.is_file():
        raise CheckpointError(str(p), "no such file")
    obj = _load(p)
    while isinstance(obj, dict):
        inner = next((obj[k] for k in WRAPPERS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    items = obj.items() if isinstance(obj, dict) else ()
    tensors = {k: v for k, v in items if isinstance(k, str) and isinstance(v, Tensor)}
    if not tensors:
        raise CheckpointError(str(p), f"holds no named tensors (a {type(obj).__name__}, not a state dict)")
    return tensors


def _renamers(model: nn.Module) -> list[Callable[[str], str]]:
    """Key renamings to try: none, ``N.rest`` -> ``<N-th child>.rest`` (lightly's Sequential of children), and
    cl_core's earlier hand-written ResNet-18 (``features.4.body.0.weight``) -> torchvision's."""
    children = [name for name, _ in model.named_children()]

    def by_index(key: str) -> str:
        head, _, rest = key.partition(".")
        return f"{children[int(head)]}.{rest}" if head.isdigit() and int(head) < len(children) else key

    def legacy(key: str) -> str:
        return (legacy_resnet18_key(key) or key).removeprefix("net.")

    return [lambda key: key, by_index, legacy]


def _best_prefix(keys: list[str], target: dict[str, Tensor], renamers: list[Callable]) -> tuple[str, int, int]:
    """(prefix, renamer index, matches) under which most of ``keys`` are ``target``'s; ties go to the first met."""
    found: dict[tuple[str, int], list[int]] = {}  # (prefix, renamer) -> [matches, first key's index]
    for order, key in enumerate(keys):
        for cut in [0] + [i + 1 for i, c in enumerate(key) if c == "."]:
            for r, rename in enumerate(renamers):
                if rename(key[cut:]) in target:
                    found.setdefault((key[:cut], r), [0, order])[0] += 1
    if not found:
        return "", 0, 0
    (prefix, r), (count, _) = max(found.items(), key=lambda kv: (kv[1][0], -kv[1][1], -kv[0][1]))
    return prefix, r, count


def fit_state_dict(source: dict[str, Tensor], model: nn.Module, name: str) -> tuple[dict[str, Tensor], list[str]]:
    """``source`` renamed to ``model``'s keys, and the classifier keys dropped; CheckpointError unless it fits.

    A missing ``num_batches_tracked`` is allowed (older checkpoints lack it); anything else missing,
    unexpected or of another shape is reported with the first few keys and the counts.
    """
    target = model.state_dict()
    renamers = _renamers(model)
    prefix, r, count = _best_prefix(list(source), target, renamers)
    if not count:
        why = f"no key fits the backbone (the file has {_few(list(source))}; it expects {_few(list(target))})"
        raise CheckpointError(name, why)
    state, dropped = {}, []
    for key, value in source.items():
        new = renamers[r](key[len(prefix) :]) if key.startswith(prefix) else None
        if new is not None and new not in target and new.split(".")[0] in HEADS:
            dropped.append(new)
        elif new is not None:
            state[new] = value
    missing = [k for k in target if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in target]
    shapes = [k for k in state if k in target and state[k].shape != target[k].shape]
    if missing or unexpected or shapes:
        raise CheckpointError(name, _mismatch(prefix, missing, unexpected, shapes, state, target))
    return state, dropped


def _mismatch(prefix: str, missing: list, unexpected: list, shapes: list, state: dict, target: dict) -> str:
    parts = [f"{len(missing)} missing ({_few(missing)})"] if missing else []
    parts += [f"{len(unexpected)} unexpected ({_few(unexpected)})"] if unexpected else []
    if shapes:
        sizes = (f"{k} {tuple(state[k].shape)} in the file, {tuple(target[k].shape)} here" for k in shapes[:3])
        parts.append(f"{len(shapes)} of another shape ({', '.join(sizes)})")
    hint = "; the stems differ: set train.cifar_stem to the checkpoint's" if "conv1.weight" in shapes else ""
    under = f" (keys read under {prefix!r})" if prefix else ""
    return f"does not fit the backbone{under}: {'; '.join(parts)}{hint}"


def init_backbone(method: nn.Module, path: str | Path) -> str:
    """Load ``path`` into ``method.backbone`` and its momentum copies (MoCo's key encoder, BYOL's target).

    Returns a one-line note of what was loaded and what was dropped.
    """
    backbone = method.backbone
    inner = getattr(backbone, "net", backbone)  # a LibraryBackbone's keys are the library model's
    state, dropped = fit_state_dict(read_state_dict(path), inner, str(path))
    inner.load_state_dict(state, strict=False)  # fit_state_dict checked every key but num_batches_tracked
    for m in method.modules():
        if m is not backbone and type(m) is type(backbone):
            m.load_state_dict(backbone.state_dict())
    note = f"{path}: {len(state)} tensors into the backbone"
    return note + (f"; dropped {len(dropped)} classifier tensors ({_few(dropped)})" if dropped else "")


def run_meta(source: str | Path) -> dict[str, str]:
    """A run's backbone settings (backbone, width, cifar_stem) from the config.json beside its model.pt."""
    p = Path(source)
    train = (read_json((p if p.is_dir() else p.parent) / "config.json") or {}).get("train", {})
    return {k: str(train[k]) for k in ("backbone", "width", "cifar_stem") if k in train}


def export_backbone(source: str | Path, out: str | Path) -> dict[str, Tensor]:
    """Write a cl_core run's backbone (its folder or model.pt) with the library's key names; returns the state.

    ``backbone.`` and ``net.`` are stripped, so for a torchvision backbone ``torchvision.models.resnet18()``
    with ``fc = nn.Identity()`` (and the same stem) loads it with ``strict=True``. ``.safetensors`` by
    extension (the run's backbone settings as metadata), anything else a ``torch.save`` of the plain dict.
    """
    state = read_state_dict(source)
    inner = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    inner = {legacy_resnet18_key(k) or k: v for k, v in inner.items()}  # a run of the earlier ResNet-18
    if not inner:
        raise CheckpointError(str(source), "has no backbone.* tensors: not a cl_core run's model.pt")
    if all(k.startswith("net.") for k in inner):
        inner = {k.removeprefix("net."): v for k, v in inner.items()}
    out = Path(out)
    if out.suffix == ".safetensors":
        from safetensors.torch import save

        data = save({k: v.contiguous() for k, v in inner.items()}, metadata=run_meta(source))
    else:
        buf = io.BytesIO()
        torch.save(inner, buf)
        data = buf.getvalue()
    atomic_write_bytes(out, data)
    return inner
