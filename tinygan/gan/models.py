"""Generators and discriminators built from fully connected layers, and a model registry.

* ``MLPGenerator``: noise z (N, z_dim) -> sample (N, *data_shape).
* ``MLPDiscriminator``: sample (N, *data_shape) -> one raw score per sample (N, 1): a LOGIT
  (no Sigmoid at the end); the losses in ``tinygan.gan.losses`` work on logits, which is
  numerically safe (see there).
* Conditional versions (Mirza & Osindero 2014): pass ``num_classes``; then G(z, labels) and
  D(x, labels) concatenate a one-hot code of the labels to their input.

``MODELS`` maps a name (the CLI's ``--model``) to a builder ``(data, z_dim, num_classes,
generator, **options) -> (G, D)``. A new family (DCGAN, say) is one more entry.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from tinygan.engine import functional as F
from tinygan import nn
from tinygan.data.registry import DATASETS
from tinygan.nn import init
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor

#: The shape of one sample of each dataset the CLI knows (from the data registry).
DATA_SHAPES: dict[str, tuple[int, ...]] = {name: d.shape for name, d in DATASETS.items()}


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)   # DCGAN's slope (Radford et al. 2015)
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}: choose relu, leaky_relu or tanh")


def _with_labels(module: nn.Module, x: Tensor, labels: Any) -> Tensor:
    """Flatten x to (N, features) and, for a conditional model, append one-hot labels."""
    x = x.reshape(x.shape[0], -1)
    if module.num_classes:
        if labels is None:
            raise ValueError(f"{type(module).__name__} is conditional on {module.num_classes} "
                             f"classes: call it with labels, e.g. model(x, labels)")
        code = F.one_hot(labels, module.num_classes).to(x.dtype)
        if code.shape[0] != x.shape[0]:
            raise ValueError(f"{type(module).__name__}: {x.shape[0]} inputs but "
                             f"{code.shape[0]} labels")
        x = F.concatenate([x, code], axis=1)
    elif labels is not None:
        raise ValueError(f"{type(module).__name__} is unconditional (num_classes=0) but got "
                         f"labels")
    return x


class MLPGenerator(nn.Module):
    """G: z (N, z_dim) [, labels (N,)] -> x (N, *out_shape).

    Linear -> [BatchNorm1d] -> activation for each hidden width, then a Linear to the data
    size and ``out_activation`` (Tanh for pixels in [-1, 1], none for unbounded toy data).
    """

    def __init__(self, z_dim: int, out_shape: Sequence[int], hidden: Sequence[int] = (128, 128),
                 activation: str = "relu", out_activation: str | None = None,
                 batchnorm: bool = False, num_classes: int = 0,
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        self.num_classes = num_classes
        layers: list[nn.Module] = []
        width = z_dim + num_classes
        for h in hidden:
            layers.append(nn.Linear(width, h, bias=not batchnorm, generator=generator))
            if batchnorm:   # BN's own shift makes the Linear bias redundant
                layers.append(nn.BatchNorm1d(h))
            layers.append(_activation(activation))
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape), generator=generator))
        if out_activation is not None:
            layers.append(_activation(out_activation))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, labels: Any = None) -> Tensor:
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"{type(self).__name__}: noise must have shape (N, {self.z_dim}), "
                             f"got {z.shape}")
        x = self.net(_with_labels(self, z, labels))
        return x.reshape((x.shape[0],) + self.out_shape)


class MLPDiscriminator(nn.Module):
    """D: x (N, *in_shape) [, labels (N,)] -> logits (N, 1).

    Linear -> activation [-> Dropout] for each hidden width (or Maxout units with
    ``maxout_pieces``, the original GAN's and PacGAN's choice), then a Linear to one logit.
    No Sigmoid.

    ``pack`` = m > 1 makes it PacGAN's packed discriminator (Lin et al. 2018): it judges m
    samples at once, all real or all fake, concatenated into one input, and returns
    (N / m, 1) logits. A generator that drops modes makes packs that look too alike, which
    a packed D can see and a one-sample D cannot; the GAN losses need no change.
    """

    def __init__(self, in_shape: Sequence[int], hidden: Sequence[int] = (128, 128),
                 activation: str = "leaky_relu", maxout_pieces: int | None = None,
                 num_classes: int = 0, pack: int = 1, dropout: float = 0.0,
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.in_shape, self.num_classes, self.pack = tuple(in_shape), num_classes, pack
        if pack < 1:
            raise ValueError(f"MLPDiscriminator: pack must be >= 1, got {pack}")
        layers: list[nn.Module] = []
        width = pack * (math.prod(self.in_shape) + num_classes)
        for h in hidden:
            if maxout_pieces:
                layers.append(nn.Maxout(width, h, maxout_pieces, generator=generator))
            else:
                layers += [nn.Linear(width, h, generator=generator), _activation(activation)]
            if dropout:   # makes D's job noisier, so it cannot memorise a small data set
                layers.append(nn.Dropout(dropout, generator=generator))
            width = h
        layers.append(nn.Linear(width, 1, generator=generator))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, labels: Any = None) -> Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"{type(self).__name__}: input must have shape (N, "
                             f"{', '.join(map(str, self.in_shape))}), got {x.shape}")
        x = _with_labels(self, x, labels)
        if self.pack > 1:
            if x.shape[0] % self.pack:
                raise ValueError(f"{type(self).__name__}: a batch of {x.shape[0]} cannot be cut "
                                 f"into packs of {self.pack}")
            x = x.reshape(x.shape[0] // self.pack, -1)   # rows i*m .. i*m+m-1 form pack i
        return self.net(x)


# ---- architectures -------------------------------------------------------------------
def mnist_mlp(z_dim: int = 100, num_classes: int = 0, generator: Generator | None = None
              ) -> tuple[MLPGenerator, MLPDiscriminator]:
    """The seed documents' MNIST GAN: G 100-256-512-1024-784 (ReLU, Tanh out), viewed as
    (N, 1, 28, 28); D 784-512-256-1 (LeakyReLU 0.2), ending in a logit.

    Two changes to the seed's script, both measured (``tinygan train --data mnist``): without
    them this GAN collapses onto one digit within 1,000 steps, in PyTorch as in tinygan.
    * G's Linear layers start from He (kaiming) normal weights, std sqrt(2 / fan_in), and
      zero biases. PyTorch's default init shrinks the signal by about sqrt(6) per ReLU layer,
      so at step 0 every z gives nearly the same image (per-pixel spread 0.03 instead of
      0.45), D's gradient pushes all samples the same way, and G never learns to use z.
    * D has Dropout(0.3) after each LeakyReLU (as the seed's convolutional D does), so D
      cannot memorise the 4,000-image offline training set.
    """
    G = MLPGenerator(z_dim, (1, 28, 28), (256, 512, 1024), "relu", "tanh",
                     num_classes=num_classes, generator=generator)
    for layer in G.modules():
        if isinstance(layer, nn.Linear):
            init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
            init.zeros_(layer.bias)
    D = MLPDiscriminator((1, 28, 28), (512, 256), "leaky_relu", num_classes=num_classes,
                         dropout=0.3, generator=generator)
    return G, D


def toy_mlp(data_shape: Sequence[int], z_dim: int, num_classes: int = 0,
            generator: Generator | None = None, hidden_g: Sequence[int] = (128, 128, 128),
            hidden_d: Sequence[int] = (128, 128, 128), pack: int = 1,
            activation_g: str = "relu", activation_d: str = "leaky_relu"
            ) -> tuple[MLPGenerator, MLPDiscriminator]:
    """Small MLPs for 1-D and 2-D toy data: by default a ReLU generator and a LeakyReLU
    discriminator. A ReLU generator is a piecewise-linear map, so the density it pushes
    forward jumps at every kink; ``activation_g="tanh"`` gives a smooth map, hence a smooth
    density (what the 1-D recipe uses, where D is compared with D* point by point)."""
    G = MLPGenerator(z_dim, data_shape, hidden_g, activation_g, None, num_classes=num_classes,
                     generator=generator)
    D = MLPDiscriminator(data_shape, hidden_d, activation_d, num_classes=num_classes,
                         pack=pack, generator=generator)
    return G, D


def pacgan_mlp(data_shape: Sequence[int] = (2,), z_dim: int = 2, num_classes: int = 0,
               generator: Generator | None = None) -> tuple[MLPGenerator, MLPDiscriminator]:
    """PacGAN's 2-D baseline (Lin et al. 2018, from the configuration of its public code):
    G: 4 hidden layers of 400 units, each Linear (no bias) -> BatchNorm -> ReLU, then a
    linear output; D: 3 Maxout layers of 200 units with 5 pieces, then a linear logit.
    Weights ~ N(0, 0.02^2), biases 0; trained with Adam(lr 1e-4, beta1 0.8), batch 100,
    2-D Gaussian noise. (Packing, i.e. D judging m samples at once, is not used here: this
    is the plain-GAN row of its Table 1.)"""
    G = MLPGenerator(z_dim, data_shape, (400,) * 4, "relu", None, batchnorm=True,
                     num_classes=num_classes, generator=generator)
    D = MLPDiscriminator(data_shape, (200,) * 3, maxout_pieces=5, num_classes=num_classes,
                         generator=generator)
    for module in (G, D):
        for name, p in module.named_parameters():
            if p.ndim == 2:
                init.normal_(p, 0.0, 0.02, generator=generator)
            elif not name.endswith(".weight"):   # Linear biases; BatchNorm's gamma stays 1
                init.zeros_(p)
    return G, D


def build_mlp(data: str, z_dim: int, num_classes: int = 0, generator: Generator | None = None,
              **options: Any) -> tuple[nn.Module, nn.Module]:
    """``--model mlp``: the seed's MLP for MNIST, a small MLP for the toy data."""
    if data == "mnist":
        return mnist_mlp(z_dim, num_classes, generator)
    return toy_mlp(data_shape_of(data), z_dim, num_classes, generator, **options)


def build_pacgan(data: str, z_dim: int, num_classes: int = 0,
                 generator: Generator | None = None, **options: Any
                 ) -> tuple[nn.Module, nn.Module]:
    """``--model pacgan``: PacGAN's 2-D architecture (for ring and grid)."""
    if data not in ("ring", "grid", "gauss1d"):
        raise ValueError(f"model 'pacgan' is for the toy data (ring, grid, gauss1d), not {data!r}")
    return pacgan_mlp(data_shape_of(data), z_dim, num_classes, generator)


from tinygan.gan.dcgan import build_dcgan  # noqa: E402  (the DCGAN lives in gan/dcgan.py)

MODELS: dict[str, Callable[..., tuple[nn.Module, nn.Module]]] = {
    "mlp": build_mlp,
    "pacgan": build_pacgan,
    "dcgan": build_dcgan,
}


def data_shape_of(data: str) -> tuple[int, ...]:
    if data not in DATA_SHAPES:
        raise ValueError(f"unknown data {data!r}: choose one of {', '.join(DATA_SHAPES)}")
    return DATA_SHAPES[data]


def build_models(model: str, data: str, z_dim: int, num_classes: int = 0,
                 generator: Generator | None = None, **options: Any
                 ) -> tuple[nn.Module, nn.Module]:
    """(G, D) for ``--model`` name ``model`` on dataset ``data``."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: choose one of {', '.join(MODELS)}")
    return MODELS[model](data, z_dim, num_classes, generator, **options)
