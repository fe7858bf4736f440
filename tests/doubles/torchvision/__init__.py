"""A test double for torchvision: only the parts GAN scripts use, with torchvision's API.

    datasets.MNIST(root, train=True, download=True, transform=...)   the offline MNIST sample
    transforms.Compose / ToTensor / Normalize / Resize / CenterCrop
    utils.save_image / utils.make_grid
    models.resnet18(weights=None)                                   built from the framework's nn

Tensors are made by the framework the script runs on: ``tinygan`` (the default) or ``torch``
(``torchvision.use_framework(torch)``, as the test harness does for the reference run).
``TORCHVISION_DOUBLE_MNIST_SIZE=N`` keeps the first N training images (a short epoch).
"""
from torchvision import datasets, models, transforms, utils
from torchvision._framework import use_framework

__version__ = "0.0-test-double"
__all__ = ["datasets", "models", "transforms", "utils", "use_framework"]
