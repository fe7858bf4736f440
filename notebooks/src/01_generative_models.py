# %% [markdown]
# # 1. Generative models and where GANs came from
#
# Companion to [chapters/01_generative_models.md](../chapters/01_generative_models.md). We fit a
# discriminative and a generative model to the same labelled points and see that only the
# generative one can *draw new points*; we look at the toy distributions the later chapters
# train on and at why a simple density cannot describe them; and we sample an implicit model,
# the kind a GAN's generator is.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np

import tinygan as tg
tg.use("cpu")  # the device switch: "cuda" puts new tensors and models on the GPU (CuPy)
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.data import toy
from tinygan.metrics.mode_coverage import mode_coverage
from tinygan.run.quick import steps
from tinygan.course import exercise

tg.manual_seed(0)   # layers built without a generator draw from here (fresh per process)

# %% [markdown]
# ## Discriminative and generative models
#
# Two classes of 2-D points. A **discriminative** model (logistic regression, trained with
# tinygan) learns $p(y \mid x)$: a boundary. A **generative** model (one Gaussian per class,
# fitted by maximum likelihood: the class mean and covariance) learns $p(x \mid y)\,p(y)$: it
# classifies through Bayes' rule *and* it can sample new points.

# %%
g = tg.Generator(0)
n = 400
centres = np.array([[-1.0, 0.0], [1.5, 1.0]], dtype=np.float32)
labels = g.integers(0, 2, n)
points = centres[labels] + g.normal((n, 2), std=0.6) * np.array([1.0, 0.5], dtype=np.float32)

# discriminative: p(y = 1 | x) = sigmoid(w.x + b)
classifier = nn.Linear(2, 1, generator=g)
opt = optim.Adam(classifier.parameters(), lr=0.05)
x_t, y_t = tg.tensor(points), tg.tensor(labels.reshape(-1, 1).astype(np.float32))
for step in range(steps(300, 100)):
    loss = F.binary_cross_entropy_with_logits(classifier(x_t), y_t)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"logistic regression: training loss {loss.item():.3f}")

# generative: a Gaussian per class, and the class frequencies
means = [points[labels == k].mean(0) for k in (0, 1)]
covs = [np.cov(points[labels == k].T) for k in (0, 1)]
priors = [float(np.mean(labels == k)) for k in (0, 1)]

# sampling is what only the generative model can do: pick a class, then draw from its Gaussian
rng = np.random.default_rng(1)
new_labels = rng.choice(2, size=200, p=priors)
new_points = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in new_labels])

# %%
gx, gy = np.meshgrid(np.linspace(-4, 4, 200), np.linspace(-2.5, 3.5, 200))
grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
with tg.no_grad():
    p_disc = F.sigmoid(classifier(tg.tensor(grid))).numpy().reshape(gx.shape)

fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.8), sharey=True)
axes[0].contourf(gx, gy, p_disc, levels=20, cmap="RdBu_r", alpha=0.4)
axes[0].scatter(*points.T, c=labels, cmap="RdBu_r", s=8, edgecolor="k", linewidth=0.2)
axes[0].set_title("discriminative: p(y | x) only,\na boundary", fontsize=10)
axes[1].scatter(*points.T, c=labels, cmap="RdBu_r", s=8, alpha=0.25)
axes[1].scatter(*new_points.T, c=new_labels, cmap="RdBu_r", s=14, marker="x")
axes[1].set_title("generative: p(x, y), so it can\nsample new points (x)", fontsize=10)
for ax in axes:
    ax.set_xlabel("x1")
axes[0].set_ylabel("x2")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Why generation is hard
#
# The later chapters train on three toy distributions, all sampled by `tinygan.data.toy` from
# an explicit `tinygan.Generator`: the 1-D Gaussian of the GAN paper's Figure 1, and PacGAN's
# 2-D **ring** (8 modes on the unit circle, std 0.01) and **grid** (25 modes, std 0.05).

# %%
g = tg.Generator(0)
one_d = toy.gaussian_1d(5000, g)          # N(4, 0.5^2)
ring = toy.sample_ring(2500, g)
grid_2d = toy.sample_grid(2500, g)

fig, axes = plt.subplots(1, 3, figsize=(8.5, 3.0))
axes[0].hist(one_d.ravel(), bins=60, density=True)
axes[0].set_xlabel("x")
axes[0].set_ylabel("density")
axes[0].set_title("1-D Gaussian N(4, 0.5^2)", fontsize=10)
axes[1].scatter(*ring.T, s=2)
axes[1].scatter(*toy.ring_modes().T, marker="+", color="r", s=80, label="mode centres")
axes[1].set_title("ring: 8 tight modes", fontsize=10)
axes[2].scatter(*grid_2d.T, s=2)
axes[2].scatter(*toy.grid_modes().T, marker="+", color="r", s=80, label="mode centres")
axes[2].set_title("grid: 25 tight modes", fontsize=10)
for ax in axes[1:]:
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# A simple density cannot describe these. Fit the best single Gaussian to the ring (maximum
# likelihood: its mean and covariance) and sample it: the samples fill the middle, where there
# is no data at all. The mode-coverage metric of chapter 7 counts samples within 3 std of a
# mode ("high quality"): nearly all of the real ring's samples, almost none of the Gaussian's.
# (No training here: the same draws, and the same numbers, in quick and full mode, so the
# cell checks them in both.)

# %%
fit_mean, fit_cov = ring.mean(0), np.cov(ring.T)
gaussian_samples = rng.multivariate_normal(fit_mean, fit_cov, size=2500)

real_score = mode_coverage(ring, toy.ring_modes(), toy.RING_STD)
fit_score = mode_coverage(gaussian_samples, toy.ring_modes(), toy.RING_STD)
print(f"real ring samples:      {real_score.high_quality_fraction:.1%} high quality, "
      f"{real_score.modes_captured}/8 modes")
print(f"one fitted Gaussian:    {fit_score.high_quality_fraction:.1%} high quality, "
      f"{fit_score.modes_captured}/8 modes")
inside = lambda s: np.mean(np.hypot(s[:, 0], s[:, 1]) < 0.9)   # the ring's radius is 1
print(f"inside radius 0.9: ring data {inside(ring):.1%}, the Gaussian's samples "
      f"{inside(gaussian_samples):.1%}")
assert real_score.high_quality_fraction > 0.95 and fit_score.high_quality_fraction < 0.05
assert inside(ring) == 0 and inside(gaussian_samples) > 0.3   # the Gaussian fills the middle

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(*gaussian_samples.T, s=2, alpha=0.5, label="samples of the fitted Gaussian")
ax.scatter(*ring.T, s=2, color="C3", label="ring data")
ax.set_xlabel("x1")
ax.set_ylabel("x2")
ax.set_aspect("equal")
ax.set_title("A single Gaussian puts its mass where there is no data")
ax.legend(fontsize=7, loc="upper right")
plt.show()

# %% [markdown]
# ## An implicit model: the GAN idea
#
# A GAN's generator does not write down a density; it *transforms noise*. The smallest case is
# the chapter's: $G(z) = 2z + 3$ with $z \sim \mathcal{N}(0, 1)$, so $p_g = \mathcal{N}(3, 2^2)$.
# For a deep $G$ (here an untrained MLP) we can still draw as many samples as we like, but
# there is no formula for their density.

# %%
g = tg.Generator(0)
G_linear = nn.Linear(1, 1)
G_linear.weight.data[:] = 2.0
G_linear.bias.data[:] = 3.0
z = tg.randn(10_000, 1, generator=g)
with tg.no_grad():
    x_linear = G_linear(z).numpy().ravel()
    G_deep = nn.Sequential(nn.Linear(1, 64, generator=g), nn.Tanh(),
                           nn.Linear(64, 64, generator=g), nn.Tanh(), nn.Linear(64, 1, generator=g))
    x_deep = G_deep(3.0 * z).numpy().ravel()
print(f"linear G: mean {x_linear.mean():.2f}, std {x_linear.std():.2f} (p_g = N(3, 2^2))")

xs = np.linspace(-5, 11, 300)
fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.3))
axes[0].hist(x_linear, bins=80, density=True, alpha=0.6, label="samples of G(z) = 2z + 3")
axes[0].plot(xs, np.exp(-0.5 * ((xs - 3) / 2) ** 2) / (2 * math.sqrt(2 * math.pi)), "k",
             label="N(3, 2^2), known in closed form")
axes[0].set_title("linear G: we can sample AND write p_g", fontsize=10)
axes[1].hist(x_deep, bins=80, density=True, color="C2")
axes[1].set_title("deep G: we can sample,\nbut p_g has no formula", fontsize=10)
for ax in axes:
    ax.set_xlabel("x = G(z)")
    ax.set_ylabel("density")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()
assert abs(x_linear.mean() - 3) < 0.1 and abs(x_linear.std() - 2) < 0.1

# %% [markdown]
# ## Exercises
#
# Answers go in place of the `...`; the cell after each checks it (see
# [notebooks/README.md](README.md)).
#
# **1.1** Classify each model as generative (`"G"`) or discriminative (`"D"`): logistic
# regression, a Gaussian mixture, naive Bayes, a k-nearest-neighbour classifier, a VAE.

# %%
answer_1_1 = ...   # YOUR CODE: a list of five strings, "G" or "D"

# %%
answer_1_1 = exercise("1.1", answer_1_1)

# %% [markdown]
# **1.2** A 28x28 image with 256 grey levels per pixel: how many distinct images exist? Give
# $\log_{10}$ of the number.

# %%
answer_1_2 = ...   # YOUR CODE: a float

# %%
answer_1_2 = exercise("1.2", answer_1_2)
print(f"that is 10^{answer_1_2:.1f} images")

# %% [markdown]
# **1.3** For $z \sim \mathcal{N}(0, 1)$ and $G(z) = wz + b$, give a `(w, b)` for which
# $p_g = \mathcal{N}(3, 4)$ (variance 4). The check samples your generator with tinygan.

# %%
answer_1_3 = ...   # YOUR CODE: (w, b)

# %%
w, b = exercise("1.3", answer_1_3)
