# %% [markdown]
# # 14. Stabilisers and the dynamics of the game
#
# Companion to [chapters/14_stabilisers_and_dynamics.md](../chapters/14_stabilisers_and_dynamics.md).
# We shrink a GAN to two numbers (Dirac-GAN) and watch gradient descent circle, spiral out or
# converge; compute the Jacobian's eigenvalues at the equilibrium with tinygan's second
# derivatives and check them against the formulas; run the power iteration behind spectral
# normalisation; and train the ring GAN with spectral normalisation, R1 and an EMA of G.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
from tinygan import nn, viz
from tinygan.gan.build import build_trainer, make_config
from tinygan.gan.evaluate import evaluate, toy_modes
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.gan import dirac, losses, penalties
from tinygan.nn.utils import spectral_norm
from tinygan.run.quick import quick_mode, steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## Dirac-GAN
#
# The data are a point mass at $0$; the generator is one number, $G(z) = \theta$; the
# discriminator is $D(x) = \psi x$. The only equilibrium is $(\theta, \psi) = (0, 0)$. Each
# player descends its own loss, so training follows the vector field
# $v(\theta, \psi) = (-\partial L_G / \partial\theta,\ -\partial L_D / \partial\psi)$,
# computed below by tinygan's autograd from the library's own losses and penalties:
#
# * the **GAN** (the minimax loss, the zero-sum game the theory is about),
# * **WGAN** (critic loss $\psi\theta$, no clipping, so we see the bare dynamics),
# * **WGAN-GP** with $\lambda = 1$ (the penalty $(|\psi| - 1)^2$: $D$'s slope is pulled to $\pm 1$),
# * the GAN with **R1**, $\gamma = 0.3$ (the penalty $\frac{\gamma}{2}\psi^2$).
#
# One game a row. Left column: simultaneous steps (both players step from the same point).
# Right column: alternating steps, which is what `GANTrainer` does (a D step, then a G step
# against the new D). Both with plain SGD, learning rate 0.1, from $(1, 1)$.

# %%
dirac_steps = steps(600, 60)
viz.dirac_games(dirac.classic_games(), n_steps=dirac_steps, grid_points=steps(13, 5))
plt.show()

# %% [markdown]
# The plain GAN and WGAN circle the equilibrium with alternating steps (over 600 steps the
# distance to it stays between 1.3 and 1.45, from 1.41 at the start) and spiral away with
# simultaneous ones (the distance grows at every step); neither ever arrives. WGAN-GP's
# penalty wants $|\psi| = 1$, which the equilibrium ($\psi = 0$) violates, so the critic is
# pushed off it and $\theta$ keeps swinging from $+2$ to $-2$ and back, never closer to the
# equilibrium than 1.1. R1 is zero at $\psi = 0$: it leaves the equilibrium where it is and
# damps the rotation around it, so both kinds of steps spiral in (to within 0.01 of it after
# 600 steps). The cell below measures these distances on the same paths.

# %%
def distances(name, mode):
    """Distance to the equilibrium (0, 0) after each step of one panel's path."""
    loss, penalty = dirac.classic_games()[name]
    path = dirac.trajectory(loss, (1.0, 1.0), 0.1, dirac_steps, mode, penalty)
    return np.hypot(path[:, 0], path[:, 1]), path

for name in dirac.classic_games():
    for mode in ("simultaneous", "alternating"):
        r, _ = distances(name, mode)
        print(f"{name:22s} {mode:12s} distance: start {r[0]:.2f}, min {r.min():.2f}, "
              f"max {r.max():.2f}, end {r[-1]:.2f}")
if not quick_mode():   # the text above, panel by panel
    for name in ("GAN (minimax)", "WGAN"):
        r, _ = distances(name, "alternating")
        assert 1.3 < r.min() and r.max() < 1.45            # circles
        r, _ = distances(name, "simultaneous")
        assert np.all(np.diff(r) > 0)                     # spirals out, every step
    for mode in ("simultaneous", "alternating"):
        r, path = distances("WGAN-GP (lambda 1)", mode)
        assert r.min() > 1.1                              # never near the equilibrium
        second_half = path[dirac_steps // 2:, 0]
        assert second_half.max() > 1.9 and second_half.min() < -1.9   # theta still swinging
        r, _ = distances("GAN + R1 (gamma 0.3)", mode)
        assert r[-1] < 0.01                               # spirals in
#
# ## The Jacobian at the equilibrium
#
# Near $(0, 0)$ the field is linear, $v \approx J\,(\theta, \psi)$. The continuous flow
# converges when every eigenvalue of $J$ has a negative real part; a step of size $h$
# multiplies each eigen-direction by $1 + h\lambda$. tinygan computes $J$ as the gradient
# of the gradient (`grad(..., create_graph=True)` twice):

# %%
rows = [("GAN (minimax)", losses.MinimaxLoss(), None, "gan", 0.0),
        ("GAN (non-saturating)", losses.NonSaturatingLoss(), None, "gan", 0.0),
        ("WGAN", losses.WassersteinLoss(clip_value=None), None, "wgan", 0.0),
        ("GAN + R1, gamma 0.3", losses.MinimaxLoss(), penalties.R1Penalty(0.3), "gan+r1", 0.3),
        ("GAN + R1, gamma 2", losses.MinimaxLoss(), penalties.R1Penalty(2.0), "gan+r1", 2.0)]
print(f"{'game':24s} {'autograd eigenvalues':34s} {'closed form':34s} |1 + h lambda|, h=0.1")
for name, loss, pen, kind, gamma in rows:
    J = dirac.jacobian(loss, penalty=pen)
    eig = np.sort_complex(np.linalg.eigvals(J))
    closed = np.sort_complex(dirac.closed_form_eigenvalues(kind, gamma))
    assert np.allclose(eig, closed, atol=1e-12)
    fmt = lambda values: ", ".join(f"{z.real + 0:+.4f}{z.imag + 0:+.4f}i" for z in values)
    print(f"{name:24s} {fmt(eig):34s} {fmt(closed):34s} "
          f"{max(abs(1 + 0.1 * eig)):.4f}")
    # the text below, exact in every mode: out for the rotations, in with R1
    assert (max(abs(1 + 0.1 * eig)) > 1) == (pen is None)

# %% [markdown]
# Purely imaginary eigenvalues ($\pm i/2$ for the GAN, $\pm i$ for WGAN) give
# $|1 + h\lambda| = \sqrt{1 + h^2|\lambda|^2} > 1$: simultaneous steps spiral out for every
# step size. With R1 the real parts are $-\gamma/2$, and $|1 + h\lambda| < 1$ for small
# enough $h$: local convergence.
#
# ## Spectral normalisation: the power iteration
#
# A linear layer $x \mapsto Wx$ is $\sigma(W)$-Lipschitz, $\sigma$ its largest singular
# value. The power iteration $v \leftarrow W^\top u / \|W^\top u\|$,
# $u \leftarrow W v / \|W v\|$ makes $u^\top W v$ approach $\sigma$; `spectral_norm` runs one
# such round per training forward and divides the weight by the estimate.

# %%
layer = spectral_norm(nn.Linear(64, 32, generator=tg.Generator(0)), generator=tg.Generator(1))
true_sigma = np.linalg.svd(layer.weight_orig.numpy(), compute_uv=False)[0]
x = tg.randn(8, 64, generator=tg.Generator(2))
estimates = []
for _ in range(30):
    layer(x)       # a training forward: one power-iteration round, u and v kept
    w, u, v = layer.weight_orig.numpy(), layer.weight_u.numpy(), layer.weight_v.numpy()
    estimates.append(float(u @ w @ v))
fig, ax = plt.subplots(figsize=(6.5, 3.2))
ax.plot(range(1, 31), estimates, "o-", ms=3, label="u^T W v after each forward")
ax.axhline(true_sigma, color="k", ls=":", label=f"largest singular value {true_sigma:.4f}")
ax.set_xlabel("training forwards")
ax.set_ylabel("estimate of sigma(W)")
ax.set_title("One power-iteration round per forward finds sigma(W)")
ax.legend(fontsize=8)
plt.show()
sigma_normalised = np.linalg.svd(layer.weight.numpy(), compute_uv=False)[0]
print("largest singular value of the normalised weight:", sigma_normalised)
# the same 30 forwards in every mode: the estimate has reached sigma, the layer is 1-Lipschitz
assert abs(estimates[-1] - true_sigma) < 1e-3 * true_sigma
assert abs(sigma_normalised - 1) < 0.01

# %% [markdown]
# ## The stabilisers on the ring
#
# The ring recipe of `tinygan train` (PacGAN's packed D, a decaying learning rate), short
# here, with each stabiliser added as its flag would add it (`--spectral-norm`,
# `--penalty r1`, `--ema 0.999`). Measured over full runs and 3 seeds in
# `benchmarks/RESULTS_stabilisers.md`; one short run per variant says little.

# %%
variants = {"default": {}, "--spectral-norm": {"spectral_norm": True},
            "--penalty r1": {"penalty": "r1"}, "--ema 0.999": {"ema": 0.999}}
ring_steps = steps(3000, 20)
fig, axes = plt.subplots(2, 2, figsize=(8, 8.4), sharex=True, sharey=True)
modes, ring_std = toy_modes("ring")
for ax, (label, options) in zip(axes.flat, variants.items()):
    trainer = build_trainer(make_config("ring", "ns", "mlp", 0, steps=ring_steps, **options))
    trainer.train(ring_steps, progress=False)
    result = evaluate(trainer)   # with --ema, of the averaged G (what the trainer samples from)
    samples = trainer.sample(1000, generator=tg.Generator(5)).numpy()
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4)
    ax.scatter(modes[:, 0], modes[:, 1], c="r", marker="x")
    ax.set_title(f"{label}: {result['modes_captured']}/8 modes,\n"
                 f"{100 * result['high_quality_fraction']:.0f}% high quality", fontsize=9)
    ax.set_aspect("equal")
fig.suptitle(f"The ring after {ring_steps} steps (of the recipe's 20,000), seed 0")
plt.tight_layout(rect=(0, 0, 1, 0.96))
plt.show()

# %% [markdown]
# Read the EMA panel with its time-scale in mind: with $\beta = 0.999$ the average forgets
# over about $1/(1 - \beta) = 1000$ steps, so in a run this short it still holds much of
# where G was earlier. Averaging weights is not averaging samples: an average of networks
# that each draw a ring can draw a smaller ring, off the modes. That is what this run shows:
# the G being trained (the last `trainer` above) draws the ring at radius 1 and reaches all
# 8 modes, while its average draws a ring of radius under 0.9 that reaches none of them.
# Over the full recipe the learning rate decays to zero, G stops moving and the average
# catches up with it (8/8 modes, 96% high quality on 3 seeds in
# `benchmarks/RESULTS_stabilisers.md`).

# %%
def radius_and_modes(samples):
    """Mean distance from the origin (the data's ring has radius 1) and modes captured."""
    score = mode_coverage(samples, modes, ring_std)
    return np.hypot(samples[:, 0], samples[:, 1]).mean(), score.modes_captured

measured = {}
for name, use_ema in (("G being trained", False), ("its EMA", True)):
    measured[name] = radius_and_modes(
        trainer.sample(2500, generator=tg.Generator(5), use_ema=use_ema).numpy())
    print(f"{name:16s} mean radius {measured[name][0]:.3f}, {measured[name][1]}/8 modes")
if not quick_mode():   # the text: G on the ring and its modes, the average inside, off them
    g_radius, g_modes = measured["G being trained"]
    ema_radius, ema_modes = measured["its EMA"]
    assert abs(g_radius - 1) < 0.05 and g_modes == 8
    assert ema_radius < 0.9 and ema_modes == 0

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **14.1** Implement the power iteration: a function `top_singular_value(W, rounds)` that
# starts from $u = (1, \dots, 1)/\sqrt{m}$ and repeats $v \leftarrow W^\top u/\|W^\top u\|$,
# $u \leftarrow Wv/\|Wv\|$, returning $u^\top W v$. Use NumPy only.

# %%
def top_singular_value(W, rounds=50):
    ...   # YOUR CODE: return u^T W v after `rounds` rounds


answer_14_1 = ...   # YOUR CODE: top_singular_value, once it works

# %%
answer_14_1 = exercise("14.1", answer_14_1)

# %% [markdown]
# **14.2** Dirac-GAN with R1, $\gamma = 1$: what are the eigenvalues of the Jacobian at the
# equilibrium? Compute them with `dirac.jacobian` (answer: a NumPy array of 2 complex numbers).

# %%
answer_14_2 = ...   # YOUR CODE: np.linalg.eigvals(...)

# %%
answer_14_2 = exercise("14.2", answer_14_2)

# %% [markdown]
# **14.3** An EMA with decay 0.9 starts at 0 and is updated 10 times while G's weight stays
# at 1. What is the average now? (It shows why an average started far from G needs about
# $1/(1 - \beta)$ steps to catch up.)

# %%
answer_14_3 = ...   # YOUR CODE: a float

# %%
answer_14_3 = exercise("14.3", answer_14_3)
