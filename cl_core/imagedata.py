"""The ImageData bundle every loader returns (uint8 NHWC train/test splits, labels, class names) and DataError."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEST_FRACTION = 0.2  # the test share of sets that come without a split of their own (digits, image folders)


class DataError(ValueError):
    """A data set could not be loaded; the message says which file or folder and what to do."""


@dataclass(eq=False)  # arrays have no single truth value; compare fields explicitly
class ImageData:
    """Train/test images (N, H, W, 3) uint8 RGB with int64 labels (N,) or None, and the class names."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray | None
    test_images: np.ndarray
    test_labels: np.ndarray | None
    class_names: list[str]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
                raise DataError(
                    f"{self.name}: {split} images must be (N, H, W, 3) uint8, got {images.dtype} {images.shape}"
                )
            if labels is not None and labels.shape != (len(images),):
                raise DataError(f"{self.name}: {split} labels {labels.shape} do not match {len(images)} images")

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def describe(self) -> str:
        classes = f"{self.num_classes} classes" if self.train_labels is not None else "unlabelled"
        return (
            f"{self.name}: {len(self.train_images):,} train / {len(self.test_images):,} test, "
            f"{self.image_size}x{self.image_size} RGB, {classes}"
        )
