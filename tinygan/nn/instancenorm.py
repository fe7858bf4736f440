"""Instance normalisation (Ulyanov, Vedaldi & Lempitsky 2016, "Instance Normalization: The
Missing Ingredient for Fast Stylization", arXiv:1607.08022).

Each image's channel is normalised with its own statistics, over its pixels only:

    y[n, c] = (x[n, c] - mu[n, c]) / sqrt(var[n, c] + eps) * gamma[c] + beta[c]

with mu[n, c] and the biased var[n, c] taken over H x W. Unlike BatchNorm, nothing is shared
between the images of a batch, so a generated image does not depend on its batch mates:
the reason image-to-image GANs (pix2pix's and CycleGAN's generators) use it.

It is BatchNorm on a reshaped tensor, which is how PyTorch computes it and how tinygan does:
(N, C, H, W) seen as one image of N * C channels, (1, N * C, H, W), has per-channel
statistics that are exactly the per-(image, channel) ones; gamma and beta are repeated N
times to match. The BatchNorm code (and its float32 rounding, PyTorch's) does the rest.
Running statistics (``track_running_stats=True``) are updated per (image, channel) and then
averaged over the images, as PyTorch does.

Defaults differ from BatchNorm's, as in PyTorch: ``affine=False`` and
``track_running_stats=False`` (so evaluation mode also uses each image's own statistics).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygan.engine.tensor import Tensor, no_grad
from tinygan.nn.batchnorm import _BatchNorm, batch_norm


def instance_norm(input: Tensor, running_mean: Tensor | None = None,  # noqa: A002
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch.nn.functional.instance_norm: input (N, C, ...) -> like input, each (n, c)
    normalised over its own spatial dims (see the module text)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"instance_norm: expected an input of at least 2 dims (N, C, ...), "
                         f"got shape {input.shape}")
    if use_input_stats and int(np.prod(input.shape[2:])) == 1:   # (0 pixels pass, as PyTorch)
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    folded = input.contiguous().reshape((1, n * c) + input.shape[2:])

    def repeated(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.repeat(n)

    stats = [None if t is None else Tensor(t.array.copy()).repeat(n)
             for t in (running_mean, running_var)]   # per (image, channel), updated below
    y = batch_norm(folded, stats[0], stats[1], repeated(weight), repeated(bias),
                   use_input_stats, momentum, eps, who="instance_norm")
    if use_input_stats:
        with no_grad():   # the running statistics: their average over the images
            for kept, per_image in zip((running_mean, running_var), stats):
                if kept is not None:
                    kept.array[...] = per_image.array.reshape(n, c).mean(axis=0)
                    kept._bump_version()
    return y.reshape(input.shape)


class _InstanceNorm(_BatchNorm):
    """BatchNorm's parameters and buffers (gamma, beta, running statistics), with instance
    normalisation's defaults and its own forward."""
    spatial_dims = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        unbatched = self.spatial_dims + 1
        if x.ndim not in (unbatched, unbatched + 1):
            raise ValueError(f"expected {unbatched}D or {unbatched + 1}D input (got "
                             f"{x.ndim}D input)")
        feature_dim = x.ndim - unbatched
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{x.shape[feature_dim]}.")
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. "
                          f"You can silence this warning by not passing in num_features, "
                          f"which is not used because affine=False", stacklevel=2)
        if x.ndim == unbatched:   # one image: as a batch of one
            return self.forward(x.unsqueeze(0)).squeeze(0)
        return instance_norm(x, getattr(self, "running_mean", None),
                             getattr(self, "running_var", None), getattr(self, "weight", None),
                             getattr(self, "bias", None),
                             self.training or not self.track_running_stats,
                             self.momentum if self.momentum is not None else 0.0, self.eps)


class InstanceNorm1d(_InstanceNorm):
    """Normalises each channel of each (C, L) sequence of an (N, C, L) batch."""
    spatial_dims = 1


class InstanceNorm2d(_InstanceNorm):
    """Normalises each channel of each image of an (N, C, H, W) batch over its pixels."""
    spatial_dims = 2
