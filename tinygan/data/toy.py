"""Toy distributions where we can see (and count) what a GAN learns.

* ``gaussian_1d``: the 1-D setting of Figure 1 in Goodfellow et al. 2014, data ~ N(mu, sigma^2).
* ``sample_ring``: 8 Gaussians on the unit circle, std 0.01 (PacGAN's "2D-ring").
* ``sample_grid``: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05 (PacGAN's "2D-grid").
* ``sample_moons``, ``sample_spiral``, ``sample_pair``: more 2-D shapes for the lab
  (``tinygan.lab``): two interleaved half circles, one spiral arm, two far-apart blobs.
* ``points_dataset``: a learner's own 2-D points as a distribution.

``TOY_DATA`` is the registry: every toy distribution by name, with its dimension, a window
to draw it in, and the reference points its coverage is counted against.

Both 2-D mixtures use PacGAN's coordinates (Lin et al. 2018) so the mode-coverage numbers
compare with its Table 1. Each sample picks a mode uniformly at random, then adds isotropic
Gaussian noise. Every draw comes from an explicit ``tinygan.Generator``; arrays are float32
and are drawn on ``device`` (None: the generator's device), from that device's stream.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import Generator

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


# ---- more 2-D shapes (curves and a disjoint pair) -----------------------------------------
MOONS_STD = 0.05    # the two moons: noise around each half circle
SPIRAL_STD = 0.04   # the spiral: noise around the arm
PAIR_STD = 0.1      # the disjoint pair: two N(+-1.5 e_1, 0.1^2 I) blobs


def moons_curve(t: Any) -> np.ndarray:
    """The two moons at parameter t in [0, 2): t < 1 on the upper half circle (centre (0, 0)),
    t >= 1 on the lower one (centre (1, 0.5)), shifted so the picture is centred. (len(t), 2)."""
    t = np.asarray(t, dtype=np.float64)
    upper = t < 1
    angle = math.pi * np.where(upper, t, t - 1)
    x = np.where(upper, np.cos(angle), 1 - np.cos(angle))
    y = np.where(upper, np.sin(angle), 0.5 - np.sin(angle))
    return np.stack([x - 0.5, y - 0.25], axis=1).astype(np.float32)


def spiral_curve(t: Any) -> np.ndarray:
    """One arm of an Archimedean spiral at t in [0, 1): angle 0.5 pi .. 3.5 pi, radius growing
    linearly with the angle up to 1.75. (len(t), 2)."""
    angle = math.pi * (0.5 + 3 * np.asarray(t, dtype=np.float64))
    radius = angle / (2 * math.pi)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype(np.float32)


def sample_curve(n: int, generator: Generator, curve: Callable[[Any], np.ndarray],
                 t_max: float, std: float) -> Any:
    """n points at uniform random parameters t in [0, t_max) of ``curve``, plus N(0, std^2 I)."""
    xp = generator.xp
    t = generator.uniform(n, 0.0, t_max, dtype=np.float64)
    points = xp.asarray(curve(backend.to_numpy(t)))
    return (points + generator.normal((n, 2), std=std)).astype(np.float32, copy=False)


def sample_moons(n: int, generator: Generator) -> Any:
    """n draws from the two moons: two interleaved half circles, noise std ``MOONS_STD``."""
    return sample_curve(n, generator, moons_curve, 2.0, MOONS_STD)


def sample_spiral(n: int, generator: Generator) -> Any:
    """n draws from one spiral arm (1.5 turns), noise std ``SPIRAL_STD``. (n, 2)."""
    return sample_curve(n, generator, spiral_curve, 1.0, SPIRAL_STD)


def pair_modes() -> np.ndarray:
    """The disjoint pair's two centres, (-1.5, 0) and (1.5, 0). Shape (2, 2), NumPy."""
    return np.array([[-1.5, 0.0], [1.5, 0.0]], dtype=np.float32)


def sample_pair(n: int, generator: Generator) -> Any:
    """n draws from two far-apart blobs: a continuous G must tear its noise in two (or leave
    a bridge of samples between them). (n, 2)."""
    return sample_mixture(n, generator, pair_modes(), PAIR_STD)


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


# ---- the registry of toy distributions ----------------------------------------------------
@dataclass(frozen=True)
class ToyData:
    """A toy distribution and what is needed to draw it and score a generator on it.

    ``sample(n, generator)`` draws (n, dim) float32 points. ``references`` (K, dim) are the
    points coverage is counted against: the mode centres of a mixture, or landmarks spaced
    along a curve; ``reference_std`` is the spread a generated point may have around one and
    still count (the mode's std; for landmarks, a third of the radius they are counted in,
    so PacGAN's 3-std rule of ``tinygan.metrics.mode_coverage`` applies unchanged).
    ``extent`` (xmin, xmax, ymin, ymax) is a window that shows the whole distribution
    (for 1-D data, (xmin, xmax) only).
    """

    name: str
    sample: Callable[[int, Generator], Any]
    dim: int
    extent: tuple[float, ...]
    references: np.ndarray | None = None
    reference_std: float | None = None
    description: str = ""


def curve_landmarks(curve: Callable[[Any], np.ndarray], t_max: float, count: int, std: float
                    ) -> tuple[np.ndarray, float]:
    """``count`` landmarks evenly spaced in t along ``curve``, and their reference std: a
    landmark counts the points within half the landmark spacing plus 2 noise stds of it."""
    t = (np.arange(count) + 0.5) * t_max / count
    marks = curve(t)
    spacing = np.linalg.norm(np.diff(marks, axis=0), axis=1).max()
    return marks, (0.5 * spacing + 2 * std) / 3


def farthest_points(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` of ``points`` (N, d) chosen greedily, each as far as possible from those
    already chosen (starting from the first point): landmarks that spread over the set."""
    chosen = [0]
    distance = np.linalg.norm(points - points[0], axis=1)
    for _ in range(min(count, len(points)) - 1):
        chosen.append(int(distance.argmax()))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return points[chosen]


def points_dataset(points: Any, jitter: float = 0.05, name: str = "points",
                   landmarks: int = 16) -> ToyData:
    """A learner's own points (N, 1) or (N, 2) as a distribution: each draw picks one of them
    uniformly and adds N(0, jitter^2 I), so the data has a density G can match.

    Coverage is counted against up to ``landmarks`` of the points spread by
    ``farthest_points``, each within its share of the set's size."""
    base = np.asarray(points, dtype=np.float32)
    if base.ndim == 1:
        base = base[:, None]
    if base.ndim != 2 or base.shape[1] not in (1, 2) or len(base) < 2:
        raise ValueError(f"points_dataset: need at least 2 points of shape (N, 1) or (N, 2), "
                         f"got shape {np.shape(points)}")
    if not np.all(np.isfinite(base)) or not jitter > 0:
        raise ValueError(f"points_dataset: points must be finite and jitter > 0, got jitter "
                         f"{jitter}")

    def sample(n: int, generator: Generator) -> Any:
        which = generator.integers(0, len(base), n)
        centres = generator.xp.asarray(base)[which]
        return (centres + generator.normal((n, base.shape[1]), std=jitter)).astype(np.float32)

    low, high = base.min(axis=0), base.max(axis=0)
    margin = 0.25 * float((high - low).max()) + 4 * jitter
    extent = tuple(float(v) for pair in zip(low - margin, high + margin) for v in pair)
    marks = farthest_points(base, landmarks)
    if len(marks) > 1:
        gaps = np.linalg.norm(marks[:, None] - marks[None], axis=-1)
        np.fill_diagonal(gaps, np.inf)
        reach = 0.5 * float(gaps.min(axis=1).max()) + 2 * jitter
    else:
        reach = 3 * jitter
    return ToyData(name, sample, base.shape[1], extent, marks, reach / 3,
                   f"{len(base)} points of your own, jitter {jitter}")


# 48 landmarks: about 0.13 (moons) and 0.2 (spiral) apart, so a point counts only near the curve
_MOON_MARKS, _MOON_STD = curve_landmarks(moons_curve, 2.0, 48, MOONS_STD)
_SPIRAL_MARKS, _SPIRAL_STD = curve_landmarks(spiral_curve, 1.0, 48, SPIRAL_STD)

#: Every toy distribution by name (the lab's data menu; the CLI trains gauss1d, ring, grid).
TOY_DATA: dict[str, ToyData] = {
    "gauss1d": ToyData("gauss1d", gaussian_1d, 1, (1.0, 7.0),
                       description="N(4, 0.5^2), the 1-D setting of Goodfellow et al.'s Figure 1"),
    "ring": ToyData("ring", sample_ring, 2, (-1.6, 1.6, -1.6, 1.6), ring_modes(), RING_STD,
                    "PacGAN's ring: 8 Gaussians on the unit circle"),
    "grid": ToyData("grid", sample_grid, 2, (-5.5, 5.5, -5.5, 5.5), grid_modes(), GRID_STD,
                    "PacGAN's grid: 25 Gaussians on {-4, ..., 4}^2"),
    "moons": ToyData("moons", sample_moons, 2, (-1.9, 1.9, -1.3, 1.3), _MOON_MARKS, _MOON_STD,
                     "two interleaved half circles (48 landmarks along them)"),
    "spiral": ToyData("spiral", sample_spiral, 2, (-2.1, 2.1, -2.1, 2.1), _SPIRAL_MARKS,
                      _SPIRAL_STD, "one spiral arm, 1.5 turns (48 landmarks along it)"),
    "pair": ToyData("pair", sample_pair, 2, (-2.6, 2.6, -2.0, 2.0), pair_modes(), PAIR_STD,
                    "two disjoint blobs at (-1.5, 0) and (1.5, 0)"),
}


def get_toy_data(name: str) -> ToyData:
    """A toy distribution by name: one of ``TOY_DATA``."""
    if name not in TOY_DATA:
        raise ValueError(f"unknown toy data {name!r}: choose one of {', '.join(TOY_DATA)}")
    return TOY_DATA[name]
