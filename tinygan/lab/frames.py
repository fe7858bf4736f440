"""What the lab shows, computed as plain arrays (no drawing here: see ``tinygan.lab.view``).

GAN Lab (Kahng et al. 2018) draws a small GAN on 2-D data in layers; each layer is one
function below, and each is tested on its own (tests/test_lab.py):

* ``discriminator_map``: D's verdict on every point of a grid over the plane (the heat map).
  A packed D (PacGAN, m samples judged at once) is asked about a pack of m copies of a point.
* ``generator_arrows``: -dL_G/dx at generated samples x, the direction the G loss pushes
  each sample (tinygan's autograd through D, the very gradient G's backward receives).
* ``noise_warp``: the lines of a grid in noise space, mapped through G: how G bends the plane.
* ``curves_1d``: for 1-D data, the densities p_data and p_g, D(x) and the optimal
  D*(x) = p_data / (p_data + p_g) (Goodfellow et al. 2014, Proposition 1) on a line.

``capture`` gathers them for one moment of a trainer into a ``Frame``: fixed noise and
fixed real points, so that from frame to frame only the networks change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygan
from tinygan.engine import functional as F
from tinygan.data.toy import ToyData, gaussian_1d
from tinygan.gan.losses import GANLoss
from tinygan.metrics import theory
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.nn import Module
from tinygan.nn.utils.eval_mode import eval_mode
from tinygan.engine.tensor import Tensor, grad, no_grad


def _numpy(t: Tensor) -> np.ndarray:
    """The values for matplotlib: the one copy out of a layer (a sync on a GPU)."""
    return t.numpy().astype(np.float64)


def input_for(module: Module, points: Any, requires_grad: bool = False) -> Tensor:
    """``points`` (host points, or a Tensor) as a new Tensor in the module's dtype, on the
    device of its parameters: the one copy in of a layer. The data decides where a model
    runs, so the grids and fixed noise drawn on the host must go where the model is."""
    weight = next(iter(module.parameters()))
    return tinygan.tensor(points, dtype=weight.dtype, device=weight.device,
                          requires_grad=requires_grad)


def _pack_of(D: Module) -> int:
    """How many samples D judges at once (PacGAN's m; 1 for an ordinary D)."""
    return int(getattr(D, "pack", 1))


def plane_grid(extent: tuple[float, ...], resolution: int = 64
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell centres of a resolution x resolution grid over extent (xmin, xmax, ymin, ymax).

    Returns xs (R,), ys (R,) and points (R*R, 2), row-major: points[i * R + j] = (xs[j], ys[i]),
    so ``values.reshape(R, R)`` is an image with y down the rows (imshow origin="lower")."""
    xmin, xmax, ymin, ymax = extent
    xs = xmin + (np.arange(resolution) + 0.5) * (xmax - xmin) / resolution
    ys = ymin + (np.arange(resolution) + 0.5) * (ymax - ymin) / resolution
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def discriminator_map(D: Module, points: np.ndarray, probability: bool = True) -> np.ndarray:
    """D's opinion of each point, (N,): P(real) = sigmoid(D(x)) when ``probability``, else the
    raw critic value D(x). A packed D judges a pack of m copies of the point."""
    x = input_for(D, points)                     # (N, d)
    n, d = x.shape
    pack = _pack_of(D)
    x = x.reshape(n, 1, d).expand(n, pack, d).reshape(n * pack, d)   # each point pack times
    with no_grad():
        out = D(x)
        if probability:
            out = F.sigmoid(out)
    return _numpy(out).reshape(-1)


def generator_arrows(D: Module, loss: GANLoss, x: Any) -> np.ndarray:
    """-dL_G/dx at the generated samples x (N, d), host points or a Tensor: where G's loss
    pushes each sample.

    L_G = ``loss.g_loss(D(x))`` is a mean over the N samples (packs, for a packed D), as in
    training, so the arrows are the gradient G's backward starts from, scaled by 1/N. Only x
    is differentiated: ``grad`` returns d L_G / d x and touches no parameter's .grad."""
    x = input_for(D, x, requires_grad=True)
    (g,) = grad(loss.g_loss(D(x)), x)
    return -_numpy(g)


def noise_warp(G: Module, z_dim: int, z_range: float = 2.5, lines: int = 9,
               points_per_line: int = 60) -> list[np.ndarray]:
    """The grid lines z_1 = c and z_2 = c (c in [-z_range, z_range]) of noise space, mapped
    through G: a list of polylines (points_per_line, data dim). With z_dim > 2 the other
    noise coordinates are 0 (a flat slice through noise space); with z_dim = 1, one line."""
    ts = np.linspace(-z_range, z_range, points_per_line)
    cs = np.linspace(-z_range, z_range, lines)
    polylines = []
    if z_dim == 1:
        polylines.append(ts[:, None])
    else:
        for c in cs:
            for axis in (0, 1):
                z = np.zeros((points_per_line, z_dim))
                z[:, axis], z[:, 1 - axis] = ts, c
                polylines.append(z)
    with no_grad():   # every line through G at once: one copy in, one out
        mapped = _numpy(G(input_for(G, np.concatenate(polylines))))
    return np.split(mapped, len(polylines))


def density_1d(data: ToyData, xs: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """p_data on xs: the exact N(4, 0.5^2) density for gauss1d, else a KDE of ``reference``
    (real samples of the distribution)."""
    if data.sample is gaussian_1d:
        return theory.gaussian_pdf(xs, 4.0, 0.5)
    return theory.kde_pdf(reference, xs)


def curves_1d(D: Module, fake: np.ndarray, data: ToyData, probability: bool = True,
              reference: np.ndarray | None = None, points: int = 400) -> dict[str, np.ndarray]:
    """The 1-D picture: xs over the data's window, p_data, p_g (a KDE of the N fakes (N, 1)),
    D(x) and D*(x) = p_data / (p_data + p_g) (D* only for probability losses, and only where
    either density has mass: NaN elsewhere)."""
    xs = np.linspace(data.extent[0], data.extent[1], points)
    p_data = density_1d(data, xs, reference)
    p_g = theory.kde_pdf(np.asarray(fake).ravel(), xs)
    d = discriminator_map(D, xs[:, None], probability)
    curves = {"xs": xs, "p_data": p_data, "p_g": p_g, "d": d}
    if probability:
        # D* = 0/0 where neither distribution has mass: left undefined (NaN) there, i.e.
        # outside where p_data + p_g reaches 1% of its peak
        total = p_data + p_g
        inside = total >= 0.01 * total.max()
        curves["d_star"] = np.where(inside, theory.optimal_discriminator(p_data, p_g), np.nan)
    return curves


def jsd_1d(data: ToyData, fake: np.ndarray, reference: np.ndarray | None = None) -> float:
    """JSD(p_data, p_g) on a grid wide enough for both (p_g a KDE of the fakes (N, 1))."""
    fake = np.asarray(fake).ravel()
    lo = min(data.extent[0], float(fake.min()) - 1.0)
    hi = max(data.extent[1], float(fake.max()) + 1.0)
    xs = np.linspace(lo, hi, 1601)
    return theory.js_divergence(density_1d(data, xs, reference), theory.kde_pdf(fake, xs),
                                float(xs[1] - xs[0]))


@dataclass
class Frame:
    """One moment of training, ready to draw. 2-D data: ``heat`` (R, R) over ``extent``;
    1-D data: ``curves``. ``arrows`` (A, d) start at ``arrows_at`` (the first A fakes)."""

    step: int
    data: ToyData
    real: np.ndarray
    fake: np.ndarray
    extent: tuple[float, ...]
    probability: bool
    loss_name: str
    pack: int = 1
    heat: np.ndarray | None = None
    arrows_at: np.ndarray | None = None
    arrows: np.ndarray | None = None
    warp: list[np.ndarray] = field(default_factory=list)
    curves: dict[str, np.ndarray] | None = None
    metrics: dict[str, float] = field(default_factory=dict)


def frame_metrics(data: ToyData, fake: np.ndarray, curves: dict[str, np.ndarray] | None,
                  reference: np.ndarray | None = None) -> dict[str, float]:
    """2-D: modes (or landmarks) captured and the high-quality share (PacGAN's protocol);
    1-D: max |D - D*| where D* is defined (either density has mass), and the JSD."""
    if not np.all(np.isfinite(fake)):
        return {}
    if data.dim == 2 and data.references is not None:
        score = mode_coverage(fake, data.references, data.reference_std)
        return {"modes": score.modes_captured, "num_modes": score.num_modes,
                "high_quality": score.high_quality_fraction}
    if data.dim == 1:
        out = {"jsd": jsd_1d(data, fake, reference)}
        if curves is not None and "d_star" in curves:
            out["max_gap"] = float(np.nanmax(np.abs(curves["d"] - curves["d_star"])))
        return out
    return {}


def capture(G: Module, D: Module, loss: GANLoss, data: ToyData, z: np.ndarray,
            real: np.ndarray, step: int, resolution: int = 64, arrows: int = 64,
            warp: bool = True) -> Frame:
    """Every layer of the view for the current G and D.

    z (N, z_dim): the fixed noise the fakes are drawn from; real (M, d): fixed real points.
    ``arrows`` is rounded down to a multiple of D's pack size. Both networks are drawn in
    eval mode (as a trained model is used), so drawing leaves training where it was."""
    with eval_mode(G, D):   # in training mode a forward can change the run
        return _capture(G, D, loss, data, z, real, step, resolution, arrows, warp)


def _capture(G: Module, D: Module, loss: GANLoss, data: ToyData, z: np.ndarray,
             real: np.ndarray, step: int, resolution: int, arrows: int, warp: bool) -> Frame:
    probability = loss.outputs_probability
    with no_grad():
        fake_on_device = G(input_for(G, z))
    fake = _numpy(fake_on_device)
    lines = noise_warp(G, z.shape[1]) if warp and data.dim == 2 else []
    frame = Frame(step, data, np.asarray(real, dtype=np.float64), fake, data.extent,
                  probability, getattr(loss, "name", type(loss).__name__), _pack_of(D),
                  warp=lines)
    pack = frame.pack
    count = min(arrows, len(fake)) // pack * pack
    if count and np.all(np.isfinite(fake)):
        frame.arrows_at = fake[:count]
        frame.arrows = generator_arrows(D, loss, fake_on_device[:count])   # already there
    if data.dim == 2:
        _, _, grid = plane_grid(data.extent, resolution)
        frame.heat = discriminator_map(D, grid, probability).reshape(resolution, resolution)
    elif np.all(np.isfinite(fake)):
        frame.curves = curves_1d(D, fake, data, probability, real)
    frame.metrics = frame_metrics(data, fake, frame.curves, real)
    return frame
