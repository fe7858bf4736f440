"""Every figure of the chapters, made by tinygan itself from fixed seeds.

    python chapters/figures/make.py                      # all figures -> chapters/figures/
    python chapters/figures/make.py --quick --out /tmp/f # few steps: checks that it all runs
    python chapters/figures/make.py --only ring_mode_collapse bilinear_spiral

Each figure is one function ``(Settings) -> matplotlib Figure`` in ``FIGURES`` (name ->
function); the PNG is written as ``NAME.png``. Adding a figure is one function and one
registry line. Training runs that several figures share (the 1-D GAN, the ring, MNIST) are
trained once per invocation and cached in memory.

Everything is deterministic: every random draw comes from a ``tinygan.Generator`` with a
fixed seed, so running the script again redraws the same pictures (on NumPy, bit for bit).
The full run takes about ten minutes of CPU time, most of it the DCGAN and the conditional
GAN;
``--quick`` trains for a handful of steps (the pictures are then noise, not results), for
the test suite.
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import textwrap
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))   # the repository root

import tinygan as tg  # noqa: E402
import tinygan.nn.functional as F  # noqa: E402
from tinygan import nn, optim  # noqa: E402
from tinygan.devices.threads import limit_blas_threads  # noqa: E402
from tinygan.gan.build import build_trainer, make_config  # noqa: E402
from tinygan.fast.convolution import im2col  # noqa: E402
from tinygan.data import toy  # noqa: E402
from tinygan.data.batching import DatasetBatches, DistributionBatches  # noqa: E402
from tinygan.data.mnist import load_mnist  # noqa: E402
from tinygan.gan.losses import LOSSES, get_loss  # noqa: E402
from tinygan.gan.models import mnist_mlp, toy_mlp  # noqa: E402
from tinygan.gan.trainer import GANTrainer  # noqa: E402
from tinygan.metrics import theory  # noqa: E402
from tinygan.metrics.digits import digit_report, get_digit_classifier  # noqa: E402
from tinygan.metrics.mode_coverage import mode_coverage  # noqa: E402
from tinygan.nn import init  # noqa: E402

# Layers built without a generator draw from the default one, which (as PyTorch's) starts
# from a fresh seed in every process: seed it, so the pictures come out the same every run.
tg.manual_seed(0)

DPI = 110
EVAL_SEED = 9          # every "samples from G" picture draws its noise from Generator(9)


@dataclass(frozen=True)
class Settings:
    """What a figure function may ask: quick mode, and how many steps that means."""
    quick: bool = False

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9,
                         "legend.fontsize": 8, "figure.titlesize": 11})
    return plt


def _eval_gen() -> tg.Generator:
    return tg.Generator(EVAL_SEED)


# =========================================================================================
# Plotting helpers
# =========================================================================================
def tile(images: np.ndarray, nrow: int, pad: int = 2) -> np.ndarray:
    """(N, 1, H, W) or (N, H, W) images in [-1, 1] -> one (rows*(H+pad), nrow*(W+pad)) array
    in [0, 1] with white gutters, for a single imshow (much faster than N subplots)."""
    arr = images[:, 0] if images.ndim == 4 else images
    n, h, w = arr.shape
    rows = -(-n // nrow)
    out = np.ones((rows * (h + pad) - pad, nrow * (w + pad) - pad))
    for i, img in enumerate(arr):
        r, c = divmod(i, nrow)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = (img + 1) / 2
    return np.clip(out, 0, 1)


def show_images(ax: Any, images: np.ndarray, nrow: int, title: str) -> None:
    ax.imshow(tile(images, nrow), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def ring_panel(ax: Any, samples: np.ndarray, title: str, limit: float = 1.6) -> None:
    """Generated ring samples (blue) over the 8 mode centres (red crosses)."""
    modes = toy.ring_modes()
    ax.scatter(samples[:, 0], samples[:, 1], s=1.5, alpha=0.35, color="tab:blue",
               rasterized=True)
    ax.scatter(modes[:, 0], modes[:, 1], s=45, marker="+", color="red", linewidths=1.3)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_title(title)


def coverage_title(samples: np.ndarray) -> str:
    score = mode_coverage(samples, toy.ring_modes(), toy.RING_STD)
    return (f"{score.modes_captured}/8 modes, {100 * score.high_quality_fraction:.0f}% "
            f"high quality")


def grad_norm_of(module: nn.Module) -> float:
    """||grad||_2 over a module's parameters, read through the public Tensor API."""
    return math.sqrt(sum(float((p.grad.numpy().astype(np.float64) ** 2).sum())
                         for p in module.parameters() if p.grad is not None))


# =========================================================================================
# Training runs shared by several figures (cached per invocation)
# =========================================================================================
def train_with_snapshots(trainer: GANTrainer, snapshot_steps: list[int],
                         take: Callable[[GANTrainer], Any]) -> dict[int, Any]:
    """Train to each step in ``snapshot_steps`` in turn and record ``take(trainer)`` there.
    (Training to 100 then to 200 is the same run as training to 200: ``train`` counts totals.)"""
    out = {}
    for step in sorted(set(snapshot_steps)):
        trainer.train(step, progress=True)
        out[step] = take(trainer)
    return out


GAUSS_MU, GAUSS_SIGMA = 4.0, 0.5
GAUSS_XS = np.linspace(-2.0, 7.0, 1801)       # holds G's start (near 0) and the data (near 4)


def one_d_curves(trainer: GANTrainer) -> dict[str, Any]:
    """p_data, p_g (KDE of 10,000 samples), D and D* on GAUSS_XS, and the game's numbers."""
    xs = GAUSS_XS
    dx = float(xs[1] - xs[0])
    samples = trainer.sample(10000, generator=_eval_gen()).numpy().ravel()
    p_data = theory.gaussian_pdf(xs, GAUSS_MU, GAUSS_SIGMA)
    p_g = theory.kde_pdf(samples, xs)
    d_star = theory.optimal_discriminator(p_data, p_g)
    d = trainer.discriminator_output(tg.tensor(xs.astype(np.float32)[:, None])).numpy()
    d = d.ravel().astype(np.float64)
    near_data = np.abs(xs - GAUSS_MU) <= 2 * GAUSS_SIGMA
    return dict(xs=xs, p_data=p_data, p_g=p_g, d=d, d_star=d_star, samples=samples,
                step=trainer.step,
                jsd=theory.js_divergence(p_data, p_g, dx),
                c_of_g=theory.value_function(p_data, p_g, d_star, dx),
                v_trained=theory.value_function(p_data, p_g, d, dx),
                gap=float(np.abs(d - d_star)[near_data].max()))


@functools.lru_cache(maxsize=None)
def gauss1d_run(s: Settings) -> dict[str, Any]:
    """tinygan's 1-D recipe (``tinygan train --data gauss1d``), seed 0, with snapshots."""
    total = s.n(3000, 40)
    config = make_config("gauss1d", "ns", "mlp", seed=0, steps=total)
    trainer = build_trainer(config)
    every = s.n(100, 20)
    steps = [0, s.n(50, 10), s.n(200, 20), s.n(600, 30)] + list(range(every, total + 1, every))
    snaps = train_with_snapshots(trainer, steps, one_d_curves)
    z = np.linspace(-3, 3, 301, dtype=np.float32)[:, None]
    trainer.G.eval()
    with tg.no_grad():
        g_of_z = trainer.G(tg.tensor(z)).numpy().ravel()
    return dict(snaps=snaps, total=total, z=z.ravel(), g_of_z=g_of_z, config=config)


def plain_ring_config(seed: int, steps: int) -> dict[str, Any]:
    """A plain, untuned GAN on the ring: z_dim 16, no packing, constant lr 2e-4, and
    otherwise the ring recipe's networks (3 hidden layers of 128) and batch size 256."""
    config = make_config("ring", "ns", "mlp", seed=seed, steps=steps)
    config.update(z_dim=16, lr_g=2e-4, lr_d=2e-4, lr_decay=False, model_options={})
    return config


@functools.lru_cache(maxsize=None)
def ring_runs(s: Settings) -> dict[str, Any]:
    """The plain GAN and tinygan's ring recipe, seed 0, same steps, snapshots of samples."""
    total = s.n(20000, 40)
    steps = [s.n(500, 10), s.n(2000, 20), s.n(3000, 25), s.n(5000, 30), total]
    take = lambda t: t.sample(2500, generator=_eval_gen()).numpy()   # noqa: E731
    runs = {}
    for name, config in (("plain", plain_ring_config(0, total)),
                         ("recipe", make_config("ring", "ns", "mlp", seed=0, steps=total))):
        runs[name] = dict(config=config,
                          snaps=train_with_snapshots(build_trainer(config), steps, take))
    return runs


MNIST_Z = 16   # digits shown per snapshot (4 x 4)


def _mnist_snapshots(trainer: GANTrainer, steps: list[int]) -> dict[int, np.ndarray]:
    take = lambda t: t.sample(MNIST_Z, generator=_eval_gen()).numpy()   # noqa: E731
    return train_with_snapshots(trainer, steps, take)


@functools.lru_cache(maxsize=None)
def mnist_run(s: Settings, model: str) -> dict[str, Any]:
    """``tinygan train --data mnist [--model dcgan]`` with snapshots: the MLP for its recipe's
    5,000 steps, the DCGAN (about 0.2-0.4 s a step on a CPU) for 1,000."""
    total = s.n(5000, 6) if model == "mlp" else s.n(1000, 3)
    config = make_config("mnist", "ns", model, seed=0, steps=total)
    trainer = build_trainer(config)
    marks = (250, 1000, 2500) if model == "mlp" else (100, 300, 600)
    steps = [s.n(m, i + 1) for i, m in enumerate(marks)] + [total]
    return dict(snaps=_mnist_snapshots(trainer, steps), trainer=trainer, total=total)


# =========================================================================================
# Chapter 1
# =========================================================================================
def generator_map(s: Settings) -> Any:
    """The trained 1-D generator as what it is: a function from noise to samples."""
    plt = _plt()
    run = gauss1d_run(s)
    first, last = run["snaps"][0], run["snaps"][run["total"]]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    z = _eval_gen().normal((10000,))
    axes[0].hist(z, bins=60, density=True, color="gray", alpha=0.6)
    axes[0].set_xlabel("noise z")
    axes[0].set_ylabel("density")
    axes[0].set_title("1. noise in: z ~ N(0, 1)")
    axes[1].plot(run["z"], run["g_of_z"], color="green")
    axes[1].set_xlabel("noise z")
    axes[1].set_ylabel("sample x = G(z)")
    axes[1].set_title(f"2. the learned map G (after {run['total']} steps)")
    axes[1].grid(alpha=0.3)
    bins = np.linspace(-2, 7, 120)
    axes[2].hist(first["samples"], bins=bins, density=True, color="orange", alpha=0.5,
                 label="G(z) before training")
    axes[2].hist(last["samples"], bins=bins, density=True, color="green", alpha=0.5,
                 label=f"G(z) after {run['total']} steps")
    axes[2].plot(GAUSS_XS, last["p_data"], "k:", label="data density N(4, 0.5^2)")
    axes[2].set_ylim(0, 1.5)                  # the untrained G's narrow spike is cut off
    axes[2].set_xlabel("x")
    axes[2].set_title("3. samples out: G(z) moves onto the data")
    axes[2].legend(loc="upper left")
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 2
# =========================================================================================
def _probabilities(lo: float = 1e-3, hi: float = 1 - 1e-3, num: int = 400) -> np.ndarray:
    return np.linspace(lo, hi, num)


def _per_sample(fn: Callable[[tg.Tensor], tg.Tensor], logits: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """A loss that averages over the batch, evaluated at every logit separately: returns
    (per-sample value, per-sample derivative d loss_i / d l_i), via tinygan's autograd."""
    l = tg.tensor(logits.astype(np.float64), requires_grad=True)
    total = fn(l) * len(logits)           # mean * N = sum of per-sample losses
    (g,) = tg.grad(total, [l])
    values = np.array([fn(tg.tensor(np.array([v]))).item() for v in logits])
    return values, g.numpy()


def cost_curves(s: Settings) -> Any:
    """D's two cross-entropy terms and G's two costs, as functions of D's output."""
    plt = _plt()
    p = _probabilities()
    logits = np.log(p / (1 - p))
    bce = nn.BCEWithLogitsLoss()
    real_cost, _ = _per_sample(lambda l: bce(l, tg.tensor(np.ones(l.shape))), logits)
    fake_cost, _ = _per_sample(lambda l: bce(l, tg.tensor(np.zeros(l.shape))), logits)
    saturating, _ = _per_sample(get_loss("minimax").g_loss, logits)
    non_saturating, _ = _per_sample(get_loss("ns").g_loss, logits)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(p, real_cost, label="on a real x: -log D(x)")
    axes[0].plot(p, fake_cost, label="on a fake G(z): -log(1 - D(G(z)))")
    axes[0].set_xlabel("D's output (probability that the input is real)")
    axes[0].set_ylabel("D's cost")
    axes[0].set_title("D's costs: binary cross-entropy, labels 1 (real) and 0 (fake)")
    axes[1].plot(p, saturating, label="saturating (minimax): log(1 - D(G(z)))")
    axes[1].plot(p, non_saturating, label="non-saturating: -log D(G(z))")
    axes[1].axvspan(0, 0.1, color="gray", alpha=0.15)
    axes[1].text(0.015, 3.2, "early in training:\nD rejects the fakes", fontsize=8)
    axes[1].set_xlabel("D(G(z)), D's verdict on a fake")
    axes[1].set_ylabel("G's cost")
    axes[1].set_title("G's two costs: same minimum side, very different slopes near 0")
    for ax in axes:
        ax.set_ylim(-5, 5)
        ax.axhline(0, color="gray", lw=0.6)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower center" if ax is axes[1] else "upper center")
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 3
# =========================================================================================
def _figure1_panel(ax: Any, snap: dict[str, Any]) -> Any:
    ax.plot(snap["xs"], snap["p_data"], "k:", label="data density p_data")
    ax.plot(snap["xs"], snap["p_g"], color="green", label="G's density p_g (KDE)")
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("x")
    ax2 = ax.twinx()
    ax2.plot(snap["xs"], snap["d"], "b--", label="trained D(x)")
    ax2.plot(snap["xs"], snap["d_star"], color="red", alpha=0.6, label="optimal D*(x)")
    ax2.axhline(0.5, color="gray", lw=0.7, ls=":")
    ax2.set_ylim(-0.02, 1.02)
    ax.set_title(f"step {snap['step']}: JSD {snap['jsd']:.3f}, "
                 f"max|D - D*| {snap['gap']:.2f}")
    return ax2


def figure1_over_training(s: Settings) -> Any:
    """Goodfellow et al.'s Figure 1, measured: the 1-D recipe at four points of training."""
    plt = _plt()
    run = gauss1d_run(s)
    steps = [0, s.n(50, 10), s.n(600, 30), run["total"]]
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.5), sharey=True)
    for i, (ax, step) in enumerate(zip(axes, steps)):
        ax2 = _figure1_panel(ax, run["snaps"][step])
        if i < 3:
            ax2.set_yticklabels([])
        else:
            ax2.set_ylabel("D(x): probability x is real")
    axes[0].set_ylabel("density")
    handles = [h for a in (axes[0], ax2) for h in a.get_legend_handles_labels()[0]]
    fig.legend(handles, [h.get_label() for h in handles], loc="lower center", ncol=4,
               bbox_to_anchor=(0.5, -0.08))
    fig.suptitle("tinygan's 1-D GAN (recipe gauss1d, seed 0): green moves onto black, "
                 "and D flattens towards 1/2", y=1.02)
    fig.tight_layout()
    return fig


def value_vs_jsd(s: Settings) -> Any:
    """Theorem 1 on numbers: C(G) = max_D V = -log 4 + 2 JSD, along a real training run."""
    plt = _plt()
    snaps = [v for _, v in sorted(gauss1d_run(s)["snaps"].items())]
    steps = np.array([v["step"] for v in snaps])
    jsd = np.array([v["jsd"] for v in snaps])
    c_of_g = np.array([v["c_of_g"] for v in snaps])
    v_trained = np.array([v["v_trained"] for v in snaps])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    ax = axes[0]
    ax.plot(steps, c_of_g, "o-", ms=3, color="red", label="C(G) = V(D*, G), integrated")
    ax.plot(steps, -theory.LOG4 + 2 * jsd, "k+", ms=7, label="-log 4 + 2 JSD(p_data || p_g)")
    ax.plot(steps, v_trained, "s-", ms=3, color="blue", alpha=0.7,
            label="V(D, G) with the trained D")
    ax.axhline(-theory.LOG4, color="gray", ls=":", label="-log 4 (the global minimum)")
    ax.set_xlabel("training step")
    ax.set_ylabel("value of the game (nats)")
    ax.set_title("Along training: C(G) falls to -log 4; the trained D stays below D*")
    ax.legend(loc="upper right")
    ax = axes[1]
    grid = np.linspace(0, math.log(2), 50)
    ax.plot(grid, -theory.LOG4 + 2 * grid, color="gray", lw=1, label="C = -log 4 + 2 JSD")
    ax.scatter(jsd, c_of_g, s=18, color="red", zorder=3, label="snapshots of the run")
    ax.set_xlabel("JSD(p_data || p_g) (nats; at most log 2)")
    ax.set_ylabel("C(G) (nats)")
    ax.set_title("C(G) against the JSD: every snapshot lies on the line")
    ax.legend(loc="upper left")
    for a in axes:
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def saturating_gradient(s: Settings) -> Any:
    """Per sample: what each G cost sends back through the logit; in a network: ||grad G||
    as D learns to reject a fixed G's samples."""
    plt = _plt()
    p = _probabilities(1e-4, 1 - 1e-4, 600)
    logits = np.log(p / (1 - p))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for name, label in (("minimax", "saturating: log(1 - D(G(z)))"),
                        ("ns", "non-saturating: -log D(G(z))")):
        _, d_logit = _per_sample(get_loss(name).g_loss, logits)
        axes[0].plot(p, np.abs(d_logit), label=label)
    axes[0].set_xscale("log")
    axes[0].set_xlabel("D(G(z)) (log scale)")
    axes[0].set_ylabel("|d cost / d logit|")
    axes[0].set_title("Per fake sample: the gradient that reaches G through D's logit")
    axes[0].legend(loc="center left")
    # a real network: the 1-D recipe's G and D at initialisation; only D trains
    config = make_config("gauss1d", "ns", "mlp", seed=1)
    trainer = build_trainer(config)
    z = trainer.sample_z(512)
    points = []
    for k in range(s.n(400, 8) + 1):
        if k % s.n(10, 2) == 0:
            norms = {}
            trainer.D.requires_grad_(False)
            for name in ("minimax", "ns"):
                trainer.G.zero_grad()
                get_loss(name).g_loss(trainer.D(trainer.G(z))).backward()
                norms[name] = grad_norm_of(trainer.G)
            trainer.D.requires_grad_(True)
            d_fake = trainer.discriminator_output(trainer.G(z).detach()).numpy().mean()
            points.append((float(d_fake), norms["minimax"], norms["ns"]))
        trainer.discriminator_step()
    d_fake, sat, ns = (np.array(col) for col in zip(*points))
    axes[1].loglog(d_fake, sat, "o-", ms=3, label="saturating")
    axes[1].loglog(d_fake, ns, "s-", ms=3, label="non-saturating")
    axes[1].invert_xaxis()
    axes[1].set_xlabel("mean D(G(z)) on 512 fakes (falls as D trains; log scale)")
    axes[1].set_ylabel("||gradient of G's cost wrt G's weights||")
    axes[1].set_title(f"The 1-D recipe's networks: D alone trains {s.n(400, 8)} steps, "
                      f"G is fixed")
    axes[1].legend()
    for a in axes:
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 4
# =========================================================================================
def gradient_check_error(s: Settings) -> Any:
    """Finite differences against autograd: truncation error falls with h, rounding error
    grows as h shrinks; float64 leaves a wide window around gradcheck's eps = 1e-6."""
    plt = _plt()
    gen = tg.Generator(0)
    weight = gen.normal((3, 5)).astype(np.float64)
    bias = gen.normal((3,)).astype(np.float64)
    x0 = gen.normal((4, 5)).astype(np.float64)

    def f(x: Any, dtype: Any = np.float64) -> tg.Tensor:
        """sum(tanh(x W^T + b)), computed in ``dtype``."""
        x = x if isinstance(x, tg.Tensor) else tg.tensor(x.astype(dtype))
        return F.tanh(x @ tg.tensor(weight.T.astype(dtype)) + tg.tensor(bias.astype(dtype))).sum()

    x = tg.tensor(x0, requires_grad=True)
    (exact,) = tg.grad(f(x), [x])
    exact = float(exact.numpy()[1, 2])
    hs = np.logspace(-13, -0.5, 60)
    e = np.zeros_like(x0)
    e[1, 2] = 1.0
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for dtype, style, kind in ((np.float64, "o-", "central"), (np.float64, "^-", "forward"),
                               (np.float32, "s-", "central")):
        errs = []
        for h in hs:
            if kind == "central":
                approx = (f(x0 + h * e, dtype).item() - f(x0 - h * e, dtype).item()) / (2 * h)
            else:
                approx = (f(x0 + h * e, dtype).item() - f(x0, dtype).item()) / h
            errs.append(max(abs(approx - exact) / abs(exact), 1e-17))
        ax.loglog(hs, errs, style, ms=3,
                  label=f"{kind} difference, {np.dtype(dtype).name}")
    ax.axvline(1e-6, color="gray", ls=":", label="tinygan.engine.gradcheck's eps = 1e-6")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error against autograd")
    ax.set_ylim(1e-13, 10)
    ax.set_title("Checking d/dx of sum(tanh(x W^T + b)) by finite differences\n"
                 "right of each minimum: truncation (h^2 or h); left: rounding (eps/h)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 5
# =========================================================================================
def activation_saturation(s: Settings) -> Any:
    """Each activation layer and its derivative, from tinygan's autograd."""
    plt = _plt()
    xs = np.linspace(-8, 8, 801)
    layers = {"Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(), "ReLU": nn.ReLU(),
              "LeakyReLU(0.2)": nn.LeakyReLU(0.2)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for name, layer in layers.items():
        x = tg.tensor(xs, requires_grad=True)
        y = layer(x)
        (dy,) = tg.grad(y.sum(), [x])
        style = "--" if name.startswith("Leaky") else "-"
        axes[0].plot(xs, y.numpy(), style, label=name)
        axes[1].plot(xs, dy.numpy(), style, label=name)
    x = tg.tensor(xs, requires_grad=True)
    (dsig,) = tg.grad(F.sigmoid(x).sum(), [x])
    flat = np.abs(xs[dsig.numpy() < 0.01]).min()
    for ax in axes:
        ax.axvspan(-8, -flat, color="gray", alpha=0.12)
        ax.axvspan(flat, 8, color="gray", alpha=0.12)
        ax.set_xlabel("pre-activation x")
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-1.6, 3)
    axes[0].set_ylabel("output")
    axes[0].set_title("Activations")
    axes[0].legend(loc="upper left")
    axes[1].set_ylabel("derivative (autograd)")
    axes[1].set_title(f"Derivatives: shaded, |x| > {flat:.1f}, sigmoid's slope < 0.01 "
                      f"(saturated)")
    fig.tight_layout()
    return fig


def batchnorm_train_eval(s: Settings) -> Any:
    """BatchNorm1d: batch statistics in training, running averages in evaluation."""
    plt = _plt()
    gen = tg.Generator(0)
    bn = nn.BatchNorm1d(1)
    test = tg.tensor(gen.normal((2000, 1), mean=3.0, std=2.0))
    seen, means, stds = [], [], []
    for t in range(61):
        bn.eval()
        with tg.no_grad():
            out = bn(test).numpy()
        seen.append(t)
        means.append(out.mean())
        stds.append(out.std())
        bn.train()
        with tg.no_grad():
            bn(tg.tensor(gen.normal((64, 1), mean=3.0, std=2.0)))
    bn.train()
    with tg.no_grad():
        train_out = bn(test).numpy()
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    axes[0].plot(seen, means, label="mean, eval mode")
    axes[0].plot(seen, stds, label="std, eval mode")
    axes[0].axhline(train_out.mean(), color="C0", ls=":", label="mean, train mode")
    axes[0].axhline(train_out.std(), color="C1", ls=":", label="std, train mode")
    axes[0].set_xlabel("training batches seen (momentum 0.1)")
    axes[0].set_ylabel("BN output on data ~ N(3, 2^2)")
    axes[0].set_title("Eval mode uses running averages:\nthey take tens of batches to arrive")
    axes[0].legend()
    axes[0].grid(alpha=0.3)
    # the same layer, in train mode, on a real batch and on a very different fake batch
    fresh = nn.BatchNorm1d(1)
    real = gen.normal((512, 1), mean=3.0, std=2.0)
    fake = gen.normal((512, 1), mean=-1.0, std=0.3)
    with tg.no_grad():
        real_out, fake_out = fresh(tg.tensor(real)).numpy(), fresh(tg.tensor(fake)).numpy()
    bins = np.linspace(-5, 8, 80)
    axes[1].hist(real.ravel(), bins=bins, alpha=0.5, label="real batch ~ N(3, 2^2)")
    axes[1].hist(fake.ravel(), bins=bins, alpha=0.5, label="fake batch ~ N(-1, 0.3^2)")
    axes[1].set_title("Inputs: two batches that differ a lot")
    axes[1].set_xlabel("value")
    axes[1].set_ylabel("count")
    axes[1].legend()
    bins = np.linspace(-4, 4, 60)
    axes[2].hist(real_out.ravel(), bins=bins, alpha=0.5, label="real batch, normalised")
    axes[2].hist(fake_out.ravel(), bins=bins, alpha=0.5, label="fake batch, normalised")
    axes[2].set_title("Train mode, each batch by its own statistics:\n"
                      "after BN the two batches look alike")
    axes[2].set_xlabel("BN output")
    axes[2].legend()
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapters 6 and 10: digits over training
# =========================================================================================
def _digits_over_training(s: Settings, model: str, what: str) -> Any:
    plt = _plt()
    run = mnist_run(s, model)
    snaps = sorted(run["snaps"].items())
    fig, axes = plt.subplots(1, len(snaps), figsize=(3.2 * len(snaps), 3.5))
    for ax, (step, images) in zip(axes, snaps):
        show_images(ax, images, 4, f"step {step}")
    command = f"tinygan train --data mnist{' --model dcgan' if model != 'mlp' else ''}"
    fig.suptitle(f"{what} ({command} --steps {run['total']}, seed 0): "
                 f"the same {MNIST_Z} noise vectors at each step", y=1.0)
    fig.tight_layout()
    return fig


def mnist_mlp_over_training(s: Settings) -> Any:
    return _digits_over_training(s, "mlp", "The MLP GAN")


def dcgan_over_training(s: Settings) -> Any:
    return _digits_over_training(s, "dcgan", "The DCGAN")


# =========================================================================================
# Chapter 7
# =========================================================================================
def ring_mode_collapse(s: Settings) -> Any:
    """A plain, untuned GAN on the ring beside tinygan's ring recipe, same seed and steps."""
    plt = _plt()
    runs = ring_runs(s)
    steps = sorted(runs["plain"]["snaps"])
    # a row per step, the two runs side by side: narrow enough for the site's column
    fig, axes = plt.subplots(len(steps), 2, figsize=(6.4, 3.1 * len(steps)))
    labels = {"plain": "plain GAN: z_dim 16, no packing,\nconstant lr 2e-4",
              "recipe": "ring recipe: packs of 4, 2-D noise,\nlr 1e-3 decaying to 0"}
    for col, name in enumerate(("plain", "recipe")):
        for row, step in enumerate(steps):
            samples = runs[name]["snaps"][step]
            ring_panel(axes[row, col], samples, f"step {step}: {coverage_title(samples)}")
        axes[0, col].annotate(labels[name], (0.5, 1.22), xycoords="axes fraction",
                              ha="center", va="bottom", fontsize=9.5, weight="bold")
    fig.suptitle("2,500 samples (blue) on the 8-mode ring (red: mode centres), seed 0",
                 y=1.0)
    fig.tight_layout()
    return fig


def _bilinear_path(alternating: bool, num_steps: int, lr: float) -> np.ndarray:
    """Gradient play on V(x, y) = x y: x descends, y ascends, from (1, 0)."""
    x, y = 1.0, 0.0
    path = [(x, y)]
    for _ in range(num_steps):
        xt, yt = tg.tensor(x, requires_grad=True), tg.tensor(y, requires_grad=True)
        gx, gy = tg.grad(xt * yt, [xt, yt])            # dV/dx = y, dV/dy = x
        x_new = x - lr * gx.item()
        if alternating:                                 # y answers the new x
            xt = tg.tensor(x_new)
            yt = tg.tensor(y, requires_grad=True)
            (gy,) = tg.grad(xt * yt, [yt])
        x, y = x_new, y + lr * gy.item()
        path.append((x, y))
    return np.array(path)


def bilinear_spiral(s: Settings) -> Any:
    plt = _plt()
    lr, num_steps = 0.1, 300
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.3), gridspec_kw=dict(width_ratios=(1, 1.2)))
    for alternating, label in ((False, "simultaneous steps"), (True, "alternating steps")):
        path = _bilinear_path(alternating, num_steps, lr)
        axes[0].plot(path[:, 0], path[:, 1], lw=1, label=label)
        axes[1].plot(np.hypot(path[:, 0], path[:, 1]), label=label)
    steps = np.arange(num_steps + 1)
    axes[1].plot(steps, (1 + lr ** 2) ** (steps / 2), "k:", label="(1 + lr^2)^(t/2)")
    axes[0].plot(1, 0, "ko", ms=4)
    axes[0].annotate("start (1, 0)", (1, 0), xytext=(1.15, -0.5), fontsize=8)
    axes[0].plot(0, 0, "k*", ms=11, label="equilibrium (0, 0)")
    axes[0].set_aspect("equal")
    axes[0].set_xlabel("x (minimises x y)")
    axes[0].set_ylabel("y (maximises x y)")
    axes[0].set_title(f"min_x max_y x y, {num_steps} gradient steps of lr {lr}")
    axes[0].legend(loc="upper left", fontsize=7)
    axes[1].set_xlabel("step t")
    axes[1].set_ylabel("distance from the equilibrium")
    axes[1].set_title("Simultaneous steps spiral out; alternating ones circle")
    axes[1].legend()
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 8
# =========================================================================================
def _critic_for_shift(loss_name: str, theta: float, num_steps: int) -> tuple[nn.Module, float]:
    """Train only a critic between N(0, 0.5^2) and the fixed 'generator' G(z) = 0.5 z + theta
    (WGAN-GP: Adam 1e-3, betas (0.5, 0.9), lambda 10), with tinygan's trainer's D steps.
    Returns the critic and its estimate E f(real) - E f(fake) on fresh samples."""
    gen = tg.Generator(0)
    shift = nn.Linear(1, 1)
    init.constant_(shift.weight, 0.5)
    init.constant_(shift.bias, theta)
    _, critic = toy_mlp((1,), z_dim=1, generator=gen, hidden_d=(64, 64))
    init.zeros_(critic.net[-1].weight)        # start flat, so the critic's sign is learned
    trainer = GANTrainer(shift, critic, get_loss(loss_name), optim.SGD(shift.parameters(), lr=0.0),
                         optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9)),
                         DistributionBatches(lambda n, g: toy.gaussian_1d(n, g, 0.0, 0.5), gen),
                         gen, z_dim=1, batch_size=256)
    for _ in range(num_steps):
        trainer.discriminator_step()
    real = tg.tensor(toy.gaussian_1d(4000, tg.Generator(1), 0.0, 0.5))
    fake = tg.tensor(toy.gaussian_1d(4000, tg.Generator(2), theta, 0.5))
    with tg.no_grad():
        return critic, (critic(real).mean() - critic(fake).mean()).item()


def jsd_vs_wasserstein(s: Settings) -> Any:
    plt = _plt()
    grid = np.linspace(-3, 6, 9001)
    dx = float(grid[1] - grid[0])
    thetas = np.linspace(-2, 4, 121)
    p = theory.gaussian_pdf(grid, 0.0, 0.05)
    jsd, w1 = [], []
    for t in thetas:
        q = theory.gaussian_pdf(grid, float(t), 0.05)
        jsd.append(theory.js_divergence(p, q, dx))
        w1.append(float(np.abs(np.cumsum(p - q)).sum() * dx * dx))   # int |F_p - F_q| dx
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    axes[0].plot(thetas, jsd, label="JSD(p_data || p_g)")
    axes[0].plot(thetas, w1, label="W1(p_data, p_g), from the CDFs")
    axes[0].axhline(math.log(2), color="gray", ls=":", label="log 2")
    axes[0].set_xlabel("theta: p_data = N(0, 0.05^2), p_g = N(theta, 0.05^2)")
    axes[0].set_ylabel("divergence / distance")
    axes[0].set_title("JSD is flat at log 2 once the bumps separate;\nW1 = |theta| keeps "
                      "pointing home")
    axes[0].legend(loc="upper center")
    critic_thetas = [0.5, 1.0, 2.0, 3.0]
    num_steps = s.n(400, 5)
    estimates = [_critic_for_shift("wgan-gp", t, num_steps)[1] for t in critic_thetas]
    axes[1].plot(critic_thetas, critic_thetas, "k:", label="true W1 = |theta|")
    axes[1].plot(critic_thetas, estimates, "o-", label="WGAN-GP critic's estimate")
    axes[1].set_xlabel("theta: p_data = N(0, 0.5^2), p_g = N(theta, 0.5^2)")
    axes[1].set_ylabel("E f(real) - E f(fake)")
    ratios = [e / t for e, t in zip(estimates, critic_thetas)]
    why = (": above it, as a soft penalty\nlets the critic's slope pass 1 (next panel)"
           if max(ratios) > 1 else "")
    axes[1].set_title(f"A WGAN-GP critic trained {num_steps} steps reads off the distance,"
                      f"\nat {min(ratios):.2f}-{max(ratios):.2f} x W1{why}", fontsize=9)
    axes[1].legend()
    theta = 2.0
    critic, _ = _critic_for_shift("wgan-gp", theta, num_steps)
    xs = np.linspace(-2, 4, 301)
    with tg.no_grad():
        f = critic(tg.tensor(xs.astype(np.float32)[:, None])).numpy().ravel()
    ax = axes[2]
    ax.plot(xs, theory.gaussian_pdf(xs, 0, 0.5), "k:", label="p_data")
    ax.plot(xs, theory.gaussian_pdf(xs, theta, 0.5), color="green", label="p_g")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax2 = ax.twinx()
    ax2.plot(xs, f - f.mean(), "b--", label="critic f(x) (centred)")
    ax2.set_ylabel("critic value")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center right")
    slope = (np.interp(theta, xs, f) - np.interp(0.0, xs, f)) / theta
    ax.set_title(f"The critic at theta = {theta}: mean slope {slope:.2f} between the\n"
                 "bumps' centres, so G's samples are pushed left, to the data")
    for a in axes:
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def loss_gradients(s: Settings) -> Any:
    """What each G loss sends back: -d(G's loss)/d(D's output), per fake sample."""
    plt = _plt()
    logits = np.linspace(-6, 6, 481)
    names = {"minimax": "minimax (saturating)", "ns": "non-saturating", "wgan": "WGAN, WGAN-GP",
             "lsgan": "LSGAN (a=0, b=c=1)", "hinge": "hinge"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.9))
    for i, (name, label) in enumerate(names.items()):
        value, d = _per_sample(get_loss(name).g_loss, logits)
        style = "--" if name == "hinge" else "-"
        axes[0].plot(logits, value, style, color=f"C{i}", label=label)
        axes[1].plot(logits, -d, style, color=f"C{i}", label=label)
    assert set(names) | {"wgan-gp"} == set(LOSSES)       # every loss of the registry is drawn
    axes[0].set_ylim(-6, 8)
    axes[0].set_ylabel("G's loss on one fake")
    axes[0].set_title("G's loss as a function of D's raw output on a fake")
    axes[1].set_ylim(-5.5, 1.6)
    axes[1].set_ylabel("push towards 'real': -d loss / d output")
    axes[1].set_title("What G receives: minimax fades on the left, LSGAN\n"
                      "pulls back beyond the target 1, WGAN and hinge are constant")
    for ax in axes:
        ax.set_xlabel("D's raw output on a fake (a logit; a critic value for WGAN/LSGAN/hinge)")
        ax.axhline(0, color="gray", lw=0.6)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is axes[1] else "upper right")
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 9
# =========================================================================================
@functools.lru_cache(maxsize=None)
def conditional_run(s: Settings) -> dict[str, Any]:
    """A conditional MLP GAN (the MNIST recipe's networks and optimiser, one-hot labels
    concatenated to z and to x), seed 0."""
    recipe = make_config("mnist", "ns", "mlp", seed=0)
    gen = tg.Generator(0)
    G, D = mnist_mlp(recipe["z_dim"], num_classes=10, generator=gen)
    images, labels = load_mnist("train")
    adam = lambda m: optim.Adam(m.parameters(), lr=recipe["lr_g"],   # noqa: E731
                                betas=tuple(recipe["betas"]))
    trainer = GANTrainer(G, D, get_loss("ns"), adam(G), adam(D),
                         DatasetBatches(images, labels, gen), gen, z_dim=recipe["z_dim"],
                         batch_size=recipe["batch_size"], num_classes=10)
    classifier = get_digit_classifier()
    asked = np.arange(1000) % 10

    def agreement(t: GANTrainer) -> float:
        """Share of 1,000 samples (100 per asked label) that the digit classifier reads as
        the label asked for (chance: 10%)."""
        fakes = t.sample(1000, labels=asked, generator=tg.Generator(11)).numpy()
        return float((classifier.probabilities(fakes).argmax(axis=1) == asked).mean())

    total = s.n(10000, 6)
    every = s.n(1000, 3)
    curve = train_with_snapshots(trainer, list(range(every, total + 1, every)), agreement)
    return dict(trainer=trainer, agreement=curve)


def conditional_digits(s: Settings) -> Any:
    """Rows: the label asked for; columns: one shared noise vector. Beside it, how often
    tinygan's digit classifier reads the asked digit, along training."""
    plt = _plt()
    run = conditional_run(s)
    trainer = run["trainer"]
    columns = 10
    noise = _eval_gen().normal((columns, trainer.z_dim)).astype(np.float32)
    trainer.G.eval()
    with tg.no_grad():
        images = np.concatenate([trainer.G(tg.tensor(noise), np.full(columns, c)).numpy()
                                 for c in range(10)])
    trainer.G.train()
    # stacked, the grid above its curve: side by side they would be 12 in, wider than the page
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6.6, 11.6),
                                  gridspec_kw=dict(height_ratios=(1.15, 1)))
    show_images(ax, images, columns, f"Conditional MLP GAN after {trainer.step} steps, "
                                     f"seed 0:\nrow = the label asked for")
    ax.set_yticks(np.arange(10) * 30 + 14)
    ax.set_yticklabels([f"y = {c}" for c in range(10)])
    ax.set_xlabel("one noise vector z per column, shared by every row")
    steps, values = zip(*sorted(run["agreement"].items()))
    ax2.plot(steps, 100 * np.array(values), "o-")
    ax2.axhline(10, color="gray", ls=":", label="chance (10%)")
    ax2.set_ylim(0, 100)
    ax2.set_xlabel("training step")
    ax2.set_ylabel("% of 1,000 samples read as the asked digit")
    ax2.set_title("tinygan's digit classifier on the generated digits:\n"
                  "does G obey the label?")
    ax2.legend(loc="lower right")
    ax2.grid(alpha=0.3)
    ax2.set_box_aspect(0.8)
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 10
# =========================================================================================
def _annotated(ax: Any, matrix: np.ndarray, title: str, cmap: str = "Blues",
               symmetric: bool = False) -> None:
    """A small matrix as coloured cells with its numbers written in."""
    lim = float(np.abs(matrix).max()) or 1.0
    ax.imshow(matrix, cmap=cmap, vmin=-lim if symmetric else None, vmax=lim if symmetric
              else None, aspect="equal")
    for (i, j), v in np.ndenumerate(matrix):
        dark = abs(v) > 0.6 * lim if symmetric else v > 0.6 * float(matrix.max())
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7,
                color="white" if dark else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)


def _outline(ax: Any, row: float, col: float, height: float, width: float) -> None:
    from matplotlib.patches import Rectangle
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), width, height, fill=False, lw=2.2,
                           edgecolor="orange"))


def im2col_picture(s: Settings) -> Any:
    """A 3x3 convolution of a 5x5 image as one matrix product, with tinygan's im2col."""
    plt = _plt()
    x = tg.Generator(0).integers(0, 10, (1, 1, 5, 5)).astype(np.float32)
    w = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32).reshape(1, 1, 3, 3)
    cols = np.asarray(im2col(x, (3, 3), (1, 1), (0, 0), (3, 3)))     # (9, 9)
    product = w.reshape(1, 9) @ cols                                  # (1, 9)
    direct = F.conv2d(tg.tensor(x), tg.tensor(w)).numpy()              # (1, 1, 3, 3)
    assert np.allclose(product.ravel(), direct.ravel())
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.8),
                             gridspec_kw=dict(width_ratios=(5, 3, 9, 3)))
    _annotated(axes[0], x[0, 0], "input x (1 channel, 5x5)\norange: the first patch")
    _outline(axes[0], 0, 0, 3, 3)
    _annotated(axes[1], w[0, 0], "kernel W (3x3)", cmap="coolwarm", symmetric=True)
    _annotated(axes[2], cols, "im2col(x), 9x9: one column per patch\n(row = position in the "
               "3x3 window, column = output pixel)")
    _outline(axes[2], 0, 0, 9, 1)
    _annotated(axes[3], direct[0, 0], "W_mat (1x9) @ im2col(x)\n= conv2d(x, W), 3x3",
               cmap="coolwarm", symmetric=True)
    _outline(axes[3], 0, 0, 1, 1)
    axes[2].set_xlabel("output pixels, row by row")
    fig.tight_layout()
    return fig


def transposed_conv(s: Settings) -> Any:
    """The matrix A of a convolution, the matrix of conv_transpose2d (= A^T), and the
    overlap counts of a stride-2 transposed convolution (k=4 vs k=3)."""
    plt = _plt()
    gen = tg.Generator(0)
    w = tg.tensor(np.round(gen.normal((1, 1, 3, 3)), 1).astype(np.float32))
    basis_in = np.eye(16, dtype=np.float32).reshape(16, 1, 1, 4, 4)
    basis_out = np.eye(4, dtype=np.float32).reshape(4, 1, 1, 2, 2)
    A = np.stack([F.conv2d(tg.tensor(e), w).numpy().ravel() for e in basis_in], axis=1)
    T = np.stack([F.conv_transpose2d(tg.tensor(e), w).numpy().ravel() for e in basis_out],
                 axis=1)
    gap = float(np.abs(T - A.T).max())
    fig = plt.figure(figsize=(14, 4.2))
    grid = fig.add_gridspec(1, 4, width_ratios=(4, 1.6, 2.2, 2.2))
    axes = [fig.add_subplot(grid[0, i]) for i in range(4)]
    lim = float(np.abs(A).max())
    axes[0].imshow(A, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[0].set_title("A: conv2d (3x3 kernel) on a 4x4 image\n(4 outputs x 16 input pixels)")
    axes[0].set_xlabel("input pixel")
    axes[0].set_ylabel("output pixel")
    axes[1].imshow(T, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[1].set_title(f"conv_transpose2d, column\nby column: = A^T\n(max diff {gap:.0e})")
    axes[1].set_xlabel("input pixel (2x2)")
    axes[1].set_xticks(range(4))
    axes[1].set_ylabel("output pixel (4x4)")
    for ax, k in zip(axes[2:], (4, 3)):
        ones_in = tg.tensor(np.ones((1, 1, 5, 5), dtype=np.float32))
        counts = F.conv_transpose2d(ones_in, tg.tensor(np.ones((1, 1, k, k), np.float32)),
                                    stride=2, padding=1).numpy()[0, 0]
        ax.imshow(counts, cmap="viridis", vmin=0, vmax=4)
        for (i, j), v in np.ndenumerate(counts):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=6,
                    color="black" if v >= 3 else "white")
        ax.set_title(f"conv_transpose2d, stride 2, kernel {k}:\nhow many of the 5x5 inputs "
                     f"reach\neach output pixel (kernel of ones)")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 11
# =========================================================================================
def metric_blind_spots(s: Settings) -> Any:
    """Scores that cannot see memorisation, and mode coverage that cannot see collapse
    within a mode."""
    plt = _plt()
    train_images, train_labels = load_mnist("train")
    test_images, _ = load_mnist("test")
    half = len(test_images) // 2
    classifier = get_digit_classifier()
    gan = mnist_run(s, "mlp")["trainer"]
    candidates = {
        "real held-out digits": test_images[:half],
        f"MLP GAN, {gan.step} steps": gan.sample(half, generator=_eval_gen()).numpy(),
        "memoriser: training\nimages copied": train_images[:half],
        "10 training images,\none per class, repeated": np.concatenate(
            [train_images[train_labels == c][:1] for c in range(10)] * (half // 10 + 1))[:half],
    }
    reports = {name: digit_report(x, test_images, classifier) for name, x in candidates.items()}
    names = list(candidates)
    fd = [reports[n]["frechet_distance_fake"] for n in names]
    fd[0] = reports[names[0]]["frechet_distance_real"]       # real A against real B
    score = [reports[n]["classifier_score_fake"] for n in names]
    score[0] = reports[names[0]]["classifier_score_real"]
    flat_train = train_images.reshape(len(train_images), -1)
    nearest = {}
    for name, x in candidates.items():
        flat = x.reshape(len(x), -1)[:200]
        d2 = (flat ** 2).sum(1)[:, None] + (flat_train ** 2).sum(1)[None] - 2 * flat @ flat_train.T
        nearest[name] = np.sqrt(np.maximum(d2.min(axis=1), 0))
    # one column of four panels, each as wide as a panel of the old 2 x 2 grid (which at
    # 12 in was wider than the page); the score panel then carries its own row labels
    fig, axes = plt.subplots(4, 1, figsize=(6.6, 15.4))
    colors = ["gray", "tab:green", "tab:red", "tab:purple"]
    ypos = np.arange(len(names))
    axes[0].barh(ypos, fd, color=colors)
    axes[0].set_yticks(ypos)
    axes[0].set_yticklabels(names, fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("Frechet distance to held-out digits (lower looks better)")
    axes[0].set_title("FD: the memoriser scores like real data")
    axes[1].barh(ypos, score, color=colors)
    axes[1].set_yticks(ypos)
    axes[1].set_yticklabels(names, fontsize=8)
    axes[1].invert_yaxis()
    axes[1].axvline(10, color="gray", ls=":")
    axes[1].set_xlabel("classifier score (an Inception-Score analogue; at most 10)")
    axes[1].set_title("Classifier score: 10 repeated images score near the top")
    bins = np.linspace(0, max(float(v.max()) for v in nearest.values()) + 0.5, 60)
    for name, color in zip(names, colors):
        axes[2].hist(nearest[name], bins=bins, color=color, alpha=0.55,
                        label=name.replace("\n", " "))
    axes[2].set_xlabel("distance to the nearest training image (pixels in [-1, 1])")
    axes[2].set_ylabel("count (200 images each)")
    axes[2].set_title("What catches memorisation: nearest-neighbour distances")
    axes[2].legend(fontsize=7)
    # mode coverage: real ring samples vs a "generator" that puts every sample on a centre
    gen = tg.Generator(3)
    real = toy.sample_ring(2500, gen)
    modes = toy.ring_modes()
    collapsed = modes[gen.integers(0, 8, 2500)]
    ax = axes[3]
    for pts, color, label, size, marker in (
            (real, "tab:blue", "real ring data", 4, "o"),
            (collapsed, "tab:red", "collapsed: every sample on a centre", 60, "x")):
        sc = mode_coverage(pts, modes, toy.RING_STD)
        ax.scatter(pts[:, 0], pts[:, 1], s=size, alpha=0.5, color=color, marker=marker,
                   label=f"{label}:\n  {sc.modes_captured}/8 modes, "
                         f"{100 * sc.high_quality_fraction:.0f}% HQ, KL {sc.reverse_kl:.3f}")
    ax.set_xlim(modes[0, 0] - 0.05, modes[0, 0] + 0.05)
    ax.set_ylim(modes[0, 1] - 0.05, modes[0, 1] + 0.05)
    ax.set_aspect("equal")
    ax.set_xlabel("x1 (zoom on one mode, std 0.01)")
    ax.set_ylabel("x2")
    ax.set_title("Mode coverage gives both a perfect score")
    ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return fig


# =========================================================================================
# Chapter 12
# =========================================================================================
class RingVAE(nn.Module):
    """A small VAE for 2-D points: encoder x -> (mu, log var) of q(z|x), decoder z -> mean of
    p(x|z) = N(mean, decoder_std^2 I). Kept here: the library has no VAE, only GANs."""

    def __init__(self, z_dim: int = 2, hidden: int = 128, decoder_std: float = 0.1,
                 generator: tg.Generator | None = None) -> None:
        super().__init__()
        self.z_dim, self.decoder_std = z_dim, decoder_std
        self.encoder = nn.Sequential(nn.Linear(2, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, 2 * z_dim, generator=generator))
        self.decoder = nn.Sequential(nn.Linear(z_dim, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, hidden, generator=generator), nn.ReLU(),
                                     nn.Linear(hidden, 2, generator=generator))

    def elbo_terms(self, x: tg.Tensor, generator: tg.Generator) -> tuple[tg.Tensor, tg.Tensor]:
        """(reconstruction cost, KL(q(z|x) || N(0, I))), batch means; -ELBO is their sum
        (up to the constant of the Gaussian likelihood)."""
        stats = self.encoder(x)
        mu, log_var = stats[:, :self.z_dim], stats[:, self.z_dim:]
        z = mu + F.exp(0.5 * log_var) * tg.Tensor(generator.normal(mu.shape))
        recon = ((self.decoder(z) - x) ** 2).sum(axis=1) / (2 * self.decoder_std ** 2)
        kl = 0.5 * (mu * mu + F.exp(log_var) - 1 - log_var).sum(axis=1)
        return recon.mean(), kl.mean()


def gan_vs_vae(s: Settings) -> Any:
    plt = _plt()
    gen = tg.Generator(0)
    vae = RingVAE(generator=gen)
    opt = optim.Adam(vae.parameters(), lr=1e-3)
    curves: dict[str, list[float]] = {"reconstruction": [], "KL": []}
    num_steps = s.n(3000, 10)
    for _ in range(num_steps):
        recon, kl = vae.elbo_terms(tg.Tensor(toy.sample_ring(256, gen)), gen)
        opt.zero_grad()
        (recon + kl).backward()
        opt.step()
        curves["reconstruction"].append(recon.item())
        curves["KL"].append(kl.item())
    with tg.no_grad():
        vae_samples = vae.decoder(tg.Tensor(_eval_gen().normal((2500, 2)))).numpy()
    runs = ring_runs(s)
    total = max(runs["plain"]["snaps"])
    fig, axes = plt.subplots(2, 2, figsize=(7.9, 7.9))   # 2 x 2: four in a row is 15.5 in
    axes = axes.ravel()
    window = max(1, num_steps // 100)
    kernel = np.ones(window) / window
    for name, values in curves.items():
        axes[0].plot(np.convolve(values, kernel, "valid"), label=name)
    axes[0].plot(np.convolve(np.add(*curves.values()), kernel, "valid"), "k", lw=1,
                 label="-ELBO = sum")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("VAE training step")
    axes[0].set_ylabel("cost per point (nats, batch mean)")
    axes[0].set_title(f"The VAE's one objective, in two pieces\n(decoder std "
                      f"{vae.decoder_std}, {num_steps} steps)")
    axes[0].legend()
    axes[0].grid(alpha=0.3, which="both")
    ring_panel(axes[1], vae_samples, f"VAE: {coverage_title(vae_samples)}")
    ring_panel(axes[2], runs["plain"]["snaps"][total],
               f"plain GAN, {total} steps:\n{coverage_title(runs['plain']['snaps'][total])}")
    ring_panel(axes[3], runs["recipe"]["snaps"][total],
               f"GAN, ring recipe, {total} steps:\n"
               f"{coverage_title(runs['recipe']['snaps'][total])}")
    fig.tight_layout()
    return fig


# =========================================================================================
# The registry and the command line
# =========================================================================================
def lab_view_over_training(s: Settings) -> Any:
    """The lab's layered view (tinygan.lab) of the ring recipe at three points of a run."""
    from tinygan.lab.session import LabSession
    from tinygan.lab.view import draw_view
    plt = _plt()
    session = LabSession(data="ring", seed=0)
    steps = [0, s.n(400, 3), s.n(3000, 6)]
    fig, axes = plt.subplots(1, len(steps), figsize=(4.2 * len(steps), 4.4))
    done = 0
    for ax, step in zip(axes, steps):
        if step > done:
            session.step(step - done)
            done = step
        draw_view(ax, session.frame())
    fig.suptitle("The lab's view of the ring recipe, seed 0: D's verdict (colour), real (green) "
                 "and generated (purple) points, G's gradient arrows, the warped noise grid "
                 "(grey)", y=1.02)
    fig.tight_layout()
    return fig


def dirac_gan(s: Settings) -> Any:
    """Dirac-GAN (Mescheder et al. 2018): the vector field and the path of simultaneous and
    alternating gradient steps for the GAN, WGAN, WGAN-GP and the GAN with R1."""
    from tinygan import viz
    from tinygan.gan import dirac
    return viz.dirac_games(dirac.classic_games(), n_steps=s.n(600, 20),
                           grid_points=s.n(11, 5))


FIGURES: dict[str, Callable[[Settings], Any]] = {
    "generator_map": generator_map,                      # chapter 1
    "cost_curves": cost_curves,                          # chapter 2
    "figure1_over_training": figure1_over_training,      # chapter 3
    "value_vs_jsd": value_vs_jsd,                        # chapter 3
    "saturating_gradient": saturating_gradient,          # chapter 3
    "gradient_check_error": gradient_check_error,        # chapter 4
    "activation_saturation": activation_saturation,      # chapter 5
    "batchnorm_train_eval": batchnorm_train_eval,        # chapter 5
    "mnist_mlp_over_training": mnist_mlp_over_training,  # chapter 6
    "ring_mode_collapse": ring_mode_collapse,            # chapter 7
    "bilinear_spiral": bilinear_spiral,                  # chapter 7
    "jsd_vs_wasserstein": jsd_vs_wasserstein,            # chapter 8
    "loss_gradients": loss_gradients,                    # chapter 8
    "conditional_digits": conditional_digits,            # chapter 9
    "im2col": im2col_picture,                            # chapter 10
    "transposed_conv": transposed_conv,                  # chapter 10
    "dcgan_over_training": dcgan_over_training,          # chapter 10
    "metric_blind_spots": metric_blind_spots,            # chapter 11
    "gan_vs_vae": gan_vs_vae,                            # chapter 12
    "lab_view_over_training": lab_view_over_training,    # chapter 13
    "dirac_gan": dirac_gan,                              # chapter 14
}


PAGE_WIDTH_IN = 8.0   # the course site's text column is about 770 px wide: a figure 8 in
# wide at DPI 110 (880 px) is shrunk by at most an eighth there, and its 9-point text stays
# readable; a 15 in row of panels would be shrunk to half and its titles lost


def fit_to_page(fig: Any) -> None:
    """Re-lay a figure wider than the page on a narrower grid of the same panels: a row of
    panels wraps onto as many rows as it needs; two rows of steps (a grid of "method x step")
    become one row per step, a column per method. Panels keep their size, so their text
    keeps its size. Figures with panels placed by hand, or spanning cells, stay as drawn."""
    width, height = fig.get_size_inches()
    if width <= PAGE_WIDTH_IN:
        return
    panels: dict[tuple[int, int], list[Any]] = {}   # (row, col) -> its axes (a twin shares it)
    grid = None
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is None or (grid is not None and spec.get_gridspec() is not grid):
            return
        grid = spec.get_gridspec()
        if len(spec.rowspan) != 1 or len(spec.colspan) != 1:
            return
        panels.setdefault((spec.rowspan.start, spec.colspan.start), []).append(ax)
    if grid is None or len(panels) < 2:
        return
    rows, cols = grid.get_geometry()
    panel_w, panel_h = width / cols, height / rows
    fit = max(1, int(PAGE_WIDTH_IN // panel_w))
    if fit >= cols:
        return
    if 1 < rows <= fit:                      # transpose: a row per step, a column per method
        new_rows, new_cols = cols, rows
        place = {rc: (rc[1], rc[0]) for rc in panels}
    else:                                    # wrap the panels, in reading order
        new_cols = fit
        new_rows = math.ceil(rows * cols / fit)
        place = {rc: divmod(rc[0] * cols + rc[1], new_cols) for rc in panels}
    new_grid = fig.add_gridspec(new_rows, new_cols)
    for rc, axes in panels.items():
        for ax in axes:
            ax.set_subplotspec(new_grid[place[rc]])
    fig.set_size_inches(panel_w * new_cols, panel_h * new_rows)
    title = fig._suptitle                     # matplotlib keeps the suptitle's Text here
    if title is not None:                     # about 11 characters of 11-point text an inch
        title.set_text(textwrap.fill(title.get_text().replace("\n", " "),
                                     int(panel_w * new_cols * 11)))
    fig.tight_layout()


def save(fig: Any, path: str) -> None:
    """Write the PNG through a temporary file, so a crash never leaves half a picture; a
    figure wider than the site's column is re-laid to fit it first (``fit_to_page``)."""
    plt = _plt()
    fit_to_page(fig)
    tmp = path + ".tmp"
    fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format="png", metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, path)


def make(names: list[str], out_dir: str, quick: bool = False) -> list[str]:
    """Draw the named figures into out_dir; returns the paths written."""
    from tqdm.auto import tqdm
    os.makedirs(out_dir, exist_ok=True)
    settings = Settings(quick=quick)
    limit_blas_threads(1)   # small matrices: one BLAS thread is fastest, and kind to neighbours
    paths = []
    bar = tqdm(names, desc="figures", unit="fig", dynamic_ncols=True)
    for name in bar:
        bar.set_postfix_str(name)
        start = time.time()
        path = os.path.join(out_dir, f"{name}.png")
        save(FIGURES[name](settings), path)
        paths.append(path)
        tqdm.write(f"wrote {path} ({os.path.getsize(path) // 1024} KB, "
                   f"{time.time() - start:.1f} s)")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make every figure of the chapters.")
    parser.add_argument("--quick", action="store_true",
                        help="a few training steps per run (checks the script; not results)")
    parser.add_argument("--out", default=HERE, help="folder for the PNGs (default: %(default)s)")
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), metavar="NAME",
                        help=f"only these figures: {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    start = time.time()
    make(args.only or list(FIGURES), args.out, args.quick)
    print(f"done in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
