"""Toy distributions where we can see (and count) what a GAN learns.

* ``gaussian_1d``: the 1-D setting of Figure 1 in Goodfellow et al. 2014, data ~ N(mu, sigma^2).
* ``sample_ring``: 8 Gaussians on the unit circle, std 0.01 (PacGAN's "2D-ring").
* ``sample_grid``: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (PacGAN's "2D-grid").

Both 2-D mixtures use PacGAN's coordinates (Lin et al. 2018) so the mode-coverage numbers
compare with its Table 1. Each sample picks a mode uniformly at random, then adds isotropic
Gaussian noise. Every draw comes from an explicit ``tinygan.Generator``; arrays are float32
and are drawn on ``device`` (None: the generator's device), from that device's stream.
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from tinygan import backend
from tinygan.random import Generator

RING_STD = 0.01   # each of the 8 ring modes is N(centre, 0.01^2 I)
GRID_STD = 0.05   # each of the 25 grid modes is N(centre, 0.05^2 I)


def gaussian_1d(n: int, generator: Generator, mu: float = 4.0, sigma: float = 0.5,
                device: Any = None) -> Any:
    """n draws of N(mu, sigma^2), shape (n, 1), float32."""
    return generator.normal((n, 1), mean=mu, std=sigma, device=device)


def ring_modes(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
    """Centres of the ring: (cos 2 pi k/8, sin 2 pi k/8), k = 0..7. Shape (8, 2), NumPy."""
    angles = [2 * math.pi * k / num_modes for k in range(num_modes)]
    return np.array([[radius * math.cos(a), radius * math.sin(a)] for a in angles],
                    dtype=np.float32)


def grid_modes() -> np.ndarray:
    """Centres of the grid: every (i, j) with i, j in {-4, -2, 0, 2, 4}. Shape (25, 2), NumPy."""
    values = range(-4, 5, 2)
    return np.array(list(itertools.product(values, values)), dtype=np.float32)


def sample_mixture(n: int, generator: Generator, modes: np.ndarray, std: float,
                   device: Any = None) -> Any:
    """n draws from the equal-weight mixture of N(mode, std^2 I): shape (n, d), float32."""
    device = device or generator.device
    centres = backend.asarray(modes, dtype=np.float32, device=device)
    which = generator.integers(0, len(modes), n, device=device)   # a mode for each sample
    noise = generator.normal((n, centres.shape[1]), std=std, device=device)
    return (centres[which] + noise).astype(np.float32, copy=False)


def sample_ring(n: int, generator: Generator, device: Any = None) -> Any:
    """n draws from PacGAN's ring: 8 modes on the unit circle, std ``RING_STD``. (n, 2)."""
    return sample_mixture(n, generator, ring_modes(), RING_STD, device)


def sample_grid(n: int, generator: Generator, device: Any = None) -> Any:
    """n draws from PacGAN's grid: 25 modes at {-4,...,4}^2, std ``GRID_STD``. (n, 2)."""
    return sample_mixture(n, generator, grid_modes(), GRID_STD, device)


# ---- noise for the generator's input --------------------------------------------------
def normal_noise(n: int, dim: int, generator: Generator, device: Any = None) -> Any:
    """z ~ N(0, I): shape (n, dim), float32."""
    return generator.normal((n, dim), device=device)


def uniform_noise(n: int, dim: int, generator: Generator, device: Any = None) -> Any:
    """z ~ U[-1, 1)^dim: shape (n, dim), float32. Figure 1's generator maps uniform noise."""
    return generator.uniform((n, dim), -1.0, 1.0, device=device)


NOISE = {"normal": normal_noise, "uniform": uniform_noise}


def sample_noise(n: int, dim: int, generator: Generator, kind: str = "normal",
                 device: Any = None) -> Any:
    """Noise for G by name: "normal" or "uniform", drawn on ``device``."""
    if kind not in NOISE:
        raise ValueError(f"unknown noise {kind!r}: choose one of {sorted(NOISE)}")
    return NOISE[kind](n, dim, generator, device)
