"""A run's snapshot as TensorBoard Embedding Projector files: the folder ``tensorboard --logdir DIR`` opens offline.

``projector_config.pbtxt`` names one embedding per space, the backbone features and (where they differ) the
projections z, each a TSV of one vector a line; both share ``metadata.tsv`` (a header row: index, label, class)
and ``sprite.png``, the probe images tiled row by row in a square grid of ceil(sqrt(N)) a side. The TSV and the
metadata also load as they are in projector.tensorflow.org ("Load").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cl_core.runs import Run

SPRITE_MAX = 8192  # pixels: the largest sprite side TensorBoard's projector takes
THUMB = 32  # pixels: the default side of one image in the sprite
CONFIG_NAME = "projector_config.pbtxt"  # the name TensorBoard's projector plugin looks for in a log directory


@dataclass
class ProjectorExport:
    """The files written: the folder, its config, {tensor name: TSV}, the metadata, and the sprite (None, with the
    reason in ``note``, when the probe images could not be found)."""

    folder: Path
    config: Path
    tensors: dict[str, Path]
    metadata: Path
    sprite: Path | None = None
    note: str = ""
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)


def sprite_image(images: np.ndarray, thumb: int = THUMB) -> tuple[np.ndarray, tuple[int, int]]:
    """(N, H, W, 3) uint8 images as one square grid of ceil(sqrt(N)) tiles a side, each image scaled (its aspect
    kept) so its longer side is ``thumb`` pixels, or less where the sprite would pass SPRITE_MAX. Returns the
    picture (rows * h, cols * w, 3) and the tile size (w, h)."""
    from PIL import Image

    n, h, w = images.shape[:3]
    cols = math.ceil(math.sqrt(n))
    side = min(thumb, SPRITE_MAX // cols)
    tw, th = max(1, round(w * side / max(h, w))), max(1, round(h * side / max(h, w)))
    resample = Image.Resampling.NEAREST if side >= max(h, w) else Image.Resampling.BOX  # crisp up, averaged down
    out = np.zeros((cols * th, cols * tw, 3), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[r * th : (r + 1) * th, c * tw : (c + 1) * tw] = np.asarray(Image.fromarray(img).resize((tw, th), resample))
    return out, (tw, th)


def probe_images(run: Run, snap: dict[str, np.ndarray], data_root: str | Path | None = None) -> np.ndarray | str:
    """The snapshot's probe images (N, H, W, 3) uint8: its own thumbnails (RunLogger's ``images``), else the test
    images of the run's data set at ``probe_index``; or, when neither can be had, the reason as a string."""
    if "images" in snap:
        return snap["images"]
    if run.config.get("external"):
        return "this run was logged from outside without images, so its snapshots hold none"
    from cl_core.data import DataError, load_data

    d = run.config.get("data", {})
    try:
        data = load_data(
            d.get("name", "digits"),
            root=d.get("root", "data") if data_root is None else data_root,
            image_size=d.get("image_size", 0),
            download=False,
            seed=run.config.get("train", {}).get("seed", 0),
        )
    except DataError as e:
        return f"the run's data set cannot be loaded here: {e}"
    idx = snap["probe_index"]
    if len(idx) and idx.max() >= len(data.test_images):
        return f"the run's data set has {len(data.test_images)} test images, fewer than its probe indices need"
    return data.test_images[idx]


def _metadata(path: Path, snap: dict[str, np.ndarray], names: list[str]) -> None:
    """metadata.tsv: a header row (the projector needs one with more than one column), then index, label, class."""
    lines = ["index\tlabel\tclass"]
    for idx, label in zip(snap["probe_index"], snap["labels"]):
        cls = names[int(label)] if 0 <= int(label) < len(names) else str(int(label))
        lines.append(f"{int(idx)}\t{int(label)}\t{' '.join(cls.split())}")  # no tab or newline inside a cell
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _config(e: ProjectorExport, tile: tuple[int, int] | None) -> str:
    """projector_config.pbtxt in protobuf text format, paths relative to the folder (TensorBoard resolves them
    against the config's own folder and refuses any outside it)."""
    blocks = []
    for name, path in e.tensors.items():
        lines = [f'  tensor_name: "{name}"', f'  tensor_path: "{path.name}"', f'  metadata_path: "{e.metadata.name}"']
        lines += [f"  tensor_shape: {d}" for d in e.shapes[name]]
        if e.sprite is not None and tile is not None:
            lines += ["  sprite {", f'    image_path: "{e.sprite.name}"']
            lines += [f"    single_image_dim: {d}" for d in tile] + ["  }"]
        blocks.append("embeddings {\n" + "\n".join(lines) + "\n}\n")
    return "".join(blocks)


def export_projector(
    run: Run,
    out_dir: str | Path,
    step: int | None = None,
    class_names: list[str] | None = None,
    thumb: int = THUMB,
    data_root: str | Path | None = None,
) -> ProjectorExport:
    """Write the snapshot at ``step`` (default: the last) as features.tsv, projections.tsv (when not the same
    vectors), metadata.tsv, sprite.png and projector_config.pbtxt into ``out_dir``."""
    from PIL import Image

    steps = run.snapshot_steps()
    if not steps:
        raise ValueError(f"run {run.id} has no snapshots to export")
    snap = run.snapshot(steps[-1] if step is None else step)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spaces = {"features": snap["features"]}
    if "projections" in snap and not np.array_equal(snap["projections"], snap["features"]):
        spaces["projections"] = snap["projections"]
    e = ProjectorExport(out, out / CONFIG_NAME, {k: out / f"{k}.tsv" for k in spaces}, out / "metadata.tsv")
    for name, vectors in spaces.items():
        np.savetxt(e.tensors[name], vectors, delimiter="\t", fmt="%.9g")  # 9 digits: float32 exactly
        e.shapes[name] = (int(vectors.shape[0]), int(vectors.shape[1]))
    _metadata(e.metadata, snap, class_names or run.status.get("class_names") or [])
    images, tile = probe_images(run, snap, data_root), None
    if isinstance(images, str):
        e.note = images
    else:
        picture, tile = sprite_image(images, thumb)
        e.sprite = out / "sprite.png"
        Image.fromarray(picture).save(e.sprite)
    e.config.write_text(_config(e, tile), encoding="utf-8")
    return e
