"""Mode coverage on the 2-D mixtures: how many modes did the generator find, and how well?

The protocol of VEEGAN (Srivastava et al. 2017, "VEEGAN: Reducing Mode Collapse in GANs using
Implicit Variational Learning") and PacGAN (Lin et al. 2018, "PacGAN: The power of two
samples in generative adversarial networks"), applied to a batch of generated points
(2,500 in their tables). With K mode centres c_1..c_K, all of standard deviation ``std``:

1. Each sample x is assigned to its nearest mode k(x) = argmin_k ||x - c_k||.
2. x is *high quality* when ||x - c_k(x)|| <= 3 std (``quality_stds``).
3. A mode is *captured* when it is the nearest mode of at least one high-quality sample.
4. The *reverse KL*: let n_k be the number of high-quality samples assigned to mode k and
   p_k = n_k / sum_j n_j their histogram over modes. Then

        reverse_kl = KL(p || uniform) = sum over k with p_k > 0 of  p_k log(p_k / (1/K))

   Empty bins contribute 0 (the limit of p log p as p -> 0). It is 0 when the high-quality
   samples spread evenly over all K modes and log K when they all sit on one mode. It is
   "reverse" because the model's distribution comes first, as in KL(p_g || p_data). With
   no high-quality sample at all p is undefined and ``reverse_kl`` is ``inf``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinygan.metrics.arrays import float64_numpy


@dataclass(frozen=True)
class ModeCoverage:
    """The result of ``mode_coverage``; ``counts[k]`` = high-quality samples nearest mode k."""

    modes_captured: int
    num_modes: int
    high_quality_fraction: float
    reverse_kl: float
    counts: np.ndarray

    def as_dict(self) -> dict:
        """Plain Python values, ready for json.dump."""
        return {"modes_captured": self.modes_captured, "num_modes": self.num_modes,
                "high_quality_fraction": self.high_quality_fraction,
                "reverse_kl": self.reverse_kl, "counts": self.counts.tolist()}


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform over len(counts) bins) for the histogram p = counts / counts.sum()."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        return float("inf")
    p = counts[counts > 0] / total
    return float(np.sum(p * np.log(p * len(counts))))


def mode_coverage(samples: np.ndarray, modes: np.ndarray, std: float,
                  quality_stds: float = 3.0) -> ModeCoverage:
    """Score generated 2-D points against the K mode centres of a Gaussian mixture.

    samples: (N, D) generated points (NumPy, CuPy or a Tensor's data); modes: (K, D) centres;
    std: the standard deviation of each mode. Returns a ``ModeCoverage``.
    """
    samples, modes = float64_numpy(samples), float64_numpy(modes)
    if samples.ndim != 2 or modes.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ValueError(f"mode_coverage: samples (N, D) and modes (K, D) must agree, got "
                         f"samples {samples.shape} and modes {modes.shape}")
    if len(samples) == 0 or len(modes) == 0:
        raise ValueError(f"mode_coverage: need at least one sample and one mode, got "
                         f"samples {samples.shape} and modes {modes.shape}")
    if not std > 0 or not quality_stds > 0:
        raise ValueError(f"mode_coverage: std and quality_stds must be positive, got "
                         f"std={std}, quality_stds={quality_stds}")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"mode_coverage: samples contain NaN or Inf "
                         f"({int(np.sum(~np.isfinite(samples)))} values)")

    # (N, K) distances from every sample to every centre.
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    nearest_distance = distances[np.arange(len(samples)), nearest]
    high_quality = nearest_distance <= quality_stds * std

    counts = np.bincount(nearest[high_quality], minlength=len(modes))
    return ModeCoverage(modes_captured=int(np.count_nonzero(counts)), num_modes=len(modes),
                        high_quality_fraction=float(high_quality.mean()),
                        reverse_kl=kl_to_uniform(counts), counts=counts)
