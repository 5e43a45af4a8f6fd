"""Deterministic synthetic shapes: the class is the shape; size, position, rotation and colours are nuisances.

Each image holds one anti-aliased shape (drawn at 4x, box-downsampled). Foreground and background colours are
drawn independently of the class, one light and one dark, so the shape is always visible but colour carries no
label information: a model trained without colour jitter can still latch onto it as a shortcut.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring", "hexagon", "heart")

_SUPERSAMPLE = 4
_SIZE_RANGE = (0.35, 0.8)  # shape diameter as a fraction of the image side
_RING_INNER = 0.55  # inner radius of the ring relative to the outer one


def _regular_polygon(k: int, phase: float = 0.0) -> np.ndarray:
    t = phase + 2 * np.pi * np.arange(k) / k
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _star(points: int = 5, inner: float = 0.42) -> np.ndarray:
    t = -np.pi / 2 + np.pi * np.arange(2 * points) / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross(half_width: float = 0.33) -> np.ndarray:
    w = half_width
    return np.array(
        [(w, 1), (w, w), (1, w), (1, -w), (w, -w), (w, -1), (-w, -1), (-w, -w), (-1, -w), (-1, w), (-w, w), (-w, 1)]
    )


def _heart(k: int = 48) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))  # image y points down
    pts = np.stack([x, y - (y.max() + y.min()) / 2], axis=1)
    return pts / np.abs(pts).max()


# unit outlines (K, 2) inside the unit disc; circle and ring are drawn as ellipses
_OUTLINES: dict[str, np.ndarray] = {
    "square": _regular_polygon(4, np.pi / 4),
    "triangle": _regular_polygon(3, -np.pi / 2),
    "star": _star(),
    "cross": _cross() / np.sqrt(1 + 0.33**2),
    "hexagon": _regular_polygon(6),
    "heart": _heart(),
}


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, all inputs in [0, 1], shape (N,) -> (N, 3)."""
    i = np.floor(h * 6).astype(np.int64) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)])  # (6, 3, N)
    return table[i, :, np.arange(len(h))]


def _colours(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent random foreground/background colours (N, 3) in [0, 1], one light and one dark."""
    light = _hsv_to_rgb(rng.random(n), rng.uniform(0.3, 1.0, n), rng.uniform(0.75, 1.0, n))
    dark = _hsv_to_rgb(rng.random(n), rng.uniform(0.3, 1.0, n), rng.uniform(0.05, 0.4, n))
    fg_light = rng.random(n) < 0.5
    fg = np.where(fg_light[:, None], light, dark)
    bg = np.where(fg_light[:, None], dark, light)
    return fg, bg


def _draw_mask(shape: str, side: int, cx: float, cy: float, r: float, angle: float) -> np.ndarray:
    """Binary shape drawn on a (side, side) canvas, returned box-downsampled by _SUPERSAMPLE as uint8 coverage."""
    img = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(img)
    if shape in ("circle", "ring"):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        if shape == "ring":
            ri = r * _RING_INNER
            draw.ellipse((cx - ri, cy - ri, cx + ri, cy + ri), fill=0)
    else:
        c, s = np.cos(angle), np.sin(angle)
        pts = _OUTLINES[shape] @ np.array([[c, s], [-s, c]]) * r + (cx, cy)
        draw.polygon([tuple(p) for p in pts.tolist()], fill=255)
    return np.asarray(img.reduce(_SUPERSAMPLE))


def make_shapes(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate n images of one random shape each; same seed, same bytes.

    Args:
        n: number of images; classes are balanced (counts differ by at most one).
        size: image side in pixels.
        seed: seed of the numpy PCG64 generator that draws every random choice.

    Returns:
        images (n, size, size, 3) uint8 RGB and labels (n,) int64 indexing SHAPE_CLASSES.
    """
    if n < 0 or size < 4:
        raise ValueError(f"make_shapes needs n >= 0 and size >= 4, got n={n}, size={size}")
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    side = size * _SUPERSAMPLE
    radius = rng.uniform(*_SIZE_RANGE, n) * side / 2
    cx = radius + rng.random(n) * (side - 2 * radius)  # the shape's bounding disc stays inside the image
    cy = radius + rng.random(n) * (side - 2 * radius)
    angle = rng.uniform(0, 2 * np.pi, n)
    fg, bg = _colours(rng, n)

    masks = np.empty((n, size, size), np.uint8)
    for i in range(n):
        masks[i] = _draw_mask(SHAPE_CLASSES[labels[i]], side, cx[i], cy[i], radius[i], angle[i])
    fg8, bg8 = (np.rint(255 * c).astype(np.uint16)[:, None, None, :] for c in (fg, bg))  # (N, 1, 1, 3)
    m = masks[..., None].astype(np.uint16)  # (N, H, W, 1) coverage 0..255
    return ((m * fg8 + (255 - m) * bg8 + 127) // 255).astype(np.uint8), labels
