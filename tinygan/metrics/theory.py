"""The theory of Goodfellow et al. 2014 ("Generative Adversarial Nets"), computed on a 1-D grid.

For a fixed generator with density p_g, the value of the game

    V(D, G) = E_{x ~ p_data}[log D(x)] + E_{x ~ p_g}[log(1 - D(x))]

is maximised pointwise by the optimal discriminator (Proposition 1)

    D*(x) = p_data(x) / (p_data(x) + p_g(x)),

and at that optimum (Theorem 1)

    C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g),

so C(G) >= -log 4, with equality exactly when p_g = p_data (and then D* = 1/2 everywhere).

Here densities are arrays of values on a uniform grid of spacing ``dx``, and integrals are
Riemann sums, sum(f) * dx. The generator's density is not known in closed form: ``kde_pdf``
estimates it from samples. Logs are natural, so divergences are in nats (JSD <= log 2).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygan.metrics.arrays import float64_numpy

LOG4 = math.log(4.0)


def gaussian_pdf(x: Any, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """The normal density N(mu, sigma^2) at each point of ``x`` (any shape, same shape out)."""
    if not sigma > 0:
        raise ValueError(f"gaussian_pdf: sigma must be positive, got {sigma}")
    z = (float64_numpy(x) - mu) / sigma
    return np.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))


def silverman_bandwidth(samples: Any) -> float:
    """Silverman's rule of thumb h = 0.9 min(std, IQR / 1.34) n^(-1/5) for a Gaussian KDE.

    The IQR term keeps h small for heavy-tailed or bimodal samples; 1.34 is the IQR of a unit
    Gaussian, so both terms estimate the same sigma when the data are Gaussian.
    """
    samples = float64_numpy(samples).ravel()
    n = samples.size
    if n < 2:
        raise ValueError(f"silverman_bandwidth: need at least 2 samples, got {n}")
    q75, q25 = np.percentile(samples, [75, 25])
    spread = min(samples.std(ddof=1), (q75 - q25) / 1.34)
    if spread <= 0:  # IQR = 0 (many repeated values): fall back to the standard deviation
        spread = samples.std(ddof=1)
    if spread <= 0:
        raise ValueError(f"silverman_bandwidth: all {n} samples are equal ({samples[0]}); "
                         f"pass a bandwidth")
    return float(0.9 * spread * n ** -0.2)


def kde_pdf(samples: Any, x: Any, bandwidth: float | None = None,
            chunk_size: int = 1024) -> np.ndarray:
    """Gaussian kernel density estimate at points ``x`` from 1-D ``samples``.

        p_hat(x) = (1/n) sum_i N(x; s_i, h^2)

    samples: (n,) or (n, 1); x: any shape, same shape out. ``bandwidth`` h defaults to
    Silverman's rule. Vectorised as a (len(x), n) kernel matrix, chunk by chunk over x so the
    memory stays bounded for large grids.
    """
    samples = float64_numpy(samples).ravel()
    points = float64_numpy(x)
    if samples.size == 0:
        raise ValueError("kde_pdf: got no samples")
    h = silverman_bandwidth(samples) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise ValueError(f"kde_pdf: bandwidth must be positive, got {h}")
    flat = points.ravel()
    out = np.empty_like(flat)
    for start in range(0, flat.size, chunk_size):
        z = (flat[start:start + chunk_size, None] - samples[None, :]) / h
        out[start:start + chunk_size] = np.exp(-0.5 * z * z).mean(axis=1)
    return (out / (h * math.sqrt(2.0 * math.pi))).reshape(points.shape)


def optimal_discriminator(p_data: Any, p_g: Any) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) (Proposition 1), elementwise.

    Where both densities are 0 neither expectation in V sees the point, so any value is
    optimal; we return 1/2 there, the value D* takes wherever p_g = p_data.
    """
    p_data, p_g = float64_numpy(p_data), float64_numpy(p_g)
    if p_data.shape != p_g.shape:
        raise ValueError(f"optimal_discriminator: p_data {p_data.shape} and p_g {p_g.shape} "
                         f"must have the same shape")
    total = p_data + p_g
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total > 0, p_data / safe_total, 0.5)


def _densities_on_grid(op: str, p: Any, q: Any, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """Check two density arrays on one grid and normalise each to integrate to 1.

    Normalising removes the small mass lost where the grid stops short of the tails (and the
    KDE's smoothing error), so the identities of the paper hold exactly on the grid.
    """
    p, q = float64_numpy(p), float64_numpy(q)
    if p.shape != q.shape:
        raise ValueError(f"{op}: p {p.shape} and q {q.shape} must be on the same grid")
    if not dx > 0:
        raise ValueError(f"{op}: dx must be positive, got {dx}")
    if np.any(p < 0) or np.any(q < 0) or not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise ValueError(f"{op}: densities must be finite and non-negative")
    mass_p, mass_q = p.sum() * dx, q.sum() * dx
    if mass_p <= 0 or mass_q <= 0:
        raise ValueError(f"{op}: a density integrates to 0 on the grid (p: {mass_p}, "
                         f"q: {mass_q}); does the grid cover the support?")
    return p / mass_p, q / mass_q


def _kl_to(p: np.ndarray, m: np.ndarray, dx: float) -> float:
    """KL(p || m) = integral of p log(p/m), with 0 log 0 = 0 (m > 0 wherever p > 0 here)."""
    where = p > 0
    return float(np.sum(p[where] * np.log(p[where] / m[where])) * dx)


def js_divergence(p: Any, q: Any, dx: float) -> float:
    """Jensen-Shannon divergence in nats between two densities sampled on a uniform grid.

        JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2

    0 when p = q, log 2 when their supports are disjoint. p, q are normalised on the grid.
    """
    p, q = _densities_on_grid("js_divergence", p, q, dx)
    m = 0.5 * (p + q)
    return 0.5 * _kl_to(p, m, dx) + 0.5 * _kl_to(q, m, dx)


def value_at_optimum(p_data: Any, p_g: Any, dx: float) -> float:
    """C(G) = max_D V(D, G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1)."""
    return -LOG4 + 2.0 * js_divergence(p_data, p_g, dx)


def value_function(p_data: Any, p_g: Any, d: Any, dx: float, eps: float = 1e-12) -> float:
    """V(D, G) = E_{p_data}[log D] + E_{p_g}[log(1 - D)] by numerical integration on the grid.

    d: the discriminator's outputs D(x) at the grid points (e.g. a trained D, or D*). D is
    clipped to [eps, 1 - eps] so a confident D where a density is 0 costs nothing, not NaN.
    With d = D* this equals ``value_at_optimum``; for any other d it is smaller.
    """
    p_data, p_g = _densities_on_grid("value_function", p_data, p_g, dx)
    d = np.clip(float64_numpy(d), eps, 1.0 - eps)
    if d.shape != p_data.shape:
        raise ValueError(f"value_function: D values {d.shape} must be on the densities' grid "
                         f"{p_data.shape}")
    return float(np.sum(p_data * np.log(d) + p_g * np.log1p(-d)) * dx)
