"""Gradient penalties on the discriminator: terms of D's loss that contain D's gradient
with respect to its input, so training D on them differentiates twice
(``grad(..., create_graph=True)``, then ``backward``). Any loss can carry one.

    WGAN-GP  lambda E[(||grad_x D(x_hat)||_2 - 1)^2]  on interpolates x_hat
             (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", NeurIPS)
    R1       gamma/2 E_{x ~ p_data}[||grad_x D(x)||^2]   on real data
    R2       gamma/2 E_{x ~ p_G}[||grad_x D(x)||^2]      on generated data
             (Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do
             actually Converge?", ICML)

R1 and R2 are *zero-centred*: at the equilibrium p_G = p_data an ideal D is constant on
the data, its gradient there is 0, so the penalty is 0 at the equilibrium and does not move
it; pushing the gradient towards 0 damps D's rotation around the equilibrium. WGAN-GP pulls
the norm towards 1 instead, which an equilibrium D need not have (chapter 14).

Each penalty object is called as ``penalty(D, real, fake, generator) -> scalar``, the
same signature as ``GANLoss.penalty``; ``fake`` must be detached (D's step only).
"""
from __future__ import annotations

from typing import Callable

from tinygan.engine import functional as F
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor, grad

Critic = Callable[[Tensor], Tensor]


def input_gradients(D: Critic, x: Tensor) -> Tensor:
    """grad_x D(x) with a graph (create_graph=True), one row per output of D.

    x: (N, ...) -> (M, N*.../M) where M = D(x).shape[0]: row i is d D(x)_i / d (the inputs
    D's output i sees). M = N for an ordinary D; PacGAN's packed D has one output per pack
    of m consecutive samples, and row j then holds the gradient over the whole pack.
    """
    x = x.detach().requires_grad_(True)
    out = D(x)
    (g,) = grad(out.sum(), x, create_graph=True)   # D's outputs do not mix rows of x
    return g.reshape(out.shape[0], -1)


def gradient_penalty(D: Critic, real: Tensor, fake: Tensor, generator: Generator) -> Tensor:
    """WGAN-GP's E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates x_hat (one e per
    sample). real, fake: (N, ...) with the same shape. Returns a scalar whose graph reaches
    D's parameters."""
    if real.shape != fake.shape:
        raise ValueError(f"gradient_penalty: real {real.shape} and fake {fake.shape} differ")
    n = real.shape[0]
    e_shape = (n,) + (1,) * (real.ndim - 1)        # one mixing weight per sample
    e = Tensor(generator.uniform(e_shape, dtype=real.dtype, device=real.device))
    x_hat = e * real.detach() + (1 - e) * fake.detach()
    g = input_gradients(D, x_hat)
    # a tiny constant under the root keeps d||g||/dg finite where g = 0
    norm = F.sqrt((g * g).sum(axis=1) + 1e-12)
    return ((norm - 1) ** 2).mean()


def zero_centred_penalty(D: Critic, x: Tensor) -> Tensor:
    """E[||grad_x D(x)||^2] over the rows of x (no square root, so no epsilon needed:
    the gradient of ||g||^2 is 2g, finite everywhere)."""
    g = input_gradients(D, x)
    return (g * g).sum(axis=1).mean()


class Penalty:
    """The interface: ``weight`` times a term computed from D, real and fake batches."""

    name = "base"

    def __init__(self, weight: float) -> None:
        if weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be >= 0, got {weight}")
        self.weight = weight

    def __call__(self, D: Critic, real: Tensor, fake: Tensor, generator: Generator) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weight={self.weight})"


class R1Penalty(Penalty):
    """gamma/2 E_real[||grad_x D(x)||^2], gamma = ``weight`` (Mescheder et al. 2018)."""

    name = "r1"

    def __call__(self, D: Critic, real: Tensor, fake: Tensor, generator: Generator) -> Tensor:
        return 0.5 * self.weight * zero_centred_penalty(D, real)


class R2Penalty(Penalty):
    """gamma/2 E_fake[||grad_x D(x)||^2], gamma = ``weight`` (Mescheder et al. 2018)."""

    name = "r2"

    def __call__(self, D: Critic, real: Tensor, fake: Tensor, generator: Generator) -> Tensor:
        return 0.5 * self.weight * zero_centred_penalty(D, fake)


class InterpolatePenalty(Penalty):
    """WGAN-GP's penalty, lambda = ``weight``, added to any loss (Gulrajani et al. 2017)."""

    name = "gp"

    def __call__(self, D: Critic, real: Tensor, fake: Tensor, generator: Generator) -> Tensor:
        return self.weight * gradient_penalty(D, real, fake, generator)


PENALTIES: dict[str, type[Penalty]] = {"r1": R1Penalty, "r2": R2Penalty,
                                       "gp": InterpolatePenalty}


def get_penalty(name: str, weight: float) -> Penalty:
    """A penalty object by name: one of ``PENALTIES``."""
    if name not in PENALTIES:
        raise ValueError(f"unknown penalty {name!r}: choose one of {', '.join(PENALTIES)}")
    return PENALTIES[name](weight)
