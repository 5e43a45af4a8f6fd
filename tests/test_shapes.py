import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from cl_core.shapes import SHAPE_CLASSES, make_shapes

N = 2400  # 300 per class


@pytest.fixture(scope="module")
def shapes() -> tuple[np.ndarray, np.ndarray]:
    return make_shapes(N, seed=1)


def _fg_bg(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background = corner pixel (the shape stays inside its disc), foreground = the pixel furthest from it, mask."""
    x = images.astype(np.float32)
    bg = x[:, 0, 0, :]  # (N, 3)
    dist = np.abs(x - bg[:, None, None, :]).sum(-1)  # (N, H, W)
    flat = dist.reshape(len(x), -1).argmax(1)
    fg = x.reshape(len(x), -1, 3)[np.arange(len(x)), flat]
    mask = dist > 0.5 * dist.max(axis=(1, 2), keepdims=True)
    return fg, bg, mask


def _shape_features(mask: np.ndarray) -> np.ndarray:
    """Translation-, scale- and rotation-invariant descriptors: radial histogram around the centroid, hole."""
    size = mask.shape[1]
    yy, xx = np.mgrid[:size, :size]
    feats = []
    for m in mask:
        area = m.sum()
        cy, cx = yy[m].mean(), xx[m].mean()
        d = np.hypot(yy[m] - cy, xx[m] - cx) / np.sqrt(area)
        hist = np.histogram(d, bins=8, range=(0, 1.2))[0] / area
        feats.append(np.r_[hist, m[round(cy), round(cx)], d.max(), d.std()])
    return np.array(feats)


def _holdout_accuracy(features: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    split = 2 * len(labels) // 3
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pred = clf.fit(features[:split], labels[:split]).predict(features[split:])
    recall = np.array([(pred[labels[split:] == c] == c).mean() for c in range(len(SHAPE_CLASSES))])
    return float((pred == labels[split:]).mean()), recall


def test_make_shapes_returns_uint8_rgb_images_and_int64_labels(shapes):
    images, labels = shapes
    assert images.shape == (N, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (N,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(len(SHAPE_CLASSES)))
    assert {"circle", "square", "triangle", "star", "cross", "ring"} <= set(SHAPE_CLASSES)


def test_same_seed_gives_same_bytes_and_another_seed_differs():
    a, la = make_shapes(64, seed=3)
    b, lb = make_shapes(64, seed=3)
    c, _ = make_shapes(64, seed=4)
    assert a.tobytes() == b.tobytes() and np.array_equal(la, lb)
    assert a.tobytes() != c.tobytes()


def test_classes_are_balanced():
    _, labels = make_shapes(1003, size=8)
    counts = np.bincount(labels, minlength=len(SHAPE_CLASSES))
    assert counts.max() - counts.min() <= 1


def test_size_option_sets_the_image_side():
    images, _ = make_shapes(5, size=48)
    assert images.shape == (5, 48, 48, 3)
    assert make_shapes(0)[0].shape == (0, 32, 32, 3)


def test_shape_always_contrasts_with_background(shapes):
    fg, bg, mask = _fg_bg(shapes[0])
    # measured over make_shapes seeds 1-5 (numpy only: torch threads play no part): contrast >= 90-94, areas
    # 0.038-0.040 to 0.51-0.52; the bounds 80, 0.02 and 0.7 leave >10, >0.018 and >0.18
    assert np.abs(fg - bg).max(axis=1).min() >= 80  # one light and one dark colour
    area = mask.mean(axis=(1, 2))
    assert area.min() > 0.02 and area.max() < 0.7


def test_colour_carries_no_class_information(shapes):
    fg, bg, _ = _fg_bg(shapes[0])
    accuracy, _ = _holdout_accuracy(np.concatenate([fg, bg], axis=1), shapes[1])
    assert accuracy < 0.2  # chance is 1/8; seeds 1-5 gave 0.104-0.136, >0.064 below the bound


def test_every_shape_class_is_recognisable_from_its_silhouette(shapes):
    _, _, mask = _fg_bg(shapes[0])
    accuracy, recall = _holdout_accuracy(_shape_features(mask), shapes[1])
    # seeds 1-5: accuracy 0.959-0.974, worst class recall 0.886-0.925; 0.85 and 0.6 leave >0.10 and >0.28
    assert accuracy > 0.85
    assert recall.min() > 0.6, dict(zip(SHAPE_CLASSES, recall.round(2)))
