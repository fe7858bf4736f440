"""Pictures of a GAN learning (matplotlib; works without a display).

Each function returns the matplotlib Figure and, given ``path``, also saves it (PNG) and
closes it. The titles say what to look at.

* ``sample_grid``: generated images side by side.
* ``training_curves``: both losses, and D's mean output on real vs fake batches.
* ``figure1_1d``: Goodfellow et al. 2014, Figure 1 - data density, generator density,
  D(x), and the optimal D*(x) = p_data / (p_data + p_g) for comparison.
* ``scatter_2d``: generated points over the mode centres of the ring or grid.
* ``dirac_games``: Dirac-GAN's vector field and gradient-descent paths, one row per game.
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np


def _plt():
    import matplotlib
    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in (
            "agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")   # no screen (CI, a server): draw into files
    import matplotlib.pyplot as plt
    return plt


def _finish(fig: Any, path: str | None) -> Any:
    if path is not None:   # all or nothing: a crash never leaves half a picture (atomic.py)
        from tinygan.run.atomic import atomic_write
        kind = os.path.splitext(path)[1].lstrip(".").lower() or "png"
        try:
            with atomic_write(path) as f:
                fig.savefig(f, format=kind, dpi=110, bbox_inches="tight")
        finally:
            _plt().close(fig)
    return fig


def _np(x: Any) -> np.ndarray:
    from tinygan.devices import backend
    return backend.to_numpy(getattr(x, "array", x))


def sample_grid(images: Any, path: str | None = None, nrow: int = 8,
                title: str = "Generated samples") -> Any:
    """images: (N, 1, H, W) or (N, H, W) in [-1, 1] (a Tensor or array) -> a grid figure."""
    plt = _plt()
    arr = _np(images)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(f"sample_grid: expects one channel (N, 1, H, W), got {arr.shape}")
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(f"sample_grid: expects images (N, 1, H, W) or (N, H, W), got "
                         f"{arr.shape}")
    n = len(arr)
    ncol = min(nrow, n)
    rows = -(-n // ncol)
    fig, axes = plt.subplots(rows, ncol, figsize=(ncol * 0.9, rows * 0.9 + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow((arr[i] + 1) / 2, cmap="gray", vmin=0, vmax=1)
    fig.suptitle(title)
    return _finish(fig, path)


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(v) < window:
        return v
    kernel = np.ones(window) / window
    return np.convolve(v, kernel, mode="valid")


def training_curves(history: Mapping[str, Sequence[float]], path: str | None = None,
                    probability: bool = True) -> Any:
    """Left: D and G losses per step. Right: mean D(x) on real and on fake batches.

    For the minimax losses D outputs probabilities; at the game's equilibrium both curves
    meet at 1/2 (D can no longer tell). For critics (WGAN, hinge, LSGAN) the raw values
    are shown; the gap between them is what G shrinks."""
    plt = _plt()
    n = len(history.get("d_loss", []))
    window = max(1, n // 100)
    steps = np.arange(1, n + 1)[window - 1:] if n else np.arange(0)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.5, 3.6))   # fits the course site's column
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        if history.get(key):
            ax1.plot(steps, _smooth(history[key], window), label=label)
    ax1.set_xlabel("training step")
    ax1.set_ylabel("loss" + (f" (mean of {window} steps)" if window > 1 else ""))
    ax1.set_title("Losses: a GAN's losses need not fall;\nlook for no blow-up", fontsize=10)
    ax1.legend()
    for key, label in (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")):
        if history.get(key):
            ax2.plot(steps, _smooth(history[key], window), label=label)
    if probability:
        ax2.axhline(0.5, color="gray", linestyle=":", label="1/2 (D cannot tell)")
        ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("training step")
    ax2.set_ylabel("mean D output" + (" (probability real)" if probability else " (critic)"))
    ax2.set_title("D's verdicts on real and fake batches", fontsize=10)
    ax2.legend()
    fig.tight_layout()
    return _finish(fig, path)


def figure1_1d(xs: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, d_values: np.ndarray,
               d_star: np.ndarray | None = None, path: str | None = None,
               step: int | None = None) -> Any:
    """The picture of Figure 1 (Goodfellow et al. 2014) for a trained 1-D GAN.

    xs: (M,) grid of x values; p_data, p_g: densities on it (p_g estimated from G's
    samples); d_values: the trained D(x); d_star: the optimal p_data / (p_data + p_g)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.plot(xs, p_data, color="black", linestyle=":", label="data density p_data")
    ax.plot(xs, p_g, color="green", label="generator density p_g (from samples)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax2 = ax.twinx()
    ax2.plot(xs, d_values, color="blue", linestyle="--", label="trained D(x)")
    if d_star is not None:
        ax2.plot(xs, d_star, color="red", alpha=0.6, label="optimal D*(x)")
    ax2.axhline(0.5, color="gray", linewidth=0.8, linestyle=":")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("probability that x is real")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    where = f" after {step} steps" if step is not None else ""
    ax.set_title(f"1-D GAN{where}: green should cover black, and D(x) flatten to 1/2")
    fig.tight_layout()
    return _finish(fig, path)


def histogram_1d(samples: Any, path: str | None = None, mu: float | None = None,
                 sigma: float | None = None, bins: int = 60) -> Any:
    """A histogram of 1-D samples (N,) or (N, 1), over the data density N(mu, sigma^2)."""
    plt = _plt()
    x = _np(samples).ravel()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.hist(x, bins=bins, density=True, color="green", alpha=0.5, label="generated samples")
    if mu is not None and sigma is not None:
        xs = np.linspace(min(x.min(), mu - 4 * sigma), max(x.max(), mu + 4 * sigma), 400)
        ax.plot(xs, np.exp(-0.5 * ((xs - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)),
                color="black", linestyle=":", label=f"data density N({mu}, {sigma}^2)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title("Generated 1-D samples: the green bars should follow the dotted curve")
    ax.legend(fontsize=8)
    return _finish(fig, path)


def scatter_2d(samples: Any, modes: np.ndarray | None = None, path: str | None = None,
               title: str = "Generated samples (blue) over the data's mode centres (red)",
               limit: float | None = None) -> Any:
    """Generated 2-D points (N, 2) over the centres of the data's modes (K, 2)."""
    plt = _plt()
    pts = _np(samples)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"scatter_2d: expects points of shape (N, 2), got {pts.shape}")
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="tab:blue", label="generated")
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], s=40, marker="x", color="red", label="mode centre")
        pad = 0.5 * float(np.abs(modes).max())
        limit = limit or float(np.abs(modes).max()) + pad
    if limit:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    return _finish(fig, path)


def histogram_2d(samples: Any, modes: np.ndarray, path: str | None = None,
                 title: str = "", counts: Sequence[int] | None = None, bins: int = 80) -> Any:
    """Generated 2-D points (N, 2) as a density: a 2-D histogram on a log colour scale with
    the data's K mode centres (K, 2) ringed; with ``counts`` (K,), the high-quality samples
    at each mode (``mode_coverage``'s counts), a second panel of each mode's share of them
    against the even share 1/K. A scatter plot saturates where points pile up: it shows
    which modes G reaches, not how it shares its mass among them, which is what these show
    (and what the reverse KL in metrics.json measures)."""
    from matplotlib.colors import LogNorm
    plt = _plt()
    pts = _np(samples)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"histogram_2d: expects points of shape (N, 2), got {pts.shape}")
    limit = 1.5 * float(np.abs(modes).max())
    edges = np.linspace(-limit, limit, bins + 1)
    panels = 1 if counts is None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 5), squeeze=False)
    ax = axes[0, 0]
    hist, _, _, image = ax.hist2d(pts[:, 0], pts[:, 1], bins=[edges, edges], cmap="viridis",
                                  norm=LogNorm(vmin=1), cmin=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="samples per bin")
    ax.scatter(modes[:, 0], modes[:, 1], s=90, facecolors="none", edgecolors="red",
               linewidths=0.8, label="mode centre")
    outside = int(len(pts) - np.nansum(hist))
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"{len(pts)} generated samples as a density"
                 + (f" ({outside} outside the plot)" if outside else ""), fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    if counts is not None:
        share = np.asarray(counts, dtype=np.float64)
        share = share / share.sum() if share.sum() > 0 else share
        bar = axes[0, 1]
        bar.bar(np.arange(len(share)), share, color="tab:blue")
        bar.axhline(1 / len(share), color="black", ls=":", label=f"even share 1/{len(share)}")
        bar.set_xlabel("mode")
        bar.set_ylabel("share of the high-quality samples")
        bar.set_title("how G shares its mass among the modes", fontsize=9)
        bar.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _finish(fig, path)


def dirac_games(games: Mapping[str, tuple[Any, Any]], path: str | None = None,
                start: tuple[float, float] = (1.0, 1.0), lr: float = 0.1, n_steps: int = 600,
                grid_points: int = 11, figsize: tuple[float, float] | None = None) -> Any:
    """Dirac-GAN (tinygan.gan.dirac): for each game {name: (loss, penalty or None)} a row
    with the vector field v(theta, psi) as arrows and the path of ``n_steps`` gradient steps
    from ``start``; left column simultaneous steps, right column alternating ones
    (GANTrainer). Two columns fit the course site's width (8 in); the default figsize
    grows with the number of games."""
    from tinygan.gan import dirac
    plt = _plt()
    grid = np.linspace(-2.2, 2.2, grid_points)
    figsize = figsize or (8.0, 3.7 * len(games) + 1.0)
    fig, axes = plt.subplots(len(games), 2, figsize=figsize, sharex=True, sharey=True,
                             squeeze=False)
    for row, (name, (loss, penalty)) in enumerate(games.items()):
        v_theta, v_psi = dirac.field_on_grid(loss, grid, grid, penalty)
        for col, mode in enumerate(("simultaneous", "alternating")):
            ax = axes[row, col]
            points = dirac.trajectory(loss, start, lr, n_steps, mode, penalty)
            ax.quiver(grid, grid, v_theta, v_psi, color="0.6", angles="xy")
            ax.plot(points[:, 0], points[:, 1], lw=1.0)
            ax.plot(*points[0], "go", ms=5, label="start")
            ax.plot(*points[-1], "rs", ms=5, label=f"after {n_steps} steps")
            ax.plot(0, 0, "k*", ms=10, label="equilibrium")
            ax.set_title(f"{name}\n{mode}: distance {np.hypot(*points[0]):.2f} -> "
                         f"{np.hypot(*points[-1]):.2f}", fontsize=9)
            ax.set_xlim(-2.4, 2.4)
            ax.set_ylim(-2.4, 2.4)
            ax.set_aspect("equal")
    for ax in axes[-1]:
        ax.set_xlabel("theta (the generator)")
    for ax in axes[:, 0]:
        ax.set_ylabel("psi (the discriminator)")
    axes[0, 0].legend(fontsize=7, loc="lower left")
    fig.suptitle("Dirac-GAN: simultaneous steps spiral out, alternating ones circle, R1 "
                 "converges;\nWGAN-GP's critic is pulled to slope +-1, away from the "
                 "equilibrium", fontsize=10)
    fig.tight_layout(h_pad=2.0, rect=(0, 0, 1, 1 - 0.15 / fig.get_figheight()))
    return _finish(fig, path)
