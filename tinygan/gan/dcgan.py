"""DCGAN for 28x28 MNIST (Radford, Metz & Chintala 2015, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks").

The paper's guidelines, and where each one appears below:

* no pooling: D downsamples with stride-2 convolutions, G upsamples with stride-2
  transposed convolutions (k=4, s=2, p=1 exactly halves / doubles the size);
* BatchNorm in both networks, except at G's output and D's input;
* ReLU in G, with Tanh at the output (pixels in [-1, 1]); LeakyReLU(0.2) in D;
* every weight drawn from N(0, 0.02^2) (``dcgan_init_``); trained with Adam, lr 2e-4,
  beta1 0.5 (the trainer's job).

The layout follows the seed document's Keras example (Dense -> Reshape -> transposed
convolutions; a strided-convolution D with Dropout), sized for 28x28 digits, C = base_channels:

    G: z (N, z_dim) -> Linear -> (N, 2C*7*7) -> reshape (N, 2C, 7, 7) -> BN, ReLU
       -> ConvT(2C, 2C, k3 s1 p1) -> (N, 2C, 7, 7)   -> BN, ReLU
       -> ConvT(2C, C,  k4 s2 p1) -> (N, C, 14, 14)  -> BN, ReLU
       -> ConvT(C, 1,   k4 s2 p1) -> (N, 1, 28, 28)  -> Tanh
    D: x (N, 1, 28, 28)
       -> Conv(1, C,  k4 s2 p1) -> (N, C, 14, 14) -> LeakyReLU 0.2, Dropout
       -> Conv(C, 2C, k4 s2 p1) -> (N, 2C, 7, 7)  -> BN, LeakyReLU 0.2, Dropout
       -> flatten (N, 2C*7*7) -> Linear -> (N, 1) logits (no Sigmoid: use BCE with logits)

A layer followed by BatchNorm has no bias: BN subtracts the mean, which would cancel it.
For a WGAN-GP critic pass ``batchnorm=False`` (Gulrajani et al. 2017: the penalty is per
sample, and BatchNorm mixes the samples of a batch).
"""
from __future__ import annotations

from typing import Any

from tinygan import nn
from tinygan.nn import init
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor

IMAGE_SHAPE = (1, 28, 28)


def dcgan_init_(module: nn.Module, generator: Generator | None = None) -> nn.Module:
    """The paper's initialisation, in place: conv and linear weights ~ N(0, 0.02^2) and their
    biases 0; BatchNorm scales ~ N(1, 0.02^2) and shifts 0 (the PyTorch DCGAN example's
    reading of it). Returns the module."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            init.normal_(m.weight, 0.0, 0.02, generator=generator)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine:
            init.normal_(m.weight, 1.0, 0.02, generator=generator)
            init.zeros_(m.bias)
    return module


class DCGANGenerator(nn.Module):
    """G: z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int = 100, base_channels: int = 64,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if z_dim < 1 or base_channels < 1:
            raise ValueError(f"DCGANGenerator: z_dim and base_channels must be positive, got "
                             f"{z_dim} and {base_channels}")
        self.z_dim, self.base_channels = z_dim, base_channels
        c = base_channels
        g = dict(generator=generator)
        self.project = nn.Sequential(                     # the "Dense -> Reshape" of the seed
            nn.Linear(z_dim, 2 * c * 7 * 7, bias=False, **g),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.BatchNorm2d(2 * c), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * c, 2 * c, 3, 1, 1, bias=False, **g),    # 7x7 -> 7x7
            nn.BatchNorm2d(2 * c), nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False, **g),        # 7x7 -> 14x14
            nn.BatchNorm2d(c), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, 2, 1, **g),                        # 14x14 -> 28x28
            nn.Tanh())
        dcgan_init_(self, generator)

    def forward(self, z: Tensor) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGANGenerator: noise must have shape (N, {self.z_dim}), got "
                             f"{z.shape}")
        return self.upsample(self.project(z))

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, base_channels={self.base_channels}"


class DCGANDiscriminator(nn.Module):
    """D: images (N, 1, 28, 28) -> logits (N, 1)."""

    def __init__(self, base_channels: int = 64, dropout: float = 0.3, batchnorm: bool = True,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if base_channels < 1:
            raise ValueError(f"DCGANDiscriminator: base_channels must be positive, got "
                             f"{base_channels}")
        self.base_channels, self.dropout, self.batchnorm = base_channels, dropout, batchnorm
        c = base_channels
        g = dict(generator=generator)
        self.features = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1, **g),                    # 28x28 -> 14x14, no BN here
            nn.LeakyReLU(0.2), nn.Dropout(dropout, generator=generator),
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not batchnorm, **g),          # 14x14 -> 7x7
            nn.BatchNorm2d(2 * c) if batchnorm else nn.Identity(),
            nn.LeakyReLU(0.2), nn.Dropout(dropout, generator=generator))
        self.classify = nn.Sequential(nn.Flatten(), nn.Linear(2 * c * 7 * 7, 1, **g))
        dcgan_init_(self, generator)

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"DCGANDiscriminator: input must have shape (N, 1, 28, 28), got "
                             f"{x.shape}")
        return self.classify(self.features(x))

    def extra_repr(self) -> str:
        return (f"base_channels={self.base_channels}, dropout={self.dropout}, "
                f"batchnorm={self.batchnorm}")


def build_dcgan(data: str, z_dim: int = 100, num_classes: int = 0,
                generator: Generator | None = None, base_channels: int = 64,
                dropout: float = 0.3, batchnorm: bool = True, **options: Any
                ) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """``--model dcgan``: (G, D) for 28x28 MNIST (the registry's builder signature)."""
    if data != "mnist":
        raise ValueError(f"model 'dcgan' is for 28x28 images (--data mnist), not {data!r}")
    if num_classes:
        raise ValueError("model 'dcgan' is unconditional: use it without class labels")
    if options:
        raise ValueError(f"model 'dcgan': unknown options {sorted(options)}; it accepts "
                         f"base_channels, dropout and batchnorm")
    G = DCGANGenerator(z_dim, base_channels, generator)
    D = DCGANDiscriminator(base_channels, dropout, batchnorm, generator)
    return G, D
